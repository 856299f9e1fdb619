/*
 * signals.h - no temporary output survives a catchable signal.
 *
 * ln_signals_install() sets one handler on every signal whose default action
 * ends the process and that a program may catch (SIGHUP, SIGINT, SIGQUIT,
 * SIGTERM, SIGPIPE, SIGALRM, SIGUSR1, SIGUSR2, SIGXCPU, SIGXFSZ, SIGVTALRM,
 * SIGPROF): it removes every temporary file and directory outfile.c holds
 * (ln_output_cleanup_all), then re-raises the signal with its default
 * action, so the exit status still says which signal ended the run.
 * Any other signal ignored when lnbench started (nohup, or a parent that
 * ignores SIGPIPE or SIGXFSZ) stays ignored: the caller asked for that.
 * SIGINT and SIGTERM are caught even then (a script's background job starts
 * with SIGINT ignored, and `kill -INT` to it still means stop).
 *
 * SIGKILL (and SIGSTOP) cannot be caught: a run killed that way can leave
 * "<target>.partial-XXXXXX" (and, in the middle of a --force replace of a
 * directory, "<target>.old-XXXXXX"); the next run writing the same target
 * removes them (outfile.c).
 */
#ifndef LNBENCH_SIGNALS_H
#define LNBENCH_SIGNALS_H

void ln_signals_install(void);

#endif
