/*
 * args.c - strict parsing of command-line values.
 *
 * strtoull and friends are too forgiving for a tool whose inputs decide what
 * gets measured: they skip leading blanks, accept a sign (and negate "-3"
 * into a huge unsigned value), stop quietly at junk.  Here a number is
 * exactly what it looks like, or an error that names the option and the
 * value.
 */
#define _POSIX_C_SOURCE 200809L

#include "args.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Copy s into buf for quoting in a one-line message: non-printable bytes
 * become '?', long values are cut with "...". */
static const char *quoted(const char *s, char *buf, size_t len)
{
    size_t i = 0, n = strlen(s);
    for (; i < n && i + 4 < len; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (i < n && len >= 4) {
        i = len - 4 < i ? len - 4 : i;
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
    return buf;
}

static int fail(char *err, size_t errlen, const char *opt, const char *s,
                const char *what)
{
    char q[72];
    if (err && errlen)
        snprintf(err, errlen, "%s: '%s' %s", opt, quoted(s, q, sizeof q), what);
    return -1;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Core of the integer parsers: s[0..n) must be decimal digits only. */
static int parse_u64_span(const char *opt, const char *shown, const char *s,
                          size_t n, uint64_t min, uint64_t max, uint64_t *out,
                          char *err, size_t errlen)
{
    if (n == 0)
        return fail(err, errlen, opt, shown, "is empty, expected a number");
    if (s[0] == '-')
        return fail(err, errlen, opt, shown,
                    min >= 1 ? "is not a positive integer"
                             : "is not a non-negative integer");
    uint64_t v = 0;
    int overflow = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return fail(err, errlen, opt, shown, "is not a number");
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            overflow = 1; /* keep scanning: junk later is the better message */
        else
            v = v * 10 + d;
    }
    char what[96];
    if (overflow || v > max || v < min) {
        if (max == UINT64_MAX && overflow)
            snprintf(what, sizeof what, "is too large");
        else if (max == UINT64_MAX)
            snprintf(what, sizeof what, "is out of range (must be at least %llu)",
                     (unsigned long long)min);
        else if (min == 1 && v == 0 && !overflow)
            snprintf(what, sizeof what, "is not a positive integer");
        else
            snprintf(what, sizeof what, "is out of range (must be %llu to %llu)",
                     (unsigned long long)min, (unsigned long long)max);
        return fail(err, errlen, opt, shown, what);
    }
    *out = v;
    return 0;
}

int ln_parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max,
                 uint64_t *out, char *err, size_t errlen)
{
    if (!s)
        s = "";
    return parse_u64_span(opt, s, s, strlen(s), min, max, out, err, errlen);
}

int ln_parse_float(const char *opt, const char *s, float *out, char *err,
                   size_t errlen)
{
    if (!s)
        s = "";
    if (*s == '\0')
        return fail(err, errlen, opt, s, "is empty, expected a number");
    /* strtof skips leading white space; we do not. */
    if (strchr(" \t\n\v\f\r", *s))
        return fail(err, errlen, opt, s, "is not a number");
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    int range_err = errno == ERANGE;
    if (end == s || *end != '\0')
        return fail(err, errlen, opt, s, "is not a number");
    if (isnan(v))
        return fail(err, errlen, opt, s, "is not a finite number");
    if (isinf(v))
        return fail(err, errlen, opt, s,
                    range_err ? "overflows binary32 (max 3.4028235e38)"
                              : "is not a finite number");
    /* ERANGE with a subnormal result is fine (it is representable); a
     * nonzero text that rounds to zero is not what the user asked for. */
    if (range_err && v == 0.0f)
        return fail(err, errlen, opt, s,
                    "underflows binary32 (smallest 1.4e-45)");
    *out = v;
    return 0;
}

/* Counts the comma-separated items of s; an empty list or an empty item
 * ("a,,b", "a,", ",a") is an error naming the option and the whole list. */
static int check_list(const char *opt, const char *s, const char *kind,
                      size_t *count, char *err, size_t errlen)
{
    if (*s == '\0') {
        if (err && errlen)
            snprintf(err, errlen, "%s: empty list", opt);
        return -1;
    }
    size_t n = 1;
    const char *p = s;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == 0) {
            char q[72];
            if (err && errlen)
                snprintf(err, errlen, "%s: empty %s in '%s'", opt, kind,
                         quoted(s, q, sizeof q));
            return -1;
        }
        if (!c)
            break;
        n++;
        p = c + 1;
    }
    *count = n;
    return 0;
}

int ln_parse_u64_list(const char *opt, const char *s, uint64_t min,
                      uint64_t max, uint64_t **out, size_t *n, char *err,
                      size_t errlen)
{
    size_t count;
    if (!s)
        s = "";
    if (check_list(opt, s, "item", &count, err, errlen) != 0)
        return -1;
    uint64_t *v = malloc(count * sizeof *v);
    if (!v) {
        if (err && errlen)
            snprintf(err, errlen, "%s: out of memory", opt);
        return -1;
    }
    const char *p = s;
    for (size_t i = 0; i < count; i++) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        char item[72];
        size_t keep = len < sizeof item - 1 ? len : sizeof item - 1;
        memcpy(item, p, keep);
        item[keep] = '\0';
        if (parse_u64_span(opt, item, p, len, min, max, &v[i], err, errlen) != 0) {
            free(v);
            return -1;
        }
        /* A repeated value would measure and report the same thing twice. */
        for (size_t k = 0; k < i; k++) {
            if (v[k] == v[i]) {
                if (err && errlen)
                    snprintf(err, errlen, "%s: %llu is given twice", opt,
                             (unsigned long long)v[i]);
                free(v);
                return -1;
            }
        }
        p = c ? c + 1 : p + len;
    }
    *out = v;
    *n = count;
    return 0;
}

void ln_free_list(char **list, size_t n)
{
    if (!list)
        return;
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

int ln_parse_name_list(const char *opt, const char *s, char ***out, size_t *n,
                       char *err, size_t errlen)
{
    size_t count;
    if (!s)
        s = "";
    if (check_list(opt, s, "name", &count, err, errlen) != 0)
        return -1;
    char **v = calloc(count, sizeof *v);
    if (!v)
        goto oom;
    const char *p = s;
    for (size_t i = 0; i < count; i++) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        v[i] = malloc(len + 1);
        if (!v[i]) {
            ln_free_list(v, count);
            goto oom;
        }
        memcpy(v[i], p, len);
        v[i][len] = '\0';
        for (size_t k = 0; k < i; k++) {
            if (strcmp(v[k], v[i]) == 0) {
                char q[72];
                if (err && errlen)
                    snprintf(err, errlen, "%s: '%s' is given twice", opt,
                             quoted(v[i], q, sizeof q));
                ln_free_list(v, count);
                return -1;
            }
        }
        p = c ? c + 1 : p + len;
    }
    *out = v;
    *n = count;
    return 0;
oom:
    if (err && errlen)
        snprintf(err, errlen, "%s: out of memory", opt);
    return -1;
}

/* A short option character for a message ('?' when not printable ASCII). */
static char printable(int c)
{
    return c >= 0x20 && c < 0x7f ? (char)c : '?';
}

void ln_getopt_error(int c, char *const argv[], const struct option *longopts,
                     char *err, size_t errlen)
{
    /* getopt_long has stepped past the argument it refused. */
    const char *arg = optind > 0 ? argv[optind - 1] : "";
    const struct option *o = NULL;
    for (const struct option *p = longopts; optopt && p->name; p++)
        if (p->val == optopt) {
            o = p;
            break;
        }
    char q[72];
    if (c == ':' && o)
        snprintf(err, errlen, "--%s needs a value", o->name);
    else if (c == ':')
        snprintf(err, errlen, "-%c needs a value", printable(optopt));
    else if (o && o->has_arg == no_argument && strncmp(arg, "--", 2) == 0)
        snprintf(err, errlen, "--%s takes no value", o->name);
    else if (optopt)
        snprintf(err, errlen, "unknown option '-%c' (try --help)",
                 printable(optopt));
    else {
        /* An unknown (or ambiguous) long option: name it without its value. */
        size_t n = strcspn(arg, "=");
        char name[72];
        snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), arg);
        snprintf(err, errlen, "unknown option '%s' (try --help)", quoted(name, q, sizeof q));
    }
}

uint64_t ln_physical_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES);
    long page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0)
        return 0;
    return (uint64_t)pages * (uint64_t)page;
}
