/*
 * opencl_device.c - the OpenCL device (opencl_host.h) and its ln_device_ops:
 * buffers are cl_mem handles passed as the void pointers of ln_tensors,
 * copies and kernels go through one in-order queue, so "synchronize" is
 * clFinish on it.
 *
 * Programs: built from the embedded sources on first use, one per dtype and
 * math mode; LNBENCH_OPENCL_BUILD_OPTIONS appends options to every build,
 * LNBENCH_OPENCL_BUILD_LOG=1 prints each build's log to stderr.
 *
 * Device selection: LNBENCH_OPENCL_DEVICE is an index into the devices of
 * all platforms in the order clinfo -l lists them, or a case-insensitive
 * substring of a device's name; unset, the first GPU, else the first device.
 * No platform or no matching device leaves every OpenCL kernel unavailable
 * with a one-line reason, short enough for `lnbench list`'s column (the ICD
 * loader answers at once when it finds no vendor, so this never hangs).
 */
#define _POSIX_C_SOURCE 200809L
#include "opencl_host.h"

#include "lnbench_kernel.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PLATFORMS 16
#define MAX_DEVICES 64

static struct {
    pthread_once_t once;
    const char *unavailable; /* NULL, or a reason (often `why` below) */
    char why[256];
    char describe[2 * 128 + 3]; /* "<platform>: <device>", each name below 128 */
    int correct_sqrt; /* CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT */
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    /* Programs per dtype x math mode, built under `lock`. */
    pthread_mutex_t lock;
    cl_program program[LN_DTYPE_COUNT][2];
    char build_error[LN_DTYPE_COUNT][2][256];
} cl = {.once = PTHREAD_ONCE_INIT, .lock = PTHREAD_MUTEX_INITIALIZER};

static int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return n == 0;
}

static void init(void)
{
    cl_platform_id plats[MAX_PLATFORMS], dev_plat[MAX_DEVICES];
    cl_device_id devs[MAX_DEVICES];
    cl_uint nplat = 0, ndev = 0;
    cl_int err = clGetPlatformIDs(MAX_PLATFORMS, plats, &nplat);

    if (err != CL_SUCCESS || nplat == 0) {
        snprintf(cl.why, sizeof cl.why, "no OpenCL platform (error %d)", (int)err);
        cl.unavailable = cl.why;
        return;
    }
    for (cl_uint p = 0; p < nplat && p < MAX_PLATFORMS; p++) {
        cl_uint n = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, MAX_DEVICES - ndev, devs + ndev, &n) !=
            CL_SUCCESS)
            continue;
        if (n > MAX_DEVICES - ndev)
            n = MAX_DEVICES - ndev;
        for (cl_uint i = 0; i < n; i++)
            dev_plat[ndev + i] = plats[p];
        ndev += n;
    }
    if (ndev == 0) {
        snprintf(cl.why, sizeof cl.why, "no OpenCL device on %u platform(s)", (unsigned)nplat);
        cl.unavailable = cl.why;
        return;
    }

    const char *want = getenv("LNBENCH_OPENCL_DEVICE");
    long pick = -1;
    if (want && *want) {
        char *end;
        long idx = strtol(want, &end, 10);
        if (*end == '\0' && idx >= 0) {
            if ((cl_uint)idx >= ndev) {
                snprintf(cl.why, sizeof cl.why, "no OpenCL device #%ld (of %u)", idx,
                         (unsigned)ndev);
                cl.unavailable = cl.why;
                return;
            }
            pick = idx;
        } else {
            for (cl_uint i = 0; i < ndev && pick < 0; i++) {
                char name[256] = "";
                clGetDeviceInfo(devs[i], CL_DEVICE_NAME, sizeof name - 1, name, NULL);
                if (contains_nocase(name, want))
                    pick = i;
            }
            if (pick < 0) {
                snprintf(cl.why, sizeof cl.why, "no OpenCL device named '%.10s'", want);
                cl.unavailable = cl.why;
                return;
            }
        }
    } else {
        for (cl_uint i = 0; i < ndev && pick < 0; i++) {
            cl_device_type type = 0;
            clGetDeviceInfo(devs[i], CL_DEVICE_TYPE, sizeof type, &type, NULL);
            if (type & CL_DEVICE_TYPE_GPU)
                pick = i;
        }
        if (pick < 0)
            pick = 0;
    }

    cl.device = devs[pick];
    char pname[128] = "", dname[128] = "";
    clGetPlatformInfo(dev_plat[pick], CL_PLATFORM_NAME, sizeof pname - 1, pname, NULL);
    clGetDeviceInfo(cl.device, CL_DEVICE_NAME, sizeof dname - 1, dname, NULL);
    snprintf(cl.describe, sizeof cl.describe, "%s: %s", pname, dname);
    cl_device_fp_config fp = 0;
    clGetDeviceInfo(cl.device, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp, &fp, NULL);
    cl.correct_sqrt = (fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0;

    cl.context = clCreateContext(NULL, 1, &cl.device, NULL, NULL, &err);
    if (!cl.context) {
        snprintf(cl.why, sizeof cl.why, "clCreateContext failed on %s: error %d", dname,
                 (int)err);
        cl.unavailable = cl.why;
        return;
    }
    /* In order: a forward sees the copies issued before it, and a read the
     * forward before it; profiling for the kernels' device time. */
    cl.queue = clCreateCommandQueue(cl.context, cl.device, CL_QUEUE_PROFILING_ENABLE, &err);
    if (!cl.queue) {
        snprintf(cl.why, sizeof cl.why, "clCreateCommandQueue failed on %s: error %d", dname,
                 (int)err);
        cl.unavailable = cl.why;
        clReleaseContext(cl.context);
        cl.context = NULL;
        return;
    }
}

const char *ln_opencl_unavailable(void)
{
    pthread_once(&cl.once, init);
    return cl.unavailable;
}

const char *ln_opencl_describe(void)
{
    return ln_opencl_unavailable() ? NULL : cl.describe;
}

cl_context ln_opencl_context(void)
{
    return cl.context;
}

cl_command_queue ln_opencl_queue(void)
{
    return cl.queue;
}

cl_device_id ln_opencl_device(void)
{
    return cl.device;
}

/* The build log's first line that says "error", else its first line. */
static void first_error_line(const char *log, char *out, size_t outlen)
{
    const char *line = log, *pick = NULL;
    while (*line && !pick) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        for (size_t i = 0; i + 5 <= len && !pick; i++)
            if (!strncmp(line + i, "error", 5))
                pick = line;
        if (!pick)
            line = eol ? eol + 1 : line + len;
    }
    if (!pick)
        pick = log;
    size_t len = strcspn(pick, "\n");
    snprintf(out, outlen, "%.*s", (int)(len < outlen ? len : outlen - 1), pick);
}

static cl_program build(int dtype, int fast_math, char *err, size_t errlen)
{
    cl_int rc;
    cl_program prog = clCreateProgramWithSource(cl.context, ln_opencl_source_count,
                                                (const char **)ln_opencl_sources, NULL, &rc);
    if (!prog) {
        snprintf(err, errlen, "clCreateProgramWithSource: error %d", (int)rc);
        return NULL;
    }
    /* LNBENCH_OPENCL_BUILD_OPTIONS: the user's own options, after ours. */
    const char *extra = getenv("LNBENCH_OPENCL_BUILD_OPTIONS");
    char opts[512];
    snprintf(opts, sizeof opts, "-cl-std=CL1.2 -DLN_DTYPE=%d%s%s %.200s", dtype,
             cl.correct_sqrt ? " -cl-fp32-correctly-rounded-divide-sqrt" : "",
             fast_math ? " -cl-fast-relaxed-math" : "", extra ? extra : "");
    rc = clBuildProgram(prog, 1, &cl.device, opts, NULL, NULL);
    const char *show = getenv("LNBENCH_OPENCL_BUILD_LOG");
    int want_log = show && *show && strcmp(show, "0") != 0;
    if (rc != CL_SUCCESS || want_log) {
        size_t len = 0;
        clGetProgramBuildInfo(prog, cl.device, CL_PROGRAM_BUILD_LOG, 0, NULL, &len);
        char *log = calloc(len + 1, 1);
        if (log && clGetProgramBuildInfo(prog, cl.device, CL_PROGRAM_BUILD_LOG, len, log, NULL) !=
                       CL_SUCCESS)
            log[0] = '\0';
        if (want_log && log)
            fprintf(stderr, "lnbench: OpenCL build log (%s):\n%s\n", opts, log);
        if (rc != CL_SUCCESS) {
            char line[200] = "";
            if (log)
                first_error_line(log, line, sizeof line);
            snprintf(err, errlen, "OpenCL build failed (error %d): %s%s", (int)rc,
                     line[0] ? line : "no log",
                     want_log ? "" : " (LNBENCH_OPENCL_BUILD_LOG=1 for the log)");
        }
        free(log);
    }
    if (rc != CL_SUCCESS) {
        clReleaseProgram(prog);
        return NULL;
    }
    return prog;
}

cl_program ln_opencl_program(int dtype, int fast_math, const char **why)
{
    const char *reason = ln_opencl_unavailable();
    cl_program prog = NULL;
    if (reason) {
        *why = reason;
        return NULL;
    }
    if ((unsigned)dtype >= LN_DTYPE_COUNT) {
        *why = "unknown dtype";
        return NULL;
    }
    fast_math = !!fast_math;
    pthread_mutex_lock(&cl.lock);
    prog = cl.program[dtype][fast_math];
    char *err = cl.build_error[dtype][fast_math];
    if (!prog && !err[0]) {
        prog = build(dtype, fast_math, err, sizeof cl.build_error[0][0]);
        cl.program[dtype][fast_math] = prog;
    }
    pthread_mutex_unlock(&cl.lock);
    if (!prog)
        *why = err;
    return prog;
}

/* ------------------------------------------------------- device ops */

static void *cl_alloc(size_t bytes)
{
    if (ln_opencl_unavailable())
        return NULL;
    cl_int err;
    /* A zero-sized buffer is invalid in OpenCL; callers may ask for one. */
    cl_mem m = clCreateBuffer(cl.context, CL_MEM_READ_WRITE, bytes ? bytes : 4, NULL, &err);
    return m;
}

static void cl_free(void *buf)
{
    if (buf)
        clReleaseMemObject((cl_mem)buf);
}

/* Blocking copies: the caller may reuse its host memory as soon as set()
 * returns, and get()'s data is there when it returns.  Both are ordered
 * after every kernel already in the queue. */
static int cl_set(void *dst, const void *src, size_t bytes)
{
    if (!bytes)
        return 0;
    return clEnqueueWriteBuffer(cl.queue, (cl_mem)dst, CL_TRUE, 0, bytes, src, 0, NULL, NULL) ==
                   CL_SUCCESS
               ? 0
               : -1;
}

static int cl_get(void *dst, const void *src, size_t bytes)
{
    if (!bytes)
        return 0;
    return clEnqueueReadBuffer(cl.queue, (cl_mem)src, CL_TRUE, 0, bytes, dst, 0, NULL, NULL) ==
                   CL_SUCCESS
               ? 0
               : -1;
}

static int cl_sync(void)
{
    if (ln_opencl_unavailable())
        return -1;
    return clFinish(cl.queue) == CL_SUCCESS ? 0 : -1;
}

const ln_device_ops ln_device_opencl_ops = {
    .name = "opencl",
    .alloc = cl_alloc,
    .free = cl_free,
    .set = cl_set,
    .get = cl_get,
    .synchronize = cl_sync,
    .describe = ln_opencl_describe,
};
