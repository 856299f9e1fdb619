/*
 * signals.c - remove temporary outputs on every catchable terminating
 * signal (see signals.h).
 */
#define _POSIX_C_SOURCE 200809L

#include "signals.h"

#include "outfile.h"

#include <signal.h>
#include <stddef.h>

/* The signals whose default action terminates the process. */
static const int terminating[] = {
    SIGHUP,  SIGINT,  SIGQUIT, SIGTERM, SIGPIPE,   SIGALRM,
    SIGUSR1, SIGUSR2, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF,
};

static void on_terminating_signal(int sig)
{
    /* unlink/rmdir/unlinkat only: async-signal-safe (outfile.c). */
    ln_output_cleanup_all();
    signal(sig, SIG_DFL);
    raise(sig); /* blocked inside the handler: delivered on return */
}

void ln_signals_install(void)
{
    for (size_t i = 0; i < sizeof terminating / sizeof terminating[0]; i++) {
        struct sigaction old, sa;
        /* SIGINT and SIGTERM are always ours: a script's background job
         * starts with SIGINT ignored, yet `kill -INT` to it is meant. */
        int always = terminating[i] == SIGINT || terminating[i] == SIGTERM;
        if (sigaction(terminating[i], NULL, &old) != 0 ||
            (old.sa_handler == SIG_IGN && !always))
            continue;
        sa.sa_handler = on_terminating_signal;
        sa.sa_flags = 0;
        /* Block the others while one cleans up: no second cleanup running
         * over a half-deleted directory. */
        sigemptyset(&sa.sa_mask);
        for (size_t j = 0; j < sizeof terminating / sizeof terminating[0]; j++)
            sigaddset(&sa.sa_mask, terminating[j]);
        sigaction(terminating[i], &sa, NULL);
    }
}
