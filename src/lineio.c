/* lineio.c — see lineio.h. zlib's gzread reads gzip and plain files alike; we read big
 * blocks and cut lines with memchr, so a line costs one scan and at most one copy. */
#include "lineio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define BLOCK (256 * 1024)

struct lineio {
    gzFile gz;
    char *name;
    char *buf;          /* data read but not yet returned: buf[pos..end) */
    size_t pos, end, cap;
    size_t max_line;
    long lineno;
    int eof;
};

lineio *lineio_open(const char *path, imdb_err *e)
{
    int fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        imdb_fail(e, IMDB_EXIT_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        close(fd);
        imdb_fail(e, IMDB_EXIT_IO, "%s: cannot open: out of memory", path);
        return NULL;
    }
    gzbuffer(gz, BLOCK);
    lineio *r = xcalloc(1, sizeof *r);
    r->gz = gz;
    r->name = xstrdup(strcmp(path, "-") == 0 ? "(standard input)" : path);
    r->cap = 2 * BLOCK;
    r->buf = xmalloc(r->cap + 1);
    r->max_line = (size_t)256 << 20;
    return r;
}

void lineio_set_max_line(lineio *r, size_t max_line) { r->max_line = max_line; }
long lineio_lineno(const lineio *r) { return r->lineno; }
const char *lineio_name(const lineio *r) { return r->name; }

/* Append up to BLOCK more bytes. 1: got data; 0: clean end; -1: error. */
static int fill(lineio *r, imdb_err *e)
{
    if (r->eof) return 0;
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->end - r->pos);
        r->end -= r->pos;
        r->pos = 0;
    }
    if (r->cap - r->end < BLOCK) {
        r->cap = r->cap * 2;
        r->buf = xrealloc(r->buf, r->cap + 1);
    }
    int n = gzread(r->gz, r->buf + r->end, BLOCK);
    if (n < 0) {
        int errnum;
        const char *msg = gzerror(r->gz, &errnum);
        return imdb_fail(e, errnum == Z_ERRNO ? IMDB_EXIT_IO : IMDB_EXIT_DATA,
                         "%s: %s", r->name, errnum == Z_ERRNO ? strerror(errno) : msg);
    }
    if (n == 0) {
        int errnum;
        const char *msg = gzerror(r->gz, &errnum);
        if (errnum != Z_OK && errnum != Z_STREAM_END)
            return imdb_fail(e, errnum == Z_ERRNO ? IMDB_EXIT_IO : IMDB_EXIT_DATA,
                             "%s: %s (truncated or corrupt gzip file?)", r->name,
                             errnum == Z_ERRNO ? strerror(errno) : msg);
        r->eof = 1;
        return 0;
    }
    r->end += (size_t)n;
    return 1;
}

int lineio_next(lineio *r, char **line, size_t *len, imdb_err *e)
{
    size_t scanned = r->pos;
    for (;;) {
        char *nl = memchr(r->buf + scanned, '\n', r->end - scanned);
        if (nl) {
            size_t start = r->pos, n = (size_t)(nl - (r->buf + start));
            r->pos = start + n + 1;
            if (n > 0 && r->buf[start + n - 1] == '\r') n--;
            r->buf[start + n] = '\0';
            *line = r->buf + start;
            *len = n;
            r->lineno++;
            if (n > r->max_line) goto too_long;
            return 1;
        }
        if (r->end - r->pos > r->max_line) goto too_long;
        scanned = r->end;
        size_t oldpos = r->pos;
        int got = fill(r, e);
        if (got < 0) return -1;
        scanned -= oldpos - r->pos;   /* fill moved the data to the front */
        if (got == 0) {
            if (r->pos == r->end) return 0;
            size_t start = r->pos, n = r->end - start;
            r->pos = r->end;
            if (n > 0 && r->buf[start + n - 1] == '\r') n--;
            r->buf[start + n] = '\0';
            *line = r->buf + start;
            *len = n;
            r->lineno++;
            return 1;
        }
    }
too_long:
    return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: line longer than %zu bytes", r->name,
                     r->lineno + (r->pos == 0), r->max_line);
}

int lineio_slurp(lineio *r, char **buf, size_t *len, imdb_err *e)
{
    int got;
    while ((got = fill(r, e)) > 0) {}
    if (got < 0) return -1;
    size_t n = r->end - r->pos;
    *buf = xmalloc(n + 1);
    memcpy(*buf, r->buf + r->pos, n);
    (*buf)[n] = '\0';
    *len = n;
    r->pos = r->end;
    return 0;
}

void lineio_close(lineio *r)
{
    if (!r) return;
    gzclose(r->gz);
    free(r->buf);
    free(r->name);
    free(r);
}
