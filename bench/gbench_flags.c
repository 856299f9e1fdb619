/*
 * gbench_flags.c - validation of Google Benchmark 1.7's flags (see
 * gbench_flags.h).  The list and the value syntax follow the library's
 * --help text (benchmark.cc, 1.7.1).
 */
#define _POSIX_C_SOURCE 200809L

#include "gbench_flags.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum { F_BOOL, F_STRING, F_NONNEG_DOUBLE, F_POS_INT, F_INT, F_CHOICE,
               F_COLOR, F_KVPAIRS } flag_kind;

static const struct gb_flag {
    const char *name;
    flag_kind kind;
    const char *choices; /* F_CHOICE: '|'-separated */
} gb_flags[] = {
    {"benchmark_list_tests", F_BOOL, NULL},
    {"benchmark_filter", F_STRING, NULL},
    /* 0 is taken: one iteration (scripts/icount uses it). */
    {"benchmark_min_time", F_NONNEG_DOUBLE, NULL},
    {"benchmark_min_warmup_time", F_NONNEG_DOUBLE, NULL},
    {"benchmark_repetitions", F_POS_INT, NULL},
    {"benchmark_enable_random_interleaving", F_BOOL, NULL},
    {"benchmark_report_aggregates_only", F_BOOL, NULL},
    {"benchmark_display_aggregates_only", F_BOOL, NULL},
    {"benchmark_format", F_CHOICE, "console|json|csv"},
    {"benchmark_out_format", F_CHOICE, "json|console|csv"},
    {"benchmark_out", F_STRING, NULL},
    {"benchmark_color", F_COLOR, NULL},
    {"benchmark_counters_tabular", F_BOOL, NULL},
    {"benchmark_perf_counters", F_STRING, NULL},
    {"benchmark_context", F_KVPAIRS, NULL},
    {"benchmark_time_unit", F_CHOICE, "ns|us|ms|s"},
    {"v", F_INT, NULL},
};

static int is_bool_word(const char *v, int *truth)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *truth = 1;
            return 1;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *truth = 0;
            return 1;
        }
    }
    return 0;
}

static int in_choices(const char *v, const char *choices)
{
    size_t n = strlen(v);
    for (const char *p = choices; *p;) {
        size_t len = strcspn(p, "|");
        if (len == n && n && strncmp(p, v, n) == 0)
            return 1;
        p += len;
        if (*p == '|')
            p++;
    }
    return 0;
}

/* Finds the flag of arg; *value points after '=' (NULL without one). */
static const struct gb_flag *find_flag(const char *arg, const char **value)
{
    if (strncmp(arg, "--", 2) != 0)
        return NULL;
    const char *name = arg + 2;
    size_t len = strcspn(name, "=");
    *value = name[len] == '=' ? name + len + 1 : NULL;
    for (size_t i = 0; i < sizeof gb_flags / sizeof gb_flags[0]; i++)
        if (strlen(gb_flags[i].name) == len && strncmp(gb_flags[i].name, name, len) == 0)
            return &gb_flags[i];
    return NULL;
}

int lnb_gb_check_flag(const char *arg, char *err, size_t errlen)
{
    const char *v;
    const struct gb_flag *f = find_flag(arg, &v);
    if (!f)
        return 0; /* Google Benchmark refuses it itself, cleanly (exit 2) */
    int truth;
    char *end;
    switch (f->kind) {
    case F_BOOL:
        if (v && !is_bool_word(v, &truth))
            goto bad;
        return 0;
    case F_COLOR:
        if (v && strcmp(v, "auto") != 0 && !is_bool_word(v, &truth))
            goto bad;
        return 0;
    case F_STRING:
        if (!v)
            goto bad;
        return 0;
    case F_CHOICE:
        if (!v || !in_choices(v, f->choices))
            goto bad;
        return 0;
    case F_NONNEG_DOUBLE: {
        if (!v || !*v)
            goto bad;
        errno = 0;
        double d = strtod(v, &end);
        if (*end || errno || !isfinite(d) || d < 0)
            goto bad;
        return 0;
    }
    case F_POS_INT:
    case F_INT: {
        if (!v || !*v)
            goto bad;
        errno = 0;
        long n = strtol(v, &end, 10);
        /* Google Benchmark keeps these in an int32. */
        if (*end || errno || n > 2147483647L || n < -2147483647L - 1 ||
            (f->kind == F_POS_INT && n < 1))
            goto bad;
        return 0;
    }
    case F_KVPAIRS:
        /* key=value[,key=value...], no empty key. */
        if (!v || !*v)
            goto bad;
        for (const char *p = v; *p;) {
            size_t len = strcspn(p, ",");
            const char *eq = memchr(p, '=', len);
            if (!eq || eq == p)
                goto bad;
            p += len;
            if (*p == ',' && *++p == '\0')
                goto bad;
        }
        return 0;
    }
bad:;
    static const char *const want[] = {
        [F_BOOL] = "true or false",
        [F_STRING] = "a value",
        [F_NONNEG_DOUBLE] = "a number of seconds >= 0",
        [F_POS_INT] = "an integer >= 1",
        [F_INT] = "an integer",
        [F_CHOICE] = NULL,
        [F_COLOR] = "auto, true or false",
        [F_KVPAIRS] = "key=value[,key=value...]",
    };
    snprintf(err, errlen, "--%s: '%.64s' is not %s%s", f->name, v ? v : "(no value)",
             f->kind == F_CHOICE ? "one of " : "",
             f->kind == F_CHOICE ? f->choices : want[f->kind]);
    return -1;
}

int lnb_gb_flag_true(const char *arg)
{
    const char *v;
    int truth = 0;
    if (!find_flag(arg, &v))
        return 0;
    return !v || (is_bool_word(v, &truth) && truth);
}
