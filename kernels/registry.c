/*
 * registry.c - the one list of kernels, and the ABI's helpers that every
 * caller shares (selection by capability, the call check, run).
 *
 * Adding a kernel: one file and one LN_KERNEL line below.  Portable C
 * kernels live in kernels/scalar/, which CMake compiles whole; kernels that
 * need an ISA or a library the build may lack are in the groups guarded by
 * the macros kernels/CMakeLists.txt defines.
 */
#include "cpu_features.h"
#include "lnbench_kernel.h"

#include <stdio.h>
#include <string.h>

/* The registry: one LN_KERNEL line per kernel, in the order lists and
 * tables show them.  Groups the build may lack expand to nothing. */
#define LN_PORTABLE_KERNELS(LN_KERNEL) \
    LN_KERNEL(naive_two_pass)          \
    LN_KERNEL(welford)                 \
    LN_KERNEL(welford_pairwise)        \
    LN_KERNEL(textbook_one_pass)       \
    LN_KERNEL(two_pass_f64)

#ifdef LNBENCH_HAVE_ONEDNN
#define LN_PEER_KERNELS(LN_KERNEL) \
    LN_KERNEL(onednn)
#else
#define LN_PEER_KERNELS(LN_KERNEL)
#endif

#ifdef LNBENCH_HAVE_X86_SIMD
#define LN_X86_KERNELS(LN_KERNEL) \
    LN_KERNEL(avx2)               \
    LN_KERNEL(avx2_accurate)      \
    LN_KERNEL(avx512)             \
    LN_KERNEL(avx512_accurate)
#else
#define LN_X86_KERNELS(LN_KERNEL)
#endif

#ifdef LNBENCH_HAVE_NEON
#define LN_NEON_KERNELS(LN_KERNEL) \
    LN_KERNEL(neon)                \
    LN_KERNEL(neon_accurate)
#else
#define LN_NEON_KERNELS(LN_KERNEL)
#endif

#ifdef LNBENCH_HAVE_OPENCL
#define LN_OPENCL_KERNELS(LN_KERNEL) \
    LN_KERNEL(opencl)                \
    LN_KERNEL(opencl_accurate)       \
    LN_KERNEL(opencl_fastmath)
#else
#define LN_OPENCL_KERNELS(LN_KERNEL)
#endif

/* Metal: kernels/metal/metal_host.m on Apple platforms; elsewhere
 * metal_unavailable.c lists them as unavailable, so every build has them. */
#define LN_METAL_KERNELS(LN_KERNEL) \
    LN_KERNEL(metal)                \
    LN_KERNEL(metal_accurate)       \
    LN_KERNEL(metal_fastmath)

#define LN_ALL_KERNELS(LN_KERNEL)                                                    \
    LN_PORTABLE_KERNELS(LN_KERNEL) LN_PEER_KERNELS(LN_KERNEL) LN_X86_KERNELS(LN_KERNEL) \
    LN_NEON_KERNELS(LN_KERNEL) LN_OPENCL_KERNELS(LN_KERNEL) LN_METAL_KERNELS(LN_KERNEL)

#define LN_DECLARE(name) extern const ln_kernel ln_kernel_##name;
LN_ALL_KERNELS(LN_DECLARE)

#define LN_ENTRY(name) &ln_kernel_##name,
const ln_kernel *const ln_kernels[] = {LN_ALL_KERNELS(LN_ENTRY)};

const size_t ln_kernel_count = sizeof ln_kernels / sizeof ln_kernels[0];

/* The devices: host memory always; a GPU's ops where the build has it. */
extern const ln_device_ops ln_device_host_ops;
#ifdef LNBENCH_HAVE_OPENCL
extern const ln_device_ops ln_device_opencl_ops;
#endif
#ifdef LNBENCH_HAVE_METAL
extern const ln_device_ops ln_device_metal_ops;
#endif

const ln_device_ops *ln_device_get(ln_device dev)
{
    switch (dev) {
    case LN_DEVICE_HOST:
        return &ln_device_host_ops;
#ifdef LNBENCH_HAVE_OPENCL
    case LN_DEVICE_OPENCL:
        return &ln_device_opencl_ops;
#endif
#ifdef LNBENCH_HAVE_METAL
    case LN_DEVICE_METAL:
        return &ln_device_metal_ops;
#endif
    default:
        return NULL;
    }
}

static const char *const op_names[LN_OP_COUNT] = {"layernorm", "rmsnorm", "add_layernorm",
                                                   "add_rmsnorm"};
static const char *const dtype_names[LN_DTYPE_COUNT] = {"f32", "bf16", "f16"};
static const size_t dtype_sizes[LN_DTYPE_COUNT] = {4, 2, 2};
static const char *const cast_names[LN_CAST_COUNT] = {"single", "llama", "gemma"};
static const char *const device_names[LN_DEVICE_COUNT] = {"host", "opencl", "metal"};

const char *ln_op_name(ln_op op)
{
    return (unsigned)op < LN_OP_COUNT ? op_names[op] : "?";
}

const char *ln_dtype_name(ln_dtype dt)
{
    return (unsigned)dt < LN_DTYPE_COUNT ? dtype_names[dt] : "?";
}

const char *ln_cast_name(ln_cast c)
{
    return (unsigned)c < LN_CAST_COUNT ? cast_names[c] : "?";
}

const char *ln_device_name(ln_device dev)
{
    return (unsigned)dev < LN_DEVICE_COUNT ? device_names[dev] : "?";
}

size_t ln_dtype_size(ln_dtype dt)
{
    return (unsigned)dt < LN_DTYPE_COUNT ? dtype_sizes[dt] : 0;
}

static int index_of(const char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

int ln_op_from_name(const char *name)
{
    return index_of(op_names, LN_OP_COUNT, name);
}

int ln_dtype_from_name(const char *name)
{
    return index_of(dtype_names, LN_DTYPE_COUNT, name);
}

int ln_cast_from_name(const char *name)
{
    return index_of(cast_names, LN_CAST_COUNT, name);
}

int ln_op_has_residual(ln_op op)
{
    return op == LN_OP_ADD_LAYERNORM || op == LN_OP_ADD_RMSNORM;
}

int ln_op_is_rms(ln_op op)
{
    return op == LN_OP_RMSNORM || op == LN_OP_ADD_RMSNORM;
}

int ln_desc_valid(const ln_desc *d, const char **why)
{
    const char *reason = NULL;
    if ((unsigned)d->op >= LN_OP_COUNT)
        reason = "unknown operation";
    else if ((unsigned)d->dtype >= LN_DTYPE_COUNT)
        reason = "unknown dtype";
    else if ((unsigned)d->cast >= LN_CAST_COUNT)
        reason = "unknown cast";
    else if (d->cast != LN_CAST_SINGLE && !ln_op_is_rms(d->op))
        reason = "casts llama and gemma are defined for rmsnorm and add_rmsnorm only";
    else if (ln_op_is_rms(d->op) && (d->tensors & (LN_TENSOR_BETA | LN_TENSOR_MEAN)))
        reason = "rmsnorm has no beta and no mean";
    else if (d->dim == 0)
        reason = "dim must be at least 1";
    else if (d->x_stride < d->dim || d->y_stride < d->dim)
        reason = "row stride below dim";
    if (why)
        *why = reason;
    return reason ? -1 : 0;
}

const ln_kernel *ln_kernel_find(const char *name)
{
    for (size_t i = 0; i < ln_kernel_count; i++)
        if (strcmp(ln_kernels[i]->name, name) == 0)
            return ln_kernels[i];
    return NULL;
}

const char *ln_kernel_unavailable(const ln_kernel *k)
{
    const char *why = ln_isa_unavailable(k->caps.isa);
    if (!why && k->unavailable)
        why = k->unavailable();
    return why;
}

int ln_kernel_supports(const ln_kernel *k, const ln_desc *d, const char **why)
{
    const char *reason = NULL;
    if (ln_desc_valid(d, &reason) != 0)
        ;
    else if (!(k->caps.ops & LN_BIT(d->op)))
        reason = "operation not supported";
    else if (!(k->caps.dtypes & LN_BIT(d->dtype)))
        reason = "dtype not supported";
    else if (d->cast != LN_CAST_SINGLE && !(k->caps.casts & LN_BIT(d->cast)))
        reason = "cast not supported";
    else if (d->tensors & ~k->caps.tensors)
        reason = "optional tensor (gamma, beta, mean or rstd) not supported";
    else if (k->supports && k->supports(d, &reason) != 0 && !reason)
        reason = "descriptor not supported";
    if (why)
        *why = reason;
    return reason ? -1 : 0;
}

int ln_kernel_select(char *const *names, size_t n, const ln_desc *d,
                     const ln_kernel **out, size_t *count, char *err, size_t errlen)
{
    *count = 0;
    if (n == 0) {
        for (size_t i = 0; i < ln_kernel_count; i++)
            if (!ln_kernel_unavailable(ln_kernels[i]) &&
                (!d || ln_kernel_supports(ln_kernels[i], d, NULL) == 0))
                out[(*count)++] = ln_kernels[i];
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        const ln_kernel *k = ln_kernel_find(names[i]);
        const char *why;
        if (!k) {
            snprintf(err, errlen, "unknown kernel '%.64s' (see lnbench list)", names[i]);
            return -1;
        }
        if ((why = ln_kernel_unavailable(k)) != NULL) {
            snprintf(err, errlen, "kernel '%s' cannot run here: %s", k->name, why);
            return -1;
        }
        if (d && ln_kernel_supports(k, d, &why) != 0) {
            snprintf(err, errlen, "kernel '%s' cannot compute %s %s (cast %s): %s", k->name,
                     ln_op_name(d->op), ln_dtype_name(d->dtype), ln_cast_name(d->cast), why);
            return -1;
        }
        int dup = 0;
        for (size_t j = 0; j < *count; j++)
            dup |= out[j] == k;
        if (!dup)
            out[(*count)++] = k;
    }
    return 0;
}

unsigned ln_tensors_present(const ln_tensors *t)
{
    return (t->gamma ? LN_TENSOR_GAMMA : 0u) | (t->beta ? LN_TENSOR_BETA : 0u) |
           (t->mean ? LN_TENSOR_MEAN : 0u) | (t->rstd ? LN_TENSOR_RSTD : 0u);
}

int ln_check_call(const ln_desc *d, const ln_tensors *t, const char **why)
{
    const char *reason = NULL;
    int add = (unsigned)d->op < LN_OP_COUNT && ln_op_has_residual(d->op);
    if (ln_desc_valid(d, &reason) != 0)
        ;
    else if (d->rows && (!t->x || !t->y))
        reason = "x or y missing";
    else if (ln_tensors_present(t) != d->tensors)
        reason = "tensors do not match the descriptor's tensor bits";
    else if (d->rows && add && (!t->residual || !t->h))
        reason = "add_ operation without residual or h";
    else if (!add && (t->residual || t->h))
        reason = "residual or h given to an operation without a residual add";
    if (why)
        *why = reason;
    return reason ? -1 : 0;
}

int ln_kernel_run(const ln_kernel *k, const ln_desc *d, const ln_tensors *t,
                  const char **why)
{
    void *state = NULL;
    const char *reason = NULL;
    if ((reason = ln_kernel_unavailable(k)) != NULL ||
        ln_kernel_supports(k, d, &reason) != 0 || ln_check_call(d, t, &reason) != 0) {
        if (why)
            *why = reason;
        return -1;
    }
    if (k->prepare && k->prepare(d, &state, &reason) != 0) {
        if (why)
            *why = reason ? reason : "prepare failed";
        return -1;
    }
    int rc = k->forward(d, t, state);
    const ln_device_ops *dev = ln_device_get(k->caps.device);
    if (rc == 0 && dev && dev->synchronize() != 0)
        rc = -1;
    if (k->release)
        k->release(state);
    if (rc != 0 && why)
        *why = "forward failed";
    return rc;
}
