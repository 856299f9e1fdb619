/*
 * args.h - strict parsing of command-line values.  Every parser returns 0, or
 * -1 with a one-line message in err naming the option and the bad value
 * ("--dims: '-3' is not a positive integer").
 */
#ifndef LNBENCH_ARGS_H
#define LNBENCH_ARGS_H

#include <stddef.h>
#include <stdint.h>

/* A decimal integer in [min, max]; no sign, no trailing junk, no overflow. */
int ln_parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max,
                 uint64_t *out, char *err, size_t errlen);
/* A finite binary32 value (strtof), e.g. --eps. */
int ln_parse_float(const char *opt, const char *s, float *out, char *err,
                   size_t errlen);
/* A comma list of integers in [min, max]; *out malloc'd. Empty items are
 * an error. */
int ln_parse_u64_list(const char *opt, const char *s, uint64_t min,
                      uint64_t max, uint64_t **out, size_t *n, char *err,
                      size_t errlen);
/* A comma list of names; *out malloc'd array of malloc'd strings
 * (free with ln_free_list). */
int ln_parse_name_list(const char *opt, const char *s, char ***out, size_t *n,
                       char *err, size_t errlen);
void ln_free_list(char **list, size_t n);

/* The one-line message for getopt_long's error returns: c is '?' or ':'
 * (getopt_long called with opterr = 0 and an optstring whose first
 * character, after any '+', is ':'); optind, optopt and argv say which
 * argument was wrong:
 *     "unknown option '--frob' (try --help)"
 *     "--dims needs a value"
 *     "--force takes no value"
 * Long options without a short form must have a val outside the short
 * options' characters (e.g. 256 and up), so the two never mix. */
struct option;
void ln_getopt_error(int c, char *const argv[], const struct option *longopts,
                     char *err, size_t errlen);

/* Bytes of physical memory (0 if unknown), to refuse shapes that cannot fit. */
uint64_t ln_physical_memory(void);

#endif
