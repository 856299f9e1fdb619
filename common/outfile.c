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
 * ln_output_cleanup_all() can delete them on any catchable signal (signals.c).  That path uses
 * only unlink, rmdir, unlinkat and readdir/rewinddir on a directory stream
 * opened in advance (readdir on a stream nobody else uses does not allocate),
 * so it is usable from a signal handler that then calls _exit.
 */
#define _DEFAULT_SOURCE /* flock(2) */

#include "outfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
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

/* What a non-regular, non-directory file is, for messages. */
static const char *kind_of(mode_t m)
{
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a regular file";
}

/* 1 if name is "<base><tag>" followed by the six characters mkstemp or
 * mkdtemp chose. */
static int is_leftover(const char *name, const char *base, const char *tag)
{
    size_t nb = strlen(base), nt = strlen(tag);
    return strncmp(name, base, nb) == 0 && strncmp(name + nb, tag, nt) == 0 &&
           strlen(name + nb + nt) == 6;
}

/* Removes what runs killed by SIGKILL (or a power cut) left for the target
 * path: "<path>.partial-XXXXXX" and "<path>.old-XXXXXX".  Every live run
 * holds an exclusive flock(2) on each of its temporaries (and on an old tree
 * it is deleting), so a leftover that can be locked here has no owner any
 * more; one that cannot belongs to a run still going and is left alone. */
static void remove_leftovers(const char *path)
{
    char *dir = dir_of(path);
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    DIR *d = dir ? opendir(dir) : NULL;
    free(dir);
    if (!d)
        return;
    int dfd = dirfd(d);
    char found[16][NAME_MAX + 1];
    size_t n = 0;
    struct dirent *e;
    while (n < 16 && (e = readdir(d)) != NULL)
        if (is_leftover(e->d_name, base, ".partial-") || is_leftover(e->d_name, base, ".old-"))
            snprintf(found[n++], sizeof found[0], "%s", e->d_name);
    for (size_t i = 0; i < n; i++) {
        int fd = openat(dfd, found[i], O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0)
            continue;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            remove_tree_at(dfd, found[i]);
        close(fd);
    }
    closedir(d);
}

/* path with its directory part made absolute and symlink-free (realpath of
 * the directory + the last component), or the whole path resolved when it
 * exists; trailing slashes dropped.  malloc'd, NULL when the directory does
 * not exist. */
static char *canonical(const char *path)
{
    char *full = realpath(path, NULL);
    if (full)
        return full;
    char *copy = strdup(path);
    if (!copy)
        return NULL;
    for (size_t n = strlen(copy); n > 1 && copy[n - 1] == '/'; n--)
        copy[n - 1] = '\0';
    char *dir = dir_of(copy);
    char *rdir = dir ? realpath(dir, NULL) : NULL;
    const char *slash = strrchr(copy, '/');
    const char *base = slash ? slash + 1 : copy;
    char *out = NULL;
    if (rdir && (out = malloc(strlen(rdir) + strlen(base) + 2)))
        sprintf(out, "%s/%s", strcmp(rdir, "/") ? rdir : "", base);
    if (!rdir && copy[0] != '/') {
        /* Nothing of it exists yet: the path made absolute, as written. */
        char cwd[4096];
        if (getcwd(cwd, sizeof cwd) && (out = malloc(strlen(cwd) + strlen(copy) + 2)))
            sprintf(out, "%s/%s", cwd, copy);
    } else if (!rdir) {
        out = strdup(copy);
    }
    free(dir);
    free(rdir);
    free(copy);
    return out;
}

int ln_output_overlaps(const char *a, const char *b)
{
    char *ca = canonical(a), *cb = canonical(b);
    int hit = 0;
    if (ca && cb) {
        size_t na = strlen(ca), nb = strlen(cb);
        hit = strcmp(ca, cb) == 0 || (na < nb && strncmp(ca, cb, na) == 0 && cb[na] == '/') ||
              (nb < na && strncmp(cb, ca, nb) == 0 && ca[nb] == '/');
    }
    free(ca);
    free(cb);
    return hit;
}

/* ------------------------------------------------------------------------ */
/* Files.                                                                   */
/* ------------------------------------------------------------------------ */

struct ln_outfile {
    FILE *f;
    char *path; /* the target (a symlink's target when written through one) */
    char *tmp;  /* NULL for a stream */
    int force;
    int slot;
    int stream; /* 0: temporary + rename; 1: a device or FIFO we opened; 2: stdout */
};

/* A character device or a FIFO is written to directly: it cannot be
 * replaced, and writing to it replaces nothing.  O_NONBLOCK so a FIFO
 * without a reader fails at once (ENXIO) instead of hanging. */
static ln_outfile *open_stream(ln_outfile *o, const char *shown, char *err, size_t errlen)
{
    int fd = open(o->path, O_WRONLY | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        set_err(err, errlen, "%s: cannot open for writing: %s", shown,
                errno == ENXIO ? "a FIFO with no reader" : strerror(errno));
        return NULL;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    if (!(o->f = fdopen(fd, "w"))) {
        set_err(err, errlen, "%s: %s", shown, strerror(errno));
        close(fd);
        return NULL;
    }
    o->stream = 1;
    o->slot = -1;
    return o;
}

ln_outfile *ln_outfile_open(const char *path, int force, char *err, size_t errlen)
{
    if (!path || !*path) {
        set_err(err, errlen, "empty output file name");
        return NULL;
    }
    ln_outfile *o = calloc(1, sizeof *o);
    char *dir = NULL;
    if (!o) {
        set_err(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    o->slot = -1;
    if (strcmp(path, "-") == 0) {
        o->f = stdout;
        o->stream = 2;
        return o;
    }
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        /* Written through to the target, which gets the same rules. */
        if (!(o->path = realpath(path, NULL))) {
            set_err(err, errlen, "%s: a symlink whose target cannot be resolved (%s): "
                    "not writing through it", path, strerror(errno));
            goto fail;
        }
    } else if (!(o->path = strdup(path))) {
        set_err(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    if (lstat(o->path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            set_err(err, errlen, "%s: is a directory", path);
            goto fail;
        }
        if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
            if (!open_stream(o, path, err, errlen))
                goto fail;
            return o;
        }
        if (!S_ISREG(st.st_mode)) {
            set_err(err, errlen, "%s: is %s (never replaced)", path, kind_of(st.st_mode));
            goto fail;
        }
        if (!force) {
            set_err(err, errlen, "%s: already exists (not replacing it)", path);
            goto fail;
        }
    }
    remove_leftovers(o->path);
    dir = dir_of(o->path);
    if (!dir || !(o->tmp = tmp_template(o->path, ".partial-"))) {
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
    /* Ours while we live: remove_leftovers() of another run skips it. */
    flock(fd, LOCK_EX | LOCK_NB);
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
    free(o->path);
    free(o->tmp);
    free(o);
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
    if (o->stream != 2 && fclose(o->f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    o->f = NULL;
    if (bad) {
        set_err(err, errlen, "%s: write error: %s", o->stream == 2 ? "standard output" : o->path,
                e ? strerror(e) : "stream error");
        goto fail;
    }
    if (o->stream) {
        outfile_free(o);
        return 0;
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
    if (o->tmp)
        unlink(o->tmp);
    outfile_free(o);
    return -1;
}

void ln_outfile_abort(ln_outfile *o)
{
    if (!o)
        return;
    if (o->f && o->stream != 2)
        fclose(o->f);
    else if (o->f)
        fflush(o->f);
    if (o->tmp)
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
    if (lstat(d->path, &st) == 0 && S_ISLNK(st.st_mode)) {
        /* A symlink: the dump goes where it points; the link stays. */
        char *target = realpath(d->path, NULL);
        if (!target) {
            set_err(err, errlen, "%s: a symlink whose target cannot be resolved (%s): "
                    "not writing through it", path, strerror(errno));
            goto fail;
        }
        free(d->path);
        d->path = target;
    }
    if (lstat(d->path, &st) == 0) {
        if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
            set_err(err, errlen, "%s: is %s (never replaced)", path, kind_of(st.st_mode));
            goto fail;
        }
        if (!force && !S_ISDIR(st.st_mode)) {
            set_err(err, errlen, "%s: already exists and is not a directory "
                    "(not replacing it)", path);
            goto fail;
        }
        if (!force && !dir_is_empty(d->path)) {
            set_err(err, errlen, "%s: directory exists and is not empty "
                    "(not replacing it)", path);
            goto fail;
        }
    }
    remove_leftovers(d->path);
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
    if (d->dir) /* ours while we live: remove_leftovers() skips it */
        flock(dirfd(d->dir), LOCK_EX | LOCK_NB);
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
    /* The swap is two renames; with every signal blocked across them (and
     * across dropping the temporary from the signal path's table, whose
     * directory stream would otherwise follow the new tree into place) an
     * interrupt finds either the old tree or the new one at the target,
     * whole.  The old tree is deleted only after that, unblocked: an
     * interrupt then leaves part of "<path>.old-XXXXXX", which the next run
     * for this target removes (remove_leftovers). */
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &saved);
    struct stat st;
    char *old = NULL;
    if (lstat(d->path, &st) == 0 &&
        !(S_ISDIR(st.st_mode) && dir_is_empty(d->path))) {
        /* The target is a file or a non-empty directory. */
        if (!d->force) {
            set_err(err, errlen, "%s: already exists (not replacing it)", d->path);
            goto fail;
        }
        if (S_ISREG(st.st_mode)) {
            if (unlink(d->path) != 0) {
                set_err(err, errlen, "%s: cannot replace: %s", d->path,
                        strerror(errno));
                goto fail;
            }
        } else if (!S_ISDIR(st.st_mode)) {
            set_err(err, errlen, "%s: is %s (never replaced)", d->path, kind_of(st.st_mode));
            goto fail;
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
    reg_del(d->slot);
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    if (old) {
        int fd = open(old, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        if (fd >= 0)
            flock(fd, LOCK_EX | LOCK_NB); /* ours: no other run's cleanup */
        remove_tree(old);
        if (fd >= 0)
            close(fd);
        free(old);
    }
    outdir_free(d);
    return 0;
fail:
    reg_del(d->slot);
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
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
