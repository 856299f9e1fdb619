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

typedef struct ln_dist {
    const char *name;        /* stable: used on the command line and in results */
    const char *description; /* one line */
    /* Fill one row of dim values. */
    void (*fill_row)(ln_rng *r, float *row, size_t dim);
} ln_dist;

extern const ln_dist ln_dists[];
extern const size_t ln_dist_count;
const ln_dist *ln_dist_find(const char *name);

/* rows x dim values of `dist` into x (row stride x_stride).  The stream is
 * seeded from (seed, dist name, dim), so a shape's data does not depend on
 * which other shapes or distributions a run includes. */
void ln_generate(const ln_dist *dist, uint64_t seed, size_t rows, size_t dim,
                 float *x, size_t x_stride);

/* gamma ~ 1 + 0.1 N(0,1), beta ~ 0.1 N(0,1), seeded from (seed, dim);
 * either pointer may be NULL. */
void ln_generate_affine(uint64_t seed, size_t dim, float *gamma, float *beta);

#endif
