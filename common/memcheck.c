/*
 * memcheck.c - what this process can still allocate (see memcheck.h).
 */
#define _DEFAULT_SOURCE

#include "memcheck.h"

#include "args.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* "MemAvailable:   123456 kB" from /proc/meminfo, in bytes; 0 if absent. */
static uint64_t meminfo_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    unsigned long long kb = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
            break;
    fclose(f);
    return (uint64_t)kb * 1024;
}

/* One unsigned number from a file ("max" and errors give 0). */
static uint64_t read_u64_file(const char *path)
{
    FILE *f = fopen(path, "r");
    unsigned long long v = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%llu", &v) != 1)
        v = 0;
    fclose(f);
    return (uint64_t)v;
}

/* cgroup v2 memory.max - memory.current of this process's cgroup; 0 when
 * there is no limit (or no cgroup v2). */
static uint64_t cgroup_available(void)
{
    FILE *f = fopen("/proc/self/cgroup", "r");
    char line[512], path[700];
    uint64_t avail = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "0::", 3) != 0)
            continue;
        line[strcspn(line, "\n")] = '\0';
        snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.max", line + 3);
        uint64_t max = read_u64_file(path);
        snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.current", line + 3);
        uint64_t cur = read_u64_file(path);
        if (max)
            avail = max > cur ? max - cur : 1;
        break;
    }
    fclose(f);
    return avail;
}

/* RLIMIT_AS minus the address space mapped now (VmSize); 0 without limit. */
static uint64_t rlimit_as_available(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return 0;
    unsigned long long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%llu", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    uint64_t used = (uint64_t)pages * (uint64_t)sysconf(_SC_PAGESIZE);
    return (uint64_t)rl.rlim_cur > used ? (uint64_t)rl.rlim_cur - used : 1;
}

uint64_t ln_mem_available(const char **what)
{
    uint64_t best = UINT64_MAX, v;
    const char *name = NULL;
    if ((v = meminfo_available()) && v < best) {
        best = v;
        name = "MemAvailable";
    }
    if ((v = cgroup_available()) && v < best) {
        best = v;
        name = "the cgroup limit";
    }
    if ((v = rlimit_as_available()) && v < best) {
        best = v;
        name = "RLIMIT_AS";
    }
    if (!name && (v = ln_physical_memory()) != 0) {
        best = v;
        name = "physical memory";
    }
    if (what)
        *what = name ? name : "unknown";
    return best;
}

int ln_mem_check(uint64_t need, unsigned threads, char *err, size_t errlen)
{
    const char *what;
    uint64_t avail = ln_mem_available(&what);
    uint64_t need_here = need;
    /* Under RLIMIT_AS every thread's stack (8 MiB) and glibc malloc arena
     * (64 MiB reserved) count too, though little of them is touched. */
    if (strcmp(what, "RLIMIT_AS") == 0)
        need_here += (uint64_t)threads * (72u << 20);
    if (need != UINT64_MAX && need_here >= need && need_here <= avail)
        return 0;
    snprintf(err, errlen, "needs about %.1f GiB, more than the %.1f GiB available (%s)",
             (double)need_here / 1073741824.0, (double)avail / 1073741824.0, what);
    return -1;
}
