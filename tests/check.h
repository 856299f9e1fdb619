/*
 * check.h - the one assertion vocabulary of the C tests.
 *
 *   CHECK(cond, fmt, ...)   record a failure (with file:line and the message)
 *                           and go on; the first CHECK_REPORT_MAX are printed
 *   CHECK_FAIL(fmt, ...)    record a failure found outside a condition
 *   CHECK_DONE(name)        print "name: N failure(s)" and give the exit
 *                           status: return CHECK_DONE("test_x"); from main
 *   check_failures          the count so far (to print context once)
 *
 * The message is required: ISO C11 wants at least one argument for "...".
 *
 * Tests go on after a failed check so that one run shows every broken case.
 */
#ifndef LNBENCH_TEST_CHECK_H
#define LNBENCH_TEST_CHECK_H

#include <stdio.h>

#define CHECK_REPORT_MAX 40

static int check_failures;

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond) && check_failures++ < CHECK_REPORT_MAX) {                   \
            fprintf(stderr, "%s:%d: check failed: %s;", __FILE__, __LINE__,    \
                    #cond);                                                     \
            fprintf(stderr, " " __VA_ARGS__);                                   \
            fputc('\n', stderr);                                                \
        }                                                                       \
    } while (0)

/* A failure found outside a CHECK (e.g. a helper that returned an error). */
#define CHECK_FAIL(...) CHECK(0, __VA_ARGS__)

static inline int check_done(const char *name)
{
    if (check_failures) {
        fprintf(stderr, "%s: %d failure(s)\n", name, check_failures);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}
#define CHECK_DONE(name) check_done(name)

#endif
