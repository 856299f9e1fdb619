/*
 * cmd_accuracy.c - `lnbench accuracy`: every kernel's ulp error against the
 * correctly rounded MPFR ground truth.
 *
 * Data flows one way: generate (or load) inputs -> ground truth -> run each
 * kernel -> measure (reference/accuracy.c, the engine the tests use too) ->
 * print the table, write JSON / .npy dumps.
 */
#define _POSIX_C_SOURCE 200809L
#include "accuracy.h"
#include "args.h"
#include "commands.h"
#include "inputs.h"
#include "json.h"
#include "lnbench_kernel.h"
#include "memcheck.h"
#include "npy.h"
#include "outfile.h"
#include "provenance.h"
#include "signals.h"
#include "ulp_error.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char accuracy_help[] =
    "usage: lnbench accuracy [options]\n"
    "\n"
    "Measures every kernel's error against the correctly rounded result of the\n"
    "same inputs (MPFR, each rounding proven by a Ziv loop), in the output format.\n"
    "\n"
    "options:\n"
    "  --op OP,..       layernorm, rmsnorm, add_layernorm, add_rmsnorm, or all\n"
    "                   (default: layernorm); add_ ops also check h = RN(x + residual)\n"
    "  --dtype DT,..    f32, bf16, f16, or all (default: f32): inputs, outputs,\n"
    "                   gamma/w, beta and residual in that format\n"
    "  --cast C,..      single, llama, gemma, or all (default: single): where the\n"
    "                   definition rounds (llama, gemma: RMS forms only; see README)\n"
    "  --kernels K,..   kernels to measure (default: every available one that computes\n"
    "                   the op/dtype/cast; see `lnbench list`)\n"
    "  --dists NAME,..  input distributions (default: all):\n"
    "%s"
    "  --dims D,..      row lengths (default: 1,3,7,64,768,1000,1024,4096,4097,8192,12288)\n"
    "  --rows N         rows per shape (default: 64)\n"
    "  --eps E          epsilon, a binary32 value (default: 1e-5)\n"
    "  --no-affine      no gamma (MLX affine=False)\n"
    "  --no-bias        no beta (MLX bias=False)\n"
    "  --seed S         generator seed (default: 1)\n"
    "  --input X.npy    measure on your own 2-D array instead of the generators, of one\n"
    "                   --dtype: '<f4' for f32, '<f2' for f16, '<u2' bfloat16 bit\n"
    "                   patterns for bf16 (x.view(numpy.uint16) of an ml_dtypes array)\n"
    "  --residual R.npy with --input and an add_ op: the residual (same shape and dtype)\n"
    "  --gamma G.npy    with --input: gamma (1-D, length dim) instead of a generated one\n"
    "  --beta B.npy     with --input: beta (1-D, length dim) instead of a generated one\n"
    "  --json FILE      write one JSON record per kernel x dist x dim (with provenance);\n"
    "                   FILE - is standard output (the table is then not printed)\n"
    "  --dump DIR       write inputs, ground truth and every kernel's output as .npy\n"
    "                   files plus manifest.json (DIR must not exist yet)\n"
    "  --force          allow --json / --dump to replace an existing file or directory:\n"
    "                   with --dump, EVERY file in DIR is deleted (once the new dump is\n"
    "                   complete), not only earlier dumps; refused when DIR holds an\n"
    "                   --input/--gamma/--beta file.  Special files are never replaced\n"
    "  --threads T      threads for the ground truth (default: all online CPUs)\n"
    "  --quiet          no progress on stderr\n"
    "  -h, --help       this text\n"
    "Values go as --opt V or --opt=V; -- ends the options.\n"
    "\n"
    "Columns: max ulp (and where), mean ulp and p99 over elements with a finite\n"
    "error, %% correctly rounded (error <= 0.5 ulp), %% faithful (<= 1 ulp),\n"
    "normwise = max|r - t| / max|t| in units of the format's unit roundoff u\n"
    "(2^-24 f32, 2^-8 bf16, 2^-11 f16), nonfinite = NaN or Inf where the exact\n"
    "value is finite, h_bad = elements of h that are not RN(x + residual).\n"
    "ulp(t) = 2^(max(floor(log2|t|), emin) - p + 1) in the dtype's format (f32 p 24\n"
    "emin -126, bf16 p 8 emin -126, f16 p 11 emin -14).  A distribution whose values\n"
    "do not fit the dtype (huge, scale1e9 in f16) is skipped with a note; subnormal\n"
    "and offset40000 are generated for the dtype.  Combinations that mean nothing\n"
    "(--cast llama with a layernorm op, a named kernel that cannot compute one, an\n"
    "--input whose dtype is not --dtype) are usage errors.\n"
    "Exit status: 0 done, 1 a kernel or the reference failed or an output could not\n"
    "be written, 2 bad usage/input (including a run too large for the memory available).\n";

static const uint64_t default_dims[] = {1, 3, 7, 64, 768, 1000, 1024, 4096, 4097, 8192, 12288};

typedef struct acc_opts {
    char **kernel_names;
    size_t nkernels;
    /* The op, dtype and cast lists (indices); *_all when given as `all`. */
    int ops[LN_OP_COUNT], dtypes[LN_DTYPE_COUNT], casts[LN_CAST_COUNT];
    size_t nops, ndtypes, ncasts;
    int ops_all, dtypes_all, casts_all;
    const char *residual_path;
    char **dist_names;
    size_t ndists;
    uint64_t *dims;
    size_t ndims;
    uint64_t rows, seed, threads;
    float eps;
    int affine, bias, force, quiet;
    const char *json_path, *dump_path, *input_path, *gamma_path, *beta_path;
} acc_opts;

/* One measured kernel x shape. */
typedef struct acc_record {
    const char *kernel;
    ln_op op;
    ln_dtype dtype;
    ln_cast cast;
    char dist[64];
    size_t dim, rows;
    size_t undefined; /* elements with no real value (var + eps = 0) */
    ln_error_stats st;
} acc_record;

/* One op x dtype x cast the run measures, and the kernels that compute it. */
typedef struct acc_combo {
    ln_op op;
    ln_dtype dtype;
    ln_cast cast;
    const ln_kernel **kernels;
    size_t nkernels;
} acc_combo;

typedef struct acc_run {
    const acc_opts *o;
    acc_combo *combos;
    size_t ncombos;
    const ln_kernel **kernels; /* of the combination being measured */
    size_t nkernels;
    /* Every kernel measured in the run, for the JSON's parameters. */
    const ln_kernel **all_kernels;
    size_t nall;
    ln_op op;
    ln_dtype dtype;
    ln_cast cast;
    acc_record *recs;
    size_t nrecs, caprecs;
    ln_outdir *dump;
    FILE *manifest;       /* manifest.json inside the dump, built as we go */
    ln_json mj;
    size_t shapes_done, shapes_total;
    struct timespec t0, last_progress;
    size_t input_rows, input_dim; /* with --input: the array's shape */
    char input_dist[64];          /* with --input: its "dist" name */
} acc_run;

/* The shape every run measures on: the options' eps, seed, affine, bias. */
static ln_acc_shape base_shape(const acc_opts *o, ln_op op, ln_dtype dt, ln_cast c)
{
    ln_acc_shape s = {.op = op, .dtype = dt, .cast = c, .rows = (size_t)o->rows,
                      .seed = o->seed, .eps = o->eps, .affine = o->affine, .bias = o->bias};
    return s;
}

/* The .npy element type of a dtype: bfloat16 comes as '<u2' bit patterns
 * (NumPy has no bfloat16 of its own). */
static ln_npy_type npy_type_of(ln_dtype dt)
{
    return dt == LN_DTYPE_F16 ? LN_NPY_F16 : dt == LN_DTYPE_BF16 ? LN_NPY_BF16_BITS : LN_NPY_F32;
}

/* With --json - the JSON is standard output: no table there. */
static int table_off(const acc_opts *o)
{
    return o->json_path && strcmp(o->json_path, "-") == 0;
}

static void die_usage(const char *msg)
{
    fprintf(stderr, "lnbench accuracy: %s\n", msg);
}

static double seconds_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + 1e-9 * (double)(now.tv_nsec - t->tv_nsec);
}

/* Progress on stderr, only once the run has taken a few seconds, at most
 * every two seconds, so short runs stay silent. */
static void progress(acc_run *r, const char *what)
{
    if (r->o->quiet)
        return;
    double el = seconds_since(&r->t0);
    if (el < 3.0 || seconds_since(&r->last_progress) < 2.0)
        return;
    clock_gettime(CLOCK_MONOTONIC, &r->last_progress);
    fprintf(stderr, "lnbench accuracy: %zu/%zu shapes, %.0f s elapsed, now %s\n",
            r->shapes_done, r->shapes_total, el, what);
}

static void print_header(void)
{
    printf("%-18s %-13s %-4s %-6s %-11s %6s %10s %12s %9s %9s %7s %7s %9s %9s %6s\n", "kernel",
           "op", "type", "cast", "dist", "dim", "max_ulp", "at(row,col)", "mean_ulp", "p99_ulp",
           "%cr", "%faith", "normwise", "nonfinite", "h_bad");
}

static void fmt_ulp(char *buf, size_t n, double v)
{
    if (isinf(v))
        snprintf(buf, n, "inf");
    else if (v != 0 && (v < 1e-3 || v >= 1e6))
        snprintf(buf, n, "%.2e", v);
    else
        snprintf(buf, n, "%.3f", v);
}

static void print_record(const acc_record *rec)
{
    char mx[32], mean[32], p99[32], nw[32], at[32];
    fmt_ulp(mx, sizeof mx, rec->st.max_ulp);
    fmt_ulp(mean, sizeof mean, rec->st.mean_ulp);
    fmt_ulp(p99, sizeof p99, rec->st.p99_ulp);
    fmt_ulp(nw, sizeof nw, rec->st.normwise);
    snprintf(at, sizeof at, "%zu,%zu", rec->st.max_row, rec->st.max_col);
    char hbad[32] = "-";
    if (ln_op_has_residual(rec->op))
        snprintf(hbad, sizeof hbad, "%zu", rec->st.h_mismatch);
    printf("%-18s %-13s %-4s %-6s %-11s %6zu %10s %12s %9s %9s %7.2f %7.2f %9s %9zu %6s\n",
           rec->kernel, ln_op_name(rec->op), ln_dtype_name(rec->dtype), ln_cast_name(rec->cast),
           rec->dist, rec->dim, mx, at, mean, p99, 100.0 * rec->st.frac_cr,
           100.0 * rec->st.frac_faithful, nw, rec->st.nonfinite, hbad);
}

static int add_record(acc_run *r, const acc_record *rec)
{
    if (r->nrecs == r->caprecs) {
        size_t cap = r->caprecs ? 2 * r->caprecs : 64;
        acc_record *p = realloc(r->recs, cap * sizeof *p);
        if (!p)
            return -1;
        r->recs = p;
        r->caprecs = cap;
    }
    r->recs[r->nrecs++] = *rec;
    return 0;
}

/* Write one .npy into the dump directory; name is relative to it. */
static int dump_npy(acc_run *r, const char *name, const float *data, size_t rows, size_t dim,
                    int ndim)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", ln_outdir_tmp_path(r->dump), name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "lnbench accuracy: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = ln_npy_write(f, data, rows, dim, dim, ndim);
    if (fclose(f) != 0)
        rc = -1;
    if (rc != 0)
        fprintf(stderr, "lnbench accuracy: error writing %s: %s\n", path, strerror(errno));
    return rc;
}

/* Where the hook of one shape's kernels writes: the run, and the shape. */
typedef struct shape_ctx {
    acc_run *r;
    const char *dist;
    size_t rows, dim;
    const char *prefix; /* of the dump's file names */
    size_t undefined;   /* elements of the shape with no real value */
} shape_ctx;

/* After each kernel: print and keep its record, dump its output.  A kernel
 * that failed is reported and the others go on; a failed dump stops. */
static int on_kernel(void *ctx, const ln_kernel *k, const ln_acc_output *out,
                     const ln_error_stats *st, const char *why)
{
    shape_ctx *s = ctx;
    acc_run *r = s->r;
    const float *y = out ? out->y : NULL;
    if (!y) {
        fprintf(stderr, "lnbench accuracy: kernel %s failed on %s dim %zu: %s\n", k->name,
                s->dist, s->dim, why);
        return 0;
    }
    acc_record rec = {.kernel = k->name, .op = r->op, .dtype = r->dtype, .cast = r->cast,
                      .dim = s->dim, .rows = s->rows, .undefined = s->undefined, .st = *st};
    snprintf(rec.dist, sizeof rec.dist, "%s", s->dist);
    if (add_record(r, &rec) != 0) {
        fprintf(stderr, "lnbench accuracy: out of memory measuring %s\n", k->name);
        return -1;
    }
    if (!table_off(r->o))
        print_record(&rec);
    if (r->dump) {
        char name[192];
        snprintf(name, sizeof name, "%s-%s.npy", s->prefix, k->name);
        if (dump_npy(r, name, y, s->rows, s->dim, 2) != 0)
            return -1;
        ln_json_kv_string(&r->mj, k->name, name);
        if (out->h) {
            char key[96];
            snprintf(name, sizeof name, "%s-%s-h.npy", s->prefix, k->name);
            snprintf(key, sizeof key, "%s:h", k->name);
            if (dump_npy(r, name, out->h, s->rows, s->dim, 2) != 0)
                return -1;
            ln_json_kv_string(&r->mj, key, name);
        }
    }
    return 0;
}

/* Elements whose LayerNorm has no real value: rows of finite x where the
 * truth is NaN, i.e. var + eps = 0 (a constant row, or any row of dim 1,
 * with --eps 0: 0/0).  The reference is NaN there, as IEEE arithmetic
 * gives; scoring then takes a NaN output as exact and any number as a
 * nonfinite mismatch (README, "The error measure"). */
static size_t count_undefined(const ln_acc_case *c, size_t rows, size_t dim)
{
    size_t n = 0;
    for (size_t i = 0; i < rows; i++) {
        int finite = 1;
        for (size_t j = 0; j < dim && finite; j++)
            finite = isfinite(c->x[i * dim + j]);
        if (finite && isnan(c->hi[i * dim]))
            n += dim;
    }
    return n;
}

/* Measure every selected kernel on one shape.  Returns 0, 1 on a kernel or
 * reference failure. */
static int measure_shape(acc_run *r, const char *dist, const ln_acc_shape *shape)
{
    const acc_opts *o = r->o;
    size_t rows = shape->rows, dim = shape->dim;
    ln_acc_case c;
    int rc = 0;
    char what[128], err[256];

    snprintf(what, sizeof what, "%s dim %zu (ground truth)", dist, dim);
    progress(r, what);
    if (ln_acc_case_make(&c, shape, (unsigned)o->threads, err, sizeof err) != 0) {
        fprintf(stderr, "lnbench accuracy: %s dim %zu: %s\n", dist, dim, err);
        return 1;
    }
    char prefix[160];
    snprintf(prefix, sizeof prefix, "%s-%s-%s-%s-%zu", ln_op_name(r->op), ln_dtype_name(r->dtype),
             ln_cast_name(r->cast), dist, dim);
    if (r->dump) {
        char name[192];
        snprintf(name, sizeof name, "%s-x.npy", prefix);
        rc |= dump_npy(r, name, c.x, rows, dim, 2) ? 1 : 0;
        if (c.residual) {
            snprintf(name, sizeof name, "%s-residual.npy", prefix);
            rc |= dump_npy(r, name, c.residual, rows, dim, 2) ? 1 : 0;
            snprintf(name, sizeof name, "%s-h-truth.npy", prefix);
            rc |= dump_npy(r, name, c.h, rows, dim, 2) ? 1 : 0;
        }
        if (c.gamma) {
            snprintf(name, sizeof name, "%s-gamma.npy", prefix);
            rc |= dump_npy(r, name, c.gamma, 1, dim, 1) ? 1 : 0;
        }
        if (c.beta) {
            snprintf(name, sizeof name, "%s-beta.npy", prefix);
            rc |= dump_npy(r, name, c.beta, 1, dim, 1) ? 1 : 0;
        }
        snprintf(name, sizeof name, "%s-truth.npy", prefix);
        rc |= dump_npy(r, name, c.truth, rows, dim, 2) ? 1 : 0;
        if (rc)
            goto out;
        ln_json_begin_object(&r->mj);
        ln_json_kv_string(&r->mj, "op", ln_op_name(r->op));
        ln_json_kv_string(&r->mj, "dtype", ln_dtype_name(r->dtype));
        ln_json_kv_string(&r->mj, "cast", ln_cast_name(r->cast));
        ln_json_kv_string(&r->mj, "dist", dist);
        ln_json_kv_int(&r->mj, "dim", (long long)dim);
        ln_json_kv_int(&r->mj, "rows", (long long)rows);
        snprintf(name, sizeof name, "%s-x.npy", prefix);
        ln_json_kv_string(&r->mj, "x", name);
        snprintf(name, sizeof name, "%s-residual.npy", prefix);
        ln_json_kv_string(&r->mj, "residual", c.residual ? name : NULL);
        snprintf(name, sizeof name, "%s-h-truth.npy", prefix);
        ln_json_kv_string(&r->mj, "h_truth", c.residual ? name : NULL);
        snprintf(name, sizeof name, "%s-gamma.npy", prefix);
        ln_json_kv_string(&r->mj, "gamma", c.gamma ? name : NULL);
        snprintf(name, sizeof name, "%s-beta.npy", prefix);
        ln_json_kv_string(&r->mj, "beta", c.beta ? name : NULL);
        snprintf(name, sizeof name, "%s-truth.npy", prefix);
        ln_json_kv_string(&r->mj, "truth", name);
        ln_json_key(&r->mj, "outputs");
        ln_json_begin_object(&r->mj);
    }
    snprintf(what, sizeof what, "%s dim %zu (kernels)", dist, dim);
    progress(r, what);
    shape_ctx sc = {.r = r, .dist = dist, .rows = rows, .dim = dim, .prefix = prefix,
                    .undefined = count_undefined(&c, rows, dim)};
    if (sc.undefined && !o->quiet)
        fprintf(stderr, "lnbench accuracy: %s dim %zu: %zu elements have no real value "
                "(var + eps = 0): there a NaN output counts as exact, a number as nonfinite\n",
                dist, dim, sc.undefined);
    int m = ln_acc_measure_kernels(&c, r->kernels, r->nkernels, on_kernel, &sc, err, sizeof err);
    if (m == -1)
        fprintf(stderr, "lnbench accuracy: %s dim %zu: %s\n", dist, dim, err);
    if (m != 0)
        rc = 1;
    if (m < 0)
        goto out;
    if (r->dump) {
        ln_json_end_object(&r->mj);
        ln_json_end_object(&r->mj);
    }
    fflush(stdout);
out:
    ln_acc_case_free(&c);
    return rc;
}

static void write_results_json(const acc_run *r, FILE *f)
{
    const acc_opts *o = r->o;
    ln_json j;
    ln_json_init(&j, f, 1);
    ln_json_begin_object(&j);
    ln_json_kv_int(&j, "lnbench_accuracy", 1);
    ln_json_key(&j, "context");
    ln_json_begin_object(&j);
    cli_prov_write_json(&j);
    ln_json_end_object(&j);
    ln_json_key(&j, "parameters");
    ln_json_begin_object(&j);
    ln_json_key(&j, "ops");
    ln_json_begin_array(&j);
    for (size_t i = 0; i < o->nops; i++)
        ln_json_string(&j, ln_op_name((ln_op)o->ops[i]));
    ln_json_end_array(&j);
    ln_json_key(&j, "dtypes");
    ln_json_begin_array(&j);
    for (size_t i = 0; i < o->ndtypes; i++)
        ln_json_string(&j, ln_dtype_name((ln_dtype)o->dtypes[i]));
    ln_json_end_array(&j);
    ln_json_key(&j, "casts");
    ln_json_begin_array(&j);
    for (size_t i = 0; i < o->ncasts; i++)
        ln_json_string(&j, ln_cast_name((ln_cast)o->casts[i]));
    ln_json_end_array(&j);
    ln_json_kv_string(&j, "error_units",
                      "ulp and normwise in the record's dtype: ulp(t) = 2^(max(floor(log2|t|), "
                      "emin) - precision + 1); normwise in units of 2^-precision");
    /* With --input the shape and "dist" are the array's, not the defaults. */
    int in = o->input_path != NULL;
    ln_json_kv_int(&j, "rows", (long long)(in ? r->input_rows : o->rows));
    ln_json_kv_number(&j, "eps", o->eps);
    ln_json_kv_uint(&j, "seed", o->seed);
    ln_json_kv_bool(&j, "affine", o->affine);
    ln_json_kv_bool(&j, "bias", o->bias);
    ln_json_key(&j, "dims");
    ln_json_begin_array(&j);
    for (size_t i = 0; i < (in ? 1 : o->ndims); i++)
        ln_json_int(&j, (long long)(in ? r->input_dim : o->dims[i]));
    ln_json_end_array(&j);
    ln_json_key(&j, "dists");
    ln_json_begin_array(&j);
    for (size_t i = 0; i < (in ? 1 : o->ndists); i++)
        ln_json_string(&j, in ? r->input_dist : o->dist_names[i]);
    ln_json_end_array(&j);
    ln_json_key(&j, "kernels");
    ln_json_begin_array(&j);
    for (size_t i = 0; i < r->nall; i++)
        ln_json_string(&j, r->all_kernels[i]->name);
    ln_json_end_array(&j);
    ln_json_kv_string(&j, "input", o->input_path);
    ln_json_end_object(&j);
    ln_json_key(&j, "results");
    ln_json_begin_array(&j);
    for (size_t i = 0; i < r->nrecs; i++) {
        const acc_record *rec = &r->recs[i];
        ln_json_begin_object(&j);
        ln_json_kv_string(&j, "kernel", rec->kernel);
        ln_json_kv_string(&j, "op", ln_op_name(rec->op));
        ln_json_kv_string(&j, "dtype", ln_dtype_name(rec->dtype));
        ln_json_kv_string(&j, "cast", ln_cast_name(rec->cast));
        ln_json_kv_int(&j, "precision", ln_dtype_precision(rec->dtype));
        ln_json_kv_string(&j, "dist", rec->dist);
        ln_json_kv_int(&j, "dim", (long long)rec->dim);
        ln_json_kv_int(&j, "rows", (long long)rec->rows);
        ln_json_kv_int(&j, "count", (long long)rec->st.count);
        ln_json_kv_number(&j, "max_ulp", rec->st.max_ulp); /* null when infinite */
        ln_json_kv_int(&j, "max_row", (long long)rec->st.max_row);
        ln_json_kv_int(&j, "max_col", (long long)rec->st.max_col);
        ln_json_kv_number(&j, "mean_ulp", rec->st.mean_ulp);
        ln_json_kv_number(&j, "p99_ulp", rec->st.p99_ulp);
        ln_json_kv_number(&j, "frac_cr", rec->st.frac_cr);
        ln_json_kv_number(&j, "frac_faithful", rec->st.frac_faithful);
        ln_json_kv_number(&j, "normwise", rec->st.normwise);
        ln_json_kv_number(&j, "normwise_mean", rec->st.normwise_mean);
        ln_json_kv_int(&j, "nonfinite", (long long)rec->st.nonfinite);
        /* add_ operations: elements of h not equal to RN(x + residual) */
        if (ln_op_has_residual(rec->op)) {
            ln_json_kv_int(&j, "h_count", (long long)rec->st.h_count);
            ln_json_kv_int(&j, "h_mismatch", (long long)rec->st.h_mismatch);
        } else {
            ln_json_kv_string(&j, "h_count", NULL);
            ln_json_kv_string(&j, "h_mismatch", NULL);
        }
        ln_json_kv_int(&j, "undefined", (long long)rec->undefined);
        ln_json_end_object(&j);
    }
    ln_json_end_array(&j);
    ln_json_key(&j, "unavailable");
    ln_json_begin_array(&j);
    for (size_t i = 0; i < ln_kernel_count; i++) {
        const ln_kernel *k = ln_kernels[i];
        const char *why = ln_kernel_unavailable(k);
        if (!why)
            continue;
        ln_json_begin_object(&j);
        ln_json_kv_string(&j, "kernel", k->name);
        ln_json_kv_string(&j, "reason", why);
        ln_json_end_object(&j);
    }
    ln_json_end_array(&j);
    ln_json_end_object(&j);
}

/* The options, for getopt_long: values as "--opt V" or "--opt=V". */
enum {
    OPT_KERNELS = 256, OPT_DISTS, OPT_DIMS, OPT_ROWS, OPT_EPS, OPT_NO_AFFINE, OPT_NO_BIAS,
    OPT_SEED, OPT_INPUT, OPT_GAMMA, OPT_BETA, OPT_JSON, OPT_DUMP, OPT_FORCE, OPT_THREADS,
    OPT_QUIET, OPT_OP, OPT_DTYPE, OPT_CAST, OPT_RESIDUAL
};
static const struct option long_opts[] = {
    {"kernels", required_argument, NULL, OPT_KERNELS},
    {"dists", required_argument, NULL, OPT_DISTS},
    {"dims", required_argument, NULL, OPT_DIMS},
    {"rows", required_argument, NULL, OPT_ROWS},
    {"eps", required_argument, NULL, OPT_EPS},
    {"no-affine", no_argument, NULL, OPT_NO_AFFINE},
    {"no-bias", no_argument, NULL, OPT_NO_BIAS},
    {"seed", required_argument, NULL, OPT_SEED},
    {"input", required_argument, NULL, OPT_INPUT},
    {"gamma", required_argument, NULL, OPT_GAMMA},
    {"beta", required_argument, NULL, OPT_BETA},
    {"json", required_argument, NULL, OPT_JSON},
    {"dump", required_argument, NULL, OPT_DUMP},
    {"force", no_argument, NULL, OPT_FORCE},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"op", required_argument, NULL, OPT_OP},
    {"dtype", required_argument, NULL, OPT_DTYPE},
    {"cast", required_argument, NULL, OPT_CAST},
    {"residual", required_argument, NULL, OPT_RESIDUAL},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* "--name" of the option whose val is id, for messages ("--dims: ..."). */
static const char *option_name(int id, char *buf, size_t len)
{
    const struct option *p = long_opts;
    while (p->name && p->val != id)
        p++;
    snprintf(buf, len, "--%s", p->name ? p->name : "?");
    return buf;
}

static void print_help(void)
{
    char dists[2048] = "";
    for (size_t d = 0; d < ln_dist_count; d++) {
        size_t len = strlen(dists);
        snprintf(dists + len, sizeof dists - len, "                     %-10s %s\n",
                 ln_dists[d].name, ln_dists[d].description);
    }
    printf(accuracy_help, dists);
}

/* The message for getopt_long's '?' or ':' on argument `arg` (the argv
 * element it stopped at). */
static void option_error(int c, const char *arg)
{
    char err[256];
    char name[32];
    if (c == ':')
        snprintf(err, sizeof err, "%s needs a value", option_name(optopt, name, sizeof name));
    else if (optopt >= OPT_KERNELS || optopt == 'h')
        snprintf(err, sizeof err, "'%.64s' takes no value", arg);
    else if (optopt)
        snprintf(err, sizeof err, "unknown option '-%c' (try --help)", optopt);
    else {
        /* getopt_long takes unambiguous prefixes ("--dim"); say when a
         * prefix was the trouble. */
        size_t len = strcspn(arg, "="), matches = 0;
        for (const struct option *p = long_opts; arg[0] == '-' && arg[1] == '-' && p->name; p++)
            matches += len > 2 && strncmp(p->name, arg + 2, len - 2) == 0;
        snprintf(err, sizeof err, "%s option '%.64s' (try --help)",
                 matches > 1 ? "ambiguous" : "unknown", arg);
    }
    die_usage(err);
}

/* --op / --dtype / --cast: a list of names (repeats dropped) or `all`. */
static int parse_enum_list(const char *opt, const char *v, int (*from_name)(const char *),
                           const char *(*name_of)(int), int count, int *out, size_t *n,
                           int *all, char *err, size_t errlen)
{
    char **names = NULL;
    size_t k = 0;
    if (ln_parse_name_list(opt, v, &names, &k, err, errlen) != 0)
        return -1;
    *n = 0;
    *all = 0;
    for (size_t i = 0; i < k; i++) {
        int id = from_name(names[i]);
        if (!strcmp(names[i], "all")) {
            *all = 1;
            continue;
        }
        if (id < 0) {
            char known[128] = "";
            for (int e = 0; e < count; e++) {
                size_t len = strlen(known);
                snprintf(known + len, sizeof known - len, "%s,", name_of(e));
            }
            snprintf(err, errlen, "%s: unknown '%.32s' (known: %sall)", opt, names[i], known);
            ln_free_list(names, k);
            return -1;
        }
        int dup = 0;
        for (size_t j = 0; j < *n; j++)
            dup |= out[j] == id;
        if (!dup)
            out[(*n)++] = id;
    }
    ln_free_list(names, k);
    if (*all) {
        for (int e = 0; e < count; e++)
            out[e] = e;
        *n = (size_t)count;
    }
    return 0;
}

static const char *op_name_of(int i)
{
    return ln_op_name((ln_op)i);
}

static const char *dtype_name_of(int i)
{
    return ln_dtype_name((ln_dtype)i);
}

static const char *cast_name_of(int i)
{
    return ln_cast_name((ln_cast)i);
}

/* Parse argv into o.  Returns 0, 1 for --help (done), -1 on error (printed). */
static int parse_args(int argc, char **argv, acc_opts *o)
{
    char err[256];
    int c;
    /* "+": stop at the first non-option (no reordering of argv); ":": report
     * a missing value as ':' rather than print getopt's own message. */
    opterr = 0;
    optind = 0; /* glibc: start afresh */
    while ((c = getopt_long(argc, argv, "+:h", long_opts, NULL)) != -1) {
        const char *v = optarg;
        int rc = 0;
        if (c == '?' || c == ':') {
            option_error(c, argv[optind - 1]);
            return -1;
        }
        if (c == 'h') {
            print_help();
            return 1;
        }
        char opt[32];
        option_name(c, opt, sizeof opt);
        switch (c) {
        case OPT_KERNELS:
            ln_free_list(o->kernel_names, o->nkernels);
            o->kernel_names = NULL;
            o->nkernels = 0;
            rc = ln_parse_name_list(opt, v, &o->kernel_names, &o->nkernels, err, sizeof err);
            break;
        case OPT_DISTS:
            ln_free_list(o->dist_names, o->ndists);
            o->dist_names = NULL;
            o->ndists = 0;
            rc = ln_parse_name_list(opt, v, &o->dist_names, &o->ndists, err, sizeof err);
            break;
        case OPT_DIMS:
            free(o->dims);
            o->dims = NULL;
            o->ndims = 0;
            rc = ln_parse_u64_list(opt, v, 1, (uint64_t)1 << 30, &o->dims, &o->ndims, err,
                                   sizeof err);
            break;
        case OPT_ROWS:
            rc = ln_parse_u64(opt, v, 1, (uint64_t)1 << 31, &o->rows, err, sizeof err);
            break;
        case OPT_EPS:
            rc = ln_parse_float(opt, v, &o->eps, err, sizeof err);
            if (rc == 0 && !(o->eps >= 0)) {
                snprintf(err, sizeof err, "--eps: '%s' is negative", v);
                rc = -1;
            }
            break;
        case OPT_NO_AFFINE:
            o->affine = 0;
            break;
        case OPT_NO_BIAS:
            o->bias = 0;
            break;
        case OPT_SEED:
            rc = ln_parse_u64(opt, v, 0, UINT64_MAX, &o->seed, err, sizeof err);
            break;
        case OPT_INPUT:
            o->input_path = v;
            break;
        case OPT_GAMMA:
            o->gamma_path = v;
            break;
        case OPT_BETA:
            o->beta_path = v;
            break;
        case OPT_JSON:
            o->json_path = v;
            break;
        case OPT_DUMP:
            o->dump_path = v;
            break;
        case OPT_FORCE:
            o->force = 1;
            break;
        case OPT_THREADS:
            rc = ln_parse_u64(opt, v, 1, 1024, &o->threads, err, sizeof err);
            break;
        case OPT_QUIET:
            o->quiet = 1;
            break;
        case OPT_OP:
            rc = parse_enum_list(opt, v, ln_op_from_name, op_name_of, LN_OP_COUNT, o->ops,
                                 &o->nops, &o->ops_all, err, sizeof err);
            break;
        case OPT_DTYPE:
            rc = parse_enum_list(opt, v, ln_dtype_from_name, dtype_name_of, LN_DTYPE_COUNT,
                                 o->dtypes, &o->ndtypes, &o->dtypes_all, err, sizeof err);
            break;
        case OPT_CAST:
            rc = parse_enum_list(opt, v, ln_cast_from_name, cast_name_of, LN_CAST_COUNT,
                                 o->casts, &o->ncasts, &o->casts_all, err, sizeof err);
            break;
        case OPT_RESIDUAL:
            o->residual_path = v;
            break;
        }
        if (rc != 0) {
            die_usage(err);
            return -1;
        }
    }
    if (optind < argc) {
        snprintf(err, sizeof err, "unexpected argument '%.64s' (options only; try --help)",
                 argv[optind]);
        die_usage(err);
        return -1;
    }
    if ((o->gamma_path || o->beta_path || o->residual_path) && !o->input_path) {
        die_usage("--gamma, --beta and --residual need --input");
        return -1;
    }
    if (o->input_path && (o->ndtypes > 1 || o->nops > 1 || o->ncasts > 1)) {
        die_usage("--input takes one --op, one --dtype and one --cast");
        return -1;
    }
    if (o->gamma_path && !o->affine) {
        die_usage("--gamma contradicts --no-affine");
        return -1;
    }
    if (o->beta_path && !o->bias) {
        die_usage("--beta contradicts --no-bias");
        return -1;
    }
    return 0;
}

/* Resolve and check kernel and distribution names against the registries. */
/* Resolve and check kernel and distribution names against the registries,
 * and the op x dtype x cast combinations: each gets the kernels that can
 * compute it, by capability.  A combination without meaning (llama with a
 * layernorm op) or a named kernel that cannot compute one is a usage error;
 * with `all`, meaningless combinations are left out, and with the default
 * kernel list a combination no kernel here computes is skipped with a
 * note. */
static int resolve_names(acc_opts *o, acc_run *r)
{
    char err[256];
    if (!o->nops)
        o->ops[o->nops++] = LN_OP_LAYERNORM;
    if (!o->ndtypes)
        o->dtypes[o->ndtypes++] = LN_DTYPE_F32;
    if (!o->ncasts)
        o->casts[o->ncasts++] = LN_CAST_SINGLE;
    size_t maxc = o->nops * o->ndtypes * o->ncasts;
    r->combos = calloc(maxc, sizeof *r->combos);
    r->all_kernels = calloc(ln_kernel_count, sizeof *r->all_kernels);
    if (!r->combos || !r->all_kernels)
        return -1;
    for (size_t a = 0; a < o->nops; a++)
        for (size_t b = 0; b < o->ndtypes; b++)
            for (size_t c = 0; c < o->ncasts; c++) {
                acc_combo *cb = &r->combos[r->ncombos];
                ln_acc_shape any = base_shape(o, (ln_op)o->ops[a], (ln_dtype)o->dtypes[b],
                                              (ln_cast)o->casts[c]);
                const char *why;
                any.dim = 1;
                ln_desc desc = ln_acc_shape_desc(&any);
                if (ln_desc_valid(&desc, &why) != 0) {
                    if (o->ops_all || o->casts_all)
                        continue;
                    snprintf(err, sizeof err, "--op %s --cast %s: %s", ln_op_name(desc.op),
                             ln_cast_name(desc.cast), why);
                    die_usage(err);
                    return -1;
                }
                cb->op = desc.op;
                cb->dtype = desc.dtype;
                cb->cast = desc.cast;
                cb->kernels = calloc(ln_kernel_count, sizeof *cb->kernels);
                if (!cb->kernels)
                    return -1;
                r->ncombos++;
                if (ln_kernel_select(o->kernel_names, o->nkernels, &desc, cb->kernels,
                                     &cb->nkernels, err, sizeof err) != 0) {
                    /* With `all`, a named kernel takes the combinations it
                     * computes; named outright, each must be computed. */
                    if (!(o->ops_all || o->dtypes_all || o->casts_all) ||
                        ln_kernel_select(o->kernel_names, o->nkernels, NULL, cb->kernels,
                                         &cb->nkernels, err, sizeof err) != 0) {
                        die_usage(err);
                        return -1;
                    }
                    size_t keep = 0;
                    for (size_t k = 0; k < cb->nkernels; k++)
                        if (ln_kernel_supports(cb->kernels[k], &desc, NULL) == 0)
                            cb->kernels[keep++] = cb->kernels[k];
                    cb->nkernels = keep;
                }
                for (size_t k = 0; k < cb->nkernels; k++) {
                    int dup = 0;
                    for (size_t j = 0; j < r->nall; j++)
                        dup |= r->all_kernels[j] == cb->kernels[k];
                    if (!dup)
                        r->all_kernels[r->nall++] = cb->kernels[k];
                }
            }
    if (o->dist_names) {
        for (size_t i = 0; i < o->ndists; i++)
            if (!ln_dist_find(o->dist_names[i])) {
                char known[512] = "";
                for (size_t d = 0; d < ln_dist_count; d++) {
                    size_t len = strlen(known);
                    snprintf(known + len, sizeof known - len, "%s%s", d ? "," : "",
                             ln_dists[d].name);
                }
                fprintf(stderr, "lnbench accuracy: unknown distribution '%s' (known: %s)\n",
                        o->dist_names[i], known);
                return -1;
            }
    } else {
        o->dist_names = calloc(ln_dist_count, sizeof *o->dist_names);
        if (!o->dist_names)
            return -1;
        for (size_t d = 0; d < ln_dist_count; d++) {
            o->dist_names[d] = strdup(ln_dists[d].name);
            if (!o->dist_names[d])
                return -1;
        }
        o->ndists = ln_dist_count;
    }
    return 0;
}

/* Kernels and combinations left out of the default run, said once every
 * up-front check has passed, so a refusal stays the one line on stderr;
 * --input reports its own. */
static void note_skipped(const acc_opts *o, const acc_run *r)
{
    if (!o->kernel_names && !o->input_path) {
        for (size_t i = 0; i < ln_kernel_count; i++) {
            const char *why = ln_kernel_unavailable(ln_kernels[i]);
            /* Kernels of a device this build lacks: `lnbench list` says why. */
            if (why && ln_device_get(ln_kernels[i]->caps.device))
                fprintf(stderr, "lnbench accuracy: skipping %s: %s\n", ln_kernels[i]->name, why);
        }
        for (size_t i = 0; i < r->ncombos; i++)
            if (r->combos[i].nkernels == 0)
                fprintf(stderr, "lnbench accuracy: no kernel here computes %s %s (cast %s): "
                        "skipped\n", ln_op_name(r->combos[i].op),
                        ln_dtype_name(r->combos[i].dtype), ln_cast_name(r->combos[i].cast));
    }
}

/* Refuse up front (exit 2) shapes that cannot fit in the memory this
 * process can get: overcommit would let the run start and the OOM killer
 * end it much later.  The model follows the allocations, and was checked
 * with /usr/bin/time -v (peak RSS, all kernels, 2 threads; 1e6..1.6e7
 * elements, rows 1..64): the ground-truth phase holds x, the rounded truth
 * and its double-double (4 + 4 + 16 bytes/element) plus n*gamma and beta as
 * MPFR numbers for every column (~2 x 64 bytes) and per-row MPFR work (the
 * rest of ~156 bytes/column measured at rows = 1); the measuring phase adds
 * each kernel's output and the percentile's copy of the errors (~44
 * bytes/element measured, ~33 bytes/column).  The estimate is the larger
 * phase plus 64 MiB for the program; measured peaks were 0.72..0.93 of it. */
static int check_memory(const acc_opts *o, size_t rows, size_t dim)
{
    char err[256];
    uint64_t need = UINT64_MAX;
    if ((uint64_t)rows <= UINT64_MAX / 64 / dim && (uint64_t)dim <= UINT64_MAX / 256) {
        uint64_t n = (uint64_t)rows * dim;
        uint64_t truth_phase = 24 * n + 160 * (uint64_t)dim;
        uint64_t measure_phase = 45 * n + 40 * (uint64_t)dim;
        need = (truth_phase > measure_phase ? truth_phase : measure_phase) + (64u << 20);
    }
    unsigned threads = o->threads ? (unsigned)o->threads : 2;
    if (ln_mem_check(need, threads, err, sizeof err) != 0) {
        fprintf(stderr, "lnbench accuracy: rows x dim = %zu x %zu %s\n", rows, dim, err);
        return -1;
    }
    return 0;
}

/* Read a 1-D (or 1 x dim) gamma/beta file of length dim. */
static float *load_vector(const char *opt, const char *path, size_t dim, ln_dtype dt)
{
    float *v = NULL;
    size_t rows = 0, n = 0;
    int ndim = 0;
    char err[256];
    if (ln_npy_read_typed(path, npy_type_of(dt), &v, &rows, &n, &ndim, err, sizeof err) != 0) {
        fprintf(stderr, "lnbench accuracy: %s %s: %s\n", opt, path, err);
        return NULL;
    }
    if (rows != 1 || n != dim) {
        fprintf(stderr, "lnbench accuracy: %s %s: shape is %zu x %zu, need a vector of %zu\n",
                opt, path, rows, n, dim);
        free(v);
        return NULL;
    }
    return v;
}

/* The combination i becomes the current one. */
static void use_combo(acc_run *r, size_t i)
{
    r->op = r->combos[i].op;
    r->dtype = r->combos[i].dtype;
    r->cast = r->combos[i].cast;
    r->kernels = r->combos[i].kernels;
    r->nkernels = r->combos[i].nkernels;
}

static int run_input(acc_run *r)
{
    const acc_opts *o = r->o;
    float *x = NULL, *res = NULL, *gamma = NULL, *beta = NULL;
    size_t rows = 0, dim = 0, rrows = 0, rdim = 0;
    int ndim = 0, rc = 2;
    char err[256];
    use_combo(r, 0);
    if (ln_npy_read_typed(o->input_path, npy_type_of(r->dtype), &x, &rows, &dim, &ndim, err,
                          sizeof err) != 0) {
        fprintf(stderr, "lnbench accuracy: --input %s: %s (--dtype %s)\n", o->input_path, err,
                ln_dtype_name(r->dtype));
        return 2;
    }
    if (rows == 0 || dim == 0) {
        fprintf(stderr, "lnbench accuracy: --input %s: empty array\n", o->input_path);
        goto out;
    }
    if (ln_op_has_residual(r->op) != (o->residual_path != NULL)) {
        fprintf(stderr, "lnbench accuracy: --residual R.npy is %s with --op %s\n",
                o->residual_path ? "meaningless" : "needed", ln_op_name(r->op));
        goto out;
    }
    if (o->residual_path) {
        if (ln_npy_read_typed(o->residual_path, npy_type_of(r->dtype), &res, &rrows, &rdim, &ndim,
                              err, sizeof err) != 0) {
            fprintf(stderr, "lnbench accuracy: --residual %s: %s (--dtype %s)\n",
                    o->residual_path, err, ln_dtype_name(r->dtype));
            goto out;
        }
        if (rrows != rows || rdim != dim) {
            fprintf(stderr, "lnbench accuracy: --residual %s: shape is %zu x %zu, --input's "
                    "%zu x %zu\n", o->residual_path, rrows, rdim, rows, dim);
            goto out;
        }
    }
    if (o->gamma_path && !(gamma = load_vector("--gamma", o->gamma_path, dim, r->dtype)))
        goto out;
    if (o->beta_path && ln_op_is_rms(r->op)) {
        fprintf(stderr, "lnbench accuracy: --beta: %s has no beta\n", ln_op_name(r->op));
        goto out;
    }
    if (o->beta_path && !(beta = load_vector("--beta", o->beta_path, dim, r->dtype)))
        goto out;
    if (r->nkernels == 0) {
        fprintf(stderr, "lnbench accuracy: no kernel here computes %s %s (cast %s)\n",
                ln_op_name(r->op), ln_dtype_name(r->dtype), ln_cast_name(r->cast));
        goto out;
    }
    const char *base = strrchr(o->input_path, '/');
    char *dist = r->input_dist;
    snprintf(dist, sizeof r->input_dist, "input:%s", base ? base + 1 : o->input_path);
    r->input_rows = rows;
    r->input_dim = dim;
    r->shapes_total = 1;
    ln_acc_shape shape = base_shape(o, r->op, r->dtype, r->cast);
    shape.x = x;
    shape.residual = res;
    shape.rows = rows;
    shape.dim = dim;
    shape.gamma = gamma; /* NULL: generated from the seed */
    shape.beta = beta;
    rc = measure_shape(r, dist, &shape);
out:
    free(x);
    free(res);
    free(gamma);
    free(beta);
    return rc;
}

static int run_generated(acc_run *r)
{
    const acc_opts *o = r->o;
    int rc = 0, first = 1;
    r->shapes_total = r->ncombos * o->ndists * o->ndims;
    for (size_t ci = 0; ci < r->ncombos; ci++) {
        use_combo(r, ci);
        if (r->nkernels == 0) {
            r->shapes_done += o->ndists * o->ndims;
            continue;
        }
        for (size_t d = 0; d < o->ndists; d++) {
            const ln_dist *dist = ln_dist_find(o->dist_names[d]);
            const char *why = ln_dist_refuses(dist, ln_acc_format(r->dtype));
            if (why) {
                if (!o->quiet)
                    fprintf(stderr, "lnbench accuracy: skipping %s for %s: %s\n", dist->name,
                            ln_dtype_name(r->dtype), why);
                r->shapes_done += o->ndims;
                continue;
            }
            if (!first && !table_off(o))
                putchar('\n');
            first = 0;
            for (size_t i = 0; i < o->ndims; i++) {
                ln_acc_shape shape = base_shape(o, r->op, r->dtype, r->cast);
                shape.dist = dist;
                shape.dim = (size_t)o->dims[i];
                rc |= measure_shape(r, dist->name, &shape);
                r->shapes_done++;
                if (rc && r->dump)
                    return rc; /* a broken dump is not worth finishing */
            }
        }
    }
    return rc;
}

/* Output paths that would clobber each other or an input: refused before
 * anything is computed. */
static int check_outputs(const acc_opts *o)
{
    char msg[512];
    if (o->dump_path && strcmp(o->dump_path, "-") == 0) {
        die_usage("--dump: needs a directory ('-' is only for --json)");
        return -1;
    }
    if (o->json_path && o->dump_path && strcmp(o->json_path, "-") != 0 &&
        ln_output_overlaps(o->json_path, o->dump_path)) {
        snprintf(msg, sizeof msg, "--json %.200s and --dump %.200s overlap (one would "
                 "replace or land inside the other)", o->json_path, o->dump_path);
        die_usage(msg);
        return -1;
    }
    const char *inputs[] = {o->input_path, o->gamma_path, o->beta_path};
    for (size_t i = 0; i < 3 && o->dump_path; i++)
        if (inputs[i] && ln_output_overlaps(o->dump_path, inputs[i])) {
            snprintf(msg, sizeof msg, "--dump %.200s holds the input %.200s: replacing it "
                     "would delete the file being read", o->dump_path, inputs[i]);
            die_usage(msg);
            return -1;
        }
    if (o->json_path)
        for (size_t i = 0; i < 3; i++)
            if (inputs[i] && strcmp(o->json_path, "-") != 0 &&
                ln_output_overlaps(o->json_path, inputs[i])) {
                snprintf(msg, sizeof msg, "--json %.200s is the input %.200s",
                         o->json_path, inputs[i]);
                die_usage(msg);
                return -1;
            }
    return 0;
}

/* Standard output (the table) written completely?  Checked before the
 * result files are committed, so a failed table (> /dev/full) fails the
 * run: exit 1, nothing committed. */
static int stdout_ok(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "lnbench accuracy: error writing standard output: %s\n",
                strerror(errno));
        return 0;
    }
    return 1;
}

int cmd_accuracy(int argc, char **argv)
{
    acc_opts o = {.rows = 64, .seed = 1, .eps = 1e-5f, .affine = 1, .bias = 1};
    acc_run r = {.o = &o};
    ln_outfile *json = NULL;
    int rc = 2;
    char err[512];

    int p = parse_args(argc, argv, &o);
    if (p != 0) {
        rc = p > 0 ? 0 : 2;
        goto out;
    }
    if (!o.dims) {
        o.ndims = sizeof default_dims / sizeof default_dims[0];
        o.dims = malloc(sizeof default_dims);
        if (!o.dims)
            goto out;
        memcpy(o.dims, default_dims, sizeof default_dims);
    }
    if (resolve_names(&o, &r) != 0)
        goto out;
    /* Combinations no kernel here computes are left out (note_skipped says so):
     * a run of only those measures nothing, and says so. */
    if (r.ncombos == 0) {
        die_usage("no kernel can run on this host");
        goto out;
    }
    if (!o.input_path)
        for (size_t i = 0; i < o.ndims; i++)
            if (check_memory(&o, (size_t)o.rows, (size_t)o.dims[i]) != 0)
                goto out;
    if (o.input_path) {
        /* From the header, before the data is read. */
        uint64_t in_rows = 0, in_dim = 0;
        int in_ndim = 0;
        if (ln_npy_peek_shape(o.input_path, &in_rows, &in_dim, &in_ndim, err, sizeof err) != 0) {
            fprintf(stderr, "lnbench accuracy: --input %s: %s\n", o.input_path, err);
            goto out;
        }
        if (in_ndim != 2) {
            fprintf(stderr, "lnbench accuracy: --input %s: array is %d-D, need 2-D (rows x "
                    "dim; e.g. x.reshape(1, -1) for one row)\n", o.input_path, in_ndim);
            goto out;
        }
        if (in_rows && in_dim && in_rows <= SIZE_MAX && in_dim <= SIZE_MAX &&
            check_memory(&o, (size_t)in_rows, (size_t)in_dim) != 0)
            goto out;
    }
    if (check_outputs(&o) != 0)
        goto out;
    /* Before any output exists: from here on every catchable signal removes
     * the temporaries (common/signals.c). */
    ln_signals_install();
    /* Open the outputs before the long computation, so an unwritable path
     * fails at once and nothing partial is ever left behind. */
    if (o.json_path && !(json = ln_outfile_open(o.json_path, o.force, err, sizeof err))) {
        fprintf(stderr, "lnbench accuracy: --json: %s\n", err);
        goto out;
    }
    if (o.dump_path) {
        if (!(r.dump = ln_outdir_open(o.dump_path, o.force, err, sizeof err))) {
            fprintf(stderr, "lnbench accuracy: --dump: %s\n", err);
            goto out;
        }
        char mpath[4096];
        snprintf(mpath, sizeof mpath, "%s/manifest.json", ln_outdir_tmp_path(r.dump));
        if (!(r.manifest = fopen(mpath, "w"))) {
            fprintf(stderr, "lnbench accuracy: --dump: cannot write %s: %s\n", mpath,
                    strerror(errno));
            goto out;
        }
        ln_json_init(&r.mj, r.manifest, 1);
        ln_json_begin_object(&r.mj);
        ln_json_kv_number(&r.mj, "eps", o.eps);
        ln_json_kv_uint(&r.mj, "seed", o.seed);
        ln_json_kv_int(&r.mj, "rows", (long long)o.rows);
        ln_json_kv_string(&r.mj, "input", o.input_path);
        ln_json_kv_string(&r.mj, "dtype", "<f4");
        ln_json_kv_string(&r.mj, "layout", "rows x dim, C order; gamma/beta length dim; "
                          "values of each shape's dtype, widened exactly to <f4");
        ln_json_key(&r.mj, "shapes");
        ln_json_begin_array(&r.mj);
    }
    note_skipped(&o, &r);
    clock_gettime(CLOCK_MONOTONIC, &r.t0);
    r.last_progress = r.t0;

    if (!table_off(&o))
        print_header();
    rc = o.input_path ? run_input(&r) : run_generated(&r);
    if (rc != 0)
        goto out;
    if (!o.quiet)
        fprintf(stderr, "lnbench accuracy: %zu kernels x %zu shapes in %.1f s\n", r.nall,
                r.shapes_total, seconds_since(&r.t0));
    if (!stdout_ok()) {
        rc = 1;
        goto out;
    }

    if (r.dump) {
        ln_json_end_array(&r.mj);
        ln_json_end_object(&r.mj);
        int bad = ferror(r.manifest);
        bad |= fclose(r.manifest) != 0;
        r.manifest = NULL;
        if (bad) {
            fprintf(stderr, "lnbench accuracy: --dump: error writing manifest.json\n");
            rc = 1;
            goto out;
        }
        if (ln_outdir_commit(r.dump, err, sizeof err) != 0) {
            r.dump = NULL;
            fprintf(stderr, "lnbench accuracy: --dump: %s\n", err);
            rc = 1;
            goto out;
        }
        r.dump = NULL;
    }
    if (json) {
        write_results_json(&r, ln_outfile_stream(json));
        ln_outfile *j = json;
        json = NULL;
        if (ln_outfile_commit(j, err, sizeof err) != 0) {
            fprintf(stderr, "lnbench accuracy: --json: %s\n", err);
            rc = 1;
            goto out;
        }
    }
out:
    if (r.manifest)
        fclose(r.manifest);
    ln_outdir_abort(r.dump);
    ln_outfile_abort(json);
    ln_free_list(o.kernel_names, o.nkernels);
    ln_free_list(o.dist_names, o.ndists);
    free(o.dims);
    for (size_t i = 0; i < r.ncombos; i++)
        free(r.combos[i].kernels);
    free(r.combos);
    free(r.all_kernels);
    free(r.recs);
    return rc;
}
