/*
 * dtype_convert.h - binary32 <-> bfloat16 / binary16 by bit manipulation,
 * portable C (no F16C, no AVX512_BF16), for scalar kernels, the accuracy
 * engine's inputs, .npy files and device hosts.
 *
 * Narrowing rounds to nearest, ties to even, as the hardware conversions do
 * (VCVTNEPS2BF16, VCVTPS2PH with imm 0, FCVT): binary16 keeps its
 * subnormals and overflows to infinity at 65520 (65504 + half an ulp);
 * NaN stays NaN (quiet).  Widening is exact.
 *
 * Below the per-format conversions, the same by ln_dtype: one element
 * (ln_dtype_load / _store / _round) and whole arrays (ln_dtype_pack /
 * _unpack), so that no caller switches on the dtype itself.
 */
#ifndef LNBENCH_DTYPE_CONVERT_H
#define LNBENCH_DTYPE_CONVERT_H

#include "lnbench_kernel.h"

#include <stdint.h>
#include <string.h>

static inline uint32_t ln_f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float ln_f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline float ln_bf16_to_f32(uint16_t h)
{
    return ln_f32_from_bits((uint32_t)h << 16);
}

static inline uint16_t ln_f32_to_bf16(float f)
{
    uint32_t u = ln_f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep the sign, force quiet */
        return (uint16_t)((u >> 16) | 0x0040u);
    /* Round to nearest even on the 16 bits dropped; a carry out of the
     * mantissa bumps the exponent, up to infinity, which is right. */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline float ln_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    if (exp == 0x1f) /* infinity or NaN */
        return ln_f32_from_bits(sign | 0x7f800000u | (man << 13));
    if (exp == 0) /* zero or subnormal: man * 2^-24, exact in binary32 */
        return ln_f32_from_bits(sign) + (sign ? -1.0f : 1.0f) * (float)man * 0x1p-24f;
    return ln_f32_from_bits(sign | ((exp + 112u) << 23) | (man << 13));
}

static inline uint16_t ln_f32_to_f16(float f)
{
    uint32_t u = ln_f32_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) /* NaN */
        return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
    if (a >= 0x477ff000u) /* >= 65520 = 65504 + half an ulp: infinity */
        return (uint16_t)(sign | 0x7c00u);
    if (a < 0x38800000u) { /* below 2^-14: the subnormal grid, step 2^-24 */
        /* Adding 0.5 makes the FPU round |f| to a multiple of 2^-24 in
         * the low bits (binary32's ulp at 0.5 is 2^-24), nearest even. */
        float r = ln_f32_from_bits(a) + 0.5f;
        return (uint16_t)(sign | (uint16_t)(ln_f32_bits(r) - 0x3f000000u));
    }
    /* Normal: rebias the exponent, round the 13 bits dropped to even. */
    a += ((uint32_t)(15 - 127) << 23) + 0xfffu + ((a >> 13) & 1u);
    return (uint16_t)(sign | (uint16_t)(a >> 13));
}

/* Element j of a dtype array, widened to binary32 (exact). */
static inline float ln_dtype_load(ln_dtype dt, const void *p, size_t j)
{
    switch (dt) {
    case LN_DTYPE_BF16:
        return ln_bf16_to_f32(((const uint16_t *)p)[j]);
    case LN_DTYPE_F16:
        return ln_f16_to_f32(((const uint16_t *)p)[j]);
    default:
        return ((const float *)p)[j];
    }
}

/* Element j of a dtype array = v rounded to the dtype. */
static inline void ln_dtype_store(ln_dtype dt, void *p, size_t j, float v)
{
    switch (dt) {
    case LN_DTYPE_BF16:
        ((uint16_t *)p)[j] = ln_f32_to_bf16(v);
        break;
    case LN_DTYPE_F16:
        ((uint16_t *)p)[j] = ln_f32_to_f16(v);
        break;
    default:
        ((float *)p)[j] = v;
    }
}

/* v rounded to the dtype, as binary32. */
static inline float ln_dtype_round(ln_dtype dt, float v)
{
    switch (dt) {
    case LN_DTYPE_BF16:
        return ln_bf16_to_f32(ln_f32_to_bf16(v));
    case LN_DTYPE_F16:
        return ln_f16_to_f32(ln_f32_to_f16(v));
    default:
        return v;
    }
}

/* n binary32 values -> the dtype's bytes in dst (rounded to nearest even). */
static inline void ln_dtype_pack(ln_dtype dt, void *dst, const float *src, size_t n)
{
    if (dt == LN_DTYPE_F32) {
        memcpy(dst, src, n * sizeof *src);
        return;
    }
    for (size_t i = 0; i < n; i++)
        ln_dtype_store(dt, dst, i, src[i]);
}

/* n values of the dtype -> binary32 in dst (exact). */
static inline void ln_dtype_unpack(ln_dtype dt, float *dst, const void *src, size_t n)
{
    if (dt == LN_DTYPE_F32) {
        memcpy(dst, src, n * sizeof *dst);
        return;
    }
    for (size_t i = 0; i < n; i++)
        dst[i] = ln_dtype_load(dt, src, i);
}

#endif
