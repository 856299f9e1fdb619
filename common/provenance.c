/*
 * provenance.c - where a result came from.
 *
 * Build facts come from compile definitions set in common/CMakeLists.txt
 * (captured at configure time); host facts from /proc/cpuinfo, gethostname
 * and the clock.  Every result file records them, so numbers from different
 * compilers, flags or machines are never confused.
 */
#define _POSIX_C_SOURCE 200809L

#include "provenance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef LNBENCH_VERSION
#define LNBENCH_VERSION "unknown"
#endif
#ifndef LNBENCH_COMPILER
#define LNBENCH_COMPILER "unknown"
#endif
#ifndef LNBENCH_C_FLAGS
#define LNBENCH_C_FLAGS "unknown"
#endif
#ifndef LNBENCH_BUILD_TYPE
#define LNBENCH_BUILD_TYPE "unknown"
#endif

const char *ln_prov_version(void) { return LNBENCH_VERSION; }
const char *ln_prov_compiler(void) { return LNBENCH_COMPILER; }
const char *ln_prov_c_flags(void) { return LNBENCH_C_FLAGS; }

const char *ln_prov_build_type(void)
{
    /* Multi-config generators leave CMAKE_BUILD_TYPE empty. */
    return LNBENCH_BUILD_TYPE[0] ? LNBENCH_BUILD_TYPE : "unknown";
}

/* The value after "key<blanks>: " on a /proc/cpuinfo line, trimmed, or NULL. */
static const char *cpuinfo_value(char *line, const char *key)
{
    size_t n = strlen(key);
    if (strncmp(line, key, n) != 0)
        return NULL;
    char *p = line + n;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != ':')
        return NULL;
    p++;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t len = strlen(p);
    while (len && (p[len - 1] == '\n' || p[len - 1] == ' ' || p[len - 1] == '\t'))
        p[--len] = '\0';
    return len ? p : NULL;
}

const char *ln_prov_cpu_model(void)
{
    static char model[256];
    if (model[0])
        return model;
    snprintf(model, sizeof model, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return model;
    /* x86 has "model name"; AArch64 kernels print "CPU implementer" and
     * "CPU part" codes, some add "Hardware" or "model name" too. */
    char line[512], hw[128] = "", impl[32] = "", part[32] = "";
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        const char *v;
        if ((v = cpuinfo_value(line, "model name")) != NULL) {
            snprintf(model, sizeof model, "%s", v);
            found = 1;
            break;
        }
        if (!hw[0] && (v = cpuinfo_value(line, "Hardware")) != NULL)
            snprintf(hw, sizeof hw, "%s", v);
        if (!impl[0] && (v = cpuinfo_value(line, "CPU implementer")) != NULL)
            snprintf(impl, sizeof impl, "%s", v);
        if (!part[0] && (v = cpuinfo_value(line, "CPU part")) != NULL)
            snprintf(part, sizeof part, "%s", v);
    }
    fclose(f);
    if (!found) {
        if (hw[0])
            snprintf(model, sizeof model, "%s", hw);
        else if (part[0])
            snprintf(model, sizeof model, "CPU implementer %s part %s",
                     impl[0] ? impl : "?", part);
    }
    return model;
}

/* Published family/model ranges (AMD's and Intel's model numbering);
 * a VM often hides the model name ("AMD EPYC" for Naples and Genoa alike)
 * but not the CPUID signature, and the microarchitecture is what decides
 * cache sizes, vector width and the streaming limit. */
const char *ln_cpu_uarch_name(const char *vendor, int family, int model)
{
    if (!vendor)
        return "";
    if (strcmp(vendor, "AuthenticAMD") == 0) {
        if (family == 0x17)
            return model < 0x30 ? "Zen 1" : "Zen 2";
        if (family == 0x19) {
            if ((model >= 0x10 && model <= 0x1f) || (model >= 0x60 && model <= 0x7f))
                return "Zen 4";
            if (model >= 0xa0 && model <= 0xaf)
                return "Zen 4c";
            return "Zen 3";
        }
        if (family == 0x1a)
            return "Zen 5";
        return "";
    }
    if (strcmp(vendor, "GenuineIntel") == 0 && family == 6) {
        static const struct {
            int model;
            const char *name;
        } intel[] = {
            {0x3f, "Haswell"},          {0x4f, "Broadwell"},      {0x55, "Skylake-SP"},
            {0x6a, "Ice Lake-SP"},      {0x6c, "Ice Lake-SP"},    {0x8f, "Sapphire Rapids"},
            {0xcf, "Emerald Rapids"},   {0xad, "Granite Rapids"}, {0xaf, "Sierra Forest"},
        };
        for (size_t i = 0; i < sizeof intel / sizeof intel[0]; i++)
            if (intel[i].model == model)
                return intel[i].name;
    }
    return "";
}

/* vendor_id, cpu family, model and stepping of /proc/cpuinfo's first CPU,
 * read once (x86 only; ok = 0 elsewhere). */
typedef struct cpu_sig {
    int ok, family, model, stepping;
    char vendor[64];
} cpu_sig;

static const cpu_sig *cpu_signature(void)
{
    static cpu_sig sig;
    static int done;
    if (done)
        return &sig;
    done = 1;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return &sig;
    char line[512];
    int have = 0;
    sig.family = sig.model = sig.stepping = -1;
    while (fgets(line, sizeof line, f) && have != 15) {
        const char *v;
        if (!(have & 1) && (v = cpuinfo_value(line, "vendor_id")) != NULL) {
            snprintf(sig.vendor, sizeof sig.vendor, "%s", v);
            have |= 1;
        } else if (!(have & 2) && (v = cpuinfo_value(line, "cpu family")) != NULL) {
            sig.family = atoi(v);
            have |= 2;
        } else if (!(have & 4) && (v = cpuinfo_value(line, "model")) != NULL) {
            sig.model = atoi(v);
            have |= 4;
        } else if (!(have & 8) && (v = cpuinfo_value(line, "stepping")) != NULL) {
            sig.stepping = atoi(v);
            have |= 8;
        }
    }
    fclose(f);
    sig.ok = (have & 7) == 7;
    return &sig;
}

const char *ln_prov_cpu_signature(void)
{
    static char text[192];
    const cpu_sig *s = cpu_signature();
    if (s->ok && !text[0])
        snprintf(text, sizeof text, "%s family %d model %d stepping %d", s->vendor, s->family,
                 s->model, s->stepping);
    return text;
}

const char *ln_prov_cpu_uarch(void)
{
    const cpu_sig *s = cpu_signature();
    return s->ok ? ln_cpu_uarch_name(s->vendor, s->family, s->model) : "";
}

const char *ln_prov_hostname(void)
{
    static char host[256];
    if (host[0])
        return host;
    if (gethostname(host, sizeof host - 1) != 0 || !host[0])
        snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    return host;
}

void ln_prov_timestamp(char *buf, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    if (len == 0)
        return;
    if (!gmtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, len, "unknown");
}

void ln_prov_write_context(ln_json *j, const char *const *isas, size_t nisas)
{
    char date[32];
    ln_prov_timestamp(date, sizeof date);
    ln_json_kv_string(j, "version", ln_prov_version());
    ln_json_kv_string(j, "git_commit", ln_prov_git_commit());
    ln_json_kv_string(j, "compiler", ln_prov_compiler());
    ln_json_kv_string(j, "c_flags", ln_prov_c_flags());
    ln_json_kv_string(j, "build_type", ln_prov_build_type());
    ln_json_kv_string(j, "cpu_model", ln_prov_cpu_model());
    ln_json_kv_string(j, "cpu_signature", ln_prov_cpu_signature());
    ln_json_kv_string(j, "cpu_uarch", ln_prov_cpu_uarch());
    ln_json_kv_string(j, "hostname", ln_prov_hostname());
    ln_json_kv_string(j, "date", date);
    ln_json_key(j, "isas");
    ln_json_begin_array(j);
    for (size_t i = 0; i < nisas; i++)
        ln_json_string(j, isas[i]);
    ln_json_end_array(j);
}
