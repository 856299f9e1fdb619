/*
 * provenance.h - where a result came from: recorded in every result file.
 */
#ifndef LNBENCH_PROVENANCE_H
#define LNBENCH_PROVENANCE_H

#include "json.h"

const char *ln_prov_version(void);    /* lnbench version */
const char *ln_prov_git_commit(void); /* at build time, "-dirty" if so (git_commit.cmake) */
const char *ln_prov_compiler(void);   /* e.g. "GNU 12.2.0" */
const char *ln_prov_c_flags(void);    /* the flags the C sources were built with */
const char *ln_prov_build_type(void); /* Release, Debug, ... */
const char *ln_prov_cpu_model(void);  /* from /proc/cpuinfo (or "unknown") */
/* x86 only, "" elsewhere: "AuthenticAMD family 25 model 17 stepping 1",
 * and the microarchitecture it names ("Zen 4"; "" when not in the table) */
const char *ln_prov_cpu_signature(void);
const char *ln_prov_cpu_uarch(void);
const char *ln_cpu_uarch_name(const char *vendor, int family, int model);
const char *ln_prov_hostname(void);
/* "2026-11-21T23:59:59Z" of this call, UTC */
void ln_prov_timestamp(char *buf, size_t len);

/* Writes "key": value members for all of the above into the currently open
 * object, and "isas": the nisas names given.  The caller knows which
 * instruction sets the run may use (the kernels' probes); common/ does not
 * depend on kernels/. */
void ln_prov_write_context(ln_json *j, const char *const *isas, size_t nisas);

#endif
