/*
 * norm_body.h - the per-row algorithms of the GPU norm kernels, written
 * once for OpenCL C (kernels/opencl/) and the Metal Shading Language
 * (kernels/metal/).  One work-group (threadgroup) normalises one row.
 *
 * THE CONTRACT.  This file is the common subset of the two languages: plain
 * C functions, no templates, no overloading, no builtins called directly,
 * no pointers to private memory (results come back as small structs).
 * Before including it, a program includes norm_params.h and its dialect
 * header, which defines:
 *
 *   LN_GPU_GLOBAL, LN_GPU_LOCAL   address spaces of device buffers and of
 *                                 work-group shared memory (__global/__local,
 *                                 device/threadgroup)
 *   LN_GPU_FN                     qualifier of the body's functions
 *   LN_GPU_SIZE                   a 64-bit unsigned type for element offsets
 *   LN_GPU_BARRIER()              work-group barrier ordering LN_GPU_LOCAL
 *   LN_GPU_FMA(a, b, c)           fused multiply-add, one rounding
 *   LN_GPU_SQRT(x)                float sqrt (correctly rounded where the
 *                                 language can be asked for it)
 *   LN_GPU_AS_FLOAT(u), LN_GPU_AS_UINT(f)   bit casts
 *   LN_GPU_LOAD_F16(p, i)         float of the binary16 bits p[i] (p: ushort)
 *   LN_GPU_STORE_F16(p, i, v)     p[i] = v rounded to binary16, nearest even
 *   LN_GPU_SIMD_WIDTH             lanes reduced before the local-memory tree
 *                                 (1: no SIMD stage, as on OpenCL/PoCL)
 *   LN_GPU_SIMD_SHUFFLE_XOR(v, m) v of lane (lane ^ m) in the SIMD group
 *
 * and LN_DTYPE (LN_GPU_DTYPE_F32, _BF16 or _F16) selects the element type:
 * float, or ushort bits for bf16 and f16.
 *
 * The entry points (one per dialect file) call ln_gpu_row_fast or
 * ln_gpu_row_accurate with the row index, the thread's index in its group,
 * the group size and a shared scratch of 4 * group-size floats.  The group
 * size must be a power of two and a multiple of LN_GPU_SIMD_WIDTH.
 *
 * Arithmetic: the accurate path needs each float operation rounded as
 * written (no reassociation, no contraction, no fast math): its float-float
 * sums depend on it.  The fast path is the same algorithm the fast-math
 * kernel builds with the compiler's relaxed flags.
 *
 * NaN and Inf: a row holding either gives NaN everywhere (Inf - Inf in the
 * deviations), its mean and rstd NaN; other rows are not affected.
 */
#ifndef LN_GPU_NORM_BODY_H
#define LN_GPU_NORM_BODY_H

#if LN_DTYPE == LN_GPU_DTYPE_F32
#define LN_ELEM float
#else
#define LN_ELEM ushort
#endif

/* ------------------------------------------------------------ dtypes */

/* binary32 rounded to bfloat16 (nearest even), as binary32 bits: the
 * bf16 value is the top half.  NaN stays a quiet NaN. */
LN_GPU_FN uint ln_gpu_bf16_round_bits(float v)
{
    uint u = LN_GPU_AS_UINT(v);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return u | 0x00400000u;
    u += 0x7fffu + ((u >> 16) & 1u);
    return u & 0xffff0000u;
}

/* binary32 rounded to the nearest binary16 value (ties to even), as a
 * binary32: 65520 and beyond become infinity, below 2^-14 the subnormal
 * grid of step 2^-24. */
LN_GPU_FN float ln_gpu_f16_round(float v)
{
    uint u = LN_GPU_AS_UINT(v), sign = u & 0x80000000u, a = u & 0x7fffffffu;
    if (a > 0x7f800000u)
        return v;
    if (a >= 0x477ff000u)
        return LN_GPU_AS_FLOAT(sign | 0x7f800000u);
    if (a < 0x38800000u) {
        /* 0.5 has ulp 2^-24: the addition rounds |v| to the grid. */
        float r = (LN_GPU_AS_FLOAT(a) + 0.5f) - 0.5f;
        return LN_GPU_AS_FLOAT(sign | LN_GPU_AS_UINT(r));
    }
    a += 0xfffu + ((a >> 13) & 1u);
    return LN_GPU_AS_FLOAT(sign | (a & 0xffffe000u));
}

/* v rounded to the dtype, as a float. */
LN_GPU_FN float ln_gpu_round(float v)
{
#if LN_DTYPE == LN_GPU_DTYPE_F32
    return v;
#elif LN_DTYPE == LN_GPU_DTYPE_BF16
    return LN_GPU_AS_FLOAT(ln_gpu_bf16_round_bits(v));
#else
    return ln_gpu_f16_round(v);
#endif
}

LN_GPU_FN float ln_gpu_load(LN_GPU_GLOBAL const LN_ELEM *p, LN_GPU_SIZE i)
{
#if LN_DTYPE == LN_GPU_DTYPE_F32
    return p[i];
#elif LN_DTYPE == LN_GPU_DTYPE_BF16
    return LN_GPU_AS_FLOAT((uint)p[i] << 16);
#else
    return LN_GPU_LOAD_F16(p, i);
#endif
}

/* p[i] = v rounded to the dtype (nearest even). */
LN_GPU_FN void ln_gpu_store(LN_GPU_GLOBAL LN_ELEM *p, LN_GPU_SIZE i, float v)
{
#if LN_DTYPE == LN_GPU_DTYPE_F32
    p[i] = v;
#elif LN_DTYPE == LN_GPU_DTYPE_BF16
    p[i] = (ushort)(ln_gpu_bf16_round_bits(v) >> 16);
#else
    LN_GPU_STORE_F16(p, i, v);
#endif
}

/* --------------------------------------------------- float-float numbers */

/* hi + lo, |lo| <= ulp(hi)/2: 48 bits of significand from float
 * operations alone (Dekker; Joldes, Muller, Popescu 2017 for the bounds). */
typedef struct ln_ff {
    float hi, lo;
} ln_ff;

LN_GPU_FN ln_ff ln_ff_make(float hi, float lo)
{
    ln_ff r;
    r.hi = hi;
    r.lo = lo;
    return r;
}

/* a + b exactly (Knuth's TwoSum, any magnitudes). */
LN_GPU_FN ln_ff ln_ff_two_sum(float a, float b)
{
    float s = a + b, bb = s - a;
    return ln_ff_make(s, (a - (s - bb)) + (b - bb));
}

/* a + b exactly when |a| >= |b| or a == 0 (Dekker's FastTwoSum). */
LN_GPU_FN ln_ff ln_ff_fast_two_sum(float a, float b)
{
    float s = a + b;
    return ln_ff_make(s, b - (s - a));
}

/* a * b exactly (no underflow): the fma recovers the product's low half. */
LN_GPU_FN ln_ff ln_ff_two_prod(float a, float b)
{
    float p = a * b;
    return ln_ff_make(p, LN_GPU_FMA(a, b, -p));
}

/* x + b, relative error ~2^-47 (DWPlusFP). */
LN_GPU_FN ln_ff ln_ff_add_f(ln_ff x, float b)
{
    ln_ff s = ln_ff_two_sum(x.hi, b);
    return ln_ff_fast_two_sum(s.hi, s.lo + x.lo);
}

/* x + y, relative error ~3 2^-48 (AccurateDWPlusDW). */
LN_GPU_FN ln_ff ln_ff_add(ln_ff x, ln_ff y)
{
    ln_ff s = ln_ff_two_sum(x.hi, y.hi), t = ln_ff_two_sum(x.lo, y.lo);
    s = ln_ff_fast_two_sum(s.hi, s.lo + t.hi);
    return ln_ff_fast_two_sum(s.hi, s.lo + t.lo);
}

LN_GPU_FN ln_ff ln_ff_neg(ln_ff x)
{
    return ln_ff_make(-x.hi, -x.lo);
}

/* x * b, relative error ~2^-47 (DWTimesFP). */
LN_GPU_FN ln_ff ln_ff_mul_f(ln_ff x, float b)
{
    ln_ff p = ln_ff_two_prod(x.hi, b);
    return ln_ff_fast_two_sum(p.hi, LN_GPU_FMA(x.lo, b, p.lo));
}

/* x * y, relative error ~5 2^-48 (DWTimesDW). */
LN_GPU_FN ln_ff ln_ff_mul(ln_ff x, ln_ff y)
{
    ln_ff p = ln_ff_two_prod(x.hi, y.hi);
    float lo = LN_GPU_FMA(x.hi, y.lo, LN_GPU_FMA(x.lo, y.hi, p.lo));
    return ln_ff_fast_two_sum(p.hi, lo);
}

/* x / b, relative error ~2^-46 (DWDivFP). */
LN_GPU_FN ln_ff ln_ff_div_f(ln_ff x, float b)
{
    float q = x.hi / b;
    ln_ff p = ln_ff_two_prod(q, b);
    float r = ((x.hi - p.hi) - p.lo + x.lo) / b;
    return ln_ff_fast_two_sum(q, r);
}

/* x - m for a float x, as a float-float: exact up to the rounding of the
 * low parts (x - m.hi is exact by TwoSum). */
LN_GPU_FN ln_ff ln_ff_sub_from(float x, ln_ff m)
{
    ln_ff s = ln_ff_two_sum(x, -m.hi);
    return ln_ff_fast_two_sum(s.hi, s.lo - m.lo);
}

/* True for finite v; written without builtins (Inf - Inf and NaN - NaN are
 * NaN, which compares unequal).  Not for fast-math builds. */
LN_GPU_FN int ln_gpu_finite(float v)
{
    return (v - v) == 0.0f;
}

/* The float-float value correctly rounded to the dtype, as a float.  For
 * binary32, hi + lo rounds once.  For bf16 and f16, rounding hi alone is
 * right unless hi lies exactly halfway between two dtype values: then the
 * sign of lo decides (lo is far below half a dtype ulp, so it cannot move
 * the value past either neighbour). */
LN_GPU_FN float ln_gpu_narrow(ln_ff v)
{
#if LN_DTYPE == LN_GPU_DTYPE_F32
    return v.hi + v.lo;
#else
    float m = ln_gpu_round(v.hi);
    /* If hi is a midpoint, the other neighbour is hi + (hi - m), exactly
     * representable in the dtype; otherwise that sum is not a dtype value. */
    float other = v.hi + (v.hi - m);
    if (v.lo != 0.0f && other != m && ln_gpu_finite(other) && ln_gpu_round(other) == other)
        return (v.lo > 0.0f) == (other > m) ? other : m;
    return m;
#endif
}

/* binary32 only: the float-float v, which is the result times 2^64, correctly
 * rounded to binary32 after scaling back by 2^-64.  Where the result is a
 * subnormal, hi * 2^-64 alone rounds onto the subnormal grid, so hi is
 * rounded there and lo decides only at a midpoint (as ln_gpu_narrow). */
LN_GPU_FN float ln_gpu_narrow_down64(ln_ff v)
{
    float down = 0x1p-64f, up = 0x1p64f, m = v.hi * down;
    if (!(m < 0x1p-126f && m > -0x1p-126f))
        return (v.hi + v.lo) * down; /* normal: the scaling is exact */
    float mu = m * up, other = v.hi + (v.hi - mu);
    if (v.lo != 0.0f && other != mu && (other * down) * up == other)
        return ((v.lo > 0.0f) == (other > mu) ? other : mu) * down;
    return m;
}

/* ------------------------------------------------------- reductions */

/* The sum of v over the group, returned to every thread: an optional SIMD
 * stage, then a tree over LN_GPU_LOCAL red (group-size floats). */
LN_GPU_FN float ln_gpu_group_sum(float v, uint tid, uint lsize, LN_GPU_LOCAL float *red)
{
    for (uint m = LN_GPU_SIMD_WIDTH / 2u; m > 0u; m >>= 1)
        v += LN_GPU_SIMD_SHUFFLE_XOR(v, m);
    uint n = lsize / LN_GPU_SIMD_WIDTH;
    if (tid % LN_GPU_SIMD_WIDTH == 0u)
        red[tid / LN_GPU_SIMD_WIDTH] = v;
    LN_GPU_BARRIER();
    for (uint s = n / 2u; s > 0u; s >>= 1) {
        if (tid < s)
            red[tid] += red[tid + s];
        LN_GPU_BARRIER();
    }
    float r = red[0];
    LN_GPU_BARRIER(); /* red is reused by the next reduction */
    return r;
}

/* Two float-float sums at once (a and b), every step an accurate
 * float-float addition; red holds 4 * group-size floats.  With
 * b_count_max, b is a count and a maximum instead (ln_gpu_count_max). */
typedef struct ln_ff2 {
    ln_ff a, b;
} ln_ff2;

LN_GPU_FN float ln_gpu_max(float a, float b)
{
    return a > b ? a : b;
}

/* b's two floats combined as a count (hi, added) and a maximum (lo). */
LN_GPU_FN ln_ff ln_gpu_count_max(ln_ff x, ln_ff y)
{
    return ln_ff_make(x.hi + y.hi, ln_gpu_max(x.lo, y.lo));
}

LN_GPU_FN ln_ff2 ln_gpu_group_sum_ff2(ln_ff a, ln_ff b, uint tid, uint lsize,
                                      LN_GPU_LOCAL float *red, int b_count_max)
{
    for (uint m = LN_GPU_SIMD_WIDTH / 2u; m > 0u; m >>= 1) {
        a = ln_ff_add(a, ln_ff_make(LN_GPU_SIMD_SHUFFLE_XOR(a.hi, m),
                                    LN_GPU_SIMD_SHUFFLE_XOR(a.lo, m)));
        ln_ff o = ln_ff_make(LN_GPU_SIMD_SHUFFLE_XOR(b.hi, m), LN_GPU_SIMD_SHUFFLE_XOR(b.lo, m));
        b = b_count_max ? ln_gpu_count_max(b, o) : ln_ff_add(b, o);
    }
    uint n = lsize / LN_GPU_SIMD_WIDTH;
    LN_GPU_LOCAL float *ah = red, *al = red + n, *bh = red + 2u * n, *bl = red + 3u * n;
    if (tid % LN_GPU_SIMD_WIDTH == 0u) {
        uint k = tid / LN_GPU_SIMD_WIDTH;
        ah[k] = a.hi;
        al[k] = a.lo;
        bh[k] = b.hi;
        bl[k] = b.lo;
    }
    LN_GPU_BARRIER();
    for (uint s = n / 2u; s > 0u; s >>= 1) {
        if (tid < s) {
            ln_ff x = ln_ff_add(ln_ff_make(ah[tid], al[tid]), ln_ff_make(ah[tid + s], al[tid + s]));
            ln_ff y0 = ln_ff_make(bh[tid], bl[tid]), y1 = ln_ff_make(bh[tid + s], bl[tid + s]);
            ln_ff y = b_count_max ? ln_gpu_count_max(y0, y1) : ln_ff_add(y0, y1);
            ah[tid] = x.hi;
            al[tid] = x.lo;
            bh[tid] = y.hi;
            bl[tid] = y.lo;
        }
        LN_GPU_BARRIER();
    }
    ln_ff2 r;
    r.a = ln_ff_make(ah[0], al[0]);
    r.b = ln_ff_make(bh[0], bl[0]);
    LN_GPU_BARRIER();
    return r;
}

/* ------------------------------------------------------------ the rows */

/* The row's tensors, offset to the row. */
typedef struct ln_gpu_row {
    LN_GPU_GLOBAL const LN_ELEM *x, *res, *gamma, *beta;
    LN_GPU_GLOBAL LN_ELEM *y, *h;
} ln_gpu_row;

/* Element j of the row's input: x, or h = x + residual rounded to the
 * dtype (the float sum of two dtype values rounded once more is the
 * correctly rounded dtype sum: it is exact unless the addends are 2^13
 * apart in magnitude, and then the smaller one is far below half an ulp). */
LN_GPU_FN float ln_gpu_in(ln_gpu_row r, uint j, int add)
{
    float v = ln_gpu_load(r.x, j);
    return add ? ln_gpu_round(v + ln_gpu_load(r.res, j)) : v;
}

LN_GPU_FN int ln_gpu_has(ln_gpu_params p, uint bit)
{
    return (p.tensors & bit) != 0u;
}

/* The fast kernel: float statistics, two passes over the row (sum, then
 * squared deviations from the float mean), rstd = 1/sqrt(var + eps), and
 * y = (x - mean) * rstd * gamma + beta in float.  RMS forms: mean square,
 * no mean.  Casts: llama rounds the normalised value to the dtype first,
 * gemma scales by 1 + w formed in float. */
LN_GPU_FN void ln_gpu_row_fast(ln_gpu_params p, ln_gpu_row r, uint tid, uint lsize,
                               LN_GPU_GLOBAL float *mean_out, LN_GPU_GLOBAL float *rstd_out,
                               LN_GPU_LOCAL float *red)
{
    int add = p.op == LN_GPU_OP_ADD_LAYERNORM || p.op == LN_GPU_OP_ADD_RMSNORM;
    int rms = p.op == LN_GPU_OP_RMSNORM || p.op == LN_GPU_OP_ADD_RMSNORM;
    float n = (float)p.dim, mean = 0.0f, acc = 0.0f;

    if (!rms) {
        for (uint j = tid; j < p.dim; j += lsize)
            acc += ln_gpu_in(r, j, add);
        mean = ln_gpu_group_sum(acc, tid, lsize, red) / n;
        acc = 0.0f;
    }
    for (uint j = tid; j < p.dim; j += lsize) {
        float d = ln_gpu_in(r, j, add) - mean;
        acc += d * d;
    }
    float var = ln_gpu_group_sum(acc, tid, lsize, red) / n;
    float rstd = 1.0f / LN_GPU_SQRT(var + p.eps);
    /* An RMS row holding Inf (or squares past binary32) has var = +Inf and
     * rstd 0, which would turn its finite elements into 0: its outputs
     * must be NaN.  Tested on the bits, which fast math leaves alone. */
    if (rms && LN_GPU_AS_UINT(var) == 0x7f800000u)
        rstd = LN_GPU_AS_FLOAT(0x7fc00000u);

    for (uint j = tid; j < p.dim; j += lsize) {
        float v = ln_gpu_in(r, j, add), w = 1.0f;
        if (add)
            ln_gpu_store(r.h, j, v);
        float o = (v - mean) * rstd;
        if (ln_gpu_has(p, LN_GPU_TENSOR_GAMMA))
            w = ln_gpu_load(r.gamma, j);
        if (p.cast == LN_GPU_CAST_LLAMA)
            o = ln_gpu_round(o);
        else if (p.cast == LN_GPU_CAST_GEMMA && ln_gpu_has(p, LN_GPU_TENSOR_GAMMA))
            w = 1.0f + w;
        o *= w;
        if (ln_gpu_has(p, LN_GPU_TENSOR_BETA))
            o += ln_gpu_load(r.beta, j);
        ln_gpu_store(r.y, j, o);
    }
    if (tid == 0u) {
        /* A row holding Inf has a mean of +-Inf but rstd NaN: its mean is
         * NaN too.  The test is on the bits, which fast-math builds (that
         * may assume no NaN) leave alone. */
        if (ln_gpu_has(p, LN_GPU_TENSOR_MEAN))
            *mean_out = (LN_GPU_AS_UINT(rstd) & 0x7fffffffu) > 0x7f800000u ? rstd : mean;
        if (ln_gpu_has(p, LN_GPU_TENSOR_RSTD))
            *rstd_out = rstd;
    }
}

/* The accurate kernel's statistics of one row, in units of the row scaled
 * by s (a power of two): mean and var + eps as float-float numbers. */
typedef struct ln_gpu_stats {
    ln_ff mean, var_eps;
    float maxabs; /* max |x| of the scaled row */
    int flat;     /* every x equal (layernorm forms): no scaling needed */
} ln_gpu_stats;

/* Element j of the row, scaled by s (exact: a power of two, and the
 * scaled values stay far above the subnormals where it matters). */
LN_GPU_FN float ln_gpu_in_scaled(ln_gpu_row r, uint j, int add, float s)
{
    return ln_gpu_in(r, j, add) * s;
}

LN_GPU_FN ln_gpu_stats ln_gpu_stats_accurate(ln_gpu_params p, ln_gpu_row r, uint tid,
                                             uint lsize, LN_GPU_LOCAL float *red, int add,
                                             int rms, float s, float eps)
{
    float n = (float)p.dim;
    ln_ff zero = ln_ff_make(0.0f, 0.0f), var;
    ln_gpu_stats st;
    st.mean = zero;
    st.flat = 0;

    if (!rms) {
        float first = ln_gpu_in_scaled(r, 0u, add, s), differ = 0.0f, maxabs = 0.0f;
        ln_ff sum = zero;
        for (uint j = tid; j < p.dim; j += lsize) {
            float v = ln_gpu_in_scaled(r, j, add, s);
            sum = ln_ff_add_f(sum, v);
            differ += v != first ? 1.0f : 0.0f;
            maxabs = ln_gpu_max(maxabs, v < 0.0f ? -v : v);
        }
        ln_ff2 t = ln_gpu_group_sum_ff2(sum, ln_ff_make(differ, maxabs), tid, lsize, red, 1);
        st.maxabs = t.b.lo;
        st.flat = t.b.hi == 0.0f;
        ln_ff mean = st.flat ? ln_ff_make(first, 0.0f) : ln_ff_div_f(t.a, n);

        ln_ff sd = zero, sq = zero;
        for (uint j = tid; j < p.dim; j += lsize) {
            ln_ff d = ln_ff_sub_from(ln_gpu_in_scaled(r, j, add, s), mean);
            sd = ln_ff_add(sd, d);
            sq = ln_ff_add(sq, ln_ff_mul(d, d));
        }
        t = ln_gpu_group_sum_ff2(sd, sq, tid, lsize, red, 0);
        ln_ff c = ln_ff_div_f(t.a, n);
        st.mean = ln_ff_add(mean, c);
        var = ln_ff_add(ln_ff_div_f(t.b, n), ln_ff_neg(ln_ff_mul(c, c)));
    } else {
        ln_ff sq = zero;
        float maxabs = 0.0f;
        for (uint j = tid; j < p.dim; j += lsize) {
            float v = ln_gpu_in_scaled(r, j, add, s);
            sq = ln_ff_add(sq, ln_ff_two_prod(v, v));
            maxabs = ln_gpu_max(maxabs, v < 0.0f ? -v : v);
        }
        ln_ff2 t = ln_gpu_group_sum_ff2(sq, ln_ff_make(0.0f, maxabs), tid, lsize, red, 1);
        var = ln_ff_div_f(t.a, n);
        st.maxabs = t.b.lo;
    }
    st.var_eps = ln_ff_add_f(var, eps);
    return st;
}

/* The accurate kernel: every statistic a float-float number, and one
 * correct rounding to the dtype at the end.
 *
 *  1. S = sum x (compensated), mean1 = S / n.  A constant row (every x
 *     equal to the first) takes mean1 = x exactly, so its deviations are 0
 *     and the output is exactly beta.
 *  2. Corrected two-pass (Chan, Golub, LeVeque): over d = x - mean1,
 *     D = sum d and Q = sum d^2.  mean = mean1 + D/n removes mean1's own
 *     error to first order, so x - mean is accurate relative to the spread
 *     of the row, not to |mean| (offset rows keep their digits), and
 *     var = Q/n - (D/n)^2 exactly matches the deviations from that mean.
 *  3. rstd = 1/sqrt(var + eps): a float estimate, then one Newton step in
 *     float-float (error ~2^-43 relative).
 *  4. y = (x - mean) * rstd * gamma + beta in float-float, rounded once.
 *
 * Range: steps 1-3 run again on a scaled row where binary32 would lose
 * digits.  max |x| >= 2^60: scaled by 2^-90, |x| <= 2^38, squares and sums
 * far from overflow (x^2 overflows beyond ~1.8e19); eps scaled by 2^-180
 * vanishes, as it should next to such a variance.  max |x| < 2^-40: scaled
 * by 2^60, so that deviations of subnormal inputs keep 48 bits instead of
 * the subnormal grid's few; eps scaled by 2^120 stays finite for eps < 256.  Error: the float-float steps carry ~2^-44 relative, 2^-20 of
 * an output ulp, so the result is within 1 ulp and almost always correctly
 * rounded, except where gamma*xhat and beta cancel. */
LN_GPU_FN void ln_gpu_row_accurate(ln_gpu_params p, ln_gpu_row r, uint tid, uint lsize,
                                   LN_GPU_GLOBAL float *mean_out,
                                   LN_GPU_GLOBAL float *rstd_out, LN_GPU_LOCAL float *red)
{
    int add = p.op == LN_GPU_OP_ADD_LAYERNORM || p.op == LN_GPU_OP_ADD_RMSNORM;
    int rms = p.op == LN_GPU_OP_RMSNORM || p.op == LN_GPU_OP_ADD_RMSNORM;
    float s = 1.0f, unscale = 1.0f;
    ln_gpu_stats st = ln_gpu_stats_accurate(p, r, tid, lsize, red, add, rms, s, p.eps);
    /* Rows far from 1 in magnitude run again scaled (the branch is uniform
     * over the group: every thread holds the same reduced maximum; a row
     * with NaN or Inf has a non-finite maximum and stays as it is). */
    if (st.flat) {
        /* deviations exactly 0, var + eps = eps: nothing to lose */
    } else if (ln_gpu_finite(st.maxabs) && st.maxabs >= 0x1p60f) {
        s = 0x1p-90f;
        unscale = 0x1p90f;
    } else if (st.maxabs > 0.0f && st.maxabs < 0x1p-40f) {
        s = 0x1p60f;
        unscale = 0x1p-60f;
    }
    if (s != 1.0f)
        st = ln_gpu_stats_accurate(p, r, tid, lsize, red, add, rms, s, p.eps * s * s);
    ln_ff mean = st.mean, ve = st.var_eps, rstd;

    float r0 = 1.0f / LN_GPU_SQRT(ve.hi);
    if (ln_gpu_finite(r0) && r0 != 0.0f) {
        /* Newton: r1 = r0 + r0 (1 - ve r0^2) / 2; 1 - ve r0^2 ~ 2^-22 is
         * formed from a float-float product, so it keeps its digits. */
        ln_ff q = ln_ff_mul(ve, ln_ff_two_prod(r0, r0));
        float e = (1.0f - q.hi) - q.lo;
        rstd = ln_ff_fast_two_sum(r0, r0 * e * 0.5f);
    } else {
        rstd = ln_ff_make(r0, 0.0f); /* var + eps is 0, Inf or NaN */
    }

    for (uint j = tid; j < p.dim; j += lsize) {
        float v = ln_gpu_in(r, j, add);
        if (add)
            ln_gpu_store(r.h, j, v);
        float vs = v * s;
        ln_ff o = ln_ff_mul(rms ? ln_ff_make(vs, 0.0f) : ln_ff_sub_from(vs, mean), rstd);
        float w = ln_gpu_has(p, LN_GPU_TENSOR_GAMMA) ? ln_gpu_load(r.gamma, j) : 1.0f, y;
#if LN_DTYPE == LN_GPU_DTYPE_F32
        /* A scaled-up row has outputs near or below binary32's subnormals,
         * where the float-float products lose their low parts: form the
         * output 2^64 larger and round once on the way down. */
        if (s > 1.0f) {
            float b = ln_gpu_has(p, LN_GPU_TENSOR_BETA) ? ln_gpu_load(r.beta, j) * 0x1p64f : 0.0f;
            ln_ff up = ln_ff_make(rstd.hi * 0x1p64f, rstd.lo * 0x1p64f);
            ln_ff nu = ln_ff_mul(rms ? ln_ff_make(vs, 0.0f) : ln_ff_sub_from(vs, mean), up);
            if (p.cast == LN_GPU_CAST_LLAMA) {
                /* RN(n) itself may be subnormal: rounded on the way down,
                 * then w * RN(n), binary32's own correctly rounded product. */
                ln_gpu_store(r.y, j, w * ln_gpu_narrow_down64(nu));
                continue;
            }
            if (p.cast == LN_GPU_CAST_GEMMA && ln_gpu_has(p, LN_GPU_TENSOR_GAMMA))
                w = 1.0f + w;
            o = ln_ff_mul_f(nu, w);
            if (ln_gpu_finite(b)) {
                ln_gpu_store(r.y, j, ln_gpu_narrow_down64(ln_ff_add_f(o, b)));
                continue;
            }
            o = ln_ff_make(o.hi * 0x1p-64f, o.lo * 0x1p-64f);
            ln_gpu_store(r.y, j, ln_gpu_narrow(ln_ff_add_f(o, ln_gpu_load(r.beta, j))));
            continue;
        }
#endif
        if (p.cast == LN_GPU_CAST_LLAMA) {
            /* round(w * round(n)): the product of two dtype values in
             * binary32 is exact for bf16 and f16, and the dtype's own
             * product for f32. */
            y = ln_gpu_round(w * ln_gpu_narrow(o));
        } else {
            if (p.cast == LN_GPU_CAST_GEMMA && ln_gpu_has(p, LN_GPU_TENSOR_GAMMA))
                w = 1.0f + w;
            o = ln_ff_mul_f(o, w);
            if (ln_gpu_has(p, LN_GPU_TENSOR_BETA))
                o = ln_ff_add_f(o, ln_gpu_load(r.beta, j));
            y = ln_gpu_narrow(o);
        }
        ln_gpu_store(r.y, j, y);
    }
    if (tid == 0u) {
        /* Scaled back: the mean by 1/s, rstd by s. */
        float m = (mean.hi + mean.lo) * unscale, rs = (rstd.hi + rstd.lo) * s;
        if (ln_gpu_has(p, LN_GPU_TENSOR_MEAN))
            *mean_out = rs != rs ? rs : m;
        if (ln_gpu_has(p, LN_GPU_TENSOR_RSTD))
            *rstd_out = rs;
    }
}

#endif
