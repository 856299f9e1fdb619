/*
 * test_pinning.c - hwloc facts, binding and the binding fallback.
 *
 * LNBENCH_PIN_FAIL=1 must make every binding fail with a reason (what a
 * container or macOS does), so the speed command's unpinned path can be
 * exercised on this machine; without it, binding to core 0 should work here
 * (reported, not failed, when the host refuses: that is the fallback's job).
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "cpu_features.h"
#include "perf_counters.h"
#include "pinning.h"
#include "placement.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    lnb_pin_policy p;
    CHECK(lnb_pin_policy_parse("compact", &p) == 0 && p == LNB_PIN_COMPACT, "compact");
    CHECK(lnb_pin_policy_parse("scatter", &p) == 0 && p == LNB_PIN_SCATTER, "scatter");
    CHECK(lnb_pin_policy_parse("none", &p) == 0 && p == LNB_PIN_NONE, "none");
    CHECK(lnb_pin_policy_parse("Compact", &p) != 0, "policy names are case-sensitive");
    CHECK(lnb_pin_policy_parse("", &p) != 0, "empty policy accepted");
    CHECK(lnb_pin_policy_parse("cores", &p) == 0 && p == LNB_PIN_CORES, "cores");
    CHECK(!strcmp(lnb_pin_policy_name(LNB_PIN_SCATTER), "scatter"), "name of scatter: %s",
          lnb_pin_policy_name(LNB_PIN_SCATTER));

    char err[256];
    lnb_topo *t = lnb_topo_open(err, sizeof err);
    if (!t) {
        CHECK_FAIL("topology: %s", err);
        return CHECK_DONE("test_pinning");
    }
    int cores = lnb_topo_cores(t);
    CHECK(cores >= 1, "%d cores", cores);
    CHECK(lnb_topo_pus(t) >= cores, "%d PUs, %d cores", lnb_topo_pus(t), cores);
    CHECK(lnb_topo_numa_nodes(t) >= 1, "%d NUMA nodes", lnb_topo_numa_nodes(t));
    int level = -1;
    size_t llc = lnb_topo_llc_bytes(t, &level);
    CHECK(level >= 0 && level <= 5, "LLC level %d", level);
    CHECK((llc == 0) == (level == 0), "LLC %zu bytes at level %d", llc, level);
    if (level >= 2)
        CHECK(lnb_topo_cache_bytes(t, 2) > 0 && lnb_topo_cache_bytes(t, 2) <= llc,
              "L2 %zu bytes, LLC %zu", lnb_topo_cache_bytes(t, 2), llc);
    /* The kernels' own cache sizes (kernels/cpu_features.c) are hwloc's:
     * LN_STORE_AUTO inside a kernel then draws the line where the speed
     * harness does, and the pipeline sizes its rows by the real L1d
     * (glibc's sysconf gave 320 MiB of L3 on a Zen 4 VM, hwloc 32). */
    if (level >= 2)
        CHECK(ln_llc_bytes() == llc, "kernels' LLC %zu bytes, hwloc's %zu", ln_llc_bytes(),
              llc);
    if (lnb_topo_cache_bytes(t, 1) > 0)
        CHECK(ln_l1d_bytes() == lnb_topo_cache_bytes(t, 1), "kernels' L1d %zu bytes, hwloc's %zu",
              ln_l1d_bytes(), lnb_topo_cache_bytes(t, 1));
    CHECK(lnb_topo_cache_bytes(t, 0) == 0 && lnb_topo_cache_bytes(t, 6) == 0,
          "cache levels 0 and 6 must have no size");
    CHECK(lnb_topo_cpu_model(t) != NULL && lnb_topo_cpu_vendor(t) != NULL, "CPU model or vendor");

    /* Binding: PU OS indexes from the `cores` plan (placement.h; the plans
     * themselves are test_placement's). */
    int pus = lnb_topo_pus(t);
    lnb_place *pl = malloc((size_t)pus * sizeof *pl);
    int *pu = malloc((size_t)pus * sizeof *pu);
    CHECK(lnb_place_plan(t, LNB_PIN_CORES, LNB_CPUKIND_ALL, pus, pl, err, sizeof err) == 0,
          "plan: %s", err);
    for (int i = 0; i < pus; i++)
        pu[i] = pl[i].pu;
    CHECK(pu[0] >= 0, "thread 0 on PU %d", pu[0]);
    CHECK(lnb_topo_packages(t) >= 1, "%d packages", lnb_topo_packages(t));

    /* The forced failure: a reason naming the variable, for self and probe. */
    setenv("LNBENCH_PIN_FAIL", "1", 1);
    err[0] = '\0';
    CHECK(lnb_pin_self(t, 0, err, sizeof err) == -1, "pin_self bound despite LNBENCH_PIN_FAIL");
    CHECK(strstr(err, "LNBENCH_PIN_FAIL") != NULL, "reason \"%s\" does not name the variable", err);
    err[0] = '\0';
    CHECK(lnb_pin_probe(t, pu, pus, err, sizeof err) == -1,
          "pin_probe bound despite LNBENCH_PIN_FAIL");
    CHECK(strstr(err, "LNBENCH_PIN_FAIL") != NULL, "reason \"%s\" does not name the variable", err);
    setenv("LNBENCH_PIN_FAIL", "0", 1); /* "0" means off */
    if (lnb_pin_probe(t, pu, pus, err, sizeof err) != 0)
        printf("note: this host refuses thread binding: %s\n", err);
    unsetenv("LNBENCH_PIN_FAIL");
    /* An out-of-range core is an error, not a crash. */
    CHECK(lnb_pin_self(t, 100000, err, sizeof err) == -1, "bound to PU 100000");
    CHECK(lnb_pin_self(t, -1, err, sizeof err) == -1, "bound to PU -1");
    /* A described machine is planned on, never bound to. */
    lnb_topo *syn = lnb_topo_open_synthetic("pack:1 [numa] core:2 pu:1", err, sizeof err);
    CHECK(syn != NULL, "synthetic: %s", err);
    if (syn) {
        CHECK(lnb_pin_self(syn, 0, err, sizeof err) == -1 && strstr(err, "not this machine"),
              "bound to a synthetic topology's PU: \"%s\"", err);
        lnb_topo_close(syn);
    }
    CHECK(lnb_topo_open_synthetic("pack:zz", err, sizeof err) == NULL && err[0],
          "a bad synthetic description loaded");
    CHECK(lnb_topo_open_xml("/nonexistent/topo.xml", err, sizeof err) == NULL && err[0],
          "a missing XML file loaded");

    /* perf: the forced failure says why; otherwise either works or says why. */
    lnb_perf perf;
    setenv("LNBENCH_NO_PERF", "1", 1);
    err[0] = '\0';
    CHECK(lnb_perf_open(&perf, err, sizeof err) == -1 && strstr(err, "LNBENCH_NO_PERF"),
          "perf with LNBENCH_NO_PERF: \"%s\"", err);
    unsetenv("LNBENCH_NO_PERF");
    err[0] = '\0';
    if (lnb_perf_open(&perf, err, sizeof err) == 0) {
        uint64_t cyc = 0, ins = 0;
        volatile double x = 1;
        lnb_perf_start(&perf);
        for (int i = 0; i < 100000; i++)
            x = x * 1.0000001;
        CHECK(lnb_perf_stop(&perf, &cyc, &ins) == 0, "perf_stop");
        /* at least one instruction per iteration */
        CHECK(ins >= 100000, "%llu instructions", (unsigned long long)ins);
        lnb_perf_close(&perf);
    } else {
        CHECK(err[0] != '\0', "perf failed without a reason");
        printf("note: perf counters not supported here: %s\n", err);
    }

    free(pl);
    free(pu);
    lnb_topo_close(t);
    return CHECK_DONE("test_pinning");
}
