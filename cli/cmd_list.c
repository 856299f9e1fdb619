/*
 * cmd_list.c - `lnbench list`: every kernel in the registry, whether this
 * host can run it and, if not, why.
 */
#include "commands.h"
#include "lnbench_kernel.h"

#include <stdio.h>
#include <string.h>

static const char list_help[] =
    "usage: lnbench list\n"
    "\n"
    "Lists every kernel in the registry with its family, whether this host can\n"
    "run it (and if not, why) and a one-line description.  Kernels masked with\n"
    "LNBENCH_DISABLE_ISA show as unavailable.\n";

int cmd_list(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(list_help, stdout);
            return 0;
        }
        fprintf(stderr, "lnbench list: unknown option '%s' (try --help)\n", argv[i]);
        return 2;
    }
    printf("%-20s %-8s %-40s %s\n", "kernel", "family", "available", "description");
    for (size_t i = 0; i < ln_kernel_count; i++) {
        const ln_kernel *k = ln_kernels[i];
        const char *why = ln_kernel_unavailable(k);
        char avail[64];
        snprintf(avail, sizeof avail, "%s%s", why ? "no: " : "yes", why ? why : "");
        printf("%-20s %-8s %-40s %s\n", k->name, k->family, avail, k->description);
    }
    return 0;
}
