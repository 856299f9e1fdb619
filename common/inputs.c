/*
 * inputs.c - deterministic, seeded input generators.
 *
 * Every value is computed in double and rounded once to binary32, and the
 * only libm calls are log, sqrt, cos and pow (Box-Muller and the log-uniform
 * magnitudes), so the same (dist, seed, rows, dim) gives the same bits on any
 * platform whose libm rounds those calls the same way (glibc does on x86-64
 * and AArch64).
 *
 * Streams: one stream per (seed, dist name, dim), consumed row after row.  So
 * a shape's data does not depend on what else a run generates, and the
 * first k rows of a (rows, dim) matrix are the same for any rows >= k.
 */
#include "inputs.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* PRNG: xoshiro256** (Blackman & Vigna), seeded by splitmix64.             */
/* ------------------------------------------------------------------------ */

/* splitmix64: advances *state and returns a well mixed 64-bit value.  Used to
 * expand one seed into xoshiro's 256-bit state (never all zero in practice)
 * and to combine seed components. */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void ln_rng_seed(ln_rng *r, uint64_t seed)
{
    uint64_t st = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&st);
    /* The all-zero state is xoshiro's only fixed point; splitmix64 cannot
     * produce four zero outputs in a row, but be explicit. */
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
        r->s[0] = 1;
}

uint64_t ln_rng_next(ln_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

double ln_rng_uniform(ln_rng *r)
{
    /* The top 53 bits scaled by 2^-53: every value is exact in double. */
    return (double)(ln_rng_next(r) >> 11) * 0x1.0p-53;
}

double ln_rng_normal(ln_rng *r)
{
    /* Box-Muller, one normal per call (no cached second value, so the state
     * is just the PRNG and streams can be reasoned about draw by draw).
     * u1 is in (0, 1] so log(u1) is finite; |z| <= sqrt(2*53*ln 2) ~ 8.6. */
    double u1 = 1.0 - ln_rng_uniform(r);
    double u2 = ln_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Uniform index in [0, n) for n >= 1 (53-bit uniform; the bias for any
 * realistic n is far below anything a test could see). */
static size_t rng_index(ln_rng *r, size_t n)
{
    size_t k = (size_t)(ln_rng_uniform(r) * (double)n);
    return k < n ? k : n - 1;
}

/* ------------------------------------------------------------------------ */
/* Distributions.                                                           */
/* ------------------------------------------------------------------------ */

static void fill_normal(ln_rng *r, float *row, size_t dim, const ln_format *f)
{
    (void)f;
    for (size_t j = 0; j < dim; j++)
        row[j] = (float)ln_rng_normal(r);
}

static void fill_uniform(ln_rng *r, float *row, size_t dim, const ln_format *f)
{
    (void)f;
    for (size_t j = 0; j < dim; j++)
        row[j] = (float)(2.0 * ln_rng_uniform(r) - 1.0);
}

static void fill_offset1e3(ln_rng *r, float *row, size_t dim, const ln_format *f)
{
    (void)f;
    for (size_t j = 0; j < dim; j++)
        row[j] = (float)(1e3 + ln_rng_normal(r));
}

static void fill_offset1e4(ln_rng *r, float *row, size_t dim, const ln_format *f)
{
    (void)f;
    for (size_t j = 0; j < dim; j++)
        row[j] = (float)(1e4 + ln_rng_normal(r));
}

static void fill_constant(ln_rng *r, float *row, size_t dim, const ln_format *f)
{
    (void)f;
    (void)r;
    /* 3.3 is not dyadic: a kernel whose mean of identical values is not
     * exactly 3.3f leaves a nonzero deviation and a huge normalised output
     * where the exact answer is beta. */
    for (size_t j = 0; j < dim; j++)
        row[j] = 3.3f;
}

static void fill_tiny_var(ln_rng *r, float *row, size_t dim, const ln_format *f)
{
    (void)f;
    /* mean 1, sigma 1e-6: about 8-17 binary32 ulps around 1, so the
     * deviations carry only a few bits and the variance is tiny against
     * eps = 1e-5 (the output is dominated by eps). */
    for (size_t j = 0; j < dim; j++)
        row[j] = (float)(1.0 + 1e-6 * ln_rng_normal(r));
}

static void fill_huge(ln_rng *r, float *row, size_t dim, const ln_format *f)
{
    (void)f;
    /* |x| log-uniform in [1e19, 1e30]: x^2 > FLT_MAX (3.4e38), so any kernel
     * that squares binary32 inputs overflows.  Rounding is monotonic, so the
     * binary32 result stays within [(float)1e19, (float)1e30]. */
    for (size_t j = 0; j < dim; j++) {
        double e = 19.0 + 11.0 * ln_rng_uniform(r);
        double m = pow(10.0, e);
        if (m < 1e19) m = 1e19;
        if (m > 1e30) m = 1e30;
        int neg = (int)(ln_rng_next(r) >> 63);
        row[j] = (float)(neg ? -m : m);
    }
}

static void fill_subnormal(ln_rng *r, float *row, size_t dim, const ln_format *f)
{
    /* Uniform over the nonzero subnormal binary32 encodings of either sign:
     * exponent field 0, significand 1 .. 2^23-1 (rejection of 0 keeps it
     * uniform).  Built from bits: exact, no rounding involved.  For a
     * narrower format the same values scaled by 2^(emin + 126), exactly:
     * uniform below its 2^emin, i.e. its own subnormals once rounded
     * (fp16: 2^112; bfloat16 shares binary32's range). */
    float scale = ldexpf(1.0f, f->emin + 126);
    for (size_t j = 0; j < dim; j++) {
        uint64_t v;
        uint32_t mant;
        do {
            v = ln_rng_next(r);
            mant = (uint32_t)(v >> 41); /* top 23 bits */
        } while (mant == 0);
        uint32_t bits = mant | ((uint32_t)(v & 1) << 31);
        memcpy(&row[j], &bits, sizeof bits);
        row[j] *= scale;
    }
}

static void fill_outlier(ln_rng *r, float *row, size_t dim, const ln_format *f)
{
    (void)f;
    /* N(0,1) with one element at +-1e4 (1e4 sigma): the sum of squares is
     * dominated by a single element, which stresses one-pass formulas and
     * cancellation in the mean. */
    fill_normal(r, row, dim, f);
    if (dim == 0)
        return;
    size_t k = rng_index(r, dim);
    row[k] = (ln_rng_next(r) >> 63) ? -1e4f : 1e4f;
}

static void fill_outlier_first(ln_rng *r, float *row, size_t dim, const ln_format *f)
{
    /* N(0,1) with the row's first element at +-1e4: where a kernel that
     * shifts by its first elements, or guesses the mean from them, gets
     * its guess wrong by 1e4 / k sigma (the SIMD kernels' row_guess, k =
     * 16, must then sum the row again around the mean it found). */
    fill_normal(r, row, dim, f);
    if (dim)
        row[0] = (ln_rng_next(r) >> 63) ? -1e4f : 1e4f;
}

/* The bugs users reported, one distribution each (FIELD-NOTES, "The norms
 * models run today"). */

static void fill_offset40000(ln_rng *r, float *row, size_t dim, const ln_format *f)
{
    /* 40000 + k s, k uniform in {0,1,2,3}, s = max(1, the format's ulp at
     * 40000): binary32 gives onnxruntime 28463's row [40000, 40001, 40002,
     * 40003] (all-NaN output there: one-pass variance of a tiny spread on
     * a large offset); fp16 (ulp 32) and bfloat16 (ulp 256) keep four
     * distinct values a few ulps apart, all on their grids (bfloat16's
     * base is 39936, its value nearest 40000). */
    double s = ldexp(1.0, 15 - f->p + 1), base = 40000;
    if (s < 1)
        s = 1;
    base = s * floor(base / s + 0.5);
    for (size_t j = 0; j < dim; j++)
        row[j] = (float)(base + s * (double)(ln_rng_next(r) >> 62));
}

static void fill_scale1e9(ln_rng *r, float *row, size_t dim, const ln_format *f)
{
    (void)f;
    /* 1e9 N(0,1): RMSNorm returned NaN at |x| ~ 1e9 in a Metal kernel
     * (huggingface/candle 3477).  x^2 ~ 1e18 is fine in binary32; any
     * half-precision intermediate is not.  Refused for fp16. */
    for (size_t j = 0; j < dim; j++)
        row[j] = (float)(1e9 * ln_rng_normal(r));
}

static void fill_fp16_big(ln_rng *r, float *row, size_t dim, const ln_format *f)
{
    (void)f;
    /* |x| log-uniform in [7600, 60000], random sign: fits fp16, but a sum of
     * squares (or even one square) accumulated in fp16 overflows its 65504
     * (onnxruntime PR 29043). */
    for (size_t j = 0; j < dim; j++) {
        double m = 7600.0 * pow(60000.0 / 7600.0, ln_rng_uniform(r));
        if (m > 60000)
            m = 60000;
        row[j] = (float)((ln_rng_next(r) >> 63) ? -m : m);
    }
}

static void fill_small_var(ln_rng *r, float *row, size_t dim, const ln_format *f)
{
    (void)f;
    /* 1e-4 N(0,1): variance 1e-8, below the 1e-6 to which MPS clamped it
     * (pytorch/pytorch 190491: outputs in [-990, 990] instead of the
     * normalised values).  With eps = 1e-5 the exact output is about
     * x / sqrt(1e-5); in fp16 part of the values are subnormal. */
    for (size_t j = 0; j < dim; j++)
        row[j] = (float)(1e-4 * ln_rng_normal(r));
}

static void fill_const1234(ln_rng *r, float *row, size_t dim, const ln_format *f)
{
    (void)r;
    (void)f;
    /* Every element 1234 (onnxruntime 21935: NaN on this constant row;
     * one-pass E[x^2] - E[x]^2 rounds below 0).  Exact in binary32 and
     * fp16; bfloat16 rounds it to 1232. */
    for (size_t j = 0; j < dim; j++)
        row[j] = 1234.0f;
}

static void fill_near1449(ln_rng *r, float *row, size_t dim, const ln_format *f)
{
    (void)f;
    /* 1449 + 0.5 N(0,1): MLX's one-pass LayerNorm returned NaN rows near
     * 1449 (ml-explore/mlx 2238); mean^2 / var ~ 8e6, so E[x^2] - E[x]^2
     * in binary32 loses every bit of the variance. */
    for (size_t j = 0; j < dim; j++)
        row[j] = (float)(1449.0 + 0.5 * ln_rng_normal(r));
}

const ln_dist ln_dists[] = {
    { "normal",    "N(0,1)",                                      fill_normal, 9 },
    { "uniform",   "U(-1,1)",                                     fill_uniform, 1 },
    { "offset1e3", "1000 + N(0,1)",                               fill_offset1e3, 1009 },
    { "offset1e4", "10000 + N(0,1)",                              fill_offset1e4, 10009 },
    { "constant",  "every element 3.3f (exact output is beta)",   fill_constant, 3.3 },
    { "tiny_var",  "1 + 1e-6 N(0,1) (sigma = 1e-6 |mean|)",       fill_tiny_var, 1.01 },
    { "huge",      "|x| log-uniform in [1e19,1e30], random sign (x^2 overflows)", fill_huge, 1e30 },
    { "subnormal", "random nonzero subnormal of the dtype, either sign", fill_subnormal, 0 },
    { "outlier",   "N(0,1) with one element per row at +-1e4",    fill_outlier, 1e4 },
    { "outlier_first", "N(0,1) with each row's first element at +-1e4", fill_outlier_first, 1e4 },
    { "offset40000", "40000 + {0,1,2,3} x max(1, ulp): onnxruntime 28463's all-NaN row", fill_offset40000, 40768 },
    { "scale1e9",  "1e9 N(0,1) (candle 3477: NaN RMSNorm at |x| ~ 1e9; not fp16)", fill_scale1e9, 1e10 },
    { "fp16_big",  "|x| log-uniform in [7600,60000], random sign (fp16 sums of squares overflow)", fill_fp16_big, 60000 },
    { "small_var", "1e-4 N(0,1): variance 1e-8 (pytorch 190491's clamp at 1e-6)", fill_small_var, 1e-3 },
    { "const1234", "every element 1234 (onnxruntime 21935: NaN on this row)", fill_const1234, 1234 },
    { "near1449",  "1449 + 0.5 N(0,1) (mlx 2238: one-pass NaN rows near 1449)", fill_near1449, 1454 },
};
const size_t ln_dist_count = sizeof ln_dists / sizeof ln_dists[0];

const ln_format ln_format_binary32 = {24, -126, 127};

const char *ln_dist_refuses(const ln_dist *dist, const ln_format *f)
{
    /* the largest finite value, (2 - 2^(1-p)) 2^emax */
    double max = ldexp(2.0 - ldexp(1.0, 1 - f->p), f->emax);
    return dist->max_abs > max ? "its values exceed the format's largest finite value" : NULL;
}

const ln_dist *ln_dist_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < ln_dist_count; i++)
        if (strcmp(ln_dists[i].name, name) == 0)
            return &ln_dists[i];
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Seeding of streams.                                                      */
/* ------------------------------------------------------------------------ */

/* FNV-1a, 64-bit: a stable hash of a distribution name (names are part of
 * the results' identity; the table order is not). */
static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

/* Combine seed components; each step passes through splitmix64 so nearby
 * values (seed 1 vs 2, dim 4096 vs 4097) give unrelated streams. */
static uint64_t mix3(uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t st = a;
    uint64_t h = splitmix64(&st);
    st = h ^ b;
    h = splitmix64(&st);
    st = h ^ c;
    return splitmix64(&st);
}

void ln_generate(const ln_dist *dist, uint64_t seed, size_t rows, size_t dim,
                 float *x, size_t x_stride)
{
    ln_generate_fmt(dist, seed, rows, dim, x, x_stride, &ln_format_binary32);
}

void ln_generate_fmt(const ln_dist *dist, uint64_t seed, size_t rows, size_t dim,
                     float *x, size_t x_stride, const ln_format *f)
{
    ln_rng r;
    ln_rng_seed(&r, mix3(seed, fnv1a(dist->name), (uint64_t)dim));
    for (size_t i = 0; i < rows; i++)
        dist->fill_row(&r, x + i * x_stride, dim, f);
}

void ln_generate_affine(uint64_t seed, size_t dim, float *gamma, float *beta)
{
    /* gamma and beta have separate streams, so asking for only one of them
     * gives the same values as asking for both.  The ':' in the tags keeps
     * them distinct from every distribution name. */
    ln_rng r;
    if (gamma) {
        ln_rng_seed(&r, mix3(seed, fnv1a("affine:gamma"), (uint64_t)dim));
        for (size_t j = 0; j < dim; j++)
            gamma[j] = (float)(1.0 + 0.1 * ln_rng_normal(&r));
    }
    if (beta) {
        ln_rng_seed(&r, mix3(seed, fnv1a("affine:beta"), (uint64_t)dim));
        for (size_t j = 0; j < dim; j++)
            beta[j] = (float)(0.1 * ln_rng_normal(&r));
    }
}
