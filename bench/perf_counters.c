/*
 * perf_counters.c - see perf_counters.h.
 */
#define _DEFAULT_SOURCE
#include "perf_counters.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __linux__
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int open_counter(uint64_t config, int group)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_HARDWARE;
    a.config = config;
    a.disabled = group < 0; /* the leader starts disabled, members follow it */
    a.exclude_kernel = 1;   /* allowed at perf_event_paranoid 2 */
    a.exclude_hv = 1;
    a.read_format = PERF_FORMAT_GROUP | PERF_FORMAT_TOTAL_TIME_ENABLED |
                    PERF_FORMAT_TOTAL_TIME_RUNNING;
    /* pid 0, cpu -1: this thread, wherever it runs. */
    return (int)syscall(SYS_perf_event_open, &a, 0, -1, group, 0);
}

int lnb_perf_open(lnb_perf *p, char *err, size_t errlen)
{
    p->fd_cycles = p->fd_instructions = -1;
    const char *no = getenv("LNBENCH_NO_PERF");
    if (no && *no && strcmp(no, "0") != 0) {
        snprintf(err, errlen, "disabled by LNBENCH_NO_PERF");
        return -1;
    }
    p->fd_cycles = open_counter(PERF_COUNT_HW_CPU_CYCLES, -1);
    if (p->fd_cycles < 0) {
        snprintf(err, errlen, "perf_event_open(cycles): %s", strerror(errno));
        return -1;
    }
    p->fd_instructions = open_counter(PERF_COUNT_HW_INSTRUCTIONS, p->fd_cycles);
    if (p->fd_instructions < 0) {
        snprintf(err, errlen, "perf_event_open(instructions): %s", strerror(errno));
        lnb_perf_close(p);
        return -1;
    }
    return 0;
}

void lnb_perf_start(lnb_perf *p)
{
    ioctl(p->fd_cycles, PERF_EVENT_IOC_RESET, PERF_IOC_FLAG_GROUP);
    ioctl(p->fd_cycles, PERF_EVENT_IOC_ENABLE, PERF_IOC_FLAG_GROUP);
}

int lnb_perf_stop(lnb_perf *p, uint64_t *cycles, uint64_t *instructions)
{
    ioctl(p->fd_cycles, PERF_EVENT_IOC_DISABLE, PERF_IOC_FLAG_GROUP);
    /* nr, time_enabled, time_running, value[nr] */
    uint64_t buf[5];
    ssize_t n = read(p->fd_cycles, buf, sizeof buf);
    if (n != (ssize_t)sizeof buf || buf[0] != 2 || buf[2] == 0)
        return -1;
    /* Scale for multiplexing: the counters ran time_running of
     * time_enabled. */
    double scale = (double)buf[1] / (double)buf[2];
    *cycles = (uint64_t)((double)buf[3] * scale);
    *instructions = (uint64_t)((double)buf[4] * scale);
    return 0;
}

void lnb_perf_close(lnb_perf *p)
{
    if (p->fd_instructions >= 0)
        close(p->fd_instructions);
    if (p->fd_cycles >= 0)
        close(p->fd_cycles);
    p->fd_cycles = p->fd_instructions = -1;
}

#else /* !__linux__ */

int lnb_perf_open(lnb_perf *p, char *err, size_t errlen)
{
    p->fd_cycles = p->fd_instructions = -1;
    snprintf(err, errlen, "perf_event_open is Linux-only");
    return -1;
}
void lnb_perf_start(lnb_perf *p) { (void)p; }
int lnb_perf_stop(lnb_perf *p, uint64_t *cycles, uint64_t *instructions)
{
    (void)p;
    *cycles = *instructions = 0;
    return -1;
}
void lnb_perf_close(lnb_perf *p) { (void)p; }

#endif
