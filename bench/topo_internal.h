/*
 * topo_internal.h - the inside of lnb_topo, shared by pinning.c (facts and
 * binding) and placement.c (the plan).  Nothing outside bench/ sees hwloc.
 */
#ifndef LNBENCH_TOPO_INTERNAL_H
#define LNBENCH_TOPO_INTERNAL_H

#include <hwloc.h>

struct lnb_topo {
    hwloc_topology_t topo;
    int cores; /* Core objects, or PUs where hwloc shows no cores */
    int is_this_system; /* loaded from this machine (binding makes sense) */
};

#endif
