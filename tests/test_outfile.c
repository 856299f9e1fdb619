/*
 * test_outfile.c - outputs appear whole or not at all: commit, abort, no
 * replacement without force, failure at open for unwritable places, and the
 * signal-path cleanup.  Everything happens under a fresh mkdtemp directory.
 */
#define _POSIX_C_SOURCE 200809L

#include "check.h"
#include "outfile.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[64];

static const char *at(const char *name)
{
    static char bufs[8][512];
    static int k;
    char *b = bufs[k++ % 8];
    if (strlen(name) > 256)
        abort();
    snprintf(b, 512, "%s/%.256s", base, name);
    return b;
}

/* Number of entries in dir (excluding . and ..); -1 if it cannot be read. */
static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

static int file_is(const char *path, const char *text)
{
    char buf[256] = "";
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strcmp(buf, text) == 0;
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Removes everything in base (test files are flat or one level deep). */
static void clear_base(void)
{
    DIR *d = opendir(base);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        const char *p = at(e->d_name);
        if (unlink(p) != 0) {
            DIR *s = opendir(p);
            struct dirent *f;
            char q[512];
            while (s && (f = readdir(s)) != NULL) {
                snprintf(q, sizeof q, "%s/%s", p, f->d_name);
                unlink(q);
            }
            if (s)
                closedir(s);
            rmdir(p);
        }
    }
    if (d)
        closedir(d);
}

static void test_file(void)
{
    char err[512];
    const char *out = at("out.json");

    /* commit: the file appears with the content, nothing else is left. */
    ln_outfile *o = ln_outfile_open(out, 0, err, sizeof err);
    CHECK(o != NULL, "open: %s", err);
    CHECK(!exists(out), "target exists before commit");
    CHECK(entries(base) == 1, "one temporary expected, %d entries", entries(base));
    fputs("hello\n", ln_outfile_stream(o));
    CHECK(ln_outfile_commit(o, err, sizeof err) == 0, "commit: %s", err);
    CHECK(file_is(out, "hello\n"), "content after commit");
    CHECK(entries(base) == 1, "leftovers after commit: %d entries", entries(base));
    struct stat st;
    CHECK(stat(out, &st) == 0 && (st.st_mode & 0777) == 0644,
          "mode %o (umask 022)", (unsigned)(st.st_mode & 0777));

    /* An existing file is not replaced without force (at open)... */
    o = ln_outfile_open(out, 0, err, sizeof err);
    CHECK(o == NULL, "open over an existing file succeeded");
    CHECK(strstr(err, out) && strstr(err, "already exists"), "message: %s", err);
    ln_outfile_abort(o); /* NULL is fine */
    /* ...nor if it appears while we compute (at commit). */
    const char *late = at("late.json");
    o = ln_outfile_open(late, 0, err, sizeof err);
    CHECK(o != NULL, "open late: %s", err);
    fputs("new\n", ln_outfile_stream(o));
    write_file(late, "old\n");
    CHECK(ln_outfile_commit(o, err, sizeof err) == -1, "commit replaced a new file");
    CHECK(strstr(err, "already exists"), "message: %s", err);
    CHECK(file_is(late, "old\n"), "late file changed");
    CHECK(entries(base) == 2, "temporary left after failed commit (%d)", entries(base));
    /* With force it is replaced. */
    o = ln_outfile_open(out, 1, err, sizeof err);
    CHECK(o != NULL, "forced open: %s", err);
    fputs("forced\n", ln_outfile_stream(o));
    CHECK(ln_outfile_commit(o, err, sizeof err) == 0, "forced commit: %s", err);
    CHECK(file_is(out, "forced\n"), "forced content");

    /* abort leaves nothing and keeps an existing target intact. */
    o = ln_outfile_open(at("aborted.json"), 0, err, sizeof err);
    CHECK(o != NULL, "open: %s", err);
    fputs("partial", ln_outfile_stream(o));
    ln_outfile_abort(o);
    CHECK(!exists(at("aborted.json")) && entries(base) == 2, "abort left something");
    o = ln_outfile_open(out, 1, err, sizeof err);
    fputs("partial", ln_outfile_stream(o));
    ln_outfile_abort(o);
    CHECK(file_is(out, "forced\n") && entries(base) == 2, "forced abort touched target");

    /* Unwritable places fail at open, naming the path and the reason. */
    o = ln_outfile_open(at("no/such/dir/x.json"), 0, err, sizeof err);
    CHECK(o == NULL && strstr(err, "x.json") && strstr(err, strerror(ENOENT)),
          "missing directory: %s", err);
    o = ln_outfile_open(at("out.json/x.json"), 0, err, sizeof err);
    CHECK(o == NULL && strstr(err, strerror(ENOTDIR)), "file as directory: %s", err);
    o = ln_outfile_open("/proc/lnbench-test.json", 0, err, sizeof err);
    CHECK(o == NULL && strstr(err, "/proc/lnbench-test.json"), "/proc: %s", err);
    o = ln_outfile_open(base, 1, err, sizeof err);
    CHECK(o == NULL && strstr(err, "is a directory"), "directory target: %s", err);
    o = ln_outfile_open("", 0, err, sizeof err);
    CHECK(o == NULL, "empty path accepted");
    if (geteuid() != 0) {
        /* root ignores permission bits; the /proc case covers it there. */
        mkdir(at("ro"), 0500);
        o = ln_outfile_open(at("ro/x.json"), 0, err, sizeof err);
        CHECK(o == NULL && strstr(err, strerror(EACCES)), "read-only dir: %s", err);
        rmdir(at("ro"));
    }
    CHECK(strchr(err, '\n') == NULL, "multi-line message");
    clear_base();
}

static void test_dir(void)
{
    char err[512];
    char p[512];
    const char *dump = at("dump");

    ln_outdir *d = ln_outdir_open(dump, 0, err, sizeof err);
    CHECK(d != NULL, "open: %s", err);
    const char *tmp = ln_outdir_tmp_path(d);
    CHECK(tmp && strncmp(tmp, dump, strlen(dump)) == 0 && strstr(tmp, ".partial-"),
          "tmp path %s", tmp ? tmp : "(null)");
    CHECK(!exists(dump), "target exists before commit");
    snprintf(p, sizeof p, "%s/a.npy", tmp);
    write_file(p, "A");
    CHECK(ln_outdir_commit(d, err, sizeof err) == 0, "commit: %s", err);
    snprintf(p, sizeof p, "%s/a.npy", dump);
    CHECK(file_is(p, "A"), "file inside committed dir");
    CHECK(entries(base) == 1, "leftovers after commit: %d", entries(base));
    struct stat st;
    CHECK(stat(dump, &st) == 0 && (st.st_mode & 0777) == 0755, "dir mode %o",
          (unsigned)(st.st_mode & 0777));

    /* A non-empty directory or a file is not replaced without force. */
    d = ln_outdir_open(dump, 0, err, sizeof err);
    CHECK(d == NULL && strstr(err, "not empty"), "non-empty dir: %s", err);
    write_file(at("file"), "f");
    d = ln_outdir_open(at("file"), 0, err, sizeof err);
    CHECK(d == NULL && strstr(err, "not a directory"), "file target: %s", err);
    /* Force replaces both, leaving no old tree behind. */
    d = ln_outdir_open(dump, 1, err, sizeof err);
    CHECK(d != NULL, "forced open: %s", err);
    snprintf(p, sizeof p, "%s/b.npy", ln_outdir_tmp_path(d));
    write_file(p, "B");
    CHECK(ln_outdir_commit(d, err, sizeof err) == 0, "forced commit: %s", err);
    snprintf(p, sizeof p, "%s/b.npy", dump);
    CHECK(file_is(p, "B") && entries(dump) == 1, "forced dir content");
    d = ln_outdir_open(at("file/"), 1, err, sizeof err);
    CHECK(d != NULL, "forced open over file: %s", err);
    CHECK(ln_outdir_commit(d, err, sizeof err) == 0, "forced commit over file: %s", err);
    CHECK(entries(at("file")) == 0, "file not replaced by a directory");
    CHECK(entries(base) == 2, "leftovers after forced commits: %d", entries(base));

    /* An existing empty directory is fine (trailing slash too). */
    mkdir(at("empty"), 0755);
    d = ln_outdir_open(at("empty/"), 0, err, sizeof err);
    CHECK(d != NULL, "empty dir: %s", err);
    snprintf(p, sizeof p, "%s/c", ln_outdir_tmp_path(d));
    write_file(p, "C");
    CHECK(ln_outdir_commit(d, err, sizeof err) == 0, "commit into empty: %s", err);
    CHECK(file_is(at("empty/c"), "C"), "content in formerly empty dir");

    /* Appearing during the run: commit refuses, temporary removed. */
    d = ln_outdir_open(at("late"), 0, err, sizeof err);
    CHECK(d != NULL, "open late: %s", err);
    mkdir(at("late"), 0755);
    write_file(at("late/x"), "x");
    CHECK(ln_outdir_commit(d, err, sizeof err) == -1 && strstr(err, "already exists"),
          "late commit: %s", err);
    CHECK(file_is(at("late/x"), "x"), "late dir touched");
    CHECK(entries(base) == 4, "temporary left after failed commit (%d)", entries(base));

    /* Abort removes the whole temporary tree, subdirectories included. */
    d = ln_outdir_open(at("gone"), 0, err, sizeof err);
    CHECK(d != NULL, "open: %s", err);
    snprintf(p, sizeof p, "%s/sub", ln_outdir_tmp_path(d));
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/sub/deep", ln_outdir_tmp_path(d));
    write_file(p, "D");
    snprintf(p, sizeof p, "%s/top", ln_outdir_tmp_path(d));
    write_file(p, "T");
    ln_outdir_abort(d);
    CHECK(!exists(at("gone")) && entries(base) == 4, "abort left %d entries", entries(base));
    ln_outdir_abort(NULL);

    /* Unwritable parents fail at open. */
    d = ln_outdir_open(at("no/such/dump"), 0, err, sizeof err);
    CHECK(d == NULL && strstr(err, "dump") && strstr(err, strerror(ENOENT)),
          "missing parent: %s", err);
    d = ln_outdir_open("/proc/lnbench-test-dump", 0, err, sizeof err);
    CHECK(d == NULL && strstr(err, "/proc/lnbench-test-dump"), "/proc: %s", err);
    CHECK(strchr(err, '\n') == NULL, "multi-line message");
    clear_base();
}

static void test_cleanup_all(void)
{
    char err[512], p[512];
    ln_outfile *o = ln_outfile_open(at("sig.json"), 0, err, sizeof err);
    ln_outdir *d = ln_outdir_open(at("sigdump"), 0, err, sizeof err);
    CHECK(o && d, "open: %s", err);
    if (!o || !d)
        return;
    fputs("x", ln_outfile_stream(o));
    fflush(ln_outfile_stream(o));
    for (int i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "%s/f%d.npy", ln_outdir_tmp_path(d), i);
        write_file(p, "y");
    }
    snprintf(p, sizeof p, "%s/emptysub", ln_outdir_tmp_path(d));
    mkdir(p, 0755);
    CHECK(entries(base) == 2, "two temporaries expected, %d", entries(base));
    ln_output_cleanup_all();
    CHECK(entries(base) == 0, "cleanup_all left %d entries", entries(base));
    /* The objects are still valid and can be released normally. */
    ln_outfile_abort(o);
    ln_outdir_abort(d);
    CHECK(entries(base) == 0, "abort after cleanup left %d", entries(base));
    clear_base();
}

/* Special targets and leftovers: a FIFO without a reader is refused, not
 * waited on; a symlink is written through (the link stays); a dangling one
 * is refused; "-" is standard output; a killed run's "<t>.partial-XXXXXX" and
 * "<t>.old-XXXXXX" go at the next open; overlapping paths are told. */
static void test_special(void)
{
    char err[512];
    CHECK(mkfifo(at("fifo"), 0644) == 0, "mkfifo");
    ln_outfile *o = ln_outfile_open(at("fifo"), 1, err, sizeof err);
    CHECK(o == NULL && strstr(err, "no reader"), "FIFO without a reader: %s", err);
    struct stat st;
    CHECK(lstat(at("fifo"), &st) == 0 && S_ISFIFO(st.st_mode), "FIFO replaced");

    FILE *f = fopen(at("target.json"), "w");
    fputs("old\n", f);
    fclose(f);
    CHECK(symlink("target.json", at("link.json")) == 0, "symlink");
    o = ln_outfile_open(at("link.json"), 1, err, sizeof err);
    CHECK(o != NULL, "open through a symlink: %s", err);
    fputs("new\n", ln_outfile_stream(o));
    CHECK(ln_outfile_commit(o, err, sizeof err) == 0, "commit through a symlink: %s", err);
    CHECK(lstat(at("link.json"), &st) == 0 && S_ISLNK(st.st_mode), "the link was replaced");
    CHECK(file_is(at("target.json"), "new\n"), "target not written through the link");
    CHECK(symlink("nowhere/x", at("dangling")) == 0, "symlink");
    o = ln_outfile_open(at("dangling"), 1, err, sizeof err);
    CHECK(o == NULL && strstr(err, "symlink"), "dangling symlink: %s", err);

    o = ln_outfile_open("-", 0, err, sizeof err);
    CHECK(o != NULL && ln_outfile_stream(o) == stdout, "'-' is not stdout");
    CHECK(ln_outfile_commit(o, err, sizeof err) == 0, "commit of stdout: %s", err);

    /* Leftovers of a killed run: files and trees, removed at the next open. */
    f = fopen(at("r.json.partial-AbCdEf"), "w");
    fclose(f);
    CHECK(mkdir(at("d.old-AbCdEf"), 0755) == 0 && mkdir(at("d.old-AbCdEf/sub"), 0755) == 0,
          "mkdir");
    f = fopen(at("d.old-AbCdEf/sub/x.npy"), "w");
    fclose(f);
    o = ln_outfile_open(at("r.json"), 0, err, sizeof err);
    CHECK(o != NULL, "open: %s", err);
    CHECK(!exists(at("r.json.partial-AbCdEf")), "a killed run's temporary file left");
    ln_outfile_abort(o);
    ln_outdir *d = ln_outdir_open(at("d"), 0, err, sizeof err);
    CHECK(d != NULL, "outdir open: %s", err);
    CHECK(!exists(at("d.old-AbCdEf")), "a killed run's old tree left");
    ln_outdir_abort(d);

    CHECK(ln_output_overlaps(at("x"), at("x/")), "x and x/ do not overlap");
    CHECK(ln_output_overlaps(at("x"), at("x/y.json")), "x/y.json is not inside x");
    CHECK(ln_output_overlaps(at("link.json"), at("target.json")), "a link and its target");
    CHECK(!ln_output_overlaps(at("x"), at("xy")), "x and xy overlap");
}

int main(void)
{
    umask(022);
    snprintf(base, sizeof base, "/tmp/lnbench-outfile-XXXXXX");
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 1;
    }
    test_file();
    test_dir();
    test_cleanup_all();
    clear_base();
    test_special();
    clear_base();
    rmdir(base);
    return CHECK_DONE("test_outfile");
}
