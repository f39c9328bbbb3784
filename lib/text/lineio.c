/* lineio.c — see lineio.h. We read(2) the file ourselves and inflate it with zlib when it
 * starts with the gzip magic, rather than using gzread: gzread waits to fill its whole
 * buffer, so a line typed into a pipe would not be seen until 256 KiB had arrived. Here
 * each read(2) returns what is available, and lines are cut with memchr, so a line costs
 * one scan and at most one copy. Concatenated gzip members are read as one stream. */
#include "lineio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define BLOCK (256 * 1024)

struct lineio {
    int fd;
    char *name;
    char *buf;          /* data read but not yet returned: buf[pos..end) */
    size_t pos, end, cap;
    size_t max_line;
    long lineno;
    int eof;
    int mode;           /* 0 undecided, 1 plain, 2 gzip */
    z_stream zs;
    unsigned char *raw; /* compressed input: raw[0..zs.avail_in) at zs.next_in */
    size_t raw_len;     /* bytes read before the mode was decided */
    int raw_eof, in_member;
};

lineio *lineio_open(const char *path, imdb_err *e)
{
    int fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        imdb_fail(e, IMDB_EXIT_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    lineio *r = imdb_xcalloc(1, sizeof *r);
    r->fd = fd;
    r->name = imdb_xstrdup(strcmp(path, "-") == 0 ? "(standard input)" : path);
    r->cap = 2 * BLOCK;
    r->buf = imdb_xmalloc(r->cap + 1);
    r->max_line = (size_t)256 << 20;
    return r;
}

void lineio_set_max_line(lineio *r, size_t max_line) { r->max_line = max_line; }
long lineio_lineno(const lineio *r) { return r->lineno; }

int lineio_ready(const lineio *r)
{
    return r->eof || memchr(r->buf + r->pos, '\n', r->end - r->pos) != NULL;
}
const char *lineio_name(const lineio *r) { return r->name; }

/* read(2) into p, retrying on EINTR: >0 bytes, 0 at end, -1 on error (e filled). */
static ssize_t read_some(lineio *r, void *p, size_t n, imdb_err *e)
{
    for (;;) {
        ssize_t k = read(r->fd, p, n);
        if (k >= 0) return k;
        if (errno != EINTR) return imdb_fail(e, IMDB_EXIT_IO, "%s: read error: %s", r->name, strerror(errno));
    }
}

/* Look at the first two bytes to choose plain or gzip. */
static int decide(lineio *r, imdb_err *e)
{
    r->raw = imdb_xmalloc(BLOCK);
    while (r->raw_len < 2) {
        ssize_t k = read_some(r, r->raw + r->raw_len, BLOCK - r->raw_len, e);
        if (k < 0) return -1;
        if (k == 0) { r->raw_eof = 1; break; }
        r->raw_len += (size_t)k;
    }
    if (r->raw_len >= 2 && r->raw[0] == 0x1f && r->raw[1] == 0x8b) {
        r->mode = 2;
        if (inflateInit2(&r->zs, 15 + 16) != Z_OK)
            return imdb_fail(e, IMDB_EXIT_INTERNAL, "%s: cannot start gzip decoder", r->name);
        r->in_member = 1;
        r->zs.next_in = r->raw;
        r->zs.avail_in = (uInt)r->raw_len;
    } else {
        r->mode = 1;   /* the bytes already read are the first data */
    }
    return 0;
}

/* Inflate into buf[end..cap): >0 bytes produced, 0 at the clean end, -1 on error. */
static ssize_t inflate_some(lineio *r, imdb_err *e)
{
    for (;;) {
        if (r->zs.avail_in == 0 && !r->raw_eof) {
            ssize_t k = read_some(r, r->raw, BLOCK, e);
            if (k < 0) return -1;
            if (k == 0) r->raw_eof = 1;
            r->zs.next_in = r->raw;
            r->zs.avail_in = (uInt)k;
        }
        if (!r->in_member) {
            if (r->zs.avail_in == 0) return 0;       /* end after a complete member */
            if (r->zs.next_in[0] != 0x1f)            /* trailing garbage: ignore, like gzip */
                return 0;
            inflateReset(&r->zs);
            r->in_member = 1;
        }
        if (r->zs.avail_in == 0 && r->raw_eof)
            return imdb_fail(e, IMDB_EXIT_DATA, "%s: unexpected end of file (truncated gzip data)", r->name);
        r->zs.next_out = (unsigned char *)r->buf + r->end;
        r->zs.avail_out = (uInt)(r->cap - r->end);
        int zr = inflate(&r->zs, Z_NO_FLUSH);
        size_t got = (r->cap - r->end) - r->zs.avail_out;
        if (zr == Z_STREAM_END) r->in_member = 0;
        else if (zr == Z_MEM_ERROR)   /* not the file's fault (tests/fault-inject.sh) */
            return imdb_fail(e, IMDB_EXIT_INTERNAL, "%s: out of memory decompressing", r->name);
        else if (zr != Z_OK && zr != Z_BUF_ERROR)
            return imdb_fail(e, IMDB_EXIT_DATA, "%s: corrupt gzip data (%s)", r->name,
                             r->zs.msg ? r->zs.msg : "inflate error");
        if (got) return (ssize_t)got;
    }
}

/* Append more bytes to buf. 1: got data; 0: clean end; -1: error. */
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
        r->buf = imdb_xrealloc(r->buf, r->cap + 1);
    }
    if (r->mode == 0 && decide(r, e) < 0) return -1;
    ssize_t n;
    if (r->mode == 2) {
        n = inflate_some(r, e);
    } else if (r->raw_len) {          /* plain: first the bytes read by decide */
        memcpy(r->buf + r->end, r->raw, r->raw_len);
        n = (ssize_t)r->raw_len;
        r->raw_len = 0;
    } else {
        n = r->raw_eof ? 0 : read_some(r, r->buf + r->end, r->cap - r->end, e);
    }
    if (n < 0) return -1;
    if (n == 0) {
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
    *buf = imdb_xmalloc(n + 1);
    memcpy(*buf, r->buf + r->pos, n);
    (*buf)[n] = '\0';
    *len = n;
    r->pos = r->end;
    return 0;
}

void lineio_close(lineio *r)
{
    if (!r) return;
    if (r->mode == 2) inflateEnd(&r->zs);
    close(r->fd);
    free(r->raw);
    free(r->buf);
    free(r->name);
    free(r);
}
