/*
 * main.c - `lnbench <command> [options]`: dispatch to the subcommands.
 */
#include "commands.h"
#include "cpu_features.h"
#include "provenance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"list", cmd_list, "list every kernel and whether this host can run it"},
    {"accuracy", cmd_accuracy, "ulp error of every kernel against the MPFR ground truth"},
#ifdef LNBENCH_HAVE_SPEED
    {"speed", cmd_speed, "time the kernels under Google Benchmark, threads pinned"},
#endif
};

static void usage(FILE *f)
{
    fprintf(f, "usage: lnbench <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n`lnbench <command> --help` describes a command's options.\n"
               "LNBENCH_DISABLE_ISA=avx512,avx2,neon|all masks instruction sets off\n"
               "(" LN_AVX512BF16_NAME ": only AVX512_BF16's bf16 conversions).\n"
               "NO_COLOR (set, not empty) turns colour off (lnbench speed passes it on).\n"
               "Exit status: 0 done, 1 a command failed, 2 bad usage or input.\n");
}

/* LNBENCH_DISABLE_ISA may only name instruction sets lnbench knows (or
 * "all"): a typo would silently leave the path meant to be masked on. */
static int disable_isa_ok(void)
{
    const char *env = getenv("LNBENCH_DISABLE_ISA");
    for (const char *p = env ? env : ""; *p;) {
        size_t n = strcspn(p, ",");
        int known = (n == 3 && strncmp(p, "all", 3) == 0) ||
                    (n == strlen(LN_AVX512BF16_NAME) && strncmp(p, LN_AVX512BF16_NAME, n) == 0);
        for (int i = 0; i < LN_ISA_COUNT && !known; i++) {
            const char *isa = ln_isa_name((ln_isa)i);
            known = strlen(isa) == n && strncmp(p, isa, n) == 0;
        }
        if (!known) {
            char names[128] = "";
            for (int i = 0; i < LN_ISA_COUNT; i++) {
                size_t len = strlen(names);
                snprintf(names + len, sizeof names - len, "%s, ", ln_isa_name((ln_isa)i));
            }
            fprintf(stderr, "lnbench: LNBENCH_DISABLE_ISA: unknown instruction set '%.*s' "
                    "(known: %s" LN_AVX512BF16_NAME ", all; comma-separated)\n",
                    (int)(n > 64 ? 64 : n), p, names);
            return 0;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return 1;
}

/* A command's status, made 1 when its standard output could not be written
 * completely (> /dev/full) and it had not already failed. */
static int with_stdout_checked(int rc)
{
    if ((fflush(stdout) != 0 || ferror(stdout)) && rc == 0) {
        fprintf(stderr, "lnbench: error writing standard output\n");
        return 1;
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return with_stdout_checked(0);
    }
    if (!strcmp(argv[1], "--version")) {
        printf("lnbench %s (%s)\n", ln_prov_version(), ln_prov_git_commit());
        return with_stdout_checked(0);
    }
    if (!disable_isa_ok())
        return 2;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return with_stdout_checked(commands[i].run(argc - 1, argv + 1));
#ifndef LNBENCH_HAVE_SPEED
    if (!strcmp(argv[1], "speed")) {
        fprintf(stderr, "lnbench: speed is not built in: %s\n", LNBENCH_SPEED_MISSING);
        return 2;
    }
#endif
    fprintf(stderr, "lnbench: unknown command '%s' (try lnbench --help)\n", argv[1]);
    return 2;
}
