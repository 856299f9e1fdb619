/*
 * pinning.h - the machine as hwloc sees it, and binding benchmark threads
 * to processing units (PUs).
 *
 * Where each thread goes is decided by placement.h (a plan computed from the
 * topology alone, so it can be tested on topologies loaded from synthetic
 * descriptions or XML); this file loads topologies, reports their facts and
 * binds the calling thread to the PU a plan names.
 *
 * Policies (placement.h says exactly what each does):
 *   cores    one thread per physical core in hwloc's logical order, SMT
 *            siblings only once every core has a thread (the default)
 *   compact  PUs in hwloc's logical order: a core's SMT siblings before the
 *            next core, a cache and NUMA node filled before the next
 *   scatter  round-robin over the tree: packages, then NUMA nodes, then
 *            shared caches, one thread per core; SMT siblings last
 *   none     the OS scheduler places threads (and their memory)
 *
 * Binding sets the calling thread's cpuset to the single PU the plan names,
 * so a thread on an SMT core cannot hop between siblings.
 * LNBENCH_PIN_FAIL=1 in the environment makes every binding fail, to
 * exercise the unpinned fallback.
 */
#ifndef LNBENCH_PINNING_H
#define LNBENCH_PINNING_H

#include <stddef.h>

typedef enum lnb_pin_policy {
    LNB_PIN_NONE = 0,
    LNB_PIN_COMPACT,
    LNB_PIN_SCATTER,
    LNB_PIN_CORES
} lnb_pin_policy;

/* 0 and *out set, or -1 for an unknown name. */
int lnb_pin_policy_parse(const char *s, lnb_pin_policy *out);
const char *lnb_pin_policy_name(lnb_pin_policy p);

typedef struct lnb_topo lnb_topo;

/* Load this machine's topology.  NULL with a one-line reason in err. */
lnb_topo *lnb_topo_open(char *err, size_t errlen);
/* Load a described machine instead: a synthetic description such as
 * "pack:2 [numa] core:8 pu:2" (hwloc_topology_set_synthetic) or an XML file
 * (hwloc_topology_set_xml).  Such a topology can be planned on, not bound to. */
lnb_topo *lnb_topo_open_synthetic(const char *desc, char *err, size_t errlen);
lnb_topo *lnb_topo_open_xml(const char *path, char *err, size_t errlen);
void lnb_topo_close(lnb_topo *t);

int lnb_topo_packages(const lnb_topo *t);
int lnb_topo_cores(const lnb_topo *t);
int lnb_topo_pus(const lnb_topo *t);
int lnb_topo_numa_nodes(const lnb_topo *t);
/* Size in bytes of one level-`level` data (or unified) cache, 0 if hwloc
 * reports none. */
size_t lnb_topo_cache_bytes(const lnb_topo *t, int level);
/* The last-level cache: size in bytes and level (0 if no cache is known). */
size_t lnb_topo_llc_bytes(const lnb_topo *t, int *level);
/* hwloc's CPUModel / CPUVendor info of the first package, or "unknown". */
const char *lnb_topo_cpu_model(const lnb_topo *t);
const char *lnb_topo_cpu_vendor(const lnb_topo *t);

/* Bind the calling thread to the PU with OS index `pu`.  0, or -1 with a
 * reason in err (also for a topology that is not this machine's). */
int lnb_pin_self(const lnb_topo *t, int pu, char *err, size_t errlen);

/* Try binding the calling thread to each of the n PUs in turn (entries < 0
 * are skipped), then restore its original binding.  0 when every binding
 * worked, else -1 with the first reason in err.  Used once at start-up so
 * that a failure is reported before any benchmark runs. */
int lnb_pin_probe(const lnb_topo *t, const int *pu, int n, char *err, size_t errlen);

#endif
