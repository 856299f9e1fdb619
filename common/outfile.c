/*
 * outfile.c - outputs that appear whole or not at all.
 *
 * Files: written to "<path>.partial-XXXXXX" (mkstemp, same directory, so the
 * final rename(2) cannot cross a file system), renamed into place on commit.
 * Without force the final step is link(2) + unlink(2), which fails with
 * EEXIST instead of replacing a file that appeared while we were computing.
 *
 * Directories: built as "<path>.partial-XXXXXX" (mkdtemp), renamed into
 * place on commit; rename(2) replaces an empty directory atomically and
 * refuses a non-empty one.
 *
 * Every open temporary is listed in a small static table so that
 * ln_output_cleanup_all() can delete them on SIGINT/SIGTERM.  That path uses
 * only unlink, rmdir, unlinkat and readdir/rewinddir on a directory stream
 * opened in advance (readdir on a stream nobody else uses does not allocate),
 * so it is usable from a signal handler that then calls _exit.
 */
#define _POSIX_C_SOURCE 200809L

#include "outfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Registry of live temporaries (for the signal path).                      */
/* ------------------------------------------------------------------------ */

enum { REG_FREE = 0, REG_FILE = 1, REG_DIR = 2 };
#define REG_SLOTS 32

static struct {
    volatile sig_atomic_t kind;
    const char *tmp; /* owned by the outfile/outdir */
    DIR *dir;        /* REG_DIR: stream on tmp, opened at registration */
} reg[REG_SLOTS];

static int reg_add(int kind, const char *tmp, DIR *dir)
{
    for (int i = 0; i < REG_SLOTS; i++) {
        if (reg[i].kind == REG_FREE) {
            reg[i].tmp = tmp;
            reg[i].dir = dir;
            reg[i].kind = kind; /* last: the slot is complete before it is live */
            return i;
        }
    }
    return -1;
}

static void reg_del(int slot)
{
    if (slot >= 0 && slot < REG_SLOTS)
        reg[slot].kind = REG_FREE;
}

/* Signal-path removal of a temporary directory's contents (one level, plus
 * empty subdirectories), then the directory itself. */
static void clear_dir_signal_safe(DIR *dir, const char *tmp)
{
    if (dir) {
        int fd = dirfd(dir);
        for (int pass = 0; pass < 4; pass++) {
            int removed = 0;
            struct dirent *e;
            rewinddir(dir);
            while ((e = readdir(dir)) != NULL) {
                const char *n = e->d_name;
                if (n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0')))
                    continue;
                if (unlinkat(fd, n, 0) == 0 || unlinkat(fd, n, AT_REMOVEDIR) == 0)
                    removed = 1;
            }
            if (!removed)
                break;
        }
    }
    rmdir(tmp);
}

void ln_output_cleanup_all(void)
{
    for (int i = 0; i < REG_SLOTS; i++) {
        int kind = reg[i].kind;
        if (kind == REG_FILE)
            unlink(reg[i].tmp);
        else if (kind == REG_DIR)
            clear_dir_signal_safe(reg[i].dir, reg[i].tmp);
        reg[i].kind = REG_FREE;
    }
}

/* ------------------------------------------------------------------------ */
/* Helpers.                                                                 */
/* ------------------------------------------------------------------------ */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
}

/* The directory part of path ("." if none), malloc'd. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    size_t n = (size_t)(slash - path);
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

/* "<path>.partial-XXXXXX", malloc'd. */
static char *tmp_template(const char *path, const char *tag)
{
    size_t n = strlen(path) + strlen(tag) + 8;
    char *t = malloc(n);
    if (t)
        snprintf(t, n, "%s%sXXXXXX", path, tag);
    return t;
}

static mode_t current_umask(void)
{
    /* umask(2) can only be read by setting it; we put it straight back. */
    mode_t m = umask(022);
    umask(m);
    return m;
}

/* Recursively removes the tree name (relative to dirfd).  Best effort;
 * returns 0 when name is gone. */
static int remove_tree_at(int parent, const char *name)
{
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (fd < 0)
        return unlinkat(parent, name, 0);
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    /* Rescan until a pass removes nothing: deleting entries while reading
     * a directory stream may make it skip some. */
    for (;;) {
        int removed = 0;
        struct dirent *e;
        rewinddir(d);
        while ((e = readdir(d)) != NULL) {
            const char *n = e->d_name;
            if (n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0')))
                continue;
            if (unlinkat(fd, n, 0) == 0 ||
                ((errno == EISDIR || errno == EPERM) && remove_tree_at(fd, n) == 0))
                removed = 1;
        }
        if (!removed)
            break;
    }
    closedir(d);
    return unlinkat(parent, name, AT_REMOVEDIR);
}

static void remove_tree(const char *path)
{
    remove_tree_at(AT_FDCWD, path);
}

/* 1 if path is a directory with no entries besides . and .. */
static int dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return 0;
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (!(n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0')))) {
            empty = 0;
            break;
        }
    }
    closedir(d);
    return empty;
}

/* ------------------------------------------------------------------------ */
/* Files.                                                                   */
/* ------------------------------------------------------------------------ */

struct ln_outfile {
    FILE *f;
    char *path;
    char *tmp;
    int force;
    int slot;
};

ln_outfile *ln_outfile_open(const char *path, int force, char *err, size_t errlen)
{
    if (!path || !*path) {
        set_err(err, errlen, "empty output file name");
        return NULL;
    }
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            set_err(err, errlen, "%s: is a directory", path);
            return NULL;
        }
        if (!force) {
            set_err(err, errlen, "%s: already exists (not replacing it)", path);
            return NULL;
        }
    }
    ln_outfile *o = calloc(1, sizeof *o);
    char *dir = dir_of(path);
    if (!o || !dir || !(o->path = strdup(path)) ||
        !(o->tmp = tmp_template(path, ".partial-"))) {
        set_err(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        set_err(err, errlen, "%s: cannot create a file in '%s': %s", path, dir,
                strerror(errno));
        free(o->tmp);
        o->tmp = NULL;
        goto fail;
    }
    /* mkstemp makes the file 0600; a result file should get the usual
     * permissions the user's umask gives. */
    fchmod(fd, 0666 & ~current_umask());
    o->f = fdopen(fd, "w");
    if (!o->f) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        unlink(o->tmp);
        goto fail;
    }
    o->force = force;
    o->slot = reg_add(REG_FILE, o->tmp, NULL);
    if (o->slot < 0) {
        set_err(err, errlen, "%s: too many open output files", path);
        fclose(o->f);
        unlink(o->tmp);
        goto fail;
    }
    free(dir);
    return o;
fail:
    free(dir);
    if (o) {
        free(o->path);
        free(o->tmp);
        free(o);
    }
    return NULL;
}

FILE *ln_outfile_stream(ln_outfile *o)
{
    return o ? o->f : NULL;
}

static void outfile_free(ln_outfile *o)
{
    reg_del(o->slot);
    free(o->path);
    free(o->tmp);
    free(o);
}

int ln_outfile_commit(ln_outfile *o, char *err, size_t errlen)
{
    if (!o) {
        set_err(err, errlen, "no output file");
        return -1;
    }
    /* A full disk shows up at fflush or fclose, not necessarily at fprintf. */
    int bad = fflush(o->f) != 0 || ferror(o->f);
    int e = errno;
    if (fclose(o->f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    o->f = NULL;
    if (bad) {
        set_err(err, errlen, "%s: write error: %s", o->path, strerror(e));
        goto fail;
    }
    if (o->force) {
        if (rename(o->tmp, o->path) != 0) {
            set_err(err, errlen, "%s: cannot rename into place: %s", o->path,
                    strerror(errno));
            goto fail;
        }
    } else if (link(o->tmp, o->path) == 0) {
        unlink(o->tmp);
    } else if (errno == EEXIST) {
        set_err(err, errlen, "%s: already exists (not replacing it)", o->path);
        goto fail;
    } else {
        /* File systems without hard links (EPERM, ENOTSUP...): check, then
         * rename (a race remains there; nothing better is portable). */
        struct stat st;
        if (lstat(o->path, &st) == 0) {
            set_err(err, errlen, "%s: already exists (not replacing it)", o->path);
            goto fail;
        }
        if (rename(o->tmp, o->path) != 0) {
            set_err(err, errlen, "%s: cannot rename into place: %s", o->path,
                    strerror(errno));
            goto fail;
        }
    }
    outfile_free(o);
    return 0;
fail:
    unlink(o->tmp);
    outfile_free(o);
    return -1;
}

void ln_outfile_abort(ln_outfile *o)
{
    if (!o)
        return;
    if (o->f)
        fclose(o->f);
    unlink(o->tmp);
    outfile_free(o);
}

/* ------------------------------------------------------------------------ */
/* Directories.                                                             */
/* ------------------------------------------------------------------------ */

struct ln_outdir {
    char *path; /* without trailing slashes */
    char *tmp;
    DIR *dir;   /* on tmp, for the signal path */
    int force;
    int slot;
};

ln_outdir *ln_outdir_open(const char *path, int force, char *err, size_t errlen)
{
    if (!path || !*path) {
        set_err(err, errlen, "empty output directory name");
        return NULL;
    }
    ln_outdir *d = calloc(1, sizeof *d);
    char *parent = NULL;
    if (!d || !(d->path = strdup(path))) {
        set_err(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    /* "out/" and "out" are the same target; "/" stays "/". */
    for (size_t n = strlen(d->path); n > 1 && d->path[n - 1] == '/'; n--)
        d->path[n - 1] = '\0';
    struct stat st;
    if (lstat(d->path, &st) == 0 && !force) {
        if (!S_ISDIR(st.st_mode)) {
            set_err(err, errlen, "%s: already exists and is not a directory "
                    "(not replacing it)", path);
            goto fail;
        }
        if (!dir_is_empty(d->path)) {
            set_err(err, errlen, "%s: directory exists and is not empty "
                    "(not replacing it)", path);
            goto fail;
        }
    }
    if (!(parent = dir_of(d->path)) || !(d->tmp = tmp_template(d->path, ".partial-"))) {
        set_err(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    if (!mkdtemp(d->tmp)) {
        set_err(err, errlen, "%s: cannot create a directory in '%s': %s", path,
                parent, strerror(errno));
        free(d->tmp);
        d->tmp = NULL;
        goto fail;
    }
    chmod(d->tmp, 0777 & ~current_umask()); /* mkdtemp makes it 0700 */
    d->dir = opendir(d->tmp);
    d->force = force;
    d->slot = reg_add(REG_DIR, d->tmp, d->dir);
    if (d->slot < 0) {
        set_err(err, errlen, "%s: too many open output directories", path);
        if (d->dir)
            closedir(d->dir);
        rmdir(d->tmp);
        goto fail;
    }
    free(parent);
    return d;
fail:
    free(parent);
    if (d) {
        free(d->path);
        free(d->tmp);
        free(d);
    }
    return NULL;
}

const char *ln_outdir_tmp_path(const ln_outdir *d)
{
    return d ? d->tmp : NULL;
}

static void outdir_free(ln_outdir *d)
{
    reg_del(d->slot);
    if (d->dir)
        closedir(d->dir);
    free(d->path);
    free(d->tmp);
    free(d);
}

int ln_outdir_commit(ln_outdir *d, char *err, size_t errlen)
{
    if (!d) {
        set_err(err, errlen, "no output directory");
        return -1;
    }
    struct stat st;
    char *old = NULL;
    if (lstat(d->path, &st) == 0 &&
        !(S_ISDIR(st.st_mode) && dir_is_empty(d->path))) {
        /* The target is a file or a non-empty directory. */
        if (!d->force) {
            set_err(err, errlen, "%s: already exists (not replacing it)", d->path);
            goto fail;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (unlink(d->path) != 0) {
                set_err(err, errlen, "%s: cannot replace: %s", d->path,
                        strerror(errno));
                goto fail;
            }
        } else {
            /* Move the old tree aside (onto an empty mkdtemp directory,
             * which rename replaces), put the new one in, then delete. */
            old = tmp_template(d->path, ".old-");
            if (!old || !mkdtemp(old) || rename(d->path, old) != 0) {
                set_err(err, errlen, "%s: cannot replace: %s", d->path,
                        old ? strerror(errno) : "out of memory");
                if (old)
                    rmdir(old);
                free(old);
                goto fail;
            }
        }
    }
    if (rename(d->tmp, d->path) != 0) {
        set_err(err, errlen, "%s: cannot rename into place: %s", d->path,
                strerror(errno));
        if (old) {
            rename(old, d->path); /* put the old tree back */
            free(old);
        }
        goto fail;
    }
    if (old) {
        remove_tree(old);
        free(old);
    }
    outdir_free(d);
    return 0;
fail:
    reg_del(d->slot);
    remove_tree(d->tmp);
    outdir_free(d);
    return -1;
}

void ln_outdir_abort(ln_outdir *d)
{
    if (!d)
        return;
    reg_del(d->slot);
    remove_tree(d->tmp);
    outdir_free(d);
}
