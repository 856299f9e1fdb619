/*
 * cpu_features.c - ISA probes with an environment mask, and cache sizes.
 */
#define _POSIX_C_SOURCE 200809L
#include "cpu_features.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const isa_names[LN_ISA_COUNT] = {"avx2", "avx512", "neon"};

const char *ln_isa_name(ln_isa isa)
{
    return (unsigned)isa < LN_ISA_COUNT ? isa_names[isa] : "?";
}

/* True when LNBENCH_DISABLE_ISA names this ISA or extension (or says
 * "all"). */
static int name_masked(const char *name)
{
    const char *env = getenv("LNBENCH_DISABLE_ISA");
    if (!env || !*env)
        return 0;
    size_t len = strlen(name);
    for (const char *p = env; *p;) {
        size_t n = strcspn(p, ",");
        if ((n == len && strncmp(p, name, len) == 0) ||
            (n == 3 && strncmp(p, "all", 3) == 0))
            return 1;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

static int isa_masked(ln_isa isa) { return name_masked(ln_isa_name(isa)); }

int ln_x86_avx512bf16(void)
{
    /* The forward of every avx512 bf16 call asks: cached (0 unknown, 1
     * no, 2 yes); every thread computes the same value. */
    static atomic_int known;
    int v = atomic_load_explicit(&known, memory_order_relaxed);
    if (v)
        return v == 2;
    v = 1;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (!ln_isa_unavailable(LN_ISA_AVX512F) && __builtin_cpu_supports("avx512bf16") &&
        !name_masked(LN_AVX512BF16_NAME))
        v = 2;
#endif
    atomic_store_explicit(&known, v, memory_order_relaxed);
    return v == 2;
}

const char *ln_isa_unavailable(ln_isa isa)
{
    if (isa == LN_ISA_NONE)
        return NULL;
    if (isa_masked(isa))
        return "masked by LNBENCH_DISABLE_ISA";
    switch (isa) {
    case LN_ISA_AVX2_FMA:
#if defined(__x86_64__) || defined(__i386__)
        /* __builtin_cpu_supports also checks, through XGETBV, that the OS
         * saves the YMM/ZMM state: a CPU flag alone is not enough. */
        __builtin_cpu_init();
        if (!__builtin_cpu_supports("avx2"))
            return "CPU or OS lacks AVX2";
        if (!__builtin_cpu_supports("fma"))
            return "CPU lacks FMA";
        /* bf16/f16 paths convert with F16C (every AVX2 CPU has it). */
        if (!__builtin_cpu_supports("f16c"))
            return "CPU lacks F16C";
        return NULL;
#else
        return "not an x86-64 build";
#endif
    case LN_ISA_AVX512F:
#if defined(__x86_64__) || defined(__i386__)
        __builtin_cpu_init();
        if (!__builtin_cpu_supports("avx512f"))
            return "CPU or OS lacks AVX-512F";
        /* The avx512 files are built with F, VL, DQ, BW (16-bit masked
         * tails of bf16/f16 rows) and FMA, so the compiler may use any of
         * them (every AVX-512 CPU but Knights Landing has them all):
         * require them all. */
        if (!__builtin_cpu_supports("avx512vl") || !__builtin_cpu_supports("avx512dq") ||
            !__builtin_cpu_supports("avx512bw"))
            return "CPU lacks AVX-512VL/DQ/BW";
        if (!__builtin_cpu_supports("fma"))
            return "CPU lacks FMA";
        return NULL;
#else
        return "not an x86-64 build";
#endif
    case LN_ISA_NEON:
#if defined(__aarch64__)
        return NULL; /* Advanced SIMD is mandatory in AArch64 */
#else
        return "not an AArch64 build";
#endif
    default:
        return "unknown ISA";
    }
}

/* The first line of a small sysfs file into buf (newline dropped); 0, or
 * -1 when it cannot be read. */
static int read_line(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *ok = fgets(buf, (int)n, f);
    fclose(f);
    if (!ok)
        return -1;
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

/* Which cache a size is asked of. */
typedef enum cache_kind { CACHE_L1D, CACHE_LAST } cache_kind;

/* Linux's cacheinfo for CPU 0 (/sys/devices/system/cpu/cpu0/cache): the
 * level-1 data cache, or the highest level that holds data.  -1 when
 * absent. */
static long sysfs_cache_bytes(cache_kind kind)
{
    long found = -1;
    int found_level = 0;
    for (int i = 0; i < 16; i++) {
        char path[80], lv[16], type[32], size[32];
        const char *dir = "/sys/devices/system/cpu/cpu0/cache/index";
        snprintf(path, sizeof path, "%s%d/level", dir, i);
        if (read_line(path, lv, sizeof lv) != 0)
            break;
        snprintf(path, sizeof path, "%s%d/type", dir, i);
        if (read_line(path, type, sizeof type) != 0 || strcmp(type, "Instruction") == 0)
            continue;
        snprintf(path, sizeof path, "%s%d/size", dir, i);
        if (read_line(path, size, sizeof size) != 0)
            continue;
        char *end;
        long v = strtol(size, &end, 10), l = strtol(lv, NULL, 10);
        v *= *end == 'K' ? 1L << 10 : *end == 'M' ? 1L << 20 : *end == 'G' ? 1L << 30 : 1;
        if (v <= 0)
            continue;
        if (kind == CACHE_L1D ? l == 1 : l > found_level) {
            found = v;
            found_level = (int)l;
        }
    }
    return found;
}

/* A cache's size, or fallback when the OS will not say; asked once.
 * Linux's cacheinfo first, then sysconf: glibc's sysconf gave 320 MiB of
 * L3 on the AMD EPYC Zen 4 VM, where cacheinfo and hwloc (the speed
 * harness's source) say 32 MiB.  Kernels ask from several threads at
 * once, the first time too: the cache is atomic.  Every thread computes
 * the same value, so relaxed order is enough. */
static size_t cache_bytes(atomic_size_t *cached, cache_kind kind, size_t fallback)
{
    size_t bytes = atomic_load_explicit(cached, memory_order_relaxed);
    if (bytes)
        return bytes;
    long v = sysfs_cache_bytes(kind);
#if defined(_SC_LEVEL1_DCACHE_SIZE) && defined(_SC_LEVEL3_CACHE_SIZE)
    if (v <= 0)
        v = sysconf(kind == CACHE_L1D ? _SC_LEVEL1_DCACHE_SIZE : _SC_LEVEL3_CACHE_SIZE);
    if (v <= 0 && kind == CACHE_LAST)
        v = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
    bytes = v > 0 ? (size_t)v : fallback;
    atomic_store_explicit(cached, bytes, memory_order_relaxed);
    return bytes;
}

size_t ln_llc_bytes(void)
{
    static atomic_size_t cached;
    return cache_bytes(&cached, CACHE_LAST, (size_t)32 << 20); /* errs toward cached stores */
}

size_t ln_l1d_bytes(void)
{
    static atomic_size_t cached;
    return cache_bytes(&cached, CACHE_L1D, (size_t)32 << 10); /* Zen 4's */
}
