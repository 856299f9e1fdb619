/*
 * placement.c - the thread and memory placement plan (see placement.h),
 * the topology summary of the provenance, and the check that first touch
 * put each thread's pages on its node.
 */
#define _POSIX_C_SOURCE 200809L
#include "placement.h"

#include "topo_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ core kinds */

int lnb_cpukind_parse(const char *s, int *out)
{
    if (!strcmp(s, "all"))
        *out = LNB_CPUKIND_ALL;
    else if (!strcmp(s, "performance"))
        *out = LNB_CPUKIND_PERFORMANCE;
    else if (!strcmp(s, "efficiency"))
        *out = LNB_CPUKIND_EFFICIENCY;
    else {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (!*s || *end || errno || v < 0 || v > 63)
            return -1;
        *out = (int)v;
    }
    return 0;
}

void lnb_cpukind_name(int cpukind, char *buf, size_t len)
{
    if (cpukind == LNB_CPUKIND_ALL)
        snprintf(buf, len, "all");
    else if (cpukind == LNB_CPUKIND_PERFORMANCE)
        snprintf(buf, len, "performance");
    else if (cpukind == LNB_CPUKIND_EFFICIENCY)
        snprintf(buf, len, "efficiency");
    else
        snprintf(buf, len, "%d", cpukind);
}

/* hwloc ranks kinds (index 0 the most energy-efficient) only when it knows
 * every kind's efficiency; otherwise all report -1 and their order means
 * nothing. */
static int kinds_ranked(hwloc_topology_t topo, int nk)
{
    int eff = -1;
    return nk >= 1 && hwloc_cpukinds_get_info(topo, 0, NULL, &eff, NULL, NULL, 0) == 0 &&
           eff >= 0;
}

/* The kind index the choice keeps, or -1 for every core; -2 on error. */
static int resolve_kind(hwloc_topology_t topo, int cpukind, char *err, size_t errlen)
{
    int nk = hwloc_cpukinds_get_nr(topo, 0);
    if (nk < 0)
        nk = 0;
    if (cpukind == LNB_CPUKIND_ALL)
        return -1;
    if (cpukind >= 0) {
        if (cpukind == 0 && nk <= 1)
            return -1; /* the machine's one kind */
        if (cpukind >= nk) {
            snprintf(err, errlen, "--cpukind %d: hwloc reports %d core kind%s here", cpukind,
                     nk, nk == 1 ? "" : "s");
            return -2;
        }
        return cpukind;
    }
    if (nk <= 1)
        return -1; /* homogeneous: every core is both */
    if (!kinds_ranked(topo, nk)) {
        snprintf(err, errlen,
                 "--cpukind %s: hwloc cannot rank the %d core kinds here; choose one by "
                 "index (0 to %d)",
                 cpukind == LNB_CPUKIND_PERFORMANCE ? "performance" : "efficiency", nk, nk - 1);
        return -2;
    }
    return cpukind == LNB_CPUKIND_PERFORMANCE ? nk - 1 : 0;
}

/* ------------------------------------------------------------------ plan */

/* The cores a plan chooses from, each with its PUs in logical order. */
typedef struct core_set {
    int n;            /* cores kept */
    int npus;         /* their PUs */
    int max_smt;      /* most PUs on one core */
    hwloc_obj_t *obj; /* [n] the Core (or PU) objects */
    int *pu0, *npu;   /* [n] first entry in pus, count */
    hwloc_obj_t *pus; /* [npus] */
    int *kind;        /* [n] kind index of the core's first PU, or -1 */
    int *slot;        /* [objects at the leaf level] index in obj, or -1 */
    hwloc_obj_type_t leaf;
} core_set;

static void core_set_free(core_set *c)
{
    free(c->obj);
    free(c->pu0);
    free(c->npu);
    free(c->pus);
    free(c->kind);
    free(c->slot);
    memset(c, 0, sizeof *c);
}

static int core_set_load(hwloc_topology_t topo, int keep_kind, core_set *c)
{
    memset(c, 0, sizeof *c);
    c->leaf = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE) > 0 ? HWLOC_OBJ_CORE
                                                                  : HWLOC_OBJ_PU;
    int nleaf = hwloc_get_nbobjs_by_type(topo, c->leaf);
    int npu = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
    if (nleaf <= 0 || npu <= 0)
        return -1;
    c->obj = calloc((size_t)nleaf, sizeof *c->obj);
    c->pu0 = calloc((size_t)nleaf, sizeof *c->pu0);
    c->npu = calloc((size_t)nleaf, sizeof *c->npu);
    c->kind = calloc((size_t)nleaf, sizeof *c->kind);
    c->slot = calloc((size_t)nleaf, sizeof *c->slot);
    c->pus = calloc((size_t)npu, sizeof *c->pus);
    if (!c->obj || !c->pu0 || !c->npu || !c->kind || !c->slot || !c->pus) {
        core_set_free(c);
        return -1;
    }
    for (int i = 0; i < nleaf; i++) {
        hwloc_obj_t o = hwloc_get_obj_by_type(topo, c->leaf, (unsigned)i);
        c->slot[i] = -1;
        if (!o || !o->cpuset)
            continue;
        int first = c->npus, k = 0;
        hwloc_obj_t p = NULL;
        while ((p = hwloc_get_next_obj_inside_cpuset_by_type(topo, o->cpuset, HWLOC_OBJ_PU,
                                                              p)) != NULL &&
               c->npus < npu) {
            c->pus[c->npus++] = p;
            k++;
        }
        if (k == 0)
            continue;
        int kind = hwloc_cpukinds_get_by_cpuset(topo, c->pus[first]->cpuset, 0);
        if (kind < 0)
            kind = -1;
        if (keep_kind >= 0 && kind != keep_kind) {
            c->npus = first; /* not this kind: drop its PUs again */
            continue;
        }
        c->slot[i] = c->n;
        c->obj[c->n] = o;
        c->pu0[c->n] = first;
        c->npu[c->n] = k;
        c->kind[c->n] = kind;
        if (k > c->max_smt)
            c->max_smt = k;
        c->n++;
    }
    return c->n > 0 ? 0 : -1;
}

/* Appends to out the kept cores under obj in scatter order and returns how
 * many: each child's own order, the children taking turns (first core of
 * every child, then the second of every child, ...). */
static int spread(hwloc_topology_t topo, const core_set *c, hwloc_obj_t obj, int *out)
{
    if (obj->type == c->leaf) {
        int s = c->slot[obj->logical_index];
        if (s < 0)
            return 0;
        out[0] = s;
        return 1;
    }
    if (obj->arity == 0)
        return 0;
    int **sub = calloc(obj->arity, sizeof *sub);
    int *cnt = calloc(obj->arity, sizeof *cnt);
    int total = 0, ok = sub && cnt;
    for (unsigned i = 0; ok && i < obj->arity; i++) {
        hwloc_obj_t ch = obj->children[i];
        int under = ch->cpuset ? hwloc_get_nbobjs_inside_cpuset_by_type(topo, ch->cpuset, c->leaf)
                               : 0;
        if (under <= 0)
            continue;
        sub[i] = malloc((size_t)under * sizeof **sub);
        if (!sub[i]) {
            ok = 0;
            break;
        }
        cnt[i] = spread(topo, c, ch, sub[i]);
    }
    for (int r = 0; ok; r++) {
        int took = 0;
        for (unsigned i = 0; i < obj->arity; i++)
            if (r < cnt[i]) {
                out[total++] = sub[i][r];
                took = 1;
            }
        if (!took)
            break;
    }
    for (unsigned i = 0; sub && i < obj->arity; i++)
        free(sub[i]);
    free(sub);
    free(cnt);
    return total;
}

int lnb_place_capacity(const lnb_topo *t, int cpukind, int *cores, int *pus, char *err,
                       size_t errlen)
{
    int keep = resolve_kind(t->topo, cpukind, err, errlen);
    if (keep == -2)
        return -1;
    core_set c;
    if (core_set_load(t->topo, keep, &c) != 0) {
        snprintf(err, errlen, "no cores of the chosen kind in the topology");
        return -1;
    }
    *cores = c.n;
    *pus = c.npus;
    core_set_free(&c);
    return 0;
}

int lnb_place_plan(const lnb_topo *t, lnb_pin_policy p, int cpukind, int n, lnb_place *out,
                   char *err, size_t errlen)
{
    hwloc_topology_t topo = t->topo;
    int keep = resolve_kind(topo, cpukind, err, errlen);
    if (keep == -2)
        return -1;
    if (p == LNB_PIN_NONE) {
        for (int i = 0; i < n; i++)
            out[i] = (lnb_place){.pu = -1, .core = -1, .numa = -1, .kind = -1};
        return 0;
    }
    core_set c;
    if (core_set_load(topo, keep, &c) != 0) {
        snprintf(err, errlen, "no cores of the chosen kind in the topology");
        return -1;
    }
    int *order = malloc((size_t)c.n * sizeof *order);
    int *seq = malloc((size_t)c.npus * sizeof *seq); /* entries of c.pus */
    int *seq_core = malloc((size_t)c.npus * sizeof *seq_core);
    if (!order || !seq || !seq_core) {
        free(order);
        free(seq);
        free(seq_core);
        core_set_free(&c);
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    /* 2. The order of the cores. */
    if (p == LNB_PIN_SCATTER) {
        int got = spread(topo, &c, hwloc_get_root_obj(topo), order);
        if (got != c.n) /* a core outside the tree walk: logical order */
            for (int i = 0; i < c.n; i++)
                order[i] = i;
    } else {
        for (int i = 0; i < c.n; i++)
            order[i] = i;
    }
    int nk = hwloc_cpukinds_get_nr(topo, 0);
    if (keep < 0 && nk >= 2 && kinds_ranked(topo, nk)) {
        /* Most performant kind first; a stable insertion sort keeps each
         * kind's own order. */
        for (int i = 1; i < c.n; i++) {
            int v = order[i], j = i;
            while (j > 0 && c.kind[order[j - 1]] < c.kind[v]) {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = v;
        }
    }

    /* 3. PUs: compact takes a core's siblings together; cores and scatter
     * take one PU of every core per round, so siblings come last. */
    int m = 0;
    if (p == LNB_PIN_COMPACT) {
        for (int i = 0; i < c.n; i++)
            for (int r = 0; r < c.npu[order[i]]; r++) {
                seq[m] = c.pu0[order[i]] + r;
                seq_core[m++] = order[i];
            }
    } else {
        for (int r = 0; r < c.max_smt; r++)
            for (int i = 0; i < c.n; i++)
                if (r < c.npu[order[i]]) {
                    seq[m] = c.pu0[order[i]] + r;
                    seq_core[m++] = order[i];
                }
    }

    /* 4. Threads, wrapping past the PUs; the node local to each PU. */
    for (int i = 0; i < n; i++) {
        hwloc_obj_t pu = c.pus[seq[i % m]];
        int core = seq_core[i % m];
        int node = pu->nodeset && !hwloc_bitmap_iszero(pu->nodeset)
                       ? hwloc_bitmap_first(pu->nodeset) : -1;
        out[i] = (lnb_place){.pu = (int)pu->os_index,
                             .core = (int)c.obj[core]->logical_index,
                             .numa = node,
                             .kind = c.kind[core]};
    }
    free(order);
    free(seq);
    free(seq_core);
    core_set_free(&c);
    return 0;
}

size_t lnb_place_sweep(int cores, int pus, int max, int *out, size_t cap)
{
    size_t k = 0;
    int last = 0;
    if (pus < cores)
        pus = cores;
    for (int v = 1; v <= pus && v <= max && k < cap; v *= 2) {
        if (v > cores && last < cores && cores <= max)
            out[k++] = last = cores; /* the cores before the siblings */
        if (k < cap && v > last)
            out[k++] = last = v;
    }
    if (k < cap && last < cores && cores <= max)
        out[k++] = last = cores;
    if (k < cap && last < pus && pus <= max)
        out[k++] = pus;
    return k;
}

/* ---------------------------------------------------------------- format */

/* A growing string. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sb_add(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0)
        return;
    if (b->len + (size_t)need + 1 > b->cap) {
        size_t cap = (b->len + (size_t)need + 1) * 2;
        char *s = realloc(b->s, cap);
        if (!s)
            return;
        b->s = s;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)need;
}

/* Runs: "a-b" (step 1), "a-b:s", "vxk" (repeats), single values. */
static char *fmt_runs(const int *v, int n)
{
    sbuf b = {0};
    sb_add(&b, "%s", "");
    for (int i = 0; i < n;) {
        int j = i + 1;
        if (j < n) {
            int s = v[j] - v[i];
            while (j + 1 < n && v[j + 1] - v[j] == s)
                j++;
            int len = j - i + 1;
            if (s == 0) {
                sb_add(&b, "%s%dx%d", i ? "," : "", v[i], len);
                i = j + 1;
                continue;
            }
            if ((s == 1 && len >= 2) || len >= 3) {
                sb_add(&b, "%s%d-%d", i ? "," : "", v[i], v[j]);
                if (s != 1)
                    sb_add(&b, ":%d", s);
                i = j + 1;
                continue;
            }
        }
        sb_add(&b, "%s%d", i ? "," : "", v[i]);
        i++;
    }
    return b.s;
}

/* The shortest of: runs, a repeated period, lists taking turns. */
static char *fmt_list(const int *v, int n, int depth)
{
    char *best = fmt_runs(v, n);
    if (!best || depth >= 3 || n < 4)
        return best;
    /* A period p: the list is (v[0..p)) n/p times. */
    for (int p = 1; p <= n / 2; p++) {
        if (n % p)
            continue;
        int ok = 1;
        for (int i = p; i < n && ok; i++)
            ok = v[i] == v[i - p];
        if (!ok)
            continue;
        char *in = fmt_list(v, p, depth + 1);
        sbuf b = {0};
        if (in)
            sb_add(&b, "(%s)x%d", in, n / p);
        free(in);
        if (b.s && strlen(b.s) < strlen(best)) {
            free(best);
            best = b.s;
        } else {
            free(b.s);
        }
        break;
    }
    /* k lists taking turns. */
    int *sub = malloc((size_t)n * sizeof *sub);
    for (int k = 2; sub && k <= 8 && n / k >= 2; k++) {
        if (n % k)
            continue;
        sbuf b = {0};
        for (int j = 0; j < k; j++) {
            int m = 0;
            for (int i = j; i < n; i += k)
                sub[m++] = v[i];
            char *in = fmt_list(sub, m, depth + 1);
            if (in)
                sb_add(&b, "%s(%s)", j ? "&" : "", in);
            free(in);
        }
        if (b.s && strlen(b.s) < strlen(best)) {
            free(best);
            best = b.s;
        } else {
            free(b.s);
        }
    }
    free(sub);
    return best;
}

void lnb_place_format(const lnb_place *pl, int n, char *buf, size_t len)
{
    if (len == 0)
        return;
    buf[0] = '\0';
    if (n <= 0)
        return;
    if (pl[0].pu < 0) {
        snprintf(buf, len, "pu none node none");
        return;
    }
    int *v = malloc((size_t)n * sizeof *v);
    if (!v)
        return;
    for (int i = 0; i < n; i++)
        v[i] = pl[i].pu;
    char *pus = fmt_list(v, n, 0);
    for (int i = 0; i < n; i++)
        v[i] = pl[i].numa;
    char *nodes = fmt_list(v, n, 0);
    snprintf(buf, len, "pu %s node %s", pus ? pus : "?", nodes ? nodes : "?");
    free(pus);
    free(nodes);
    free(v);
}

/* --------------------------------------------------------------- summary */

static void fmt_size(size_t bytes, char *buf, size_t len)
{
    if (bytes >= (1u << 20) && bytes % (1u << 20) == 0)
        snprintf(buf, len, "%zu MiB", bytes >> 20);
    else if (bytes >= (1u << 20))
        snprintf(buf, len, "%.2f MiB", (double)bytes / (1 << 20));
    else
        snprintf(buf, len, "%zu KiB", bytes >> 10);
}

void lnb_topo_kinds_summary(const lnb_topo *t, char *buf, size_t len)
{
    int nk = hwloc_cpukinds_get_nr(t->topo, 0);
    if (nk <= 0) {
        snprintf(buf, len, "0 (hwloc reports none)");
        return;
    }
    if (nk == 1) {
        snprintf(buf, len, "1");
        return;
    }
    int ranked = kinds_ranked(t->topo, nk);
    size_t used = (size_t)snprintf(buf, len, "%d (", nk);
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    /* The most performant first, as the plan orders them. */
    for (int k = nk - 1; k >= 0 && set && used < len; k--) {
        unsigned ninfo = 0;
        struct hwloc_info_s *info = NULL;
        int eff = -1;
        if (hwloc_cpukinds_get_info(t->topo, (unsigned)k, set, &eff, &ninfo, &info, 0) != 0)
            continue;
        const char *type = NULL;
        for (unsigned i = 0; i < ninfo; i++)
            if (!strcmp(info[i].name, "CoreType"))
                type = info[i].value;
        char pus[128];
        hwloc_bitmap_list_snprintf(pus, sizeof pus, set);
        used += (size_t)snprintf(buf + used, len - used, "%skind %d%s%s pu %s",
                                 k == nk - 1 ? "" : "; ", k, type ? " " : "", type ? type : "",
                                 pus);
    }
    if (used < len)
        snprintf(buf + used, len - used, "%s)",
                 ranked ? "; most performant first" : "; unranked");
    hwloc_bitmap_free(set);
}

void lnb_topo_summary(const lnb_topo *t, char *buf, size_t len)
{
    hwloc_topology_t topo = t->topo;
    int smt = 1;
    hwloc_obj_t core = NULL;
    while ((core = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_CORE, core)) != NULL) {
        int k = hwloc_get_nbobjs_inside_cpuset_by_type(topo, core->cpuset, HWLOC_OBJ_PU);
        if (k > smt)
            smt = k;
    }
    char kinds[512];
    lnb_topo_kinds_summary(t, kinds, sizeof kinds);
    size_t used = (size_t)snprintf(buf, len,
                                   "%d package%s, %d NUMA node%s, %d cores, %d PUs (SMT%d), "
                                   "core kinds %s; caches",
                                   lnb_topo_packages(t), lnb_topo_packages(t) > 1 ? "s" : "",
                                   lnb_topo_numa_nodes(t), lnb_topo_numa_nodes(t) > 1 ? "s" : "",
                                   lnb_topo_cores(t), lnb_topo_pus(t), smt, kinds);
    static const hwloc_obj_type_t types[] = {HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L2CACHE,
                                             HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L4CACHE,
                                             HWLOC_OBJ_L5CACHE};
    int any = 0;
    for (int l = 0; l < 5 && used < len; l++) {
        /* Each distinct size at this level (hybrid CPUs have two) with its
         * count; instruction caches left out. */
        size_t sizes[4] = {0};
        int counts[4] = {0}, ns = 0;
        hwloc_obj_t o = NULL;
        while ((o = hwloc_get_next_obj_by_type(topo, types[l], o)) != NULL) {
            if (!o->attr || o->attr->cache.type == HWLOC_OBJ_CACHE_INSTRUCTION)
                continue;
            size_t s = (size_t)o->attr->cache.size;
            int j = 0;
            while (j < ns && sizes[j] != s)
                j++;
            if (j == ns && ns < 4)
                sizes[ns++] = s;
            if (j < ns)
                counts[j]++;
        }
        for (int j = 0; j < ns && used < len; j++) {
            char sz[32];
            fmt_size(sizes[j], sz, sizeof sz);
            if (j)
                used += (size_t)snprintf(buf + used, len - used, " + %s x%d", sz, counts[j]);
            else
                used += (size_t)snprintf(buf + used, len - used, "%sL%d%s %s x%d",
                                         any ? ", " : " ", l + 1, l == 0 ? "d" : "", sz,
                                         counts[j]);
            any = 1;
        }
    }
    if (!any && used < len)
        snprintf(buf + used, len - used, " unknown");
}

/* ---------------------------------------------------------------- memory */

int lnb_mem_node(const lnb_topo *t, const void *addr, size_t len, char *err, size_t errlen)
{
    if (!t->is_this_system) {
        snprintf(err, errlen, "the topology is not this machine's");
        return -1;
    }
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    if (!set) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = -1;
    if (hwloc_get_area_memlocation(t->topo, addr, len, set, HWLOC_MEMBIND_BYNODESET) != 0) {
        snprintf(err, errlen, "hwloc_get_area_memlocation failed: %s", strerror(errno));
    } else {
        int w = hwloc_bitmap_weight(set);
        if (w == 1)
            rc = hwloc_bitmap_first(set);
        else if (w > 1)
            rc = -2;
        else
            snprintf(err, errlen, "hwloc_get_area_memlocation found no node");
    }
    hwloc_bitmap_free(set);
    return rc;
}

int lnb_mem_probe(const lnb_topo *t, const lnb_place *pl, int n, int *on_node, char *err,
                  size_t errlen)
{
    /* Enough pages that one stray page does not decide (64 KiB). */
    const size_t bytes = (size_t)64 << 10;
    *on_node = 0;
    hwloc_bitmap_t saved = hwloc_bitmap_alloc();
    int have_saved = saved && hwloc_get_cpubind(t->topo, saved, HWLOC_CPUBIND_THREAD) == 0;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        if (pl[i].pu < 0 || pl[i].numa < 0)
            continue;
        if (lnb_pin_self(t, pl[i].pu, err, errlen) != 0) {
            rc = -1;
            break;
        }
        unsigned char *b = aligned_alloc(4096, bytes);
        if (!b) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
            break;
        }
        memset(b, 1, bytes); /* the first touch, from the pinned thread */
        int node = lnb_mem_node(t, b, bytes, err, errlen);
        free(b);
        if (node == -1)
            rc = -1;
        else if (node == pl[i].numa)
            (*on_node)++;
    }
    if (have_saved)
        hwloc_set_cpubind(t->topo, saved, HWLOC_CPUBIND_THREAD);
    hwloc_bitmap_free(saved);
    return rc;
}
