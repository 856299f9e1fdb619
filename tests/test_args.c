/*
 * test_args.c - strict value parsers: good values parse, every kind of bad
 * value is refused with a one-line message naming the option and value.
 */
#include "args.h"
#include "check.h"

#include <float.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void u64_ok(const char *s, uint64_t min, uint64_t max, uint64_t want)
{
    uint64_t v = 0;
    char err[200] = "";
    CHECK(ln_parse_u64("--rows", s, min, max, &v, err, sizeof err) == 0 && v == want,
          "'%s' -> %llu (%s)", s, (unsigned long long)v, err);
}

static void u64_bad(const char *s, uint64_t min, uint64_t max, const char *msg)
{
    uint64_t v = 77;
    char err[200] = "";
    int rc = ln_parse_u64("--dims", s, min, max, &v, err, sizeof err);
    CHECK(rc == -1, "'%s' accepted", s);
    CHECK(v == 77, "'%s': output written on error", s);
    CHECK(strcmp(err, msg) == 0, "'%s': got \"%s\", want \"%s\"", s, err, msg);
}

static void test_u64(void)
{
    u64_ok("1", 1, 100, 1);
    u64_ok("100", 1, 100, 100);
    u64_ok("0", 0, 5, 0);
    u64_ok("007", 1, 100, 7);
    u64_ok("18446744073709551615", 0, UINT64_MAX, UINT64_MAX);

    u64_bad("-3", 1, 100, "--dims: '-3' is not a positive integer");
    u64_bad("-0", 0, 100, "--dims: '-0' is not a non-negative integer");
    u64_bad("+3", 1, 100, "--dims: '+3' is not a number");
    u64_bad(" 3", 1, 100, "--dims: ' 3' is not a number");
    u64_bad("3 ", 1, 100, "--dims: '3 ' is not a number");
    u64_bad("", 1, 100, "--dims: '' is empty, expected a number");
    u64_bad("1e9x", 1, 100, "--dims: '1e9x' is not a number");
    u64_bad("1e9", 1, 100, "--dims: '1e9' is not a number");
    u64_bad("0x10", 1, 100, "--dims: '0x10' is not a number");
    u64_bad("3.0", 1, 100, "--dims: '3.0' is not a number");
    u64_bad("abc", 1, 100, "--dims: 'abc' is not a number");
    u64_bad("0", 1, 100, "--dims: '0' is not a positive integer");
    u64_bad("101", 1, 100, "--dims: '101' is out of range (must be 1 to 100)");
    u64_bad("2", 3, 100, "--dims: '2' is out of range (must be 3 to 100)");
    u64_bad("2", 3, UINT64_MAX, "--dims: '2' is out of range (must be at least 3)");
    u64_bad("18446744073709551616", 0, UINT64_MAX,
            "--dims: '18446744073709551616' is too large");
    u64_bad("99999999999999999999999", 1, 100,
            "--dims: '99999999999999999999999' is out of range (must be 1 to 100)");
    u64_bad("99999999999999999999x", 1, 100,
            "--dims: '99999999999999999999x' is not a number");
    u64_bad("1\n2", 1, 100, "--dims: '1?2' is not a number"); /* one line */

    /* NULL value (missing argument) and a long value are reported sanely. */
    uint64_t v;
    char err[200];
    CHECK(ln_parse_u64("--rows", NULL, 1, 10, &v, err, sizeof err) == -1, "NULL");
    char longv[300];
    memset(longv, '9', sizeof longv - 2);
    longv[sizeof longv - 2] = 'x';
    longv[sizeof longv - 1] = '\0';
    CHECK(ln_parse_u64("--rows", longv, 1, 10, &v, err, sizeof err) == -1, "long");
    CHECK(strstr(err, "...") && strlen(err) < 150, "long value message: %s", err);
    /* A tiny buffer truncates, never overflows. */
    char small[8];
    CHECK(ln_parse_u64("--rows", "x", 1, 10, &v, small, sizeof small) == -1 &&
          strlen(small) == 7, "small buffer: '%s'", small);
}

static void float_ok(const char *s, float want)
{
    float v = -1;
    char err[200] = "";
    CHECK(ln_parse_float("--eps", s, &v, err, sizeof err) == 0 && v == want,
          "'%s' -> %a (%s)", s, v, err);
}

static void float_bad(const char *s, const char *needle)
{
    float v = 77;
    char err[200] = "";
    CHECK(ln_parse_float("--eps", s, &v, err, sizeof err) == -1, "'%s' accepted", s);
    CHECK(v == 77, "'%s': output written on error", s);
    CHECK(strncmp(err, "--eps: '", 8) == 0 && strstr(err, needle),
          "'%s': message \"%s\" lacks \"%s\"", s, err, needle);
}

static void test_float(void)
{
    float_ok("1e-5", 1e-5f);
    float_ok("0.00001", 1e-5f);
    float_ok("0", 0.0f);
    float_ok("-2.5", -2.5f);
    float_ok("3.4028235e38", FLT_MAX);
    float_ok("1e-45", 1.4e-45f);      /* subnormal: representable */
    float_ok("0x1p-20", 0x1p-20f);

    float_bad("", "is empty");
    float_bad(" 1e-5", "is not a number");
    float_bad("1e-5 ", "is not a number");
    float_bad("1e-5x", "is not a number");
    float_bad("abc", "is not a number");
    float_bad("nan", "is not a finite number");
    float_bad("NaN", "is not a finite number");
    float_bad("inf", "is not a finite number");
    float_bad("-infinity", "is not a finite number");
    float_bad("1e39", "overflows binary32");
    float_bad("-1e39", "overflows binary32");
    float_bad("1e-50", "underflows binary32");
}

static void test_lists(void)
{
    uint64_t *v = NULL;
    size_t n = 0;
    char err[200] = "";
    CHECK(ln_parse_u64_list("--dims", "1,3,4096", 1, 1 << 20, &v, &n, err, sizeof err) == 0
          && n == 3 && v[0] == 1 && v[1] == 3 && v[2] == 4096, "good list: %s", err);
    free(v);
    CHECK(ln_parse_u64_list("--dims", "7", 1, 10, &v, &n, err, sizeof err) == 0 && n == 1 &&
          v[0] == 7, "single item");
    free(v);

    static const struct { const char *s, *msg; } bad[] = {
        { "", "--dims: empty list" },
        { "1,,2", "--dims: empty item in '1,,2'" },
        { "1,", "--dims: empty item in '1,'" },
        { ",1", "--dims: empty item in ',1'" },
        { "1,-3", "--dims: '-3' is not a positive integer" },
        { "1,0", "--dims: '0' is not a positive integer" },
        { "64,abc", "--dims: 'abc' is not a number" },
        { "64, 65", "--dims: ' 65' is not a number" },
        { "64,2000000", "--dims: '2000000' is out of range (must be 1 to 1048576)" },
        { "64,65,64", "--dims: 64 is given twice" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = NULL;
        CHECK(ln_parse_u64_list("--dims", bad[i].s, 1, 1 << 20, &v, &n, err, sizeof err)
              == -1, "'%s' accepted", bad[i].s);
        CHECK(strcmp(err, bad[i].msg) == 0, "'%s': got \"%s\" want \"%s\"", bad[i].s, err,
              bad[i].msg);
        CHECK(v == NULL, "'%s': output set on error", bad[i].s);
    }

    char **names = NULL;
    CHECK(ln_parse_name_list("--kernels", "welford,naive_two_pass", &names, &n, err,
                             sizeof err) == 0 && n == 2 &&
          strcmp(names[0], "welford") == 0 && strcmp(names[1], "naive_two_pass") == 0,
          "good names: %s", err);
    ln_free_list(names, n);
    static const struct { const char *s, *msg; } badn[] = {
        { "", "--kernels: empty list" },
        { "a,,b", "--kernels: empty name in 'a,,b'" },
        { "a,", "--kernels: empty name in 'a,'" },
        { ",", "--kernels: empty name in ','" },
        { "a,b,a", "--kernels: 'a' is given twice" },
    };
    for (size_t i = 0; i < sizeof badn / sizeof badn[0]; i++) {
        names = NULL;
        CHECK(ln_parse_name_list("--kernels", badn[i].s, &names, &n, err, sizeof err) == -1,
              "'%s' accepted", badn[i].s);
        CHECK(strcmp(err, badn[i].msg) == 0, "'%s': got \"%s\" want \"%s\"", badn[i].s,
              err, badn[i].msg);
        CHECK(names == NULL, "'%s': output set on error", badn[i].s);
    }
    ln_free_list(NULL, 0); /* must be harmless */
}

static void test_memory(void)
{
    uint64_t m = ln_physical_memory();
    /* Any machine that builds this has between 64 MiB and 64 TiB. */
    CHECK(m >= (64ull << 20) && m <= (64ull << 40), "physical memory %llu",
          (unsigned long long)m);
}

/* getopt_long as the commands call it ("+:h", opterr = 0): both value forms,
 * `--` ending the options, Google Benchmark's flags seen as unknown long
 * options (so a command can pass them on), and ln_getopt_error's lines. */
enum { OPT_DIMS = 256, OPT_FORCE };
static const struct option test_options[] = {
    {"dims", required_argument, NULL, OPT_DIMS},
    {"force", no_argument, NULL, OPT_FORCE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Runs getopt_long over argv (argc entries) until it ends or fails; the
 * last return, the --dims value seen, and the message of a failure. */
static int getopt_run(int argc, char **argv, const char **dims, char *err, size_t errlen)
{
    int c;
    optind = 0; /* glibc: start afresh */
    opterr = 0;
    *dims = NULL;
    err[0] = '\0';
    while ((c = getopt_long(argc, argv, "+:h", test_options, NULL)) != -1) {
        if (c == OPT_DIMS)
            *dims = optarg;
        else if (c == '?' || c == ':') {
            ln_getopt_error(c, argv, test_options, err, errlen);
            return c;
        }
    }
    return c;
}

static void test_getopt(void)
{
    const char *dims;
    char err[200];
    uint64_t *v = NULL;
    size_t n = 0;

    char *eq[] = {"speed", "--dims=768,4096", NULL};
    CHECK(getopt_run(2, eq, &dims, err, sizeof err) == -1 && dims &&
          strcmp(dims, "768,4096") == 0, "--dims=768,4096 -> %s (%s)", dims ? dims : "-", err);
    CHECK(dims && ln_parse_u64_list("--dims", dims, 1, 1u << 26, &v, &n, err, sizeof err) == 0 &&
          n == 2 && v[0] == 768 && v[1] == 4096, "--dims=768,4096 parsed: %s", err);
    free(v);
    char *sep[] = {"speed", "--dims", "768", NULL};
    CHECK(getopt_run(3, sep, &dims, err, sizeof err) == -1 && dims && strcmp(dims, "768") == 0,
          "--dims 768 (%s)", err);
    /* The strict checks still apply to a value given with '='. */
    char *bad[] = {"speed", "--dims=-3", NULL};
    CHECK(getopt_run(2, bad, &dims, err, sizeof err) == -1 && dims &&
          ln_parse_u64_list("--dims", dims, 1, 100, &v, &n, err, sizeof err) == -1 &&
          strcmp(err, "--dims: '-3' is not a positive integer") == 0, "--dims=-3: %s", err);

    char *dashdash[] = {"speed", "--dims", "7", "--", "--dims=9", NULL};
    CHECK(getopt_run(5, dashdash, &dims, err, sizeof err) == -1 && optind == 4 &&
          strcmp(dims, "7") == 0, "-- did not end the options: optind %d", optind);
    char *operand[] = {"speed", "x", "--dims=9", NULL};
    CHECK(getopt_run(3, operand, &dims, err, sizeof err) == -1 && optind == 1 && !dims,
          "an operand did not end the options: optind %d", optind);

    char *gb[] = {"speed", "--benchmark_min_time=0.01", "--dims=5", NULL};
    CHECK(getopt_run(3, gb, &dims, err, sizeof err) == '?' && optopt == 0 &&
          strcmp(gb[optind - 1], "--benchmark_min_time=0.01") == 0,
          "a Google Benchmark flag is not found at optind - 1 (optind %d)", optind);

    static const struct { const char *arg, *msg; } bads[] = {
        {"--frob", "unknown option '--frob' (try --help)"},
        {"--frob=3", "unknown option '--frob' (try --help)"},
        {"-x", "unknown option '-x' (try --help)"},
        {"--dims", "--dims needs a value"},
        {"--force=yes", "--force takes no value"},
    };
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        char arg[32];
        snprintf(arg, sizeof arg, "%s", bads[i].arg);
        char *argv[] = {"speed", arg, NULL};
        int c = getopt_run(2, argv, &dims, err, sizeof err);
        CHECK((c == '?' || c == ':') && strcmp(err, bads[i].msg) == 0,
              "%s: got %d \"%s\", want \"%s\"", bads[i].arg, c, err, bads[i].msg);
    }
}

int main(void)
{
    test_getopt();
    test_u64();
    test_float();
    test_lists();
    test_memory();
    return CHECK_DONE("test_args");
}
