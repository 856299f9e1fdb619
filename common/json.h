/*
 * json.h - a small streaming JSON writer (strict JSON: NaN and infinities
 * are written as null, strings escaped, invalid UTF-8 bytes replaced by
 * U+FFFD).  Commas and nesting are tracked for the caller.  Closing the
 * outermost object or array also writes the final newline.
 */
#ifndef LNBENCH_JSON_H
#define LNBENCH_JSON_H

#include <stddef.h>
#include <stdio.h>

typedef struct ln_json {
    FILE *f;
    int depth;
    int need_comma[64];
    int after_key;
    int indent; /* spaces per level; 0 = compact */
} ln_json;

void ln_json_init(ln_json *j, FILE *f, int indent);
void ln_json_begin_object(ln_json *j);
void ln_json_end_object(ln_json *j);
void ln_json_begin_array(ln_json *j);
void ln_json_end_array(ln_json *j);
void ln_json_key(ln_json *j, const char *key);
void ln_json_string(ln_json *j, const char *s);   /* NULL writes null */
void ln_json_number(ln_json *j, double v);        /* %.17g; non-finite -> null */
void ln_json_int(ln_json *j, long long v);
void ln_json_uint(ln_json *j, unsigned long long v); /* all of uint64_t: seeds */
void ln_json_bool(ln_json *j, int v);
void ln_json_null(ln_json *j);
/* key + value shorthands */
void ln_json_kv_string(ln_json *j, const char *key, const char *s);
void ln_json_kv_number(ln_json *j, const char *key, double v);
void ln_json_kv_int(ln_json *j, const char *key, long long v);
void ln_json_kv_uint(ln_json *j, const char *key, unsigned long long v);
void ln_json_kv_bool(ln_json *j, const char *key, int v);

#endif
