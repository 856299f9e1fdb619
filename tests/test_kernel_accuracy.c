/*
 * test_kernel_accuracy.c - every kernel against its accuracy contract, the
 * bounds file of this architecture (tests/bounds/<arch>.txt), written by
 * scripts/regen-bounds from measured maxima and a stated margin.
 *
 * The file's `config` line says what to measure (rows, dims, seeds,
 * gamma/beta variants, eps); this test measures exactly that, for every
 * operation x dtype x cast some kernel computes, on every input
 * distribution the dtype holds, through the accuracy engine
 * (reference/accuracy.c, as `lnbench accuracy` does, so both see the same
 * numbers).  Kernels are selected by capability for each descriptor.  Per
 * kernel x op x dtype x cast x dist it keeps the largest normwise error
 * (max and mean over a shape, in units of the dtype's unit roundoff; see
 * reference/ulp_error.h) and fails when
 *  - a kernel x op x dtype x cast x dist its capabilities cover has no
 *    entry, or an entry names a kernel, op, dtype, cast or dist that no
 *    longer exists or the kernel no longer computes (stale);
 *  - a bounded entry is exceeded, or a kernel gave NaN/Inf where the exact
 *    value is finite;
 *  - an add_ operation's h is not RN(x + residual) anywhere;
 *  - a `none` entry (no promise, its reason printed) measures well: it is
 *    stale, or the measure has gone blind;
 *  - a kernel with LN_CAP_EXACT_CONSTANT is not exact on constant rows;
 *  - a kernel with LN_CAP_FAITHFUL is above 1 ulp in the output format, or
 *    below 99.9 % correctly rounded, on any distribution, op, dtype and
 *    cast (LayerNorm forms: without beta, where x_i - mean does not itself
 *    cancel; the RMS forms everywhere).
 *
 * usage: test_kernel_accuracy [--op NAME] [BOUNDS_FILE]
 * (default LNBENCH_BOUNDS_FILE, this architecture's file in the source tree).
 * --op measures and judges one operation only, so that ctest can run the
 * operations side by side (tests/accuracy.cmake); the stale-entry check
 * needs no measurement and always covers the whole file.
 */
#define _POSIX_C_SOURCE 200809L
#include "accuracy.h"
#include "args.h"
#include "check.h"
#include "inputs.h"
#include "lnbench_kernel.h"
#include "ulp_error.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef LNBENCH_BOUNDS_FILE
#error "LNBENCH_BOUNDS_FILE: tests/accuracy.cmake defines it"
#endif
#ifndef LNBENCH_REGISTRY_SOURCE
#error "LNBENCH_REGISTRY_SOURCE: tests/accuracy.cmake defines it"
#endif

/* ------------------------------------------------------------------------ */
/* The bounds file.                                                         */
/* ------------------------------------------------------------------------ */

enum { MAX_LIST = 32, MAX_ENTRIES = 4096 };

typedef struct variant {
    const char *name;
    int affine, bias;
} variant;

/* The names regen-bounds writes for the gamma/beta variants. */
static const variant variants[] = {
    {"affine+bias", 1, 1},
    {"affine", 1, 0},
    {"bias", 0, 1},
    {"plain", 0, 0},
};
enum { NVARIANTS = sizeof variants / sizeof variants[0] };

typedef struct config {
    int seen;
    uint64_t rows;
    uint64_t *dims, *seeds;
    size_t ndims, nseeds;
    int variant_on[NVARIANTS];
    float eps;
} config;

typedef struct entry {
    char kernel[64], op[32], dtype[16], cast[16], dist[64];
    int none;               /* no promise */
    char reason[512];
    double normwise, nw_mean; /* bounds */
    int line;
} entry;

static config cfg;
static entry *entries;
static size_t nentries;
static const char *bounds_path;

/* strtod of a whole token, finite and >= 0. */
static int parse_bound(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return *s && !*end && errno == 0 && isfinite(*out) && *out >= 0 ? 0 : -1;
}

static int parse_config(char *rest, int line)
{
    char err[256];
    int ok = 1;
    cfg.seen++;
    for (char *tok = strtok(rest, " \t"); tok; tok = strtok(NULL, " \t")) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            CHECK_FAIL("%s:%d: config item '%s' is not key=value", bounds_path, line, tok);
            return -1;
        }
        *eq = '\0';
        const char *key = tok, *val = eq + 1;
        int rc = 0;
        if (!strcmp(key, "rows"))
            rc = ln_parse_u64("rows", val, 1, 1u << 20, &cfg.rows, err, sizeof err);
        else if (!strcmp(key, "dims"))
            rc = ln_parse_u64_list("dims", val, 1, 1u << 20, &cfg.dims, &cfg.ndims, err,
                                   sizeof err);
        else if (!strcmp(key, "seeds"))
            rc = ln_parse_u64_list("seeds", val, 0, UINT64_MAX, &cfg.seeds, &cfg.nseeds, err,
                                   sizeof err);
        else if (!strcmp(key, "eps"))
            rc = ln_parse_float("eps", val, &cfg.eps, err, sizeof err);
        else if (!strcmp(key, "variants")) {
            char **names = NULL;
            size_t n = 0;
            rc = ln_parse_name_list("variants", val, &names, &n, err, sizeof err);
            for (size_t i = 0; rc == 0 && i < n; i++) {
                size_t v = 0;
                while (v < NVARIANTS && strcmp(variants[v].name, names[i]) != 0)
                    v++;
                if (v == NVARIANTS) {
                    snprintf(err, sizeof err, "variants: unknown '%s'", names[i]);
                    rc = -1;
                } else {
                    cfg.variant_on[v] = 1;
                }
            }
            ln_free_list(names, n);
        } else {
            snprintf(err, sizeof err, "unknown config key '%s'", key);
            rc = -1;
        }
        if (rc != 0) {
            CHECK_FAIL("%s:%d: %s", bounds_path, line, err);
            ok = 0;
        }
    }
    return ok ? 0 : -1;
}

/* The grammar scripts/regen-bounds writes: '#' to the end of a line is a
 * comment; one `config key=value...` line; entries
 *     kernel op dtype cast dist normwise nw_mean
 *     kernel op dtype cast dist none reason...                            */
static int read_bounds(const char *path)
{
    FILE *f = fopen(path, "r");
    char buf[2048];
    int line = 0, bad = 0;
    if (!f) {
        CHECK_FAIL("cannot read the bounds file %s: %s (scripts/regen-bounds writes it)", path,
                   strerror(errno));
        return -1;
    }
    entries = calloc(MAX_ENTRIES, sizeof *entries);
    if (!entries) {
        fclose(f);
        return -1;
    }
    while (fgets(buf, sizeof buf, f)) {
        line++;
        if (!strchr(buf, '\n') && !feof(f)) {
            CHECK_FAIL("%s:%d: line too long", path, line);
            bad = 1;
            break;
        }
        buf[strcspn(buf, "#\n")] = '\0';
        for (size_t len = strlen(buf); len && strchr(" \t\r", buf[len - 1]); len--)
            buf[len - 1] = '\0';
        char *p = buf + strspn(buf, " \t");
        if (!*p)
            continue;
        if (!strncmp(p, "config", 6) && (p[6] == ' ' || p[6] == '\t')) {
            bad |= parse_config(p + 7, line) != 0;
            continue;
        }
        if (nentries == MAX_ENTRIES) {
            CHECK_FAIL("%s: more than %d entries", path, MAX_ENTRIES);
            bad = 1;
            break;
        }
        /* Whitespace-separated tokens; a none entry's reason is the rest. */
        char *tok[7] = {NULL};
        int ntok = 0;
        while (ntok < 7 && *p) {
            tok[ntok++] = p;
            p += strcspn(p, " \t\r");
            if (*p)
                *p++ = '\0';
            p += strspn(p, " \t\r");
        }
        entry *e = &entries[nentries];
        e->line = line;
        int is_none = ntok >= 6 && !strcmp(tok[5], "none");
        if (ntok < 6 || strlen(tok[0]) >= sizeof e->kernel || strlen(tok[1]) >= sizeof e->op ||
            strlen(tok[2]) >= sizeof e->dtype || strlen(tok[3]) >= sizeof e->cast ||
            strlen(tok[4]) >= sizeof e->dist) {
            CHECK_FAIL("%s:%d: malformed entry (want 'kernel op dtype cast dist normwise "
                       "nw_mean' or 'kernel op dtype cast dist none reason')", path, line);
            bad = 1;
            continue;
        }
        strcpy(e->kernel, tok[0]);
        strcpy(e->op, tok[1]);
        strcpy(e->dtype, tok[2]);
        strcpy(e->cast, tok[3]);
        strcpy(e->dist, tok[4]);
        if (is_none) {
            /* tok[6] starts the reason; the tokenizer cut it at its first
             * blank, which the rest of the line follows. */
            e->none = 1;
            snprintf(e->reason, sizeof e->reason, "%s%s%s", tok[6] ? tok[6] : "",
                     *p ? " " : "", p);
            if (!tok[6]) {
                CHECK_FAIL("%s:%d: a none entry needs a reason", path, line);
                bad = 1;
                continue;
            }
        } else if (ntok != 7 || *p || parse_bound(tok[5], &e->normwise) != 0 ||
                   parse_bound(tok[6], &e->nw_mean) != 0) {
            CHECK_FAIL("%s:%d: want 'kernel op dtype cast dist normwise nw_mean' or "
                       "'kernel op dtype cast dist none reason'", path, line);
            bad = 1;
            continue;
        }
        nentries++;
    }
    fclose(f);
    if (cfg.seen != 1 || !cfg.rows || !cfg.ndims || !cfg.nseeds) {
        CHECK_FAIL("%s: needs exactly one config line with rows, dims, seeds, variants, eps",
                   path);
        bad = 1;
    }
    return bad ? -1 : 0;
}

static entry *find_entry(const char *kernel, const char *op, const char *dtype,
                         const char *cast, const char *dist)
{
    for (size_t i = 0; i < nentries; i++)
        if (!strcmp(entries[i].kernel, kernel) && !strcmp(entries[i].op, op) &&
            !strcmp(entries[i].dtype, dtype) && !strcmp(entries[i].cast, cast) &&
            !strcmp(entries[i].dist, dist))
            return &entries[i];
    return NULL;
}

/* A kernel this build leaves out (another ISA, no oneDNN) is still known:
 * kernels/registry.c lists every kernel (LN_KERNEL(name)), whatever the
 * build compiles. */
static int declared_in_registry_source(const char *name)
{
    static char *src;
    static int loaded;
    if (!loaded) {
        loaded = 1;
        FILE *f = fopen(LNBENCH_REGISTRY_SOURCE, "r");
        if (f) {
            src = calloc(1, 1 << 20);
            if (src)
                src[fread(src, 1, (1 << 20) - 1, f)] = '\0';
            fclose(f);
        }
        CHECK(src != NULL, "cannot read %s", LNBENCH_REGISTRY_SOURCE);
    }
    char decl[128];
    snprintf(decl, sizeof decl, "LN_KERNEL(%s)", name);
    return src && strstr(src, decl) != NULL;
}

/* ------------------------------------------------------------------------ */
/* Measurement.                                                             */
/* ------------------------------------------------------------------------ */

/* Per kernel x op x dtype x cast x dist, over every shape of the
 * configuration. */
typedef struct agg {
    size_t shapes, nonfinite, h_mismatch;
    /* LN_CAP_FAITHFUL: elements checked, and those correctly rounded */
    size_t faithful_checked, faithful_cr;
    double normwise, nw_mean, max_ulp;
    /* where the largest normwise happened */
    size_t at_dim;
    uint64_t at_seed;
    const char *at_variant;
} agg;

static agg *aggs; /* [kernel][op][dtype][cast][dist] */

static agg *agg_of(size_t ki, ln_op op, ln_dtype dt, ln_cast c, size_t di)
{
    size_t i = ((ki * LN_OP_COUNT + (size_t)op) * LN_DTYPE_COUNT + (size_t)dt) * LN_CAST_COUNT +
               (size_t)c;
    return &aggs[i * ln_dist_count + di];
}

/* Does k's capability cover op x dtype x cast (whatever the tensors)? */
static int covers(const ln_kernel *k, ln_op op, ln_dtype dt, ln_cast c)
{
    /* The caps and the kernel's own supports() (oneDNN declares every op
     * and dtype so that it can say why it refuses some). */
    ln_desc d = {.op = op, .dtype = dt, .cast = c, .rows = 8, .dim = 64, .x_stride = 64,
                 .y_stride = 64, .eps = 1e-5f, .tensors = LN_TENSOR_GAMMA};
    return ln_kernel_supports(k, &d, NULL) == 0;
}

/* Whether k's capabilities declare op, dtype and cast at all, on any host. */
static int declares(const ln_kernel *k, ln_op op, ln_dtype dt, ln_cast c)
{
    return (k->caps.ops & LN_BIT(op)) && (k->caps.dtypes & LN_BIT(dt)) &&
           (c == LN_CAST_SINGLE || (k->caps.casts & LN_BIT(c)));
}

static size_t kernel_index(const ln_kernel *k)
{
    size_t i = 0;
    while (i < ln_kernel_count && ln_kernels[i] != k)
        i++;
    return i;
}

typedef struct shape_ctx {
    const ln_acc_case *c;
    const ln_acc_shape *s;
    size_t di;
    const variant *v;
} shape_ctx;

/* LN_CAP_FAITHFUL: within 1 ulp of the output format wherever nothing
 * cancels, and correctly rounded on >= 99.9 % of those elements (counted
 * into a, judged over every shape in check_entry).  Nothing cancels in the
 * RMS forms; in the LayerNorm forms that means without beta (t = gamma *
 * xhat) and where x_i - mean is not a cancellation itself (|x_i - mean| >=
 * 2^-20 |mean|; closer than that a double mean's own rounding, 2^-53
 * |mean|, can be worth an ulp).  x is h for the add_ operations. */
static void check_faithful(const ln_kernel *k, const shape_ctx *s, const float *y, agg *a)
{
    const ln_acc_case *c = s->c;
    size_t rows = c->desc.rows, dim = c->desc.dim;
    int rms = ln_op_is_rms(c->desc.op);
    double worst = 0;
    for (size_t r = 0; r < rows; r++) {
        const float *x = (c->h ? c->h : c->x) + r * dim;
        long double sum = 0;
        for (size_t j = 0; j < dim; j++)
            sum += x[j];
        long double mean = sum / dim;
        for (size_t j = 0; j < dim; j++) {
            if (!rms && fabsl(x[j] - mean) < ldexpl(fabsl(mean), -20))
                continue;
            double e = ln_ulp_error_fmt(y[r * dim + j], c->hi[r * dim + j], c->lo[r * dim + j],
                                        c->desc.dtype);
            if (!(e <= worst))
                worst = e;
            a->faithful_checked++;
            a->faithful_cr += e <= 0.5;
        }
    }
    CHECK(worst <= 1.0, "%s promises LN_CAP_FAITHFUL but %s %s %s (%s) on %s dim %zu seed %llu "
          "is %.3g ulp off where nothing cancels", k->name, ln_op_name(c->desc.op),
          ln_dtype_name(c->desc.dtype), ln_cast_name(c->desc.cast), s->v->name,
          ln_dists[s->di].name, dim, (unsigned long long)s->s->seed, worst);
}

static int on_kernel(void *ctx, const ln_kernel *k, const ln_acc_output *out,
                     const ln_error_stats *st, const char *why)
{
    const shape_ctx *s = ctx;
    size_t dim = s->c->desc.dim;
    const float *y = out ? out->y : NULL;
    if (!y) {
        CHECK_FAIL("%s failed on %s dim %zu (%s): %s", k->name, ln_dists[s->di].name, dim,
                   s->v->name, why);
        return 0;
    }
    const ln_desc *d = &s->c->desc;
    agg *a = agg_of(kernel_index(k), d->op, d->dtype, d->cast, s->di);
    a->shapes++;
    a->nonfinite += st->nonfinite;
    a->h_mismatch += st->h_mismatch;
    if (!(st->normwise <= a->normwise) || !a->at_variant) { /* also takes inf */
        a->normwise = st->normwise;
        a->at_dim = dim;
        a->at_seed = s->s->seed;
        a->at_variant = s->v->name;
    }
    if (!(st->normwise_mean <= a->nw_mean))
        a->nw_mean = st->normwise_mean;
    if (!(st->max_ulp <= a->max_ulp))
        a->max_ulp = st->max_ulp;
    if ((k->caps.flags & LN_CAP_FAITHFUL) && !s->c->beta)
        check_faithful(k, s, y, a);
    return 0;
}

/* Measure every kernel that can compute this shape, selected by
 * capability; no ground truth is computed for a shape nobody computes. */
static size_t measure_shape(const variant *v, uint64_t seed, ln_op op, ln_dtype dt, ln_cast cast,
                            size_t di, size_t dim)
{
    ln_acc_shape s = {.op = op, .dtype = dt, .cast = cast, .dist = &ln_dists[di],
                      .rows = (size_t)cfg.rows, .dim = dim, .seed = seed, .eps = cfg.eps,
                      .affine = v->affine, .bias = v->bias};
    ln_desc d = ln_acc_shape_desc(&s);
    const ln_kernel **sel = calloc(ln_kernel_count, sizeof *sel);
    size_t n = 0;
    char err[256];
    ln_acc_case c;
    if (!sel || ln_kernel_select(NULL, 0, &d, sel, &n, err, sizeof err) != 0) {
        CHECK_FAIL("kernel selection failed");
        free(sel);
        return 0;
    }
    if (n && ln_acc_case_make(&c, &s, 0, err, sizeof err) == 0) {
        shape_ctx ctx = {.c = &c, .s = &s, .di = di, .v = v};
        if (ln_acc_measure_kernels(&c, sel, n, on_kernel, &ctx, err, sizeof err) < 0)
            CHECK_FAIL("%s dim %zu: %s", ln_dists[di].name, dim, err);
        ln_acc_case_free(&c);
    } else if (n) {
        CHECK_FAIL("%s %s %s %s dim %zu: %s", ln_op_name(op), ln_dtype_name(dt),
                   ln_cast_name(cast), ln_dists[di].name, dim, err);
    }
    free(sel);
    return n ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* The verdicts.                                                            */
/* ------------------------------------------------------------------------ */

/* Entries for kernels, ops, dtypes, casts or dists that no longer exist,
 * or that the kernel no longer computes. */
static void check_stale(void)
{
    for (size_t i = 0; i < nentries; i++) {
        const entry *e = &entries[i];
        const ln_kernel *k = ln_kernel_find(e->kernel);
        int op = ln_op_from_name(e->op), dt = ln_dtype_from_name(e->dtype);
        int cast = ln_cast_from_name(e->cast);
        const ln_dist *dist = ln_dist_find(e->dist);
        CHECK(find_entry(e->kernel, e->op, e->dtype, e->cast, e->dist) == e,
              "%s:%d: %s %s %s %s %s given twice", bounds_path, e->line, e->kernel, e->op,
              e->dtype, e->cast, e->dist);
        CHECK(dist != NULL, "%s:%d: stale entry: no distribution '%s'", bounds_path, e->line,
              e->dist);
        CHECK(op >= 0, "%s:%d: stale entry: no operation '%s'", bounds_path, e->line, e->op);
        CHECK(dt >= 0, "%s:%d: stale entry: no dtype '%s'", bounds_path, e->line, e->dtype);
        CHECK(cast >= 0, "%s:%d: stale entry: no cast '%s'", bounds_path, e->line, e->cast);
        if (dist && dt >= 0)
            CHECK(!ln_dist_refuses(dist, ln_acc_format((ln_dtype)dt)),
                  "%s:%d: stale entry: %s does not hold %s", bounds_path, e->line, e->dtype,
                  e->dist);
        if (!k) {
            CHECK(declared_in_registry_source(e->kernel),
                  "%s:%d: stale entry: no kernel '%s' in kernels/registry.c", bounds_path,
                  e->line, e->kernel);
            continue;
        }
        /* Stale when the kernel's capabilities no longer declare it; one
         * that declares it but refuses here (oneDNN's bf16 path needs
         * AVX-512) keeps its entry for the machines that run it. */
        CHECK(op < 0 || dt < 0 || cast < 0 || declares(k, (ln_op)op, (ln_dtype)dt, (ln_cast)cast),
              "%s:%d: stale entry: %s does not compute %s %s (cast %s)", bounds_path, e->line,
              e->kernel, e->op, e->dtype, e->cast);
    }
}

/* One kernel x op x dtype x cast x dist: its entry, and the measurements
 * against it. */
static void check_entry(size_t ki, ln_op op, ln_dtype dt, ln_cast cast, size_t di)
{
    const ln_kernel *k = ln_kernels[ki];
    const char *dist = ln_dists[di].name;
    const agg *a = agg_of(ki, op, dt, cast, di);
    const char *on = ln_op_name(op), *dn = ln_dtype_name(dt), *cn = ln_cast_name(cast);
    const entry *e = find_entry(k->name, on, dn, cn, dist);
    const char *status = "ok";
    int before = check_failures;

    if (!e) {
        printf("FAIL %-17s %-13s %-4s %-6s %-11s no entry\n", k->name, on, dn, cn, dist);
        CHECK_FAIL("%s %s %s %s %s: no entry in %s (run scripts/regen-bounds)", k->name, on, dn,
                   cn, dist, bounds_path);
        return;
    }
    /* The promises in the capabilities hold whatever the entry says.  An
     * exact constant row is LayerNorm's (x - mean = 0 exactly); an RMS
     * form of a constant row is c / sqrt(c^2 + eps), rounded like any other. */
    if ((k->caps.flags & LN_CAP_EXACT_CONSTANT) && !strcmp(dist, "constant") && a->shapes &&
        !ln_op_is_rms(op))
        CHECK(a->max_ulp == 0, "%s promises LN_CAP_EXACT_CONSTANT but is %.3g ulp off on "
              "constant rows (%s %s %s)", k->name, a->max_ulp, on, dn, cn);
    if ((k->caps.flags & LN_CAP_FAITHFUL) && a->faithful_checked)
        CHECK(a->faithful_cr >= 0.999 * (double)a->faithful_checked,
              "%s promises LN_CAP_FAITHFUL but %s %s %s on %s is correctly rounded on only "
              "%.3f %% of %zu elements (>= 99.9 %% promised)", k->name, on, dn, cn, dist,
              100.0 * (double)a->faithful_cr / (double)a->faithful_checked, a->faithful_checked);
    CHECK(a->h_mismatch == 0, "%s %s %s %s %s: %zu elements of h are not RN(x + residual)",
          k->name, on, dn, cn, dist, a->h_mismatch);
    if (e->none) {
        /* A `none` entry says the kernel fails there; one that measures
         * well is stale (bound it instead), and a measure that no longer
         * sees those failures has gone blind. */
        if (a->shapes)
            CHECK(a->nonfinite > 0 || !(a->normwise <= 100),
                  "%s %s %s %s %s: `none` in %s:%d, but measured normwise %.3g without NaN/Inf: "
                  "remove the none line and run scripts/regen-bounds", k->name, on, dn, cn, dist,
                  bounds_path, e->line, a->normwise);
        printf("none %-17s %-13s %-4s %-6s %-11s %s\n", k->name, on, dn, cn, dist, e->reason);
        return;
    }
    CHECK(a->shapes > 0, "%s %s %s %s %s: bounded in %s:%d but nothing measured it", k->name, on,
          dn, cn, dist, bounds_path, e->line);
    CHECK(a->nonfinite == 0, "%s %s %s %s %s: %zu NaN/Inf outputs where the exact value is "
          "finite", k->name, on, dn, cn, dist, a->nonfinite);
    CHECK(a->normwise <= e->normwise, "%s %s %s %s %s: normwise %.4g > bound %.4g (dim %zu, seed "
          "%llu, %s)", k->name, on, dn, cn, dist, a->normwise, e->normwise, a->at_dim,
          (unsigned long long)a->at_seed, a->at_variant);
    CHECK(a->nw_mean <= e->nw_mean, "%s %s %s %s %s: normwise mean %.4g > bound %.4g", k->name,
          on, dn, cn, dist, a->nw_mean, e->nw_mean);
    if (check_failures != before)
        status = "FAIL";
    printf("%-4s %-17s %-13s %-4s %-6s %-11s normwise %10.4g %s %-8.4g mean %10.4g %s %-8.4g "
           "(%zu shapes)\n", status, k->name, on, dn, cn, dist, a->normwise,
           a->normwise <= e->normwise ? "<=" : "> ", e->normwise, a->nw_mean,
           a->nw_mean <= e->nw_mean ? "<=" : "> ", e->nw_mean, a->shapes);
}

/* The measure the bounds rest on sees what it should: on a hand-made case,
 * normwise and its mean are what the definition gives, and an output equal
 * to a cancelled exact 0 does not blow them up. */
static void check_measure(void)
{
    /* t = {1, -2, 0, 0.5}; r off by {2^-24, 0, 2^-40, -2^-23} */
    const double hi[4] = {1.0, -2.0, 0.0, 0.5}, lo[4] = {0, 0, 0, 0};
    const float r[4] = {1.0f + 0x1p-23f, -2.0f, 0x1p-40f, 0.5f - 0x1p-24f};
    ln_error_stats st;
    CHECK(ln_error_measure(r, 4, hi, lo, 4, 1, 4, &st) == 0, "ln_error_measure failed");
    /* max|r - t| = 2^-23 (first element), max|t| = 2: 2^-24 / 2^-24 = 1 */
    CHECK(st.normwise == 1.0, "normwise %.17g, want 1", st.normwise);
    double mean = (0x1p-23 + 0 + 0x1p-40 + 0x1p-24) / 4 / 2 / 0x1p-24;
    CHECK(fabs(st.normwise_mean - mean) <= 1e-15 * mean, "normwise_mean %.17g, want %.17g",
          st.normwise_mean, mean);
    CHECK(st.max_ulp > 1e20, "componentwise max %.3g: t = 0 should dominate it", st.max_ulp);
}

int main(int argc, char **argv)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int only_op = -1;
    int a = 1;
    if (argc > 2 && !strcmp(argv[1], "--op")) {
        only_op = ln_op_from_name(argv[2]);
        if (only_op < 0) {
            fprintf(stderr, "test_kernel_accuracy: unknown operation '%s'\n", argv[2]);
            return 2;
        }
        a = 3;
    }
    bounds_path = argc > a ? argv[a] : LNBENCH_BOUNDS_FILE;
    printf("bounds: %s%s%s\n", bounds_path, only_op >= 0 ? ", operation " : "",
           only_op >= 0 ? argv[2] : "");
    check_measure();
    if (read_bounds(bounds_path) != 0)
        return CHECK_DONE("test_kernel_accuracy");

    aggs = calloc(ln_kernel_count * LN_OP_COUNT * LN_DTYPE_COUNT * LN_CAST_COUNT * ln_dist_count,
                  sizeof *aggs);
    if (!aggs) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    /* Every op x dtype x cast x dist the dtype holds, for each variant,
     * seed and dim; the RMS forms have no beta, so of the variants they
     * measure the ones without it (a variant with bias stands in for its
     * twin only when the twin is not configured). */
    size_t shapes = 0;
    for (size_t v = 0; v < NVARIANTS; v++) {
        if (!cfg.variant_on[v])
            continue;
        for (int op = 0; op < LN_OP_COUNT; op++) {
            if (only_op >= 0 && op != only_op)
                continue;
            if (ln_op_is_rms((ln_op)op) && variants[v].bias) {
                size_t twin = 0;
                while (twin < NVARIANTS && (variants[twin].affine != variants[v].affine ||
                                            variants[twin].bias))
                    twin++;
                if (twin < NVARIANTS && cfg.variant_on[twin])
                    continue;
            }
            for (int dt = 0; dt < LN_DTYPE_COUNT; dt++)
                for (int c = 0; c < LN_CAST_COUNT; c++) {
                    if (c != LN_CAST_SINGLE && !ln_op_is_rms((ln_op)op))
                        continue;
                    for (size_t s = 0; s < cfg.nseeds; s++)
                        for (size_t di = 0; di < ln_dist_count; di++) {
                            if (ln_dist_refuses(&ln_dists[di], ln_acc_format((ln_dtype)dt)))
                                continue;
                            for (size_t i = 0; i < cfg.ndims; i++)
                                shapes += measure_shape(&variants[v], cfg.seeds[s], (ln_op)op,
                                                        (ln_dtype)dt, (ln_cast)c, di,
                                                        (size_t)cfg.dims[i]);
                        }
                }
        }
    }

    check_stale();
    for (size_t ki = 0; ki < ln_kernel_count; ki++) {
        const ln_kernel *k = ln_kernels[ki];
        const char *why = ln_kernel_unavailable(k);
        /* A device this build lacks (Metal off Apple): listed only, its
         * entries belong where it is built. */
        if (!ln_device_get(k->caps.device)) {
            printf("skip %-17s not in this build: %s (no entries required)\n", k->name, why);
            continue;
        }
        if (why)
            printf("skip %-17s cannot run here: %s (its entries are still required)\n", k->name,
                   why);
        for (int op = 0; op < LN_OP_COUNT; op++)
            for (int dt = 0; dt < LN_DTYPE_COUNT; dt++)
                for (int c = 0; c < LN_CAST_COUNT; c++) {
                    if ((only_op >= 0 && op != only_op) ||
                        !covers(k, (ln_op)op, (ln_dtype)dt, (ln_cast)c))
                        continue;
                    for (size_t di = 0; di < ln_dist_count; di++) {
                        if (ln_dist_refuses(&ln_dists[di], ln_acc_format((ln_dtype)dt)))
                            continue;
                        if (why) {
                            CHECK(find_entry(k->name, ln_op_name((ln_op)op),
                                             ln_dtype_name((ln_dtype)dt), ln_cast_name((ln_cast)c),
                                             ln_dists[di].name),
                                  "%s %s %s %s %s: no entry in %s", k->name,
                                  ln_op_name((ln_op)op), ln_dtype_name((ln_dtype)dt),
                                  ln_cast_name((ln_cast)c), ln_dists[di].name, bounds_path);
                            continue;
                        }
                        check_entry(ki, (ln_op)op, (ln_dtype)dt, (ln_cast)c, di);
                    }
                }
    }

    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%zu shapes (%llu rows each) in %.1f s\n", shapes, (unsigned long long)cfg.rows,
           (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    free(cfg.dims);
    free(cfg.seeds);
    free(entries);
    free(aggs);
    return CHECK_DONE("test_kernel_accuracy");
}
