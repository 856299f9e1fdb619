/*
 * commands.h - the lnbench subcommands, and what they share.  Each command
 * takes the arguments after its name (argv[0] is the subcommand) and returns
 * the process exit status: 0 success, 1 a failed run, 2 bad usage or bad
 * input.
 */
#ifndef LNBENCH_COMMANDS_H
#define LNBENCH_COMMANDS_H

#include "json.h"

#include <stddef.h>

int cmd_list(int argc, char **argv);
int cmd_accuracy(int argc, char **argv);
#ifdef LNBENCH_HAVE_SPEED
int cmd_speed(int argc, char **argv);
#endif

/* cli_provenance.c: the ISAs this host lets a run use (the kernels' probes,
 * after LNBENCH_DISABLE_ISA), at most max names into out; returns how many. */
size_t cli_isas(const char *out[], size_t max);
/* Provenance members of a result file's context, ISAs included. */
void cli_prov_write_json(ln_json *j);

#endif
