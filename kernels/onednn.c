/*
 * onednn.c - the peer: oneDNN's layer normalization (Debian's libdnnl 2.6,
 * C API) behind the lnbench kernel ABI, as kernel `onednn`.
 *
 * oneDNN 2.x API (3.x renumbered the flags and replaced the descriptors, so
 * 3.x examples do not apply): dnnl_layer_normalization_forward_desc_init
 * (&desc, prop, &data_md, &stat_md, eps, flags), then
 * dnnl_primitive_desc_create and dnnl_primitive_create.  gamma and beta are
 * separate 1-D tensors with dnnl_use_scale (0x8) and dnnl_use_shift (0x10),
 * so either may be absent like in our ABI (dnnl_use_scaleshift, 0x2, would
 * need one 2 x C tensor and a copy).
 *
 * All of that is built in prepare(), outside any timed loop; forward() only
 * points the memory objects at the caller's buffers and executes.
 *
 * Threads matched fairly: Debian builds oneDNN with the OpenMP runtime, whose
 * thread count (the nthreads-var ICV) belongs to the calling thread.
 * prepare() sets it to 1 for its caller, so each lnbench benchmark thread
 * runs its own single-threaded primitive on its own row block, and `onednn`
 * at t threads uses exactly t cores like every other kernel.
 * omp_set_num_threads is looked up at run time (libgomp is already loaded as
 * oneDNN's dependency) so lnbench itself needs no OpenMP flags.
 *
 * Operations and dtypes: layer normalization only, on binary32, and on bf16
 * where this CPU has oneDNN's bf16 path (AVX-512; probed once by building
 * a primitive descriptor).  bf16 src/dst take scale and shift in binary32
 * in 2.6, so gamma and beta are widened into buffers prepare() allocates,
 * once per forward (dim values: nothing next to rows x dim).  The
 * descriptor's other combinations are declared in caps so that supports()
 * can say why not, in one line: 2.6 has no RMS form (no such flag, and
 * scale/shift would still subtract the mean), no fused residual add (it
 * would be a separate binary primitive and another pass over memory), and
 * no f16 layer normalization on CPUs (dnnl_unimplemented; probed too, so a
 * build that has it is used).
 *
 * Data layout: one memory descriptor serves as source and destination in
 * 2.x, so x and y must share a row stride, and a padded stride (> dim) made
 * oneDNN read and write the gaps between rows; so unless both strides equal
 * dim, the primitive is built for one row and run row by row (correct,
 * slow; only tests do it).
 * The statistics, when asked for, come from forward_training (mean and
 * variance); rstd = 1/sqrt(var + eps) is computed here.
 */
#define _POSIX_C_SOURCE 200809L
#include "dtype_convert.h"
#include "lnbench_kernel.h"

#include <oneapi/dnnl/dnnl.h>

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

typedef struct onednn_state {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    dnnl_primitive_t prim;
    dnnl_memory_t src, dst, scale, shift, mean, var;
    float *mean_buf, *var_buf; /* forward_training's outputs */
    float *scale_buf, *shift_buf; /* gamma, beta widened (bf16, f16) */
    ln_dtype dtype;
    size_t esize;              /* bytes per element of x and y */
    float eps;
    size_t rows, dim;          /* the shape prepare saw */
    size_t x_stride, y_stride;
    int per_row;               /* primitive built for one row */
    int training;
    int has_scale, has_shift;
} onednn_state;

static void (*omp_set_threads)(int);
static const char *runtime_problem;
static pthread_once_t runtime_once = PTHREAD_ONCE_INIT;

static void find_runtime(void)
{
    const dnnl_version_t *v = dnnl_version();
    if (v->cpu_runtime == DNNL_RUNTIME_SEQ)
        return; /* already single-threaded */
    if (v->cpu_runtime != DNNL_RUNTIME_OMP) {
        runtime_problem = "oneDNN built with a threading runtime lnbench cannot limit";
        return;
    }
    void *self = dlopen(NULL, RTLD_LAZY);
    void *sym = self ? dlsym(self, "omp_set_num_threads") : NULL;
    if (!sym) {
        runtime_problem = "omp_set_num_threads not found";
        return;
    }
    /* POSIX guarantees dlsym's data pointer converts to a function pointer. */
    *(void **)&omp_set_threads = sym;
}

static const char *onednn_unavailable(void)
{
    pthread_once(&runtime_once, find_runtime);
    return runtime_problem;
}

/* oneDNN's data type for ours. */
static dnnl_data_type_t dnnl_type(ln_dtype dt)
{
    return dt == LN_DTYPE_BF16 ? dnnl_bf16 : dt == LN_DTYPE_F16 ? dnnl_f16 : dnnl_f32;
}

/* Which dtypes this CPU's oneDNN has a layer normalization for: probed once
 * by building a primitive descriptor of a small shape. */
static unsigned dtypes_here;
static pthread_once_t dtypes_once = PTHREAD_ONCE_INIT;

static void probe_dtypes(void)
{
    dnnl_engine_t engine;
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success)
        return;
    for (int dt = 0; dt < LN_DTYPE_COUNT; dt++) {
        dnnl_memory_desc_t data_md, stat_md;
        dnnl_dims_t dims = {4, 64}, sdims = {4};
        dnnl_layer_normalization_desc_t desc;
        dnnl_primitive_desc_t pd = NULL;
        if (dnnl_memory_desc_init_by_tag(&data_md, 2, dims, dnnl_type((ln_dtype)dt), dnnl_ab) ==
                dnnl_success &&
            dnnl_memory_desc_init_by_tag(&stat_md, 1, sdims, dnnl_f32, dnnl_a) == dnnl_success &&
            dnnl_layer_normalization_forward_desc_init(&desc, dnnl_forward_training, &data_md,
                                                       &stat_md, 1e-5f,
                                                       dnnl_use_scale | dnnl_use_shift) ==
                dnnl_success &&
            dnnl_primitive_desc_create(&pd, &desc, NULL, engine, NULL) == dnnl_success)
            dtypes_here |= LN_BIT(dt);
        if (pd)
            dnnl_primitive_desc_destroy(pd);
    }
    dnnl_engine_destroy(engine);
}

static int onednn_supports(const ln_desc *d, const char **why)
{
    if (ln_op_is_rms(d->op)) {
        *why = "oneDNN 2.6 has no RMSNorm: its layer normalization has no RMS flag";
        return -1;
    }
    if (ln_op_has_residual(d->op)) {
        *why = "oneDNN 2.6 layer normalization has no fused residual add";
        return -1;
    }
    pthread_once(&dtypes_once, probe_dtypes);
    if (!(dtypes_here & LN_BIT(d->dtype))) {
        *why = d->dtype == LN_DTYPE_F16
                   ? "oneDNN 2.6 has no f16 layer normalization on this CPU (unimplemented)"
                   : d->dtype == LN_DTYPE_BF16
                         ? "oneDNN 2.6 has no bf16 layer normalization on this CPU (needs AVX-512)"
                         : "oneDNN has no layer normalization for this dtype here";
        return -1;
    }
    return 0;
}

static void onednn_release(void *p)
{
    onednn_state *s = p;
    if (!s)
        return;
    dnnl_memory_t *mems[] = {&s->src, &s->dst, &s->scale, &s->shift, &s->mean, &s->var};
    for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++)
        if (*mems[i])
            dnnl_memory_destroy(*mems[i]);
    if (s->prim)
        dnnl_primitive_destroy(s->prim);
    if (s->stream)
        dnnl_stream_destroy(s->stream);
    if (s->engine)
        dnnl_engine_destroy(s->engine);
    free(s->mean_buf);
    free(s->var_buf);
    free(s->scale_buf);
    free(s->shift_buf);
    free(s);
}

static int onednn_prepare(const ln_desc *d, void **state, const char **why)
{
    *state = NULL;
    const char *problem = onednn_unavailable();
    if (problem) {
        *why = problem;
        return -1;
    }
    if (omp_set_threads)
        omp_set_threads(1); /* this thread's primitives run on this thread only */
    if (d->rows == 0 || d->dim == 0) {
        *why = "empty shape";
        return -1;
    }
    onednn_state *s = calloc(1, sizeof *s);
    if (!s) {
        *why = "out of memory";
        return -1;
    }
    s->rows = d->rows;
    s->dim = d->dim;
    s->dtype = d->dtype;
    s->esize = ln_dtype_size(d->dtype);
    s->eps = d->eps;
    s->x_stride = d->x_stride;
    s->y_stride = d->y_stride;
    s->per_row = (d->x_stride != d->y_stride || d->x_stride != d->dim) && d->rows > 1;
    s->training = (d->tensors & (LN_TENSOR_MEAN | LN_TENSOR_RSTD)) != 0;
    s->has_scale = (d->tensors & LN_TENSOR_GAMMA) != 0;
    s->has_shift = (d->tensors & LN_TENSOR_BETA) != 0;
    size_t prim_rows = s->per_row ? 1 : d->rows;

    dnnl_memory_desc_t data_md, stat_md, vec_md;
    dnnl_dims_t data_dims = {(dnnl_dim_t)prim_rows, (dnnl_dim_t)d->dim};
    dnnl_dims_t data_strides = {(dnnl_dim_t)d->x_stride, 1};
    dnnl_dims_t stat_dims = {(dnnl_dim_t)prim_rows};
    dnnl_dims_t vec_dims = {(dnnl_dim_t)d->dim};
    dnnl_layer_normalization_desc_t desc;
    dnnl_primitive_desc_t pd = NULL;
    unsigned flags = (s->has_scale ? dnnl_use_scale : 0) | (s->has_shift ? dnnl_use_shift : 0);

    *why = "oneDNN primitive creation failed";
    if (dnnl_engine_create(&s->engine, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&s->stream, s->engine, dnnl_stream_default_flags) != dnnl_success)
        goto fail;
    if (dnnl_memory_desc_init_by_strides(&data_md, 2, data_dims, dnnl_type(d->dtype),
                                         data_strides) !=
            dnnl_success ||
        dnnl_memory_desc_init_by_tag(&stat_md, 1, stat_dims, dnnl_f32, dnnl_a) != dnnl_success ||
        dnnl_memory_desc_init_by_tag(&vec_md, 1, vec_dims, dnnl_f32, dnnl_a) != dnnl_success)
        goto fail;
    if (dnnl_layer_normalization_forward_desc_init(
            &desc, s->training ? dnnl_forward_training : dnnl_forward_inference, &data_md,
            &stat_md, d->eps, flags) != dnnl_success)
        goto fail;
    if (dnnl_primitive_desc_create(&pd, &desc, NULL, s->engine, NULL) != dnnl_success)
        goto fail;
    dnnl_status_t st = dnnl_primitive_create(&s->prim, pd);
    dnnl_primitive_desc_destroy(pd);
    if (st != dnnl_success)
        goto fail;
    /* Memory objects without buffers: forward() sets the handles. */
    if (dnnl_memory_create(&s->src, &data_md, s->engine, DNNL_MEMORY_NONE) != dnnl_success ||
        dnnl_memory_create(&s->dst, &data_md, s->engine, DNNL_MEMORY_NONE) != dnnl_success)
        goto fail;
    if (s->has_scale &&
        dnnl_memory_create(&s->scale, &vec_md, s->engine, DNNL_MEMORY_NONE) != dnnl_success)
        goto fail;
    if (s->has_shift &&
        dnnl_memory_create(&s->shift, &vec_md, s->engine, DNNL_MEMORY_NONE) != dnnl_success)
        goto fail;
    if (d->dtype != LN_DTYPE_F32) {
        s->scale_buf = s->has_scale ? malloc(d->dim * sizeof(float)) : NULL;
        s->shift_buf = s->has_shift ? malloc(d->dim * sizeof(float)) : NULL;
        if ((s->has_scale && !s->scale_buf) || (s->has_shift && !s->shift_buf)) {
            *why = "out of memory";
            goto fail;
        }
    }
    if (s->training) {
        s->mean_buf = malloc(prim_rows * sizeof(float));
        s->var_buf = malloc(prim_rows * sizeof(float));
        if (!s->mean_buf || !s->var_buf) {
            *why = "out of memory";
            goto fail;
        }
        if (dnnl_memory_create(&s->mean, &stat_md, s->engine, s->mean_buf) != dnnl_success ||
            dnnl_memory_create(&s->var, &stat_md, s->engine, s->var_buf) != dnnl_success)
            goto fail;
    }
    *why = NULL;
    *state = s;
    return 0;
fail:
    onednn_release(s);
    return -1;
}

/* gamma or beta as oneDNN 2.6 takes scale and shift: binary32, widened
 * into the prepared buffer for bf16/f16. */
static const float *as_f32(const onednn_state *s, const void *v, float *buf)
{
    if (s->dtype == LN_DTYPE_F32 || !v)
        return v;
    const uint16_t *h = v;
    for (size_t j = 0; j < s->dim; j++)
        buf[j] = s->dtype == LN_DTYPE_BF16 ? ln_bf16_to_f32(h[j]) : ln_f16_to_f32(h[j]);
    return buf;
}

/* One execution over `rows` rows starting at x, y (rows is the primitive's
 * row count). */
static int run_block(onednn_state *s, const float *scale, const float *shift, const void *x,
                     void *y, float *mean, float *rstd, size_t rows)
{
    dnnl_exec_arg_t args[6];
    int n = 0;
    /* oneDNN reads src through a non-const handle; it does not write it. */
    if (dnnl_memory_set_data_handle(s->src, (void *)(size_t)x) != dnnl_success ||
        dnnl_memory_set_data_handle(s->dst, y) != dnnl_success)
        return -1;
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, s->src};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DST, s->dst};
    if (s->has_scale) {
        if (dnnl_memory_set_data_handle(s->scale, (void *)(size_t)scale) != dnnl_success)
            return -1;
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCALE, s->scale};
    }
    if (s->has_shift) {
        if (dnnl_memory_set_data_handle(s->shift, (void *)(size_t)shift) != dnnl_success)
            return -1;
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SHIFT, s->shift};
    }
    if (s->training) {
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_MEAN, s->mean};
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_VARIANCE, s->var};
    }
    if (dnnl_primitive_execute(s->prim, s->stream, n, args) != dnnl_success ||
        dnnl_stream_wait(s->stream) != dnnl_success)
        return -1;
    if (s->training)
        for (size_t i = 0; i < rows; i++) {
            if (mean)
                mean[i] = isnan(s->var_buf[i]) ? NAN : s->mean_buf[i]; /* Inf rows */
            if (rstd) /* what oneDNN applies: 1/sqrtf(var + eps) in float */
                rstd[i] = 1.0f / sqrtf(s->var_buf[i] + s->eps);
        }
    return 0;
}

static int onednn_forward(const ln_desc *d, const ln_tensors *t, void *state)
{
    onednn_state *s = state;
    if (!s) { /* called without prepare: do the whole dance once */
        const char *why;
        if (onednn_prepare(d, &state, &why) != 0)
            return -1;
        int rc = onednn_forward(d, t, state);
        onednn_release(state);
        return rc;
    }
    if (d->rows != s->rows || d->dim != s->dim || d->x_stride != s->x_stride ||
        d->y_stride != s->y_stride || d->dtype != s->dtype ||
        (t->gamma != NULL) != s->has_scale || (t->beta != NULL) != s->has_shift)
        return -1; /* not the shape prepare() built the primitive for */
    const float *scale = as_f32(s, t->gamma, s->scale_buf);
    const float *shift = as_f32(s, t->beta, s->shift_buf);
    if (!s->per_row)
        return run_block(s, scale, shift, t->x, t->y, t->mean, t->rstd, d->rows);
    for (size_t i = 0; i < d->rows; i++)
        if (run_block(s, scale, shift, (const char *)t->x + i * d->x_stride * s->esize,
                      (char *)t->y + i * d->y_stride * s->esize, t->mean ? t->mean + i : NULL,
                      t->rstd ? t->rstd + i : NULL, 1) != 0)
            return -1;
    return 0;
}

const ln_kernel ln_kernel_onednn = {
    .name = "onednn",
    .family = "peer",
    .description = "oneDNN 2.x layer normalization, f32 and bf16 (C API, one thread per caller)",
    .unavailable = onednn_unavailable,
    .supports = onednn_supports,
    .prepare = onednn_prepare,
    .release = onednn_release,
    .forward = onednn_forward,
    /* Every op and dtype declared: supports() says why not (see the top). */
    .caps = {.ops = LN_BIT(LN_OP_LAYERNORM) | LN_BIT(LN_OP_RMSNORM) |
                    LN_BIT(LN_OP_ADD_LAYERNORM) | LN_BIT(LN_OP_ADD_RMSNORM),
             .dtypes = LN_BIT(LN_DTYPE_F32) | LN_BIT(LN_DTYPE_BF16) | LN_BIT(LN_DTYPE_F16),
             .device = LN_DEVICE_HOST, .isa = LN_ISA_NONE,
             .tensors = LN_TENSOR_GAMMA | LN_TENSOR_BETA | LN_TENSOR_MEAN | LN_TENSOR_RSTD,
             .flags = LN_CAP_PEER | LN_CAP_FLUSHES_SUBNORMALS},
};
