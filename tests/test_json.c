/*
 * test_json.c - the JSON writer: exact output for compact and indented
 * documents, string escaping, null for non-finite numbers, numbers that
 * read back to the same double.
 */
#define _POSIX_C_SOURCE 200809L

#include "check.h"
#include "json.h"
#include "provenance.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *buf;
static size_t buflen;

static FILE *start(ln_json *j, int indent)
{
    FILE *f = open_memstream(&buf, &buflen);
    if (!f) {
        perror("open_memstream");
        exit(1);
    }
    ln_json_init(j, f, indent);
    return f;
}

/* Closes the stream and compares with the expected text. */
static void expect(FILE *f, const char *want, const char *what)
{
    fclose(f);
    CHECK(strcmp(buf, want) == 0, "%s:\n got: [%s]\nwant: [%s]", what, buf, want);
    free(buf);
    buf = NULL;
}

static void test_compact(void)
{
    ln_json j;
    FILE *f = start(&j, 0);
    ln_json_begin_object(&j);
    ln_json_kv_int(&j, "a", 1);
    ln_json_key(&j, "b");
    ln_json_begin_array(&j);
    ln_json_number(&j, 2.5);
    ln_json_number(&j, NAN);
    ln_json_number(&j, INFINITY);
    ln_json_number(&j, -INFINITY);
    ln_json_bool(&j, 1);
    ln_json_bool(&j, 0);
    ln_json_null(&j);
    ln_json_string(&j, NULL);
    ln_json_int(&j, -9223372036854775807LL - 1);
    ln_json_end_array(&j);
    ln_json_key(&j, "empty_o");
    ln_json_begin_object(&j);
    ln_json_end_object(&j);
    ln_json_key(&j, "empty_a");
    ln_json_begin_array(&j);
    ln_json_end_array(&j);
    ln_json_key(&j, "nested");
    ln_json_begin_array(&j);
    ln_json_begin_object(&j);
    ln_json_kv_bool(&j, "x", 1);
    ln_json_kv_number(&j, "y", -0.0);
    ln_json_end_object(&j);
    ln_json_begin_array(&j);
    ln_json_end_array(&j);
    ln_json_end_array(&j);
    ln_json_kv_string(&j, "s", "v");
    ln_json_end_object(&j);
    expect(f,
           "{\"a\":1,\"b\":[2.5,null,null,null,true,false,null,null,"
           "-9223372036854775808],\"empty_o\":{},\"empty_a\":[],"
           "\"nested\":[{\"x\":true,\"y\":-0},[]],\"s\":\"v\"}\n",
           "compact document");
}

static void test_indent(void)
{
    ln_json j;
    FILE *f = start(&j, 2);
    ln_json_begin_object(&j);
    ln_json_kv_string(&j, "k", "v");
    ln_json_key(&j, "list");
    ln_json_begin_array(&j);
    ln_json_int(&j, 1);
    ln_json_int(&j, 2);
    ln_json_end_array(&j);
    ln_json_key(&j, "none");
    ln_json_begin_array(&j);
    ln_json_end_array(&j);
    ln_json_end_object(&j);
    expect(f,
           "{\n"
           "  \"k\": \"v\",\n"
           "  \"list\": [\n"
           "    1,\n"
           "    2\n"
           "  ],\n"
           "  \"none\": []\n"
           "}\n",
           "indented document");

    /* Top-level array of objects (the results file's shape). */
    f = start(&j, 0);
    ln_json_begin_array(&j);
    ln_json_begin_object(&j);
    ln_json_end_object(&j);
    ln_json_begin_object(&j);
    ln_json_kv_int(&j, "i", 0);
    ln_json_end_object(&j);
    ln_json_end_array(&j);
    expect(f, "[{},{\"i\":0}]\n", "array of objects");
}

static void test_strings(void)
{
    ln_json j;
    FILE *f = start(&j, 0);
    ln_json_begin_array(&j);
    ln_json_string(&j, "quote\" back\\ slash/ nl\n cr\r tab\t bs\b ff\f");
    ln_json_string(&j, "\x01\x1f\x7f");
    ln_json_string(&j, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"); /* valid UTF-8 */
    ln_json_string(&j, "bad \xff \xc3( \xe2\x82 \xed\xa0\x80 \xc0\xaf end");
    ln_json_string(&j, "");
    ln_json_end_array(&j);
    expect(f,
           "[\"quote\\\" back\\\\ slash/ nl\\n cr\\r tab\\t bs\\b ff\\f\","
           "\"\\u0001\\u001f\x7f\","
           "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\","
           "\"bad \\ufffd \\ufffd( \\ufffd\\ufffd \\ufffd\\ufffd\\ufffd "
           "\\ufffd\\ufffd end\","
           "\"\"]\n",
           "escaping");

    /* Keys are escaped the same way. */
    f = start(&j, 0);
    ln_json_begin_object(&j);
    ln_json_kv_int(&j, "a\"b", 1);
    ln_json_end_object(&j);
    expect(f, "{\"a\\\"b\":1}\n", "key escaping");
}

static void test_numbers(void)
{
    static const double vals[] = { 0.1, 1.0 / 3.0, 1e300, 5e-324, -2.5e-310,
                                   123456789012345680.0, 3.4028234663852886e38,
                                   1.0000001192092896, 0.0 };
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        ln_json j;
        FILE *f = start(&j, 0);
        ln_json_number(&j, vals[i]);
        fclose(f);
        double back = strtod(buf, NULL);
        CHECK(back == vals[i] && signbit(back) == signbit(vals[i]),
              "%.17g written as %s", vals[i], buf);
        CHECK(strspn(buf, "0123456789-+.e") == strlen(buf), "not a JSON number: %s", buf);
        free(buf);
        buf = NULL;
    }
    ln_json j;
    FILE *f = start(&j, 0);
    ln_json_number(&j, 0.1);
    expect(f, "0.1", "shortest representation of 0.1");
    f = start(&j, 0);
    ln_json_number(&j, 2.0);
    expect(f, "2", "integral double");
}

/* Provenance members are all present, strings, and the date is ISO-8601
 * UTC; the ISA list is the caller's, in order, and may be empty. */
static void test_provenance(void)
{
    static const char *keys[] = { "version", "git_commit", "compiler", "c_flags",
                                  "build_type", "cpu_model", "hostname", "date" };
    static const char *const isas[] = {"avx2", "neon"};
    ln_json j;
    FILE *f = start(&j, 0);
    ln_json_begin_object(&j);
    ln_prov_write_context(&j, isas, 2);
    ln_json_end_object(&j);
    fclose(f);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char pat[64];
        snprintf(pat, sizeof pat, "\"%s\":\"", keys[i]);
        const char *p = strstr(buf, pat);
        CHECK(p != NULL, "member %s missing in %s", keys[i], buf);
        if (p)
            CHECK(p[strlen(pat)] != '"', "member %s is empty", keys[i]);
    }
    CHECK(strstr(buf, "\"isas\":[\"avx2\",\"neon\"]") != NULL, "isas not as given: %s", buf);
    /* The CPUID signature and its microarchitecture, present as members
     * (empty off x86 or for a model not in the table). */
    CHECK(strstr(buf, "\"cpu_signature\":\"") && strstr(buf, "\"cpu_uarch\":\""),
          "cpu_signature or cpu_uarch missing: %s", buf);
#if defined(__x86_64__)
    CHECK(strstr(ln_prov_cpu_signature(), " family ") != NULL, "x86 signature: '%s'",
          ln_prov_cpu_signature());
#endif
    free(buf);
    buf = NULL;

    char date[64];
    ln_prov_timestamp(date, sizeof date);
    int ok = strlen(date) == 20 && date[4] == '-' && date[7] == '-' && date[10] == 'T' &&
             date[13] == ':' && date[16] == ':' && date[19] == 'Z';
    CHECK(ok, "timestamp %s", date);
    CHECK(strcmp(ln_prov_cpu_model(), "") != 0 && strcmp(ln_prov_hostname(), "") != 0,
          "empty cpu model or hostname");

    f = start(&j, 0);
    ln_json_begin_object(&j);
    ln_prov_write_context(&j, NULL, 0);
    ln_json_end_object(&j);
    fclose(f);
    CHECK(strstr(buf, "\"isas\":[]") != NULL, "isas not empty when none given: %s", buf);
    free(buf);
    buf = NULL;
}

/* The family/model table: the two AMD EPYC hosts a VM calls by one name,
 * and neighbours that must not be taken for them. */
static void test_uarch_names(void)
{
    static const struct {
        const char *vendor;
        int family, model;
        const char *want;
    } cases[] = {
        {"AuthenticAMD", 23, 1, "Zen 1"},          {"AuthenticAMD", 23, 49, "Zen 2"},
        {"AuthenticAMD", 25, 1, "Zen 3"},          {"AuthenticAMD", 25, 17, "Zen 4"},
        {"AuthenticAMD", 25, 97, "Zen 4"},         {"AuthenticAMD", 25, 33, "Zen 3"},
        {"AuthenticAMD", 26, 2, "Zen 5"},          {"AuthenticAMD", 21, 1, ""},
        {"GenuineIntel", 6, 143, "Sapphire Rapids"}, {"GenuineIntel", 6, 85, "Skylake-SP"},
        {"GenuineIntel", 6, 142, ""},              {"GenuineIntel", 15, 143, ""},
        {"HygonGenuine", 24, 1, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = ln_cpu_uarch_name(cases[i].vendor, cases[i].family, cases[i].model);
        CHECK(strcmp(got, cases[i].want) == 0, "%s family %d model %d: '%s', want '%s'",
              cases[i].vendor, cases[i].family, cases[i].model, got, cases[i].want);
    }
    CHECK(strcmp(ln_cpu_uarch_name(NULL, 25, 17), "") == 0, "NULL vendor");
}

int main(void)
{
    test_uarch_names();
    test_compact();
    test_indent();
    test_strings();
    test_numbers();
    test_provenance();
    return CHECK_DONE("test_json");
}
