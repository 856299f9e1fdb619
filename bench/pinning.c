/*
 * pinning.c - hwloc topology facts and thread binding (see pinning.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "pinning.h"

#include <hwloc.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lnb_topo {
    hwloc_topology_t topo;
    int cores;
};

int lnb_pin_policy_parse(const char *s, lnb_pin_policy *out)
{
    if (!strcmp(s, "compact"))
        *out = LNB_PIN_COMPACT;
    else if (!strcmp(s, "scatter"))
        *out = LNB_PIN_SCATTER;
    else if (!strcmp(s, "none"))
        *out = LNB_PIN_NONE;
    else
        return -1;
    return 0;
}

const char *lnb_pin_policy_name(lnb_pin_policy p)
{
    switch (p) {
    case LNB_PIN_COMPACT: return "compact";
    case LNB_PIN_SCATTER: return "scatter";
    default: return "none";
    }
}

lnb_topo *lnb_topo_open(char *err, size_t errlen)
{
    lnb_topo *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (hwloc_topology_init(&t->topo) != 0 || hwloc_topology_load(t->topo) != 0) {
        snprintf(err, errlen, "hwloc could not load the topology: %s",
                 strerror(errno));
        free(t);
        return NULL;
    }
    t->cores = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_CORE);
    if (t->cores <= 0) /* some VMs report PUs only */
        t->cores = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_PU);
    if (t->cores <= 0)
        t->cores = 1;
    return t;
}

void lnb_topo_close(lnb_topo *t)
{
    if (!t)
        return;
    hwloc_topology_destroy(t->topo);
    free(t);
}

int lnb_topo_cores(const lnb_topo *t) { return t->cores; }

int lnb_topo_pus(const lnb_topo *t)
{
    int n = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_PU);
    return n > 0 ? n : 1;
}

int lnb_topo_numa_nodes(const lnb_topo *t)
{
    int n = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_NUMANODE);
    return n > 0 ? n : 1;
}

size_t lnb_topo_cache_bytes(const lnb_topo *t, int level)
{
    static const hwloc_obj_type_t types[] = {HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L2CACHE,
                                             HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L4CACHE,
                                             HWLOC_OBJ_L5CACHE};
    if (level < 1 || level > 5)
        return 0;
    hwloc_obj_t o = NULL;
    while ((o = hwloc_get_next_obj_by_type(t->topo, types[level - 1], o)) != NULL)
        if (o->attr && o->attr->cache.type != HWLOC_OBJ_CACHE_INSTRUCTION)
            return (size_t)o->attr->cache.size;
    return 0;
}

size_t lnb_topo_llc_bytes(const lnb_topo *t, int *level)
{
    for (int l = 5; l >= 1; l--) {
        size_t s = lnb_topo_cache_bytes(t, l);
        if (s) {
            if (level)
                *level = l;
            return s;
        }
    }
    if (level)
        *level = 0;
    return 0;
}

static const char *package_info(const lnb_topo *t, const char *name)
{
    hwloc_obj_t pkg = hwloc_get_obj_by_type(t->topo, HWLOC_OBJ_PACKAGE, 0);
    const char *v = NULL;
    if (pkg)
        v = hwloc_obj_get_info_by_name(pkg, name);
    if (!v)
        v = hwloc_obj_get_info_by_name(hwloc_get_root_obj(t->topo), name);
    return v ? v : "unknown";
}

const char *lnb_topo_cpu_model(const lnb_topo *t) { return package_info(t, "CPUModel"); }
const char *lnb_topo_cpu_vendor(const lnb_topo *t) { return package_info(t, "CPUVendor"); }

/* The object a core index stands for (a PU when hwloc shows no cores). */
static hwloc_obj_t core_obj(const lnb_topo *t, int core)
{
    hwloc_obj_t o = hwloc_get_obj_by_type(t->topo, HWLOC_OBJ_CORE, (unsigned)core);
    if (!o)
        o = hwloc_get_obj_by_type(t->topo, HWLOC_OBJ_PU, (unsigned)core);
    return o;
}

void lnb_pin_plan(const lnb_topo *t, lnb_pin_policy p, int n, int *core)
{
    int m = n < t->cores ? n : t->cores;
    if (p == LNB_PIN_NONE) {
        for (int i = 0; i < n; i++)
            core[i] = -1;
        return;
    }
    for (int i = 0; i < m; i++)
        core[i] = i;
    if (p == LNB_PIN_SCATTER && m > 1) {
        /* hwloc_distrib splits the machine into m evenly spread cpusets;
         * each thread takes the core holding its set's first PU. */
        hwloc_bitmap_t *sets = calloc((size_t)m, sizeof *sets);
        hwloc_obj_t root = hwloc_get_root_obj(t->topo);
        if (sets && hwloc_distrib(t->topo, &root, 1, sets, (unsigned)m, INT_MAX, 0) == 0) {
            for (int i = 0; i < m; i++) {
                int pu = hwloc_bitmap_first(sets[i]);
                for (int c = 0; c < t->cores && pu >= 0; c++) {
                    hwloc_obj_t o = core_obj(t, c);
                    if (o && hwloc_bitmap_isset(o->cpuset, (unsigned)pu)) {
                        core[i] = c;
                        break;
                    }
                }
            }
            for (int i = 0; i < m; i++)
                hwloc_bitmap_free(sets[i]);
        }
        free(sets);
    }
    for (int i = m; i < n; i++)
        core[i] = core[i % m];
}

int lnb_pin_core_pu(const lnb_topo *t, int core)
{
    if (core < 0)
        return -1;
    hwloc_obj_t o = core_obj(t, core);
    if (!o || !o->cpuset)
        return -1;
    hwloc_bitmap_t set = hwloc_bitmap_dup(o->cpuset);
    if (!set)
        return -1;
    hwloc_bitmap_singlify(set);
    int pu = hwloc_bitmap_first(set);
    hwloc_bitmap_free(set);
    return pu;
}

int lnb_pin_self(const lnb_topo *t, int core, char *err, size_t errlen)
{
    const char *force = getenv("LNBENCH_PIN_FAIL");
    if (force && *force && strcmp(force, "0") != 0) {
        snprintf(err, errlen, "binding disabled by LNBENCH_PIN_FAIL");
        return -1;
    }
    hwloc_obj_t o = core_obj(t, core);
    if (!o || !o->cpuset) {
        snprintf(err, errlen, "no core %d in the topology", core);
        return -1;
    }
    /* Singlify a copy: the object's own cpuset belongs to the topology. */
    hwloc_bitmap_t set = hwloc_bitmap_dup(o->cpuset);
    if (!set) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    hwloc_bitmap_singlify(set);
    int rc = hwloc_set_cpubind(t->topo, set, HWLOC_CPUBIND_THREAD);
    int e = errno;
    hwloc_bitmap_free(set);
    if (rc != 0) {
        snprintf(err, errlen, "hwloc_set_cpubind(core %d) failed: %s", core,
                 strerror(e));
        return -1;
    }
    return 0;
}

int lnb_pin_probe(const lnb_topo *t, const int *core, int n, char *err,
                  size_t errlen)
{
    hwloc_bitmap_t saved = hwloc_bitmap_alloc();
    int have_saved = saved && hwloc_get_cpubind(t->topo, saved, HWLOC_CPUBIND_THREAD) == 0;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        if (core[i] >= 0)
            rc = lnb_pin_self(t, core[i], err, errlen);
    if (have_saved)
        hwloc_set_cpubind(t->topo, saved, HWLOC_CPUBIND_THREAD);
    hwloc_bitmap_free(saved);
    return rc;
}
