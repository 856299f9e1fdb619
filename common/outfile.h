/*
 * outfile.h - outputs that appear whole or not at all.
 *
 * A result file is written to a temporary name in the target's directory and
 * renamed over the target only once complete (rename(2) is atomic within a
 * file system), so an error or a kill never leaves a truncated file behind.
 * Opening fails at once when the directory is not writable, before any long
 * computation.  An existing target is never replaced unless `force` is set.
 * The same for directories (--dump): built under a temporary sibling name,
 * renamed into place at the end.
 */
#ifndef LNBENCH_OUTFILE_H
#define LNBENCH_OUTFILE_H

#include <stddef.h>
#include <stdio.h>

typedef struct ln_outfile ln_outfile;

/* Returns NULL with a one-line reason in err.
 *
 * "-" is standard output.  A symlink is written through: its target gets
 * the rules below and the link stays.  A character device or a FIFO (e.g.
 * /dev/null, a named pipe with a reader) is written to directly, as a
 * stream, with or without force (nothing is replaced; a FIFO without a
 * reader is an error, not a hang); whole-or-nothing cannot hold there.  A
 * block device or socket is refused, force or not: a special file is never
 * replaced.  Leftovers of killed runs for this target
 * ("<path>.partial-XXXXXX", "<path>.old-XXXXXX") are removed first. */
ln_outfile *ln_outfile_open(const char *path, int force, char *err, size_t errlen);
FILE *ln_outfile_stream(ln_outfile *o);
/* Flush, check for write errors, rename into place, free.  -1 + err on error
 * (the temporary is removed). */
int ln_outfile_commit(ln_outfile *o, char *err, size_t errlen);
/* Remove the temporary, free.  NULL is fine. */
void ln_outfile_abort(ln_outfile *o);

typedef struct ln_outdir ln_outdir;

/* The target must not exist (or be an empty directory, or force).  Returns
 * NULL with a reason in err.  A symlink is followed (the new tree goes where
 * it points); a special file is refused, force or not.  With force, commit
 * replaces the whole existing tree: every file in it goes. */
ln_outdir *ln_outdir_open(const char *path, int force, char *err, size_t errlen);
/* Path of the temporary directory to write files into (valid until commit
 * or abort). */
const char *ln_outdir_tmp_path(const ln_outdir *d);
int ln_outdir_commit(ln_outdir *d, char *err, size_t errlen);
void ln_outdir_abort(ln_outdir *d); /* removes the temporary tree */

/* Removes every temporary a still-open outfile/outdir holds; safe to call
 * from a signal handler (common/signals.c). */
void ln_output_cleanup_all(void);

/* 1 when paths a and b name the same file or one lies inside the other
 * (after resolving symlinks and "..": --json X --dump X, or an input file
 * inside a directory --dump --force would replace). */
int ln_output_overlaps(const char *a, const char *b);

#endif
