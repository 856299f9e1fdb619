/*
 * pinning.h - the machine as hwloc sees it, and binding benchmark threads
 * to cores.
 *
 * Policies: "compact" fills cores in hwloc's logical order (neighbours share
 * caches), "scatter" spreads threads as far apart as the topology allows
 * (hwloc_distrib: across packages, then NUMA nodes, then shared caches),
 * "none" leaves the OS scheduler in charge.  More threads than cores wrap
 * around (only with --oversubscribe).
 *
 * Binding a thread copies its core's cpuset and singlifies the copy (one PU,
 * so an SMT core does not let the thread hop between siblings); the object's
 * own set is never modified.  LNBENCH_PIN_FAIL=1 in the environment makes
 * every binding fail, to exercise the unpinned fallback.
 */
#ifndef LNBENCH_PINNING_H
#define LNBENCH_PINNING_H

#include <stddef.h>

typedef enum lnb_pin_policy {
    LNB_PIN_NONE = 0,
    LNB_PIN_COMPACT,
    LNB_PIN_SCATTER
} lnb_pin_policy;

/* 0 and *out set, or -1 for an unknown name. */
int lnb_pin_policy_parse(const char *s, lnb_pin_policy *out);
const char *lnb_pin_policy_name(lnb_pin_policy p);

typedef struct lnb_topo lnb_topo;

/* Load this machine's topology.  NULL with a one-line reason in err. */
lnb_topo *lnb_topo_open(char *err, size_t errlen);
void lnb_topo_close(lnb_topo *t);

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

/* Core (logical index in [0, cores)) for each of n threads under policy p;
 * threads beyond the core count wrap around.  For LNB_PIN_NONE every entry
 * is -1. */
void lnb_pin_plan(const lnb_topo *t, lnb_pin_policy p, int n, int *core);
/* OS index of the PU a binding to `core` uses (for the output), or -1. */
int lnb_pin_core_pu(const lnb_topo *t, int core);

/* Bind the calling thread to `core`.  0, or -1 with a reason in err. */
int lnb_pin_self(const lnb_topo *t, int core, char *err, size_t errlen);

/* Try binding the calling thread to each of the n cores in turn, then
 * restore its original binding.  0 when every binding worked, else -1 with
 * the first reason in err.  Used once at start-up so that a failure is
 * reported before any benchmark runs. */
int lnb_pin_probe(const lnb_topo *t, const int *core, int n, char *err,
                  size_t errlen);

#endif
