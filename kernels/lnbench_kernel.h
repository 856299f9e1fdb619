/*
 * lnbench_kernel.h - the kernel ABI (v2): what is computed, who can compute
 * it, and how a computation is run.
 *
 * Three steps, after oneDNN's op descriptor -> primitive -> execute:
 *
 *   ln_desc      what is computed: operation, dtype, shape, strides, eps,
 *                which optional tensors are present.  No data.
 *   prepare      per-descriptor state built outside any timed loop (a
 *                oneDNN primitive, a widened gamma, a device pipeline).
 *   forward      one execution on ln_tensors: the data, in memory of the
 *                kernel's device (host memory for CPU kernels).
 *
 * Each kernel declares what it supports as an ln_caps (operations, dtypes,
 * device, ISA, optional tensors, promises such as exact constant rows).  The
 * harness, the accuracy engine and the tests select kernels by capability
 * through ln_kernel_supports(), never by name.
 *
 * The operations, per row x of dim values (ln_op):
 *
 *   layernorm      y = (x - mean) / sqrt(var + eps) * gamma + beta
 *   rmsnorm        y = x / sqrt(mean(x^2) + eps) * w
 *   add_layernorm  h = x + residual, rounded to the dtype and written out
 *   add_rmsnorm    (the new residual stream, as vLLM's fused_add_rms_norm),
 *                  then layernorm / rmsnorm of h
 *
 * var the biased variance; gamma (w for the RMS forms: the same tensor,
 * LN_TENSOR_GAMMA) and beta per-column vectors of length dim, each optional
 * (MLX's affine=False / bias=False: treated as 1 and 0).  The RMS forms have
 * no beta and no mean.  Where the result is rounded to the dtype is the
 * cast (ln_cast): once at the end, or as HF's Llama / Gemma RMSNorm do.
 *
 * Adding a kernel: write kernels/<name>.c defining one `const ln_kernel
 * ln_kernel_<name>`, add it to kernels/CMakeLists.txt and one line to
 * kernels/registry.c.  Its accuracy bounds are data (tests/bounds/), written
 * by scripts/regen-bounds from measurements, not numbers in its source.
 *
 * Rules every kernel keeps (tests/test_kernel_edges.c checks them):
 *  - any dim >= 1, any row stride >= dim, rows need no particular alignment;
 *  - no read or write outside the rows (nor past gamma[dim-1], beta[dim-1]);
 *  - with LN_CAP_EXACT_CONSTANT, a constant row gives exactly beta (0 when
 *    beta is absent) on every column;
 *  - NaN or +-Inf anywhere in a row makes every output of that row NaN
 *    (and its mean and rstd, when asked for, NaN too), and the rows after it
 *    are computed as if it were not there;
 *  - kernels never print, never allocate per call in the hot path unless
 *    documented, and are safe to call from several threads on disjoint rows
 *    (each thread with its own prepared state).
 */
#ifndef LNBENCH_KERNEL_H
#define LNBENCH_KERNEL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LN_BIT(e) (1u << (unsigned)(e))

/* The operation.  Stable names: ln_op_name(). */
typedef enum ln_op {
    LN_OP_LAYERNORM = 0,
    LN_OP_RMSNORM,
    LN_OP_ADD_LAYERNORM, /* h = x + residual, then layernorm(h) */
    LN_OP_ADD_RMSNORM,   /* h = x + residual, then rmsnorm(h) */
    LN_OP_COUNT
} ln_op;

/* Where the reference definition rounds to the dtype (Liger's casting
 * modes; FIELD-NOTES "The norms models run today").  With n the exact
 * normalised value (x - mean) * rstd or x * rstd:
 *   single  y = round(n * gamma + beta): one rounding at the end;
 *   llama   y = round(w * round(n)): HF LlamaRMSNorm rounds n to the
 *           dtype, then multiplies by w in the dtype (RMS forms only);
 *   gemma   y = round(n * fl32(1 + w)): HF GemmaRMSNorm's offset weight,
 *           1 + w formed in binary32, one rounding (RMS forms only).
 * Stable names: ln_cast_name(). */
typedef enum ln_cast {
    LN_CAST_SINGLE = 0,
    LN_CAST_LLAMA,
    LN_CAST_GEMMA,
    LN_CAST_COUNT
} ln_cast;

/* The element type of x, y, gamma and beta (statistics are binary32 or
 * wider in every kernel).  Stable names: ln_dtype_name(). */
typedef enum ln_dtype {
    LN_DTYPE_F32 = 0, /* IEEE binary32 */
    LN_DTYPE_BF16,    /* bfloat16: binary32's top 16 bits */
    LN_DTYPE_F16,     /* IEEE binary16 */
    LN_DTYPE_COUNT
} ln_dtype;

/* Where a kernel's tensors live and its work runs. */
typedef enum ln_device {
    LN_DEVICE_HOST = 0, /* CPU kernels on host memory */
    LN_DEVICE_OPENCL,   /* an OpenCL device (PoCL's CPU device here) */
    LN_DEVICE_METAL,    /* Apple's Metal GPU */
    LN_DEVICE_COUNT
} ln_device;

/* The instruction set a kernel needs (probed by kernels/cpu_features.c,
 * masked by LNBENCH_DISABLE_ISA).  LN_ISA_NONE: portable C. */
typedef enum ln_isa {
    LN_ISA_NONE = -1,
    LN_ISA_AVX2_FMA = 0, /* AVX2 + FMA (x86-64) */
    LN_ISA_AVX512F,      /* AVX-512 F + VL + DQ, with FMA (x86-64) */
    LN_ISA_NEON,         /* AArch64 Advanced SIMD */
    LN_ISA_COUNT
} ln_isa;

/* Optional tensors: bits of ln_desc.tensors and ln_caps.tensors. */
enum {
    LN_TENSOR_GAMMA = 1u << 0, /* per-column scale (else 1) */
    LN_TENSOR_BETA = 1u << 1,  /* per-column shift (else 0) */
    LN_TENSOR_MEAN = 1u << 2,  /* per-row mean out, binary32 */
    LN_TENSOR_RSTD = 1u << 3   /* per-row 1/sqrt(var + eps) out, binary32 */
};

/* Promises: bits of ln_caps.flags. */
enum {
    /* A constant row gives exactly beta (0 without beta).  The float scalar
     * kernels lack it: their float mean of a constant row can miss x by an
     * ulp, and that failure is part of what they demonstrate. */
    LN_CAP_EXACT_CONSTANT = 1u << 0,
    /* Honours LN_STORE_STREAMING with non-temporal stores. */
    LN_CAP_STREAMING_STORES = 1u << 1,
    /* A peer library's implementation, measured beside ours. */
    LN_CAP_PEER = 1u << 2,
    /* Right on finite rows whose squares overflow binary32 (|x| beyond
     * ~1.8e19), e.g. by statistics in double or a fallback to them. */
    LN_CAP_WIDE_RANGE = 1u << 3,
    /* Within 1 ulp of the exact result wherever the result itself is not
     * a cancellation (no beta, and x_i not within 2^-20 |mean| of the
     * mean): statistics and normalisation carried wider than binary32,
     * one rounding at the end. */
    LN_CAP_FAITHFUL = 1u << 4,
    /* Not a promise but its absence: outputs below the dtype's smallest
     * normal may come out as zero (oneDNN 2.6's bf16 layer normalization
     * flushes them).  Every kernel without it rounds them like any other
     * output (test_kernel_edges checks). */
    LN_CAP_FLUSHES_SUBNORMALS = 1u << 5
};

/* What the caller wants done with the stores of y.  The rule, for AUTO and
 * for callers that choose (kernels/store_policy.h, ln_streaming_pays): stream
 * when the working set, x + y (rows * dim * 8 bytes for binary32), exceeds
 * three eighths of the last-level cache for one thread (half for several).  A
 * kernel sees one call's rows only, as one thread's; a
 * caller running calls side by side on threads that share the LLC should
 * pass CACHED or STREAMING from the whole working set (the speed harness
 * does). */
typedef enum ln_store_hint {
    LN_STORE_AUTO = 0,     /* kernel decides from this call's x + y and the LLC */
    LN_STORE_CACHED = 1,   /* ordinary stores */
    LN_STORE_STREAMING = 2 /* non-temporal stores where the kernel has them */
} ln_store_hint;

/* What is computed.  Strides count elements between row starts; residual
 * rows use x_stride and h rows y_stride. */
typedef struct ln_desc {
    ln_op op;
    ln_dtype dtype;
    ln_cast cast;
    size_t rows, dim;
    size_t x_stride, y_stride; /* >= dim */
    float eps;
    unsigned tensors;          /* LN_TENSOR_* present */
    ln_store_hint store;
} ln_desc;

/* The data of one execution, in the kernel's device memory.  A tensor whose
 * bit is clear in ln_desc.tensors must be NULL; residual and h are present
 * exactly for the add_ operations.  No output overlaps an input. */
typedef struct ln_tensors {
    const void *x;        /* rows x x_stride elements of dtype */
    void *y;              /* rows x y_stride elements of dtype */
    const void *gamma;    /* dim elements of dtype (w for RMS forms), or NULL */
    const void *beta;     /* dim elements of dtype, or NULL */
    float *mean;          /* rows floats, or NULL */
    float *rstd;          /* rows floats, or NULL */
    const void *residual; /* add_ ops: rows x x_stride elements of dtype */
    void *h;              /* add_ ops: rows x y_stride, x + residual rounded */
} ln_tensors;

/* What a kernel can compute. */
typedef struct ln_caps {
    unsigned ops;     /* LN_BIT(LN_OP_*) */
    unsigned dtypes;  /* LN_BIT(LN_DTYPE_*) */
    unsigned casts;   /* LN_BIT(LN_CAST_*) beyond single, which every kernel does */
    ln_device device;
    ln_isa isa;
    unsigned tensors; /* optional tensors it accepts (each may be absent) */
    unsigned flags;   /* LN_CAP_* */
} ln_caps;

typedef struct ln_kernel {
    const char *name;        /* stable, used on the command line and in results */
    const char *family;      /* "scalar", "avx2", "avx512", "neon", "peer", ... */
    const char *description; /* one line */
    ln_caps caps;
    /* Optional, beyond caps.isa's probe: NULL when this host can run the
     * kernel, else a static one-line reason ("libdnnl not loadable", ...). */
    const char *(*unavailable)(void);
    /* Optional, beyond caps: 0 when the kernel can compute d, else -1 with
     * a static reason in *why. */
    int (*supports)(const ln_desc *d, const char **why);
    /* Optional: per-descriptor state, built outside any timed loop.
     * Returns 0, or -1 with a static reason in *why. */
    int (*prepare)(const ln_desc *d, void **state, const char **why);
    void (*release)(void *state);
    /* Compute d on t.  state is what prepare made (NULL without prepare).
     * Returns 0, non-zero only for a peer library's or a device's failure.
     * A device kernel may return before the work is done: the device's
     * synchronize() waits for it. */
    int (*forward)(const ln_desc *d, const ln_tensors *t, void *state);
    /* Optional, device kernels: the device's own time of the last forward
     * on state (OpenCL profiling events, Metal's GPU start/end), in
     * seconds, after synchronize.  0, or -1 when not measured. */
    int (*device_seconds)(void *state, double *seconds);
} ln_kernel;

/* Memory and queue of a device (after ggml's backend interface).  The
 * host's is plain memory; a GPU's owns its buffers and orders its copies
 * and kernels on one queue. */
typedef struct ln_device_ops {
    const char *name;
    void *(*alloc)(size_t bytes);  /* NULL when out of memory */
    void (*free)(void *buf);
    /* Copies in and out; may return before the copy is done. */
    int (*set)(void *dst, const void *host_src, size_t bytes);
    int (*get)(void *host_dst, const void *src, size_t bytes);
    /* Waits for every copy and forward issued so far. */
    int (*synchronize)(void);
    /* Optional: the device in use ("<platform>: <device>"), or NULL when
     * it is unavailable; for lists and provenance. */
    const char *(*describe)(void);
} ln_device_ops;

/* The ops of a device, or NULL when this build lacks it. */
const ln_device_ops *ln_device_get(ln_device dev);

/* The registry (kernels/registry.c): every kernel, in a stable order. */
extern const ln_kernel *const ln_kernels[];
extern const size_t ln_kernel_count;

/* Stable names ("layernorm", "rmsnorm", "add_layernorm", "add_rmsnorm";
 * "f32", "bf16", "f16"; "single", "llama", "gemma"; "host", "opencl",
 * "metal"), and the reverse (-1 for an unknown name). */
const char *ln_op_name(ln_op op);
const char *ln_dtype_name(ln_dtype dt);
const char *ln_cast_name(ln_cast c);
const char *ln_device_name(ln_device dev);
int ln_op_from_name(const char *name);
int ln_dtype_from_name(const char *name);
int ln_cast_from_name(const char *name);
size_t ln_dtype_size(ln_dtype dt);

/* The operation's parts: does it add a residual first, is it an RMS form. */
int ln_op_has_residual(ln_op op);
int ln_op_is_rms(ln_op op);

/* 0 when d describes a computation at all (known op, dtype and cast; a cast
 * other than single only on the RMS forms; no beta or mean on the RMS
 * forms; dim >= 1; strides >= dim), else -1 with a static one-line reason.
 * Independent of any kernel: callers check it before selecting kernels. */
int ln_desc_valid(const ln_desc *d, const char **why);

/* The kernel named `name`, or NULL. */
const ln_kernel *ln_kernel_find(const char *name);

/* NULL when this host can run k (its ISA probe and its own check), else a
 * static one-line reason. */
const char *ln_kernel_unavailable(const ln_kernel *k);

/* 0 when k can compute d (caps and k->supports), else -1 with a static
 * one-line reason in *why (why may be NULL).  Apart from a kernel's own
 * supports() (oneDNN asks its library which dtypes run on this CPU), it does
 * not probe the host. */
int ln_kernel_supports(const ln_kernel *k, const ln_desc *d, const char **why);

/* Resolve a --kernels list.  With names (n > 0): each must be in the
 * registry and able to run here; repeats are dropped.  Without (n == 0):
 * every kernel this host can run, in registry order.  With d non-NULL,
 * kernels that cannot compute d are left out of the default list and are
 * an error when named.  out must have room for ln_kernel_count entries.
 * Returns 0, or -1 with a one-line reason in err. */
int ln_kernel_select(char *const *names, size_t n, const ln_desc *d,
                     const ln_kernel **out, size_t *count, char *err, size_t errlen);

/* The LN_TENSOR_* bits of the optional tensors t holds (non-NULL). */
unsigned ln_tensors_present(const ln_tensors *t);

/* Checks that d is valid and t matches it (ln_tensors_present(t) ==
 * d->tensors; residual and h present exactly for the add_ ops).  0, or -1
 * with a static reason. */
int ln_check_call(const ln_desc *d, const ln_tensors *t, const char **why);

/* Convenience for callers outside timed loops (accuracy, tests): checks,
 * prepare (if any), forward, synchronize, release.  Tensors are in the
 * kernel's device memory.  Returns 0, or -1 with *why. */
int ln_kernel_run(const ln_kernel *k, const ln_desc *d, const ln_tensors *t,
                  const char **why);

#ifdef __cplusplus
}
#endif

#endif /* LNBENCH_KERNEL_H */
