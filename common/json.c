/*
 * json.c - a small streaming JSON writer.
 *
 * Output is strict JSON (RFC 8259): NaN and infinities become null (JSON has
 * no spelling for them), strings are escaped and invalid UTF-8 bytes are
 * replaced by U+FFFD, numbers use the shortest "%.*g" that reads back to the
 * same double.  The writer tracks commas and nesting; the caller only says
 * what comes next.  Closing the outermost container ends the line.
 */
#include "json.h"

#include <math.h>
#include <stdlib.h>

#define LN_JSON_MAX_DEPTH ((int)(sizeof(((ln_json *)0)->need_comma) / sizeof(int)) - 1)

void ln_json_init(ln_json *j, FILE *f, int indent)
{
    j->f = f;
    j->depth = 0;
    j->need_comma[0] = 0;
    j->after_key = 0;
    j->indent = indent < 0 ? 0 : indent;
}

static void newline_indent(ln_json *j, int depth)
{
    if (j->indent <= 0)
        return;
    fputc('\n', j->f);
    for (int i = 0; i < depth * j->indent; i++)
        fputc(' ', j->f);
}

/* Everything that starts a value or a key comes through here: a value right
 * after its key needs nothing; otherwise a comma if this container already
 * has an element, then a line break in indented mode. */
static void before_item(ln_json *j)
{
    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    if (j->depth == 0)
        return;
    if (j->need_comma[j->depth])
        fputc(',', j->f);
    j->need_comma[j->depth] = 1;
    newline_indent(j, j->depth);
}

static void begin(ln_json *j, int c)
{
    before_item(j);
    fputc(c, j->f);
    /* Deeper nesting than the table allows is a programming error; keep
     * writing (the brackets stay balanced) but stop tracking commas. */
    if (j->depth < LN_JSON_MAX_DEPTH) {
        j->depth++;
        j->need_comma[j->depth] = 0;
    }
}

static void end(ln_json *j, int c)
{
    if (j->depth > 0) {
        int had_items = j->need_comma[j->depth];
        j->depth--;
        if (had_items)
            newline_indent(j, j->depth);
    }
    fputc(c, j->f);
    if (j->depth == 0)
        fputc('\n', j->f);
}

void ln_json_begin_object(ln_json *j) { begin(j, '{'); }
void ln_json_end_object(ln_json *j) { end(j, '}'); }
void ln_json_begin_array(ln_json *j) { begin(j, '['); }
void ln_json_end_array(ln_json *j) { end(j, ']'); }

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid
 * (overlong forms, surrogates and code points above U+10FFFF included). */
static int utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        if (s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80)
            return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        if (s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80 ||
            (s[3] & 0xC0) != 0x80)
            return 0;
        return 4;
    }
    return 0;
}

static void write_string(FILE *f, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    fputc('"', f);
    while (*s) {
        unsigned c = *s;
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc((int)c, f);
            s++;
        } else if (c < 0x20) {
            switch (c) {
            case '\n': fputs("\\n", f); break;
            case '\r': fputs("\\r", f); break;
            case '\t': fputs("\\t", f); break;
            case '\b': fputs("\\b", f); break;
            case '\f': fputs("\\f", f); break;
            default: fprintf(f, "\\u%04x", c); break;
            }
            s++;
        } else {
            /* utf8_len reads at most up to the first byte that breaks the
             * sequence, and the NUL terminator always breaks it. */
            int n = utf8_len(s);
            if (n == 0) {
                fputs("\\ufffd", f);
                s++;
            } else {
                fwrite(s, 1, (size_t)n, f);
                s += n;
            }
        }
    }
    fputc('"', f);
}

void ln_json_key(ln_json *j, const char *key)
{
    before_item(j);
    write_string(j->f, key ? key : "");
    fputs(j->indent > 0 ? ": " : ":", j->f);
    j->after_key = 1;
}

void ln_json_string(ln_json *j, const char *s)
{
    before_item(j);
    if (s)
        write_string(j->f, s);
    else
        fputs("null", j->f);
}

void ln_json_number(ln_json *j, double v)
{
    before_item(j);
    if (!isfinite(v)) {
        fputs("null", j->f);
        return;
    }
    /* Shortest of %.15g..%.17g that reads back exactly: 0.1 stays "0.1"
     * rather than 0.10000000000000001, and no value loses a bit.  %g never
     * produces anything JSON forbids for finite values ("1e+30", "-0" and
     * "5" are all valid JSON numbers). */
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (prec == 17 || strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, j->f);
}

void ln_json_int(ln_json *j, long long v)
{
    before_item(j);
    fprintf(j->f, "%lld", v);
}

void ln_json_uint(ln_json *j, unsigned long long v)
{
    before_item(j);
    fprintf(j->f, "%llu", v);
}

void ln_json_bool(ln_json *j, int v)
{
    before_item(j);
    fputs(v ? "true" : "false", j->f);
}

void ln_json_null(ln_json *j)
{
    before_item(j);
    fputs("null", j->f);
}

void ln_json_kv_string(ln_json *j, const char *key, const char *s)
{
    ln_json_key(j, key);
    ln_json_string(j, s);
}

void ln_json_kv_number(ln_json *j, const char *key, double v)
{
    ln_json_key(j, key);
    ln_json_number(j, v);
}

void ln_json_kv_int(ln_json *j, const char *key, long long v)
{
    ln_json_key(j, key);
    ln_json_int(j, v);
}

void ln_json_kv_uint(ln_json *j, const char *key, unsigned long long v)
{
    ln_json_key(j, key);
    ln_json_uint(j, v);
}

void ln_json_kv_bool(ln_json *j, const char *key, int v)
{
    ln_json_key(j, key);
    ln_json_bool(j, v);
}
