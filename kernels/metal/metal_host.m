/*
 * metal_host.m - the Metal backend behind the lnbench ABI: one device, one
 * command queue, shared-storage buffers, a compute pipeline per kernel and
 * dtype, and the three kernels of metal_kernels.h.
 *
 * The ggml-metal pattern: C callers see only lnbench_kernel.h (ln_kernel,
 * ln_device_ops); every Objective-C object stays in this file.
 *
 * Memory management: ARC (kernels/CMakeLists.txt compiles this file with
 * -fobjc-arc).  Objective-C objects live in file-scope globals (strong under
 * ARC) and in one metal_state object per prepared descriptor; the ABI's
 * void *state is that object, handed to C with __bridge_retained and taken
 * back with __bridge_transfer in release.
 *
 * Errors: every NSError is checked, and every entry point called from C
 * runs inside @autoreleasepool (C callers have no pool) and @try, so an
 * NSException becomes a -1 return and never unwinds through C frames.
 *
 * Buffers: alloc() returns the contents pointer of an MTLBuffer in shared
 * storage (one memory on Apple silicon), as ggml-metal does; forward() maps
 * each tensor pointer back to its buffer and element offset, so callers may
 * point anywhere inside an allocation, as with host memory.  set() and
 * get() are memcpy after the queue has drained: the CPU must not touch a
 * buffer that a committed kernel still reads or writes.
 *
 * Shader source: kernels/metal/layernorm.metal and what it includes
 * (kernels/gpu/), embedded at build time as one string (metal_source.c,
 * written by embed_source.cmake) and compiled at run time with
 * newLibraryWithSource, once per kernel variant.  Why run time and not a
 * metallib from xcrun metal: the offline compiler needs the full Xcode (and
 * since Xcode 26 a separate Metal toolchain download), while the run-time
 * compiler is part of every macOS; and the three variants are one source
 * compiled with different MTLCompileOptions (fast math, macros).  The cost
 * is a compile (tens of ms) in the first prepare of each variant, outside
 * any timed loop.
 *
 * Times: the command buffer's GPUStartTime/GPUEndTime give device_seconds
 * (the kernel alone); callers time copies plus kernel end to end around
 * set(), forward(), synchronize() and get().
 */
#import <Foundation/Foundation.h>
#import <Metal/Metal.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "metal_kernels.h"
#include "metal_params.h"

/* The shader source, embedded by embed_source.cmake (metal_source.c). */
extern const unsigned char ln_metal_source[];
extern const size_t ln_metal_source_len;

/* ------------------------------------------------------------------------ */
/* The device and its queue                                                 */
/* ------------------------------------------------------------------------ */

static id<MTLDevice> g_device;
static id<MTLCommandQueue> g_queue;
static const char *g_device_problem; /* NULL when the device is usable */
static char g_device_name[128];      /* "Metal: <device name>" */
static dispatch_once_t g_device_once;

/* Guarded by g_lock: the live buffers, the last committed command buffer
 * (the queue runs command buffers in commit order, so waiting for it waits
 * for all), and whether one ended in error since the last synchronize. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static NSMutableArray *g_buffers;
static id<MTLCommandBuffer> g_last;
static int g_failed;

static void open_device(void)
{
    @autoreleasepool {
        @try {
            id<MTLDevice> dev = MTLCreateSystemDefaultDevice();
            if (!dev) {
                g_device_problem = "no Metal device";
                return;
            }
            /* SIMD-group functions: the body's simd_shuffle_xor needs an
             * Apple6 GPU, simd_sum (reductions) an Apple7 (M1, A14) or
             * later; Mac2 GPUs have both.  Apple7 or Mac2 is asked for, so
             * that a simd_sum stage needs no new probe.  GitHub's hosted
             * macOS runners expose a paravirtual GPU without reductions. */
            if (![dev supportsFamily:MTLGPUFamilyApple7] &&
                ![dev supportsFamily:MTLGPUFamilyMac2]) {
                g_device_problem = "Metal GPU lacks SIMD-group reductions";
                return;
            }
            id<MTLCommandQueue> queue = [dev newCommandQueue];
            if (!queue) {
                g_device_problem = "Metal command queue not created";
                return;
            }
            g_buffers = [NSMutableArray array];
            g_queue = queue;
            g_device = dev;
            NSString *name = dev.name;
            snprintf(g_device_name, sizeof g_device_name, "Metal: %s",
                     name ? name.UTF8String : "?");
        } @catch (NSException *e) {
            (void)e;
            g_device_problem = "Metal device setup raised an exception";
        }
    }
}

/* NULL when the Metal device is usable, else a static reason. */
static const char *device_problem(void)
{
    dispatch_once(&g_device_once, ^{
      open_device();
    });
    return g_device_problem;
}

static const char *metal_unavailable(void)
{
    return device_problem();
}

/* Waits for everything committed so far; 0, or -1 when a command buffer
 * failed since the last call. */
static int drain_queue(void)
{
    pthread_mutex_lock(&g_lock);
    id<MTLCommandBuffer> last = g_last;
    pthread_mutex_unlock(&g_lock);
    if (last)
        [last waitUntilCompleted];
    pthread_mutex_lock(&g_lock);
    int failed = g_failed || (last && last.status == MTLCommandBufferStatusError);
    g_failed = 0;
    if (g_last == last)
        g_last = nil;
    pthread_mutex_unlock(&g_lock);
    return failed ? -1 : 0;
}

/* ------------------------------------------------------------------------ */
/* Device ops: buffers and copies                                           */
/* ------------------------------------------------------------------------ */

static void *metal_alloc(size_t bytes)
{
    if (device_problem())
        return NULL;
    @autoreleasepool {
        @try {
            id<MTLBuffer> buf = [g_device newBufferWithLength:(bytes ? bytes : 1)
                                                      options:MTLResourceStorageModeShared];
            if (!buf)
                return NULL;
            pthread_mutex_lock(&g_lock);
            [g_buffers addObject:buf];
            pthread_mutex_unlock(&g_lock);
            return buf.contents;
        } @catch (NSException *e) {
            (void)e;
            return NULL;
        }
    }
}

static void metal_free(void *p)
{
    if (!p || device_problem())
        return;
    @autoreleasepool {
        /* A committed command buffer keeps its buffers alive (Metal's
         * retained references), so dropping ours now is safe. */
        pthread_mutex_lock(&g_lock);
        @try {
            for (NSUInteger i = 0; i < g_buffers.count; i++) {
                id<MTLBuffer> buf = g_buffers[i];
                if (buf.contents == p) {
                    [g_buffers removeObjectAtIndex:i];
                    break;
                }
            }
        } @catch (NSException *e) {
            (void)e;
        } @finally {
            pthread_mutex_unlock(&g_lock);
        }
    }
}

static int metal_copy(void *dst, const void *src, size_t bytes)
{
    if (device_problem())
        return -1;
    @autoreleasepool {
        @try {
            int rc = drain_queue();
            memcpy(dst, src, bytes);
            return rc;
        } @catch (NSException *e) {
            (void)e;
            return -1;
        }
    }
}

static int metal_synchronize(void)
{
    if (device_problem())
        return -1;
    @autoreleasepool {
        @try {
            return drain_queue();
        } @catch (NSException *e) {
            (void)e;
            return -1;
        }
    }
}

/* The device in use, for lists and provenance; NULL when unusable. */
static const char *metal_describe(void)
{
    return device_problem() ? NULL : g_device_name;
}

const ln_device_ops ln_device_metal_ops = {
    .name = "metal",
    .alloc = metal_alloc,
    .free = metal_free,
    .set = metal_copy,
    .get = metal_copy,
    .synchronize = metal_synchronize,
    .describe = metal_describe,
};

/* The buffer holding count elements of esize bytes from p, and p's element
 * offset in it; nil when p is not in a buffer of ours, not aligned to its
 * element, or the elements run past the buffer's end. */
static id<MTLBuffer> find_tensor(const void *p, size_t esize, size_t count, unsigned *offset)
{
    id<MTLBuffer> found = nil;
    pthread_mutex_lock(&g_lock);
    @try {
        for (id<MTLBuffer> buf in g_buffers) {
            uintptr_t base = (uintptr_t)buf.contents, at = (uintptr_t)p;
            if (at < base || at - base >= buf.length)
                continue;
            size_t off = (size_t)(at - base);
            if (off % esize == 0 && off / esize <= UINT32_MAX &&
                count <= (buf.length - off) / esize) {
                *offset = (unsigned)(off / esize);
                found = buf;
            }
            break;
        }
    } @finally {
        pthread_mutex_unlock(&g_lock);
    }
    return found;
}

/* ------------------------------------------------------------------------ */
/* Libraries and pipelines                                                  */
/* ------------------------------------------------------------------------ */

/* One library per variant and dtype (the body is written for one element
 * type per program, LN_DTYPE), compiled on first use, and its pipeline. */
static id<MTLComputePipelineState> g_pipeline[LN_METAL_VARIANT_COUNT][LN_DTYPE_COUNT];
static const char *g_problem[LN_METAL_VARIANT_COUNT][LN_DTYPE_COUNT];
static char g_message[LN_METAL_VARIANT_COUNT][LN_DTYPE_COUNT][200];
static dispatch_once_t g_once[LN_METAL_VARIANT_COUNT][LN_DTYPE_COUNT];

/* The first line of an NSError's text after what failed, in buf. */
static const char *remember_error(char *buf, size_t size, const char *what, NSError *err)
{
    NSString *text = err ? err.localizedDescription : @"no error given";
    NSString *first = [text componentsSeparatedByString:@"\n"].firstObject;
    snprintf(buf, size, "%s: %s", what, first ? first.UTF8String : "?");
    return buf;
}

static void build_pipeline(int variant, ln_dtype dt)
{
    char *msg = g_message[variant][dt];
    size_t msg_size = sizeof g_message[variant][dt];
    @autoreleasepool {
        @try {
            NSString *src = [[NSString alloc] initWithBytes:ln_metal_source
                                                     length:ln_metal_source_len
                                                   encoding:NSUTF8StringEncoding];
            if (!src) {
                g_problem[variant][dt] = "Metal source is not UTF-8";
                return;
            }
            MTLCompileOptions *opts = [[MTLCompileOptions alloc] init];
            /* fastMathEnabled (deprecated by mathMode in macOS 15, which
             * older SDKs lack): NO for metal and metal_accurate, YES, as
             * Metal's default, for metal_fastmath. */
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
            opts.fastMathEnabled = variant == LN_METAL_VARIANT_FASTMATH;
#pragma clang diagnostic pop
            /* LN_DTYPE's values (norm_params.h's LN_GPU_DTYPE_*) follow
             * ln_dtype's order. */
            opts.preprocessorMacros = @{
                @"LN_DTYPE" : @((int)dt),
                @"LN_METAL_FASTMATH" : @(variant == LN_METAL_VARIANT_FASTMATH ? 1 : 0),
            };
            NSError *err = nil;
            id<MTLLibrary> lib = [g_device newLibraryWithSource:src options:opts error:&err];
            if (!lib) {
                g_problem[variant][dt] = remember_error(msg, msg_size, "Metal compile failed", err);
                return;
            }
            NSString *entry =
                variant == LN_METAL_VARIANT_ACCURATE ? @"ln_metal_accurate" : @"ln_metal_fast";
            id<MTLFunction> fn = [lib newFunctionWithName:entry];
            if (!fn) {
                g_problem[variant][dt] = "Metal entry point missing from the library";
                return;
            }
            err = nil;
            id<MTLComputePipelineState> pso =
                [g_device newComputePipelineStateWithFunction:fn error:&err];
            if (!pso) {
                g_problem[variant][dt] =
                    remember_error(msg, msg_size, "Metal pipeline not created", err);
                return;
            }
            g_pipeline[variant][dt] = pso;
        } @catch (NSException *e) {
            (void)e;
            g_problem[variant][dt] = "Metal compile raised an exception";
        }
    }
}

/* The pipeline of a variant and dtype, or nil with *why.  Built once;
 * dispatch_once also makes it visible to every thread. */
static id<MTLComputePipelineState> pipeline_for(int variant, ln_dtype dt, const char **why)
{
    dispatch_once(&g_once[variant][dt], ^{
      build_pipeline(variant, dt);
    });
    if (!g_pipeline[variant][dt])
        *why = g_problem[variant][dt];
    return g_pipeline[variant][dt];
}

/* ------------------------------------------------------------------------ */
/* The kernels                                                              */
/* ------------------------------------------------------------------------ */

/* One prepared descriptor. */
@interface LNMetalState : NSObject {
  @public
    id<MTLComputePipelineState> pipeline;
    id<MTLCommandBuffer> last; /* the last forward's, for device_seconds */
    NSUInteger threads;        /* per threadgroup; one threadgroup per row */
    NSUInteger rows;
    ln_metal_args args;        /* the descriptor's part; offsets per forward */
    size_t x_count, y_count;   /* elements a row block spans */
}
@end

@implementation LNMetalState
@end

/* Shapes whose element offsets and counts fit the kernels' 32-bit
 * indices. */
static int metal_supports(const ln_desc *d, const char **why)
{
    uint64_t rows = d->rows, last_x = 0, last_y = 0;
    if (rows > 0 && rows <= UINT32_MAX && d->x_stride <= UINT32_MAX && d->y_stride <= UINT32_MAX) {
        last_x = (rows - 1) * d->x_stride + d->dim; /* < 2^64: each factor < 2^32 */
        last_y = (rows - 1) * d->y_stride + d->dim;
    }
    if (rows > UINT32_MAX || d->x_stride > UINT32_MAX || d->y_stride > UINT32_MAX ||
        last_x > UINT32_MAX || last_y > UINT32_MAX) {
        *why = "shape beyond the Metal kernels' 32-bit indices";
        return -1;
    }
    return 0;
}

static int prepare_variant(int variant, const ln_desc *d, void **state, const char **why)
{
    *state = NULL;
    if ((*why = device_problem()) != NULL)
        return -1;
    if (metal_supports(d, why) != 0)
        return -1;
    @autoreleasepool {
        @try {
            id<MTLComputePipelineState> pso = pipeline_for(variant, d->dtype, why);
            if (!pso)
                return -1;
            NSUInteger max = pso.maxTotalThreadsPerThreadgroup, threads = LN_METAL_SIMD_WIDTH;
            if (max > LN_METAL_MAX_THREADS)
                max = LN_METAL_MAX_THREADS;
            if (max < LN_METAL_SIMD_WIDTH) {
                *why = "Metal pipeline allows less than one SIMD group";
                return -1;
            }
            /* The body's butterfly reduces aligned blocks of 32 lanes with
             * simd_shuffle_xor: right for SIMD groups of 32 (Apple GPUs) or
             * 64 (AMD), wrong for Intel's 8 or 16. */
            if (pso.threadExecutionWidth % LN_METAL_SIMD_WIDTH != 0) {
                *why = "Metal GPU's SIMD width is not a multiple of 32";
                return -1;
            }
            /* A power of two (the body's tree wants one) up to the limit. */
            while (threads * 2 <= max && threads * LN_METAL_VALUES_PER_THREAD < d->dim)
                threads *= 2;

            LNMetalState *s = [[LNMetalState alloc] init];
            s->pipeline = pso;
            s->threads = threads;
            s->rows = d->rows;
            memset(&s->args, 0, sizeof s->args);
            s->args.p.dim = (unsigned)d->dim;
            s->args.p.x_stride = (unsigned)d->x_stride;
            s->args.p.y_stride = (unsigned)d->y_stride;
            s->args.p.op = (unsigned)d->op;
            s->args.p.cast = (unsigned)d->cast;
            s->args.p.tensors = d->tensors;
            s->args.p.eps = d->eps;
            s->x_count = d->rows ? (d->rows - 1) * d->x_stride + d->dim : 0;
            s->y_count = d->rows ? (d->rows - 1) * d->y_stride + d->dim : 0;
            *state = (__bridge_retained void *)s;
            return 0;
        } @catch (NSException *e) {
            (void)e;
            *why = "Metal prepare raised an exception";
            return -1;
        }
    }
}

static void metal_release(void *state)
{
    if (!state)
        return;
    @autoreleasepool {
        LNMetalState *s = (__bridge_transfer LNMetalState *)state;
        (void)s; /* ARC releases it here */
    }
}

static int metal_forward(const ln_desc *d, const ln_tensors *t, void *state)
{
    if (!state)
        return -1;
    @autoreleasepool {
        @try {
            LNMetalState *s = (__bridge LNMetalState *)state;
            if (d->rows == 0)
                return 0;
            size_t es = ln_dtype_size(d->dtype);
            ln_metal_args a = s->args;
            id<MTLBuffer> bufs[LN_METAL_BUF_H + 1];
            bufs[LN_METAL_BUF_X] = find_tensor(t->x, es, s->x_count, &a.x_off);
            bufs[LN_METAL_BUF_Y] = find_tensor(t->y, es, s->y_count, &a.y_off);
            if (!bufs[LN_METAL_BUF_X] || !bufs[LN_METAL_BUF_Y])
                return -1;
            /* Absent tensors: x's buffer stands in (never read: the
             * body tests p.tensors), since Metal wants every
             * declared buffer bound. */
            for (int i = LN_METAL_BUF_GAMMA; i <= LN_METAL_BUF_H; i++)
                bufs[i] = bufs[LN_METAL_BUF_X];
            struct {
                const void *p;
                size_t esize, count;
                int index;
                unsigned *off;
            } opt[] = {
                {t->gamma, es, d->dim, LN_METAL_BUF_GAMMA, &a.gamma_off},
                {t->beta, es, d->dim, LN_METAL_BUF_BETA, &a.beta_off},
                {t->mean, sizeof(float), d->rows, LN_METAL_BUF_MEAN, &a.mean_off},
                {t->rstd, sizeof(float), d->rows, LN_METAL_BUF_RSTD, &a.rstd_off},
                {t->residual, es, s->x_count, LN_METAL_BUF_RESIDUAL, &a.residual_off},
                {t->h, es, s->y_count, LN_METAL_BUF_H, &a.h_off},
            };
            for (size_t i = 0; i < sizeof opt / sizeof opt[0]; i++) {
                if (!opt[i].p)
                    continue;
                bufs[opt[i].index] = find_tensor(opt[i].p, opt[i].esize, opt[i].count, opt[i].off);
                if (!bufs[opt[i].index])
                    return -1;
            }

            id<MTLCommandBuffer> cb = [g_queue commandBuffer];
            id<MTLComputeCommandEncoder> enc = [cb computeCommandEncoder];
            if (!cb || !enc)
                return -1;
            [enc setComputePipelineState:s->pipeline];
            for (int i = 0; i <= LN_METAL_BUF_H; i++)
                [enc setBuffer:bufs[i] offset:0 atIndex:(NSUInteger)i];
            [enc setBytes:&a length:sizeof a atIndex:LN_METAL_BUF_ARGS];
            [enc dispatchThreadgroups:MTLSizeMake(s->rows, 1, 1)
                threadsPerThreadgroup:MTLSizeMake(s->threads, 1, 1)];
            [enc endEncoding];
            [cb addCompletedHandler:^(id<MTLCommandBuffer> done) {
              if (done.status == MTLCommandBufferStatusError) {
                  pthread_mutex_lock(&g_lock);
                  g_failed = 1;
                  pthread_mutex_unlock(&g_lock);
              }
            }];
            /* Committed under the lock so that g_last is the queue's last. */
            pthread_mutex_lock(&g_lock);
            [cb commit];
            g_last = cb;
            pthread_mutex_unlock(&g_lock);
            s->last = cb;
            return 0;
        } @catch (NSException *e) {
            (void)e;
            return -1;
        }
    }
}

/* The GPU's own time of the last forward on state, after synchronize. */
static int metal_device_seconds(void *state, double *seconds)
{
    if (!state)
        return -1;
    @autoreleasepool {
        LNMetalState *s = (__bridge LNMetalState *)state;
        id<MTLCommandBuffer> cb = s->last;
        if (!cb || cb.status != MTLCommandBufferStatusCompleted)
            return -1;
        CFTimeInterval start = cb.GPUStartTime, end = cb.GPUEndTime;
        if (!(end > start))
            return -1;
        *seconds = end - start;
        return 0;
    }
}

#define LN_METAL_DEFINE(kname, variant, desc, promises)                             \
    static int prepare_##kname(const ln_desc *d, void **state, const char **why) \
    {                                                                            \
        return prepare_variant(variant, d, state, why);                           \
    }                                                                            \
    const ln_kernel ln_kernel_##kname = {                                        \
        .name = #kname,                                                          \
        .family = "metal",                                                       \
        .description = desc,                                                     \
        .caps = LN_METAL_CAPS(promises),                                         \
        .unavailable = metal_unavailable,                                        \
        .supports = metal_supports,                                              \
        .prepare = prepare_##kname,                                              \
        .release = metal_release,                                                \
        .forward = metal_forward,                                                \
        .device_seconds = metal_device_seconds,                                  \
    };
LN_METAL_KERNEL_TABLE(LN_METAL_DEFINE)
