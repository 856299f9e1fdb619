/*
 * pinning.c - hwloc topologies, their facts, and thread binding (see
 * pinning.h).  Where threads go is placement.c's.
 */
#define _POSIX_C_SOURCE 200809L
#include "pinning.h"

#include "topo_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lnb_pin_policy_parse(const char *s, lnb_pin_policy *out)
{
    if (!strcmp(s, "compact"))
        *out = LNB_PIN_COMPACT;
    else if (!strcmp(s, "scatter"))
        *out = LNB_PIN_SCATTER;
    else if (!strcmp(s, "cores"))
        *out = LNB_PIN_CORES;
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
    case LNB_PIN_CORES: return "cores";
    default: return "none";
    }
}

/* Load a topology: `how` 0 this machine, 1 synthetic description, 2 XML
 * file named by `src`. */
static lnb_topo *topo_load(int how, const char *src, char *err, size_t errlen)
{
    lnb_topo *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (hwloc_topology_init(&t->topo) != 0) {
        snprintf(err, errlen, "hwloc_topology_init failed: %s", strerror(errno));
        free(t);
        return NULL;
    }
    int rc = 0;
    if (how == 1)
        rc = hwloc_topology_set_synthetic(t->topo, src);
    else if (how == 2)
        rc = hwloc_topology_set_xml(t->topo, src);
    if (rc != 0) {
        snprintf(err, errlen, "hwloc cannot read %s '%.200s': %s",
                 how == 1 ? "the synthetic description" : "the XML file", src, strerror(errno));
        hwloc_topology_destroy(t->topo);
        free(t);
        return NULL;
    }
    if (hwloc_topology_load(t->topo) != 0) {
        snprintf(err, errlen, "hwloc could not load the topology: %s", strerror(errno));
        hwloc_topology_destroy(t->topo);
        free(t);
        return NULL;
    }
    t->is_this_system = hwloc_topology_is_thissystem(t->topo);
    t->cores = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_CORE);
    if (t->cores <= 0) /* some VMs report PUs only */
        t->cores = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_PU);
    if (t->cores <= 0)
        t->cores = 1;
    return t;
}

lnb_topo *lnb_topo_open(char *err, size_t errlen) { return topo_load(0, NULL, err, errlen); }

lnb_topo *lnb_topo_open_synthetic(const char *desc, char *err, size_t errlen)
{
    return topo_load(1, desc, err, errlen);
}

lnb_topo *lnb_topo_open_xml(const char *path, char *err, size_t errlen)
{
    return topo_load(2, path, err, errlen);
}

void lnb_topo_close(lnb_topo *t)
{
    if (!t)
        return;
    hwloc_topology_destroy(t->topo);
    free(t);
}

int lnb_topo_packages(const lnb_topo *t)
{
    int n = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_PACKAGE);
    return n > 0 ? n : 1;
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

int lnb_pin_self(const lnb_topo *t, int pu, char *err, size_t errlen)
{
    const char *force = getenv("LNBENCH_PIN_FAIL");
    if (force && *force && strcmp(force, "0") != 0) {
        snprintf(err, errlen, "binding disabled by LNBENCH_PIN_FAIL");
        return -1;
    }
    if (!t->is_this_system) {
        snprintf(err, errlen, "the topology is not this machine's: nothing to bind to");
        return -1;
    }
    hwloc_obj_t o = pu >= 0 ? hwloc_get_pu_obj_by_os_index(t->topo, (unsigned)pu) : NULL;
    if (!o || !o->cpuset) {
        snprintf(err, errlen, "no PU %d in the topology", pu);
        return -1;
    }
    /* A copy: the object's own cpuset belongs to the topology. */
    hwloc_bitmap_t set = hwloc_bitmap_dup(o->cpuset);
    if (!set) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = hwloc_set_cpubind(t->topo, set, HWLOC_CPUBIND_THREAD);
    int e = errno;
    hwloc_bitmap_free(set);
    if (rc != 0) {
        snprintf(err, errlen, "hwloc_set_cpubind(PU %d) failed: %s", pu, strerror(e));
        return -1;
    }
    return 0;
}

int lnb_pin_probe(const lnb_topo *t, const int *pu, int n, char *err, size_t errlen)
{
    hwloc_bitmap_t saved = hwloc_bitmap_alloc();
    int have_saved = saved && hwloc_get_cpubind(t->topo, saved, HWLOC_CPUBIND_THREAD) == 0;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        if (pu[i] >= 0)
            rc = lnb_pin_self(t, pu[i], err, errlen);
    if (have_saved)
        hwloc_set_cpubind(t->topo, saved, HWLOC_CPUBIND_THREAD);
    hwloc_bitmap_free(saved);
    return rc;
}
