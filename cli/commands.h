/*
 * commands.h - the lnbench subcommands.  Each takes the arguments after its
 * name (argv[0] is the subcommand) and returns the process exit status:
 * 0 success, 1 a failed run, 2 bad usage or bad input.
 */
#ifndef LNBENCH_COMMANDS_H
#define LNBENCH_COMMANDS_H

int cmd_list(int argc, char **argv);
int cmd_accuracy(int argc, char **argv);
#ifdef LNBENCH_HAVE_SPEED
int cmd_speed(int argc, char **argv); /* bench/cmd_speed.c */
#endif

#endif
