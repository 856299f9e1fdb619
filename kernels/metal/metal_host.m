/*
 * metal_host.m - the Metal backend behind the lnbench ABI: one device, one
 * command queue, shared-storage buffers, a compute pipeline per kernel,
 * dtype and row variant, and the three kernels of metal_kernels.h.
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
            /* simd_sum and the other SIMD-group reductions the kernels use
             * need an Apple7 (M1, A14) or later GPU, or a Mac2 one.  GitHub's
             * hosted macOS runners expose a paravirtual GPU without them. */
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

const ln_device_ops ln_device_metal_ops = {
    .name = "metal",
    .alloc = metal_alloc,
    .free = metal_free,
    .set = metal_copy,
    .get = metal_copy,
    .synchronize = metal_synchronize,
};

/* The buffer holding count elements of esize bytes from p, and p's element
 * offset in it; nil when p is not in a buffer of ours, not aligned to its
 * element, or the elements run past the buffer's end. */
static id<MTLBuffer> find_tensor(const void *p, size_t esize, size_t count, uint32_t *offset)
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
                *offset = (uint32_t)(off / esize);
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

static id<MTLLibrary> g_library[LN_METAL_VARIANT_COUNT];
static const char *g_library_problem[LN_METAL_VARIANT_COUNT];
static char g_library_message[LN_METAL_VARIANT_COUNT][200];
static dispatch_once_t g_library_once[LN_METAL_VARIANT_COUNT];

/* Pipelines by variant, dtype and row form (0 single-row, 1 looped);
 * built on first use under g_lock. */
static id<MTLComputePipelineState> g_pipeline[LN_METAL_VARIANT_COUNT][LN_DTYPE_COUNT][2];

static void compile_library(int variant)
{
    @autoreleasepool {
        @try {
            NSString *src = [[NSString alloc] initWithBytes:ln_metal_source
                                                     length:ln_metal_source_len
                                                   encoding:NSUTF8StringEncoding];
            if (!src) {
                g_library_problem[variant] = "Metal source is not UTF-8";
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
            opts.preprocessorMacros = @{
                @"LN_METAL_ACCURATE" : @(variant == LN_METAL_VARIANT_ACCURATE ? 1 : 0),
                @"LN_METAL_FASTMATH" : @(variant == LN_METAL_VARIANT_FASTMATH ? 1 : 0),
            };
            NSError *err = nil;
            id<MTLLibrary> lib = [g_device newLibraryWithSource:src options:opts error:&err];
            if (!lib) {
                /* The compiler's first line says what and where. */
                NSString *text = err ? err.localizedDescription : @"no error given";
                NSString *first = [text componentsSeparatedByString:@"\n"].firstObject;
                snprintf(g_library_message[variant], sizeof g_library_message[variant],
                         "Metal compile failed: %s", first ? first.UTF8String : "?");
                g_library_problem[variant] = g_library_message[variant];
                return;
            }
            g_library[variant] = lib;
        } @catch (NSException *e) {
            (void)e;
            g_library_problem[variant] = "Metal compile raised an exception";
        }
    }
}

static const char *const dtype_suffix[LN_DTYPE_COUNT] = {"f32", "bf16", "f16"};

/* The pipeline of a variant, dtype and row form, or nil with *why. */
static id<MTLComputePipelineState> pipeline_for(int variant, ln_dtype dt, int looped,
                                                const char **why)
{
    dispatch_once(&g_library_once[variant], ^{
      compile_library(variant);
    });
    if (!g_library[variant]) {
        *why = g_library_problem[variant];
        return nil;
    }
    pthread_mutex_lock(&g_lock);
    id<MTLComputePipelineState> pso = g_pipeline[variant][dt][looped];
    pthread_mutex_unlock(&g_lock);
    if (pso)
        return pso;

    NSString *name = [NSString stringWithFormat:@"ln_metal_%s_%s", looped ? "looped" : "single",
                                                dtype_suffix[dt]];
    id<MTLFunction> fn = [g_library[variant] newFunctionWithName:name];
    if (!fn) {
        *why = "Metal entry point missing from the library";
        return nil;
    }
    NSError *err = nil;
    pso = [g_device newComputePipelineStateWithFunction:fn error:&err];
    if (!pso) {
        *why = "Metal compute pipeline not created";
        return nil;
    }
    pthread_mutex_lock(&g_lock);
    if (g_pipeline[variant][dt][looped])
        pso = g_pipeline[variant][dt][looped]; /* another thread was first */
    else
        g_pipeline[variant][dt][looped] = pso;
    pthread_mutex_unlock(&g_lock);
    return pso;
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
    ln_metal_params params;    /* the descriptor's part; offsets per forward */
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

static int metal_prepare(int variant, const ln_desc *d, void **state, const char **why)
{
    *state = NULL;
    if ((*why = device_problem()) != NULL)
        return -1;
    if (metal_supports(d, why) != 0)
        return -1;
    @autoreleasepool {
        @try {
            /* Single-row form while the row fits in registers of at most
             * the pipeline's threads; looped beyond (MLX's thresholds). */
            size_t single_max = ln_op_is_rms(d->op) ? LN_METAL_SINGLE_MAX_RMSNORM
                                                    : LN_METAL_SINGLE_MAX_LAYERNORM;
            size_t want = (d->dim + LN_METAL_READS - 1) / LN_METAL_READS;
            int looped = d->dim > single_max;
            id<MTLComputePipelineState> pso = pipeline_for(variant, d->dtype, looped, why);
            if (pso && !looped && want > pso.maxTotalThreadsPerThreadgroup) {
                looped = 1;
                pso = pipeline_for(variant, d->dtype, looped, why);
            }
            if (!pso)
                return -1;
            NSUInteger max = pso.maxTotalThreadsPerThreadgroup;
            if (max > LN_METAL_MAX_THREADS)
                max = LN_METAL_MAX_THREADS;
            max -= max % LN_METAL_SIMD_WIDTH; /* whole SIMD groups */
            if (max == 0) {
                *why = "Metal pipeline allows less than one SIMD group";
                return -1;
            }
            /* Whole SIMD groups covering the row, LN_METAL_READS values
             * each; the looped form takes as many threads as it may. */
            NSUInteger threads = looped ? max : (NSUInteger)want;
            threads = (threads + LN_METAL_SIMD_WIDTH - 1) / LN_METAL_SIMD_WIDTH * LN_METAL_SIMD_WIDTH;
            if (threads > max)
                threads = max;

            LNMetalState *s = [[LNMetalState alloc] init];
            s->pipeline = pso;
            s->threads = threads;
            memset(&s->params, 0, sizeof s->params);
            s->params.rows = (uint32_t)d->rows;
            s->params.dim = (uint32_t)d->dim;
            s->params.x_stride = (uint32_t)d->x_stride;
            s->params.y_stride = (uint32_t)d->y_stride;
            s->params.op = (uint32_t)d->op;
            s->params.cast = (uint32_t)d->cast;
            s->params.tensors = d->tensors;
            s->params.eps = d->eps;
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
            ln_metal_params p = s->params;
            id<MTLBuffer> bufs[LN_METAL_BUF_H + 1];
            bufs[LN_METAL_BUF_X] = find_tensor(t->x, es, s->x_count, &p.x_off);
            bufs[LN_METAL_BUF_Y] = find_tensor(t->y, es, s->y_count, &p.y_off);
            if (!bufs[LN_METAL_BUF_X] || !bufs[LN_METAL_BUF_Y])
                return -1;
            /* Absent tensors: x's buffer stands in (never read: the
             * kernels test params.tensors), since Metal wants every
             * declared buffer bound. */
            for (int i = LN_METAL_BUF_GAMMA; i <= LN_METAL_BUF_H; i++)
                bufs[i] = bufs[LN_METAL_BUF_X];
            struct {
                const void *p;
                size_t esize, count;
                int index;
                uint32_t *off;
            } opt[] = {
                {t->gamma, es, d->dim, LN_METAL_BUF_GAMMA, &p.gamma_off},
                {t->beta, es, d->dim, LN_METAL_BUF_BETA, &p.beta_off},
                {t->mean, sizeof(float), d->rows, LN_METAL_BUF_MEAN, &p.mean_off},
                {t->rstd, sizeof(float), d->rows, LN_METAL_BUF_RSTD, &p.rstd_off},
                {t->residual, es, s->x_count, LN_METAL_BUF_RESIDUAL, &p.residual_off},
                {t->h, es, s->y_count, LN_METAL_BUF_H, &p.h_off},
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
            [enc setBytes:&p length:sizeof p atIndex:LN_METAL_BUF_PARAMS];
            [enc dispatchThreadgroups:MTLSizeMake(p.rows, 1, 1)
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
    static int kname##_prepare(const ln_desc *d, void **state, const char **why) \
    {                                                                            \
        return metal_prepare(variant, d, state, why);                           \
    }                                                                            \
    const ln_kernel ln_kernel_##kname = {                                        \
        .name = #kname,                                                          \
        .family = "metal",                                                       \
        .description = desc,                                                     \
        .caps = LN_METAL_CAPS(promises),                                         \
        .unavailable = metal_unavailable,                                        \
        .supports = metal_supports,                                              \
        .prepare = kname##_prepare,                                              \
        .release = metal_release,                                                \
        .forward = metal_forward,                                                \
        .device_seconds = metal_device_seconds,                                  \
    };
LN_METAL_KERNEL_TABLE(LN_METAL_DEFINE)
