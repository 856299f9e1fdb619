/*
 * placement.h - where each benchmark thread runs and where its rows live,
 * as a plan: a pure function of (topology, thread count, policy, core
 * kind).  Binding (pinning.h) and first touch only carry the plan out, so
 * the plan can be tested on any machine hwloc can describe: the synthetic
 * descriptions and XML files of tests/topologies/ as well as this one.
 *
 * The plan, thread by thread (pinning.h names the policies):
 *   1. The cores the core-kind choice leaves (every core by default).
 *   2. Their order: hwloc's logical order (cores, compact), or round-robin
 *      over the tree (scatter: thread 0 on the first package's first NUMA
 *      node, thread 1 on the next package, ... every child of a level in
 *      turn, so 8 threads on 2 packages x 4 NUMA nodes cover all 8 nodes).
 *      On a hybrid CPU whose kinds hwloc can rank, with every kind allowed,
 *      the most performant kind's cores come first.
 *   3. PUs: compact takes every PU of a core before the next core; cores and
 *      scatter take the first PU of every core, then the second (the SMT
 *      siblings), and so on.
 *   4. Threads beyond the PUs of the selection wrap around (oversubscribed).
 *   Each thread's NUMA node is the one local to its PU: its rows and its
 *   gamma/beta copy are first-touched there by the pinned thread.
 *
 * The plan for n threads is the first n entries of the plan for more
 * threads, so one plan for the largest count serves every smaller one.
 */
#ifndef LNBENCH_PLACEMENT_H
#define LNBENCH_PLACEMENT_H

#include "pinning.h"

#include <stddef.h>

/* Core-kind choices besides a kind's hwloc index (0 = the most
 * energy-efficient kind, the highest = the most performant). */
#define LNB_CPUKIND_ALL (-1)         /* every kind, the most performant first */
#define LNB_CPUKIND_PERFORMANCE (-2) /* only the most performant kind */
#define LNB_CPUKIND_EFFICIENCY (-3)  /* only the most energy-efficient kind */

typedef struct lnb_place {
    int pu;   /* OS index of the PU the thread binds to; -1: not bound */
    int core; /* logical index of the PU's core (of the PU where hwloc shows
                 no cores); -1 when not bound */
    int numa; /* OS index of the NUMA node local to the PU, where the
                 thread's rows live; -1: wherever the OS puts them */
    int kind; /* hwloc CPU-kind index of the PU; -1 when hwloc knows none */
} lnb_place;

/* "all", "performance", "efficiency" or a kind index: 0 and *out set, or -1. */
int lnb_cpukind_parse(const char *s, int *out);
/* The choice's name as lnb_cpukind_parse reads it. */
void lnb_cpukind_name(int cpukind, char *buf, size_t len);

/* Cores and PUs the core-kind choice leaves.  0, or -1 with a one-line
 * reason (no such kind; kinds hwloc could not rank for "performance" or
 * "efficiency"). */
int lnb_place_capacity(const lnb_topo *t, int cpukind, int *cores, int *pus, char *err,
                       size_t errlen);

/* The plan for n threads (n >= 1) into out[n].  0, or -1 with a reason as
 * for lnb_place_capacity.  LNB_PIN_NONE gives every thread -1 everywhere. */
int lnb_place_plan(const lnb_topo *t, lnb_pin_policy p, int cpukind, int n, lnb_place *out,
                   char *err, size_t errlen);

/* Thread counts of a sweep: 1, 2, 4, ... up to `cores`, then `cores`, then
 * doubling on up to `pus` (the SMT siblings), then `pus`; none above `max`.
 * Returns how many were written to out (at most cap). */
size_t lnb_place_sweep(int cores, int pus, int max, int *out, size_t cap);

/* The plan abbreviated for people and for tests: "pu LIST node LIST".  A
 * LIST is comma-separated items: `a` one value, `a-b` a run with step 1,
 * `a-b:s` with step s, `vxk` the value v k times, `(L)xk` the list L k
 * times over, `(L1)&(L2)` lists taking turns (thread 2i from L1, 2i+1 from
 * L2; three or more likewise).  Threads not bound print "pu none". */
void lnb_place_format(const lnb_place *pl, int n, char *buf, size_t len);

/* The machine in one line for the provenance: packages, NUMA nodes, cores,
 * PUs, core kinds, caches (size x count per level). */
void lnb_topo_summary(const lnb_topo *t, char *buf, size_t len);
/* The core kinds: "1" or e.g. "2 (kind 1 IntelCore pu 0-7 most performant;
 * kind 0 IntelAtom pu 8-15)"; "0 (hwloc reports none)". */
void lnb_topo_kinds_summary(const lnb_topo *t, char *buf, size_t len);

/* OS index of the NUMA node holding the pages of [addr, addr + len), -2
 * when they are on several, -1 when this machine cannot say
 * (hwloc_get_area_memlocation failed; the reason in err). */
int lnb_mem_node(const lnb_topo *t, const void *addr, size_t len, char *err, size_t errlen);

/* The memory half of the plan, tried once at start-up: bind the calling
 * thread to each planned PU in turn, first-touch a small buffer and ask
 * where its pages went.  *on_node counts the threads whose pages landed on
 * their planned node.  0, or -1 with a reason when it cannot be checked
 * (binding or hwloc_get_area_memlocation fails); the caller's binding is
 * restored either way. */
int lnb_mem_probe(const lnb_topo *t, const lnb_place *pl, int n, int *on_node, char *err,
                  size_t errlen);

#endif
