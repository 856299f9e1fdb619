/*
 * test_placement.c - the thread and memory placement plan (bench/placement.h)
 * on machines that are not here, and on this one.
 *
 * usage: test_placement DIR           check every topology of DIR (tests/topologies)
 *        test_placement --print FILE  FILE's header followed by the lines the
 *                                     plan gives now (to write a new topology's
 *                                     expectations: review every line first)
 *
 * Each DIR/NAME.expect names a topology (`source synthetic DESC` or `source
 * xml FILE`) and states, line by line, what the plan must give there:
 *
 *   summary: <the provenance's one-line topology summary>
 *   capacity KIND: cores C pus P          (what a core-kind choice leaves)
 *   sweep KIND: 1,2,4,...                 (--threads sweep's counts)
 *   POLICY KIND N: pu LIST node LIST      (the plan for N threads)
 *
 * A plan line for 1, 8 and all PUs must exist for every policy (and, on a
 * hybrid CPU, for each kind choice), so an expectation cannot be dropped
 * silently.  Besides the stated lines, every plan is checked for what its
 * policy promises, against hwloc's own tree: distinct PUs, one thread per
 * core before any SMT sibling (cores, scatter), siblings together (compact),
 * packages and NUMA nodes covered first (scatter), the most performant core
 * kind first, each thread's node local to its PU, plans for fewer threads
 * being prefixes of plans for more, wrapping past the PUs.
 *
 * On this machine: each planned PU is bound in turn and a first-touched
 * buffer must land on the planned node (where hwloc_get_area_memlocation
 * works; said when it does not).
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "placement.h"
#include "topo_internal.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PUS 1024

static const lnb_pin_policy policies[] = {LNB_PIN_CORES, LNB_PIN_COMPACT, LNB_PIN_SCATTER,
                                          LNB_PIN_NONE};
#define NPOLICIES 4

/* ------------------------------------------------ the abbreviated lists */

/* Expands lnb_place_format's LIST notation back into values (to prove the
 * notation says exactly the plan).  Returns the count, -1 on a syntax error. */
static int expand_list(const char **s, int *out, int cap);

static int expand_item(const char **s, int *out, int cap)
{
    const char *p = *s;
    int n = 0;
    if (*p == '(') {
        /* (L)xk, or (L1)&(L2)&... taking turns */
        int *lists[8], counts[8], k = 0;
        for (;;) {
            if (*p != '(' || k == 8)
                return -1;
            p++;
            lists[k] = malloc((size_t)cap * sizeof(int));
            counts[k] = lists[k] ? expand_list(&p, lists[k], cap) : -1;
            if (counts[k] < 0 || *p != ')') {
                for (int j = 0; j <= k; j++)
                    free(lists[j]);
                return -1;
            }
            p++;
            k++;
            if (*p != '&')
                break;
            p++;
        }
        if (k == 1 && *p == 'x') {
            long times = strtol(p + 1, (char **)&p, 10);
            for (long t = 0; t < times; t++)
                for (int i = 0; i < counts[0] && n < cap; i++)
                    out[n++] = lists[0][i];
        } else {
            for (int r = 0; ; r++) {
                int took = 0;
                for (int j = 0; j < k; j++)
                    if (r < counts[j] && n < cap) {
                        out[n++] = lists[j][r];
                        took = 1;
                    }
                if (!took)
                    break;
            }
        }
        for (int j = 0; j < k; j++)
            free(lists[j]);
        *s = p;
        return n;
    }
    char *end;
    long a = strtol(p, &end, 10);
    if (end == p)
        return -1;
    p = end;
    if (*p == 'x') { /* vxk */
        long times = strtol(p + 1, &end, 10);
        for (long t = 0; t < times && n < cap; t++)
            out[n++] = (int)a;
        *s = end;
        return n;
    }
    if (*p == '-') { /* a-b or a-b:s */
        long b = strtol(p + 1, &end, 10), step = 1;
        p = end;
        if (*p == ':') {
            step = strtol(p + 1, &end, 10);
            p = end;
        }
        if (step == 0 || (b - a) % step != 0 || (b - a) / step < 0)
            return -1;
        for (long v = a; n < cap; v += step) {
            out[n++] = (int)v;
            if (v == b)
                break;
        }
        *s = p;
        return n;
    }
    out[n++] = (int)a;
    *s = p;
    return n;
}

static int expand_list(const char **s, int *out, int cap)
{
    int n = 0;
    for (;;) {
        int k = expand_item(s, out + n, cap - n);
        if (k < 0)
            return -1;
        n += k;
        if (**s != ',')
            return n;
        (*s)++;
    }
}

/* The format of a plan must expand back to exactly its PUs and nodes. */
static void check_format_roundtrip(const char *what, const lnb_place *pl, int n)
{
    static char buf[1 << 16];
    static int vals[MAX_PUS * 2];
    lnb_place_format(pl, n, buf, sizeof buf);
    if (pl[0].pu < 0) {
        CHECK(!strcmp(buf, "pu none node none"), "%s: \"%s\"", what, buf);
        return;
    }
    const char *p = buf;
    CHECK(!strncmp(p, "pu ", 3), "%s: \"%.60s\"", what, buf);
    p += 3;
    int k = expand_list(&p, vals, MAX_PUS * 2);
    CHECK(k == n, "%s: \"%.80s\" expands to %d PUs, not %d", what, buf, k, n);
    for (int i = 0; i < n && i < k; i++)
        if (vals[i] != pl[i].pu) {
            CHECK_FAIL("%s: thread %d: format says PU %d, plan %d", what, i, vals[i], pl[i].pu);
            break;
        }
    CHECK(!strncmp(p, " node ", 6), "%s: \"%.60s\"", what, p);
    p += 6;
    k = expand_list(&p, vals, MAX_PUS * 2);
    CHECK(k == n && *p == '\0', "%s: nodes \"%.80s\" expand to %d, not %d", what, p, k, n);
    for (int i = 0; i < n && i < k; i++)
        if (vals[i] != pl[i].numa) {
            CHECK_FAIL("%s: thread %d: format says node %d, plan %d", what, i, vals[i],
                       pl[i].numa);
            break;
        }
}

/* --------------------------------------------------- what a policy promises */

/* The ancestor of a PU at a type (package, ...), its logical index or -1. */
static int ancestor_index(hwloc_topology_t topo, int pu, hwloc_obj_type_t type)
{
    hwloc_obj_t o = hwloc_get_pu_obj_by_os_index(topo, (unsigned)pu);
    hwloc_obj_t a = o ? hwloc_get_ancestor_obj_by_type(topo, type, o) : NULL;
    return a ? (int)a->logical_index : -1;
}

static int distinct_count(const int *v, int n)
{
    int d = 0;
    for (int i = 0; i < n; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = v[j] == v[i];
        d += !seen;
    }
    return d;
}

static void check_promises(const char *name, lnb_topo *t, lnb_pin_policy pol, int kind,
                           const lnb_place *pl, int cores, int pus)
{
    hwloc_topology_t topo = t->topo;
    const char *pn = lnb_pin_policy_name(pol);
    char kn[32];
    lnb_cpukind_name(kind, kn, sizeof kn);
    int *v = calloc((size_t)(pus > 0 ? pus : 1), sizeof *v);
    if (!v || pus < 1) {
        free(v);
        return;
    }

    /* Every PU once; each thread's node is local to its PU. */
    for (int i = 0; i < pus; i++)
        v[i] = pl[i].pu;
    CHECK(distinct_count(v, pus) == pus, "%s %s %s: PUs repeat before all %d are used", name, pn,
          kn, pus);
    for (int i = 0; i < pus; i++) {
        hwloc_obj_t node = NULL, o = hwloc_get_pu_obj_by_os_index(topo, (unsigned)pl[i].pu);
        while ((node = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_NUMANODE, node)) != NULL)
            if ((int)node->os_index == pl[i].numa)
                break;
        CHECK(o && node && hwloc_bitmap_isset(node->cpuset, (unsigned)pl[i].pu),
              "%s %s %s: thread %d on PU %d, its rows on node %d, not local", name, pn, kn, i,
              pl[i].pu, pl[i].numa);
        if (o) {
            hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_CORE, o);
            CHECK(!core || (int)core->logical_index == pl[i].core,
                  "%s %s %s: thread %d: core %d, PU %d is on core %d", name, pn, kn, i,
                  pl[i].core, pl[i].pu, core ? (int)core->logical_index : -1);
        }
        if (kind >= 0)
            CHECK(pl[i].kind == kind, "%s %s %s: thread %d on a core of kind %d", name, pn, kn, i,
                  pl[i].kind);
    }

    if (pol == LNB_PIN_CORES || pol == LNB_PIN_SCATTER) {
        /* One thread per core before any sibling. */
        for (int i = 0; i < pus; i++)
            v[i] = pl[i].core;
        CHECK(distinct_count(v, cores) == cores, "%s %s %s: the first %d threads share cores",
              name, pn, kn, cores);
        CHECK(distinct_count(v, pus) == cores, "%s %s %s: threads past the cores on new cores",
              name, pn, kn);
    }
    if (pol == LNB_PIN_COMPACT) {
        /* A core's PUs together: once left, a core is never seen again. */
        for (int i = 1; i < pus; i++)
            if (pl[i].core != pl[i - 1].core)
                for (int j = 0; j < i - 1; j++)
                    if (pl[j].core == pl[i].core) {
                        CHECK_FAIL("%s compact %s: thread %d goes back to core %d", name, kn, i,
                                   pl[i].core);
                        j = i;
                        i = pus;
                    }
    }
    if (pol == LNB_PIN_SCATTER) {
        /* As many packages, then NUMA nodes, as threads, before any repeats
         * (the trees here are symmetric at those levels). */
        int npk = lnb_topo_packages(t), nnode = lnb_topo_numa_nodes(t);
        for (int i = 0; i < npk && i < cores; i++)
            v[i] = ancestor_index(topo, pl[i].pu, HWLOC_OBJ_PACKAGE);
        int m = npk < cores ? npk : cores;
        CHECK(distinct_count(v, m) == m, "%s scatter %s: the first %d threads miss a package",
              name, kn, m);
        m = nnode < cores ? nnode : cores;
        for (int i = 0; i < m; i++)
            v[i] = pl[i].numa;
        CHECK(distinct_count(v, m) == m, "%s scatter %s: the first %d threads miss a NUMA node",
              name, kn, m);
    }
    if (kind == LNB_CPUKIND_ALL) {
        /* Ranked kinds: the most performant first (over the first PUs of
         * the cores for cores and scatter, over all PUs for compact). */
        int upto = pol == LNB_PIN_COMPACT ? pus : cores;
        for (int i = 1; i < upto; i++)
            CHECK(pl[i].kind <= pl[i - 1].kind, "%s %s: thread %d of kind %d after kind %d",
                  name, pn, i, pl[i].kind, pl[i - 1].kind);
    }
    free(v);
}

/* Plans for fewer threads are prefixes; more threads than PUs wrap. */
static void check_prefix_and_wrap(const char *name, lnb_topo *t, lnb_pin_policy pol, int kind,
                                  const lnb_place *full, int pus)
{
    static lnb_place pl[MAX_PUS + 3];
    char err[256];
    int counts[] = {1, 2, 3, 8, pus / 2, pus - 1};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        int n = counts[c];
        if (n < 1 || n > pus)
            continue;
        CHECK(lnb_place_plan(t, pol, kind, n, pl, err, sizeof err) == 0, "%s: %s", name, err);
        CHECK(!memcmp(pl, full, (size_t)n * sizeof *pl), "%s %s: the plan for %d threads is "
              "not the first %d of the plan for %d", name, lnb_pin_policy_name(pol), n, n, pus);
    }
    CHECK(lnb_place_plan(t, pol, kind, pus + 3, pl, err, sizeof err) == 0, "%s: %s", name, err);
    for (int j = 0; j < 3; j++)
        CHECK(!memcmp(&pl[pus + j], &full[j % pus], sizeof *pl),
              "%s %s: thread %d does not wrap to %d", name, lnb_pin_policy_name(pol), pus + j,
              j % pus);
}

/* ------------------------------------------------------- the stated lines */

typedef struct expect_file {
    char source_kind[16];
    char source[1024];
    char header[4096]; /* comments and the source line, as written */
    char **lines;      /* the stated lines */
    int nlines;
} expect_file;

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

static int read_expect(const char *path, expect_file *e)
{
    memset(e, 0, sizeof *e);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    static char line[1 << 16];
    while (fgets(line, sizeof line, f)) {
        trim(line);
        if (line[0] == '#' || !strncmp(line, "source ", 7)) {
            size_t used = strlen(e->header);
            snprintf(e->header + used, sizeof e->header - used, "%s\n", line);
            if (!strncmp(line, "source ", 7))
                sscanf(line + 7, "%15s %1023[^\n]", e->source_kind, e->source);
            continue;
        }
        if (!line[0])
            continue;
        char **l = realloc(e->lines, (size_t)(e->nlines + 1) * sizeof *l);
        if (!l)
            break;
        e->lines = l;
        e->lines[e->nlines++] = strdup(line);
    }
    fclose(f);
    return e->source[0] ? 0 : -1;
}

static void free_expect(expect_file *e)
{
    for (int i = 0; i < e->nlines; i++)
        free(e->lines[i]);
    free(e->lines);
}

static lnb_topo *open_source(const char *dir, const expect_file *e, char *err, size_t errlen)
{
    if (!strcmp(e->source_kind, "synthetic"))
        return lnb_topo_open_synthetic(e->source, err, errlen);
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, e->source);
    return lnb_topo_open_xml(path, err, errlen);
}

/* The kind choices worth stating on a topology: all, and on a hybrid CPU
 * performance and efficiency too. */
static int kind_choices(lnb_topo *t, int *out)
{
    int n = 0;
    out[n++] = LNB_CPUKIND_ALL;
    if (hwloc_cpukinds_get_nr(t->topo, 0) >= 2) {
        out[n++] = LNB_CPUKIND_PERFORMANCE;
        out[n++] = LNB_CPUKIND_EFFICIENCY;
    }
    return n;
}

/* Appends the lines the plan gives now: what --print writes and what a
 * check compares. */
static char **current_lines(lnb_topo *t, int *nout)
{
    static char buf[1 << 16];
    char err[256], kn[32];
    int kinds[3], nk = kind_choices(t, kinds), n = 0;
    char **lines = calloc(200, sizeof *lines);
    static lnb_place pl[MAX_PUS + 8];
    if (!lines)
        return NULL;
    int len0 = snprintf(buf, sizeof buf, "summary: ");
    lnb_topo_summary(t, buf + len0, sizeof buf - (size_t)len0);
    lines[n++] = strdup(buf);
    for (int k = 0; k < nk; k++) {
        int cores = 0, pus = 0;
        lnb_cpukind_name(kinds[k], kn, sizeof kn);
        if (lnb_place_capacity(t, kinds[k], &cores, &pus, err, sizeof err) != 0)
            continue;
        snprintf(buf, sizeof buf, "capacity %s: cores %d pus %d", kn, cores, pus);
        lines[n++] = strdup(buf);
        int sw[64];
        size_t ns = lnb_place_sweep(cores, pus, 256, sw, 64);
        int len = snprintf(buf, sizeof buf, "sweep %s: ", kn);
        for (size_t i = 0; i < ns; i++)
            len += snprintf(buf + len, sizeof buf - (size_t)len, "%s%d", i ? "," : "", sw[i]);
        lines[n++] = strdup(buf);
        int counts[3] = {1, 8, pus};
        for (int p = 0; p < NPOLICIES; p++)
            for (int c = 0; c < 3; c++) {
                if (c == 2 && pus == 8)
                    continue; /* "all" is 8 here: stated once */
                if (lnb_place_plan(t, policies[p], kinds[k], counts[c], pl, err, sizeof err))
                    continue;
                len = snprintf(buf, sizeof buf, "%s %s %d: ", lnb_pin_policy_name(policies[p]),
                               kn, counts[c]);
                lnb_place_format(pl, counts[c], buf + len, sizeof buf - (size_t)len);
                lines[n++] = strdup(buf);
            }
    }
    *nout = n;
    return lines;
}

static void check_topology(const char *dir, const char *file)
{
    char path[2048], err[256];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    expect_file e;
    if (read_expect(path, &e) != 0) {
        CHECK_FAIL("%s: unreadable, or no `source` line", path);
        free_expect(&e);
        return;
    }
    lnb_topo *t = open_source(dir, &e, err, sizeof err);
    if (!t) {
        CHECK_FAIL("%s: %s", file, err);
        free_expect(&e);
        return;
    }
    int pus_all = lnb_topo_pus(t);
    CHECK(pus_all <= MAX_PUS, "%s: %d PUs", file, pus_all);

    /* What every policy promises, for every kind choice. */
    int kinds[3], nk = kind_choices(t, kinds);
    static lnb_place full[MAX_PUS];
    for (int k = 0; k < nk && pus_all <= MAX_PUS; k++) {
        int cores = 0, pus = 0;
        CHECK(lnb_place_capacity(t, kinds[k], &cores, &pus, err, sizeof err) == 0, "%s: %s",
              file, err);
        CHECK(cores >= 1 && pus >= cores && pus <= pus_all, "%s: %d cores, %d PUs of %d", file,
              cores, pus, pus_all);
        for (int p = 0; p < NPOLICIES && pus >= 1; p++) {
            char what[256];
            snprintf(what, sizeof what, "%s %s kind %d", file, lnb_pin_policy_name(policies[p]),
                     kinds[k]);
            CHECK(lnb_place_plan(t, policies[p], kinds[k], pus, full, err, sizeof err) == 0,
                  "%s: %s", what, err);
            check_format_roundtrip(what, full, pus);
            if (policies[p] == LNB_PIN_NONE) {
                CHECK(full[0].pu == -1 && full[pus - 1].pu == -1 && full[0].numa == -1,
                      "%s: none binds", what);
                continue;
            }
            check_promises(file, t, policies[p], kinds[k], full, cores, pus);
            check_prefix_and_wrap(file, t, policies[p], kinds[k], full, pus);
        }
    }

    /* The stated lines: each must be what the plan gives, and every line
     * the plan gives must be stated. */
    int ncur = 0;
    char **cur = current_lines(t, &ncur);
    for (int i = 0; cur && i < ncur; i++) {
        size_t key = strcspn(cur[i], ":");
        int found = 0;
        for (int j = 0; j < e.nlines && !found; j++) {
            if (strncmp(e.lines[j], cur[i], key + 1) != 0)
                continue;
            found = 1;
            CHECK(!strcmp(e.lines[j], cur[i]), "%s: stated\n    %s\n  but the plan gives\n    %s",
                  file, e.lines[j], cur[i]);
        }
        CHECK(found, "%s: no line states \"%.*s\" (the plan gives: %s)", file, (int)key, cur[i],
              cur[i]);
    }
    for (int j = 0; j < e.nlines; j++) {
        size_t key = strcspn(e.lines[j], ":");
        int found = 0;
        for (int i = 0; cur && i < ncur && !found; i++)
            found = !strncmp(e.lines[j], cur[i], key + 1);
        CHECK(found, "%s: stated line of nothing the plan covers: %s", file, e.lines[j]);
    }
    for (int i = 0; cur && i < ncur; i++)
        free(cur[i]);
    free(cur);
    lnb_topo_close(t);
    free_expect(&e);
}

static int print_expect(const char *path)
{
    expect_file e;
    char dir[2048], err[256];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    if (read_expect(path, &e) != 0) {
        fprintf(stderr, "%s: unreadable, or no `source` line\n", path);
        return 2;
    }
    lnb_topo *t = open_source(dir, &e, err, sizeof err);
    if (!t) {
        fprintf(stderr, "%s: %s\n", path, err);
        free_expect(&e);
        return 2;
    }
    int n = 0;
    char **cur = current_lines(t, &n);
    fputs(e.header, stdout);
    for (int i = 0; cur && i < n; i++) {
        puts(cur[i]);
        free(cur[i]);
    }
    free(cur);
    lnb_topo_close(t);
    free_expect(&e);
    return 0;
}

/* --------------------------------------------------------- pure helpers */

static void check_helpers(void)
{
    int sw[64];
    size_t n = lnb_place_sweep(2, 2, 256, sw, 64);
    CHECK(n == 2 && sw[0] == 1 && sw[1] == 2, "sweep 2 cores: %zu counts", n);
    n = lnb_place_sweep(12, 16, 256, sw, 64);
    CHECK(n == 6 && sw[3] == 8 && sw[4] == 12 && sw[5] == 16, "sweep 12/16: %zu, %d %d %d", n,
          sw[3], sw[4], sw[5]);
    n = lnb_place_sweep(40, 80, 256, sw, 64);
    CHECK(n == 9 && sw[6] == 40 && sw[7] == 64 && sw[8] == 80, "sweep 40/80: %zu", n);
    n = lnb_place_sweep(128, 256, 64, sw, 64);
    CHECK(n == 7 && sw[6] == 64, "sweep capped at 64: %zu, last %d", n, sw[n ? n - 1 : 0]);
    n = lnb_place_sweep(1, 1, 256, sw, 64);
    CHECK(n == 1 && sw[0] == 1, "sweep 1 core: %zu", n);

    int k;
    CHECK(lnb_cpukind_parse("all", &k) == 0 && k == LNB_CPUKIND_ALL, "all");
    CHECK(lnb_cpukind_parse("performance", &k) == 0 && k == LNB_CPUKIND_PERFORMANCE, "perf");
    CHECK(lnb_cpukind_parse("efficiency", &k) == 0 && k == LNB_CPUKIND_EFFICIENCY, "eff");
    CHECK(lnb_cpukind_parse("1", &k) == 0 && k == 1, "kind 1");
    CHECK(lnb_cpukind_parse("-1", &k) != 0 && lnb_cpukind_parse("p", &k) != 0 &&
          lnb_cpukind_parse("", &k) != 0, "bad kinds accepted");

    /* Kind choices that cannot be met say so. */
    char err[256];
    int cores, pus;
    lnb_topo *t = lnb_topo_open_synthetic("pack:1 [numa] core:4 pu:2", err, sizeof err);
    CHECK(t != NULL, "synthetic: %s", err);
    if (t) {
        err[0] = '\0';
        CHECK(lnb_place_capacity(t, 3, &cores, &pus, err, sizeof err) == -1 && err[0],
              "kind 3 on a machine without kinds");
        CHECK(lnb_place_capacity(t, LNB_CPUKIND_PERFORMANCE, &cores, &pus, err, sizeof err) == 0 &&
              cores == 4 && pus == 8, "performance on a homogeneous machine: %d/%d", cores, pus);
        /* Two kinds hwloc cannot rank (no efficiency, no infos): only an
         * index chooses. */
        hwloc_bitmap_t set = hwloc_bitmap_alloc();
        hwloc_bitmap_set_range(set, 0, 3);
        hwloc_cpukinds_register(t->topo, set, -1, 0, NULL, 0);
        hwloc_bitmap_set_range(set, 4, 7);
        hwloc_bitmap_clr_range(set, 0, 3);
        hwloc_cpukinds_register(t->topo, set, -1, 0, NULL, 0);
        hwloc_bitmap_free(set);
        err[0] = '\0';
        CHECK(lnb_place_capacity(t, LNB_CPUKIND_PERFORMANCE, &cores, &pus, err, sizeof err) ==
                  -1 && strstr(err, "cannot rank"), "unranked kinds: \"%s\"", err);
        CHECK(lnb_place_capacity(t, 1, &cores, &pus, err, sizeof err) == 0 && pus == 4,
              "kind 1 of two unranked: %s", err);
        lnb_topo_close(t);
    }
}

/* ------------------------------------------------------------ this machine */

static void check_this_machine(void)
{
    char err[256];
    lnb_topo *t = lnb_topo_open(err, sizeof err);
    if (!t) {
        CHECK_FAIL("this machine: %s", err);
        return;
    }
    int cores = 0, pus = 0;
    CHECK(lnb_place_capacity(t, LNB_CPUKIND_ALL, &cores, &pus, err, sizeof err) == 0, "%s", err);
    if (pus > MAX_PUS)
        pus = MAX_PUS;
    static lnb_place pl[MAX_PUS];
    for (int p = 0; p < NPOLICIES - 1; p++) {
        CHECK(lnb_place_plan(t, policies[p], LNB_CPUKIND_ALL, pus, pl, err, sizeof err) == 0,
              "%s", err);
        check_promises("this machine", t, policies[p], LNB_CPUKIND_ALL, pl, cores, pus);
        int on_node = 0;
        if (lnb_mem_probe(t, pl, pus, &on_node, err, sizeof err) != 0) {
            printf("note: memory placement not checkable here: %s\n", err);
            continue;
        }
        CHECK(on_node == pus, "%s: %d of %d threads' first-touched pages on their node",
              lnb_pin_policy_name(policies[p]), on_node, pus);
    }
    /* A buffer touched here is on one node, which this machine can name. */
    char *b = malloc(1 << 16);
    if (b) {
        memset(b, 0, 1 << 16);
        int node = lnb_mem_node(t, b, 1 << 16, err, sizeof err);
        CHECK(node >= 0 || node == -1, "a buffer on several nodes (%d)", node);
        if (node == -1)
            printf("note: hwloc_get_area_memlocation: %s\n", err);
        free(b);
    }
    lnb_topo_close(t);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--print"))
        return print_expect(argv[2]);
    if (argc != 2) {
        fprintf(stderr, "usage: test_placement DIR | --print FILE\n");
        return 2;
    }
    check_helpers();
    DIR *d = opendir(argv[1]);
    if (!d) {
        CHECK_FAIL("%s: cannot open", argv[1]);
        return CHECK_DONE("test_placement");
    }
    char *names[64];
    int n = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL && n < 64) {
        size_t len = strlen(ent->d_name);
        if (len > 7 && !strcmp(ent->d_name + len - 7, ".expect"))
            names[n++] = strdup(ent->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, by_name);
    CHECK(n >= 6, "%d topologies in %s, want at least 6", n, argv[1]);
    for (int i = 0; i < n; i++) {
        check_topology(argv[1], names[i]);
        free(names[i]);
    }
    check_this_machine();
    return CHECK_DONE("test_placement");
}
