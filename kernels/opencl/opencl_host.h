/*
 * opencl_host.h - the OpenCL device shared by the OpenCL kernels: one
 * platform and device (LNBENCH_OPENCL_DEVICE), one context, one in-order
 * queue with profiling, and the programs built from the embedded sources.
 * Everything is created lazily, once per process, and is thread-safe.
 */
#ifndef LNBENCH_OPENCL_HOST_H
#define LNBENCH_OPENCL_HOST_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

/* NULL when the device is ready, else a static one-line reason (no
 * platform, no device matching LNBENCH_OPENCL_DEVICE, ...). */
const char *ln_opencl_unavailable(void);

/* "<platform>: <device>" of the device in use, or NULL when unavailable. */
const char *ln_opencl_describe(void);

/* Valid after ln_opencl_unavailable() returned NULL. */
cl_context ln_opencl_context(void);
cl_command_queue ln_opencl_queue(void);
cl_device_id ln_opencl_device(void);

/* The program for dtype (ln_dtype) and math mode (1: built with
 * -cl-fast-relaxed-math), built on first use and kept for the process.
 * NULL with a static one-line reason in *why when the build failed; with
 * LNBENCH_OPENCL_BUILD_LOG=1 the whole build log goes to stderr too (the
 * one place this module prints: a diagnostic the user asked for). */
cl_program ln_opencl_program(int dtype, int fast_math, const char **why);

/* The embedded sources (generated at build time from kernels/gpu/ and
 * kernels/opencl/norm_kernels.cl), in build order. */
extern const char *const ln_opencl_sources[];
extern const unsigned ln_opencl_source_count;

#endif
