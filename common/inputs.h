/*
 * inputs.h - deterministic, seeded input generators (one table, like the
 * kernel registry).  The same (distribution, seed, rows, dim) always gives the
 * same bits on every platform: the generator is a 64-bit integer PRNG
 * (splitmix64-seeded xoshiro256**) and normals come from double-precision
 * arithmetic rounded once to binary32.
 */
#ifndef LNBENCH_INPUTS_H
#define LNBENCH_INPUTS_H

#include <stddef.h>
#include <stdint.h>

typedef struct ln_rng { uint64_t s[4]; } ln_rng;

void ln_rng_seed(ln_rng *r, uint64_t seed);
uint64_t ln_rng_next(ln_rng *r);
double ln_rng_uniform(ln_rng *r);   /* [0, 1) with 53 random bits */
double ln_rng_normal(ln_rng *r);    /* N(0, 1) */

/* A floating-point format the values are meant for (binary32, bfloat16,
 * binary16): precision p and the normal exponent range [emin, emax].  The
 * generators return binary32 values; the caller rounds them to the format
 * (reference/accuracy.c does, with kernels/dtype_convert.h). */
typedef struct ln_format {
    int p, emin, emax;
} ln_format;

extern const ln_format ln_format_binary32;

typedef struct ln_dist {
    const char *name;        /* stable: used on the command line and in results */
    const char *description; /* one line */
    /* Fill one row of dim values meant for format f (never NULL). */
    void (*fill_row)(ln_rng *r, float *row, size_t dim, const ln_format *f);
    /* The largest |x| it produces (a format whose largest finite value is
     * below it refuses the distribution), and how it fits narrow formats:
     * see ln_dist_refuses. */
    double max_abs;
} ln_dist;

extern const ln_dist ln_dists[];
extern const size_t ln_dist_count;
const ln_dist *ln_dist_find(const char *name);

/* NULL when dist's values fit format f, else a static one-line reason:
 * values beyond f's largest finite value (huge and scale1e9 in fp16) are
 * refused, not clipped, since clipping would change what the distribution
 * tests.  Distributions tied to a format's own range (subnormal: that
 * format's subnormals; offset40000: a spread of a few of its ulps) are
 * generated for f and always fit. */
const char *ln_dist_refuses(const ln_dist *dist, const ln_format *f);

/* rows x dim values of `dist` into x (row stride x_stride).  The stream is
 * seeded from (seed, dist name, dim), so a shape's data does not depend on
 * which other shapes or distributions a run includes. */
void ln_generate(const ln_dist *dist, uint64_t seed, size_t rows, size_t dim,
                 float *x, size_t x_stride);

/* The same for format f (ln_generate is f = binary32): identical values
 * except for the distributions generated for f (see ln_dist_refuses);
 * the caller rounds them to f. */
void ln_generate_fmt(const ln_dist *dist, uint64_t seed, size_t rows, size_t dim,
                     float *x, size_t x_stride, const ln_format *f);

/* gamma ~ 1 + 0.1 N(0,1), beta ~ 0.1 N(0,1), seeded from (seed, dim);
 * either pointer may be NULL. */
void ln_generate_affine(uint64_t seed, size_t dim, float *gamma, float *beta);

#endif
