/* outfile.c — see outfile.h. Plain output goes through our own buffer and write(2);
 * gzip output through zlib's gzwrite on a dup of the descriptor, so we can fsync the
 * descriptor after zlib has finished the stream. */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define OBUF (256 * 1024)

struct outfile {
    char *path;      /* final path; NULL for stdout */
    char *tmp;       /* temporary path; NULL for stdout */
    int fd;
    int device;      /* fd is a device, FIFO or socket opened in place (path set, no tmp) */
    gzFile gz;
    char *buf;
    size_t n;
    int failed;
};

/* Temporaries not yet committed or removed, for the signal handler: SIGINT, SIGTERM,
 * SIGHUP or SIGXFSZ (when their action was the default, death) removes them, then the
 * process dies of the signal as before (SIGXFSZ: found by tests/disk-full.sh). unlink(2) is async-signal-safe and lock-free atomic pointers
 * can be read from a handler. More than MAX_LIVE at once are simply not tracked. */
#define MAX_LIVE 32
static _Atomic(char *) live[MAX_LIVE];
static atomic_flag handlers_set = ATOMIC_FLAG_INIT;

static void remove_live(void)
{
    for (int i = 0; i < MAX_LIVE; i++) {
        char *t = atomic_load(&live[i]);
        if (t) unlink(t);
    }
}

static void on_fatal_signal(int sig)
{
    remove_live();
    signal(sig, SIG_DFL);
    raise(sig);   /* blocked until the handler returns, then the default action */
}

static void track(char *tmp)
{
    if (!atomic_flag_test_and_set(&handlers_set)) {
        imdb_on_oom(remove_live);   /* out of memory (xmalloc) removes them too */
        static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGXFSZ };
        for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
            struct sigaction old, sa;
            if (sigaction(sigs[i], NULL, &old) < 0 || (old.sa_flags & SA_SIGINFO) ||
                old.sa_handler != SIG_DFL)
                continue;   /* ignored or handled by the program: leave it */
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = on_fatal_signal;
            sigemptyset(&sa.sa_mask);
            sigaction(sigs[i], &sa, NULL);
        }
    }
    for (int i = 0; i < MAX_LIVE; i++) {
        char *expected = NULL;
        if (atomic_compare_exchange_strong(&live[i], &expected, tmp)) return;
    }
}

static void untrack(const char *tmp)
{
    for (int i = 0; i < MAX_LIVE; i++) {
        char *expected = (char *)tmp;
        if (atomic_compare_exchange_strong(&live[i], &expected, NULL)) return;
    }
}

static int sys_fail(outfile *o, imdb_err *e, const char *what)
{
    o->failed = 1;
    return imdb_fail(e, IMDB_EXIT_IO, "%s: %s: %s", outfile_name(o), what, strerror(errno));
}

outfile *outfile_open(const char *path, int gzip, imdb_err *e)
{
    outfile *o = imdb_xcalloc(1, sizeof *o);
    int to_stdout = !path || strcmp(path, "-") == 0;
    if (gzip < 0) {
        size_t l = to_stdout ? 0 : strlen(path);
        gzip = l > 3 && strcmp(path + l - 3, ".gz") == 0 ? 6 : 0;
    }
    struct stat st;
    if (to_stdout) {
        o->fd = STDOUT_FILENO;
    } else if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        /* A device, FIFO or socket (/dev/null, /dev/full, a named pipe) is written in
         * place, like stdout, not atomically: a temporary beside it would be a regular
         * file, and the rename would replace the device itself (as root, /dev/full or
         * /dev/null with a regular file). */
        o->path = imdb_xstrdup(path);
        o->fd = open(path, O_WRONLY | O_CLOEXEC);
        if (o->fd < 0) {
            imdb_fail(e, IMDB_EXIT_IO, "%s: cannot open: %s", path, strerror(errno));
            outfile_abort(o);
            return NULL;
        }
        o->device = 1;
    } else {
        o->path = imdb_xstrdup(path);
        size_t l = strlen(path);
        o->tmp = imdb_xmalloc(l + 16);
        snprintf(o->tmp, l + 16, "%s.tmp-XXXXXX", path);
        o->fd = mkstemp(o->tmp);
        if (o->fd < 0) {
            imdb_fail(e, IMDB_EXIT_IO, "%s: cannot create: %s", path, strerror(errno));
            free(o->tmp);
            o->tmp = NULL;
            outfile_abort(o);
            return NULL;
        }
        track(o->tmp);
        mode_t um = umask(0);
        umask(um);
        fchmod(o->fd, 0666 & ~um);
    }
    if (gzip > 0) {
        char mode[8];
        snprintf(mode, sizeof mode, "wb%d", gzip > 9 ? 9 : gzip);
        int fd2 = dup(o->fd);
        o->gz = fd2 < 0 ? NULL : gzdopen(fd2, mode);
        if (!o->gz) {
            if (fd2 >= 0) close(fd2);
            imdb_fail(e, IMDB_EXIT_IO, "%s: cannot start gzip stream", outfile_name(o));
            outfile_abort(o);
            return NULL;
        }
        gzbuffer(o->gz, OBUF);
    }
    o->buf = imdb_xmalloc(OBUF);
    return o;
}

const char *outfile_name(const outfile *o) { return o->path ? o->path : "(standard output)"; }

int outfile_refuse_tty(outfile *o, imdb_err *e)
{
    if (isatty(o->fd))
        return imdb_fail(e, IMDB_EXIT_USAGE,
                         "refusing to write binary data to a terminal (use -o FILE or a redirection)");
    return 0;
}

static int flush_buf(outfile *o, imdb_err *e)
{
    size_t off = 0;
    if (o->gz) {
        if (o->n && gzwrite(o->gz, o->buf, (unsigned)o->n) != (int)o->n) {
            int errnum;
            const char *msg = gzerror(o->gz, &errnum);
            o->failed = 1;
            return imdb_fail(e, IMDB_EXIT_IO, "%s: write error: %s", outfile_name(o),
                             errnum == Z_ERRNO ? strerror(errno) : msg);
        }
        o->n = 0;
        return 0;
    }
    while (off < o->n) {
        ssize_t w = write(o->fd, o->buf + off, o->n - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            return sys_fail(o, e, "write error");
        }
        off += (size_t)w;
    }
    o->n = 0;
    return 0;
}

int outfile_write(outfile *o, const void *buf, size_t n, imdb_err *e)
{
    if (o->failed) return imdb_fail(e, IMDB_EXIT_IO, "%s: earlier write failed", outfile_name(o));
    const char *p = buf;
    while (n > 0) {
        if (o->n == OBUF && flush_buf(o, e) < 0) return -1;
        size_t k = OBUF - o->n < n ? OBUF - o->n : n;
        memcpy(o->buf + o->n, p, k);
        o->n += k;
        p += k;
        n -= k;
    }
    return 0;
}

int outfile_puts(outfile *o, const char *s, imdb_err *e) { return outfile_write(o, s, strlen(s), e); }

int outfile_printf(outfile *o, imdb_err *e, const char *fmt, ...)
{
    char small[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return imdb_fail(e, IMDB_EXIT_INTERNAL, "bad format");
    if ((size_t)n < sizeof small) return outfile_write(o, small, (size_t)n, e);
    char *big = imdb_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = outfile_write(o, big, (size_t)n, e);
    free(big);
    return rc;
}

int outfile_commit(outfile *o, imdb_err *e)
{
    int rc = -1;
    if (o->failed) {
        imdb_fail(e, IMDB_EXIT_IO, "%s: earlier write failed", outfile_name(o));
        goto done;
    }
    if (flush_buf(o, e) < 0) goto done;
    if (o->gz) {
        int zr = gzclose(o->gz);
        o->gz = NULL;
        if (zr != Z_OK) {
            imdb_fail(e, IMDB_EXIT_IO, "%s: write error: %s", outfile_name(o),
                      zr == Z_ERRNO ? strerror(errno) : "gzip stream error");
            goto done;
        }
    }
    if (o->tmp) {
        if (fsync(o->fd) < 0 && errno != EINVAL) { sys_fail(o, e, "fsync"); goto done; }
        if (close(o->fd) < 0) { o->fd = -1; sys_fail(o, e, "close"); goto done; }
        o->fd = -1;
        if (rename(o->tmp, o->path) < 0) { sys_fail(o, e, "rename"); goto done; }
        untrack(o->tmp);
        free(o->tmp);
        o->tmp = NULL;
    }
    if (o->device) {
        o->device = 0;
        if (close(o->fd) < 0) { o->fd = -1; sys_fail(o, e, "close"); goto done; }
        o->fd = -1;
    }
    rc = 0;
done:
    outfile_abort(o);
    return rc;
}

void outfile_abort(outfile *o)
{
    if (!o) return;
    if (o->gz) gzclose(o->gz);
    if (o->device && o->fd >= 0) close(o->fd);
    if (o->tmp) {
        if (o->fd >= 0) close(o->fd);
        untrack(o->tmp);
        unlink(o->tmp);
        free(o->tmp);
    }
    free(o->path);
    free(o->buf);
    free(o);
}
