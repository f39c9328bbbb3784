/* spill.c — see spill.h. pread/pwrite on the run's descriptor, one block at a time; the
 * temporary file, CRC-32 and varints are recfile.h's. */
#include "spill.h"
#include "recfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "IMDBVRUN"
#define HDR 32
#define MAX_PAYLOAD (UINT32_C(1) << 30)

struct spill_run {
    int fd;
    char *name;
    uint64_t entries, bytes;
};

struct spill_writer {
    spill_run *run;
    unsigned char *buf;   /* 8 bytes of block header, then the payload */
    size_t n, cap;        /* payload bytes, capacity of the payload */
    uint32_t nent;
    uint64_t total;
    int failed;           /* the errno of the first failed write */
};

struct spill_reader {
    spill_run *run;
    int order, maxn;
    unsigned char *buf;
    size_t cap, pos, len;  /* the current block's payload is buf[0..len), read up to pos */
    uint32_t left;         /* entries left in the block */
    uint64_t off;          /* file offset of the next block */
    uint64_t seen;
    int ended;
    char *prev;            /* the previous entry's text when it came from an older block */
    size_t prevcap;
    spill_entry last;
    int have_last, last_in_prev;
};

int spill_cmp(int order, const spill_entry *a, const spill_entry *b)
{
    if (order == SPILL_BY_RANK) {
        if (a->count != b->count) return a->count > b->count ? -1 : 1;
        if (a->df != b->df) return a->df > b->df ? -1 : 1;
    }
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->text, b->text, n);
    if (c) return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

/* ---- writing ---- */

/* Append to the run (at its end: the run's bytes so far). */
static int write_all(spill_writer *w, const unsigned char *p, size_t n, imdb_err *e)
{
    if (recfile_write(w->run->fd, p, n, w->run->bytes) < 0) {
        w->failed = errno;
        return imdb_fail(e, IMDB_EXIT_IO, "%s: write error: %s", w->run->name, strerror(w->failed));
    }
    w->run->bytes += n;
    return 0;
}

static spill_writer *writer_on(int fd, const char *name, int order, int maxn)
{
    spill_writer *w = imdb_xcalloc(1, sizeof *w);
    w->run = imdb_xcalloc(1, sizeof *w->run);
    w->run->fd = fd;
    w->run->name = imdb_xstrdup(name);
    w->cap = SPILL_BLOCK;
    w->buf = imdb_xmalloc(8 + w->cap + 4);
    unsigned char *h = w->buf;   /* the header goes out with the first block */
    memcpy(h, MAGIC, 8);
    put_u32le(h + 8, SPILL_VERSION);
    put_u32le(h + 12, (uint32_t)order);
    put_u32le(h + 16, (uint32_t)maxn);
    put_u32le(h + 20, SPILL_BLOCK);
    put_u32le(h + 24, 0);
    recfile_seal(h, 28);
    imdb_err ignored;
    write_all(w, h, HDR, &ignored);   /* a failure is kept in w->failed */
    return w;
}

spill_writer *spill_create_fd(int fd, const char *name, int order, int maxn)
{
    return writer_on(fd, name, order, maxn);
}

spill_writer *spill_create(const char *dir, int order, int maxn, imdb_err *e)
{
    char *path;
    int fd = recfile_tmp(dir, "spill file", "imdb-vocab-run", &path, e);
    if (fd < 0) return NULL;
    spill_writer *w = writer_on(fd, path, order, maxn);
    free(path);
    if (w->failed) {
        imdb_fail(e, IMDB_EXIT_IO, "%s: write error: %s", w->run->name, strerror(w->failed));
        spill_abort(w);
        return NULL;
    }
    return w;
}

static int flush_block(spill_writer *w, imdb_err *e)
{
    if (w->nent == 0) return 0;
    put_u32le(w->buf, (uint32_t)w->n);
    put_u32le(w->buf + 4, w->nent);
    recfile_seal(w->buf, 8 + w->n);
    if (write_all(w, w->buf, 8 + w->n + 4, e) < 0) return -1;
    w->n = 0;
    w->nent = 0;
    return 0;
}

int spill_put(spill_writer *w, const spill_entry *en, imdb_err *e)
{
    if (w->failed)
        return imdb_fail(e, IMDB_EXIT_IO, "%s: write error: %s", w->run->name, strerror(w->failed));
    size_t need = en->len + 5 * 10;
    if (w->n + need > w->cap && w->n > 0 && flush_block(w, e) < 0) return -1;
    if (need > w->cap) {   /* one entry larger than a block: a block of its own */
        w->cap = need;
        w->buf = imdb_xrealloc(w->buf, 8 + w->cap + 4);
    }
    unsigned char *p = w->buf + 8 + w->n, *p0 = p;
    p += recfile_put_varint(p, en->len);
    memcpy(p, en->text, en->len);
    p += en->len;
    p += recfile_put_varint(p, en->count);
    p += recfile_put_varint(p, en->df);
    p += recfile_put_varint(p, en->first);
    p += recfile_put_varint(p, en->last);
    w->n += (size_t)(p - p0);
    w->nent++;
    w->total++;
    if (w->cap > SPILL_BLOCK && w->n > SPILL_BLOCK) {   /* back to the usual buffer */
        if (flush_block(w, e) < 0) return -1;
        w->cap = SPILL_BLOCK;
        w->buf = imdb_xrealloc(w->buf, 8 + w->cap + 4);
    }
    return 0;
}

spill_run *spill_finish(spill_writer *w, imdb_err *e)
{
    if (w->failed) {
        imdb_fail(e, IMDB_EXIT_IO, "%s: write error: %s", w->run->name, strerror(w->failed));
        spill_abort(w);
        return NULL;
    }
    if (flush_block(w, e) < 0) {
        spill_abort(w);
        return NULL;
    }
    unsigned char end[20];
    put_u32le(end, 8);
    put_u32le(end + 4, 0);
    put_u64le(end + 8, w->total);
    recfile_seal(end, 16);
    if (write_all(w, end, sizeof end, e) < 0) {
        spill_abort(w);
        return NULL;
    }
    spill_run *r = w->run;
    r->entries = w->total;
    free(w->buf);
    free(w);
    return r;
}

void spill_abort(spill_writer *w)
{
    if (!w) return;
    spill_run_free(w->run);
    free(w->buf);
    free(w);
}

/* ---- runs ---- */

spill_run *spill_run_fd(int fd, const char *name)
{
    spill_run *r = imdb_xcalloc(1, sizeof *r);
    r->fd = fd;
    r->name = imdb_xstrdup(name);
    struct stat st;
    if (fstat(fd, &st) == 0) r->bytes = (uint64_t)st.st_size;
    return r;
}

uint64_t spill_run_entries(const spill_run *r) { return r->entries; }
uint64_t spill_run_bytes(const spill_run *r) { return r->bytes; }

void spill_run_free(spill_run *r)
{
    if (!r) return;
    if (r->fd >= 0) close(r->fd);
    free(r->name);
    free(r);
}

/* ---- reading ---- */

static int damaged(spill_reader *rd, imdb_err *e, const char *what, uint64_t off)
{
    return imdb_fail(e, IMDB_EXIT_IO, "spill file %s is damaged: %s (at byte %llu); nothing written",
                     rd->run->name, what, (unsigned long long)off);
}

/* Read exactly n bytes at offset off: 1 ok, 0 the file ends first, -1 error. */
static int read_at(spill_reader *rd, unsigned char *p, size_t n, uint64_t off, imdb_err *e)
{
    int got = recfile_read(rd->run->fd, p, n, off);
    if (got < 0)
        return imdb_fail(e, IMDB_EXIT_IO, "spill file %s: read error: %s", rd->run->name, strerror(errno));
    return got;
}

spill_reader *spill_open(spill_run *r, int order, int maxn, imdb_err *e)
{
    spill_reader *rd = imdb_xcalloc(1, sizeof *rd);
    rd->run = r;
    rd->order = order;
    rd->maxn = maxn;
    rd->cap = SPILL_BLOCK + 12;
    rd->buf = imdb_xmalloc(rd->cap);
    unsigned char h[HDR];
    int got = read_at(rd, h, HDR, 0, e);
    if (got < 0) goto fail;
    if (got == 0) { damaged(rd, e, "truncated header", 0); goto fail; }
    if (memcmp(h, MAGIC, 8) != 0) { damaged(rd, e, "not a spill file (bad magic)", 0); goto fail; }
    if (!recfile_sealed(h, 28)) { damaged(rd, e, "bad header CRC", 28); goto fail; }
    uint32_t version = get_u32le(h + 8);
    if (version != SPILL_VERSION) {
        imdb_fail(e, IMDB_EXIT_IO, "spill file %s: format version %u is not this program's %d "
                  "(written by another version of imdb?)", r->name, version, SPILL_VERSION);
        goto fail;
    }
    if (get_u32le(h + 12) != (uint32_t)order || get_u32le(h + 16) != (uint32_t)maxn) {
        imdb_fail(e, IMDB_EXIT_IO, "spill file %s: order %u, ngrams=%u where %d, %d were expected",
                  r->name, get_u32le(h + 12), get_u32le(h + 16), order, maxn);
        goto fail;
    }
    rd->off = HDR;
    return rd;
fail:
    spill_close(rd);
    return NULL;
}

/* A varint at *pp (before end), *pp moved past it: 0, or -1 if damaged. */
static int get_varint(const unsigned char **pp, const unsigned char *end, uint64_t *out)
{
    size_t k = recfile_get_varint(*pp, end, out);
    *pp += k;
    return k ? 0 : -1;
}

/* Load the next block (or the end record). 1 block, 0 end, -1 error. */
static int next_block(spill_reader *rd, imdb_err *e)
{
    unsigned char h[8];
    uint64_t at = rd->off;
    int got = read_at(rd, h, 8, at, e);
    if (got < 0) return -1;
    if (got == 0) return damaged(rd, e, "truncated (no end record)", at);
    uint32_t plen = get_u32le(h), nent = get_u32le(h + 4);
    if (nent == 0) {   /* the end record */
        unsigned char end[20];
        memcpy(end, h, 8);
        if (plen != 8) return damaged(rd, e, "bad end record", at);
        got = read_at(rd, end + 8, 12, at + 8, e);
        if (got < 0) return -1;
        if (got == 0) return damaged(rd, e, "truncated end record", at);
        if (!recfile_sealed(end, 16)) return damaged(rd, e, "bad CRC in the end record", at);
        if (get_u64le(end + 8) != rd->seen) return damaged(rd, e, "entry total does not match", at);
        unsigned char extra;
        got = read_at(rd, &extra, 1, at + 20, e);
        if (got < 0) return -1;
        if (got) return damaged(rd, e, "bytes after the end record", at + 20);
        rd->ended = 1;
        return 0;
    }
    struct stat st;
    if (fstat(rd->run->fd, &st) < 0)
        return imdb_fail(e, IMDB_EXIT_IO, "spill file %s: %s", rd->run->name, strerror(errno));
    if (plen > MAX_PAYLOAD || (uint64_t)plen + 12 > (uint64_t)st.st_size - at || nent > plen / 5)
        return damaged(rd, e, "bad block length (truncated?)", at);
    if ((size_t)plen + 12 > rd->cap) {
        rd->cap = (size_t)plen + 12;
        rd->buf = imdb_xrealloc(rd->buf, rd->cap);
    }
    memcpy(rd->buf, h, 8);
    got = read_at(rd, rd->buf + 8, (size_t)plen + 4, at + 8, e);
    if (got < 0) return -1;
    if (got == 0) return damaged(rd, e, "truncated block", at);
    if (!recfile_sealed(rd->buf, 8 + (size_t)plen))
        return damaged(rd, e, "bad block CRC", at);
    rd->pos = 8;
    rd->len = 8 + (size_t)plen;
    rd->left = nent;
    rd->off = at + 8 + plen + 4;
    return 1;
}

int spill_next(spill_reader *rd, spill_entry *en, imdb_err *e)
{
    if (rd->ended) return 0;
    if (rd->left == 0) {
        if (rd->have_last && !rd->last_in_prev) {   /* keep the text the next block overwrites */
            if (rd->last.len > rd->prevcap) {
                rd->prevcap = rd->last.len;
                rd->prev = imdb_xrealloc(rd->prev, rd->prevcap);
            }
            memcpy(rd->prev, rd->last.text, rd->last.len);
            rd->last.text = rd->prev;
            rd->last_in_prev = 1;
        }
        int got = next_block(rd, e);
        if (got <= 0) return got;
    }
    const unsigned char *p = rd->buf + rd->pos, *end = rd->buf + rd->len;
    uint64_t at = rd->off - (uint64_t)(rd->len - rd->pos) - 4;
    uint64_t len, f, l;
    if (get_varint(&p, end, &len) < 0 || len == 0 || len > (uint64_t)(end - p))
        return damaged(rd, e, "bad entry length", at);
    en->text = (const char *)p;
    en->len = (size_t)len;
    p += len;
    if (get_varint(&p, end, &en->count) < 0 || get_varint(&p, end, &en->df) < 0 ||
        get_varint(&p, end, &f) < 0 || get_varint(&p, end, &l) < 0)
        return damaged(rd, e, "bad entry", at);
    if (en->count == 0 || en->df == 0 || en->df > en->count || f > l || l > UINT32_MAX)
        return damaged(rd, e, "entry field out of range", at);
    en->first = (uint32_t)f;
    en->last = (uint32_t)l;
    int order = 1, ok = 1;
    for (size_t i = 0; i < en->len; i++) {
        char c = en->text[i];
        if (c == ' ') {
            if (i == 0 || i + 1 == en->len || en->text[i + 1] == ' ') ok = 0;
            order++;
        } else if (c == '\t' || c == '\n' || c == '\r' || c == '\0') {
            ok = 0;
        }
    }
    if (!ok || order > rd->maxn) return damaged(rd, e, "bad n-gram text", at);
    if (rd->have_last && spill_cmp(rd->order, &rd->last, en) >= 0)
        return damaged(rd, e, "entries out of order", at);
    rd->pos = (size_t)(p - rd->buf);
    rd->left--;
    rd->seen++;
    if (rd->left == 0 && rd->pos != rd->len) return damaged(rd, e, "block length mismatch", at);
    rd->last = *en;
    rd->have_last = 1;
    rd->last_in_prev = 0;
    return 1;
}

void spill_close(spill_reader *rd)
{
    if (!rd) return;
    free(rd->buf);
    free(rd->prev);
    free(rd);
}
