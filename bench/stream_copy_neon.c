/*
 * stream_copy_neon.c - the stream copy on AArch64: plain vld1q/vst1q
 * (ld1/st1).  AArch64's only non-temporal store, STNP, has no C intrinsic;
 * cores that detect whole-line writes skip the write-allocate read anyway.
 */
#include <arm_neon.h>
#include <stddef.h>

#define SC_FN lnb_stream_copy_neon
#define SC_VEC float32x4_t
#define SC_LANES 4
#define SC_LOAD(p) vld1q_f32(p)
#define SC_STORE(p, v) vst1q_f32(p, v)
#define SC_FENCE() ((void)0)
#include "stream_copy_body.h"
