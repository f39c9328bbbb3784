/* doccache.c — see doccache.h. A file cache is written with pwrite and read with pread
 * on one descriptor, one block at a time; a memory cache is the same image in a buffer.
 * The temporary file, CRC-32 and varints are recfile.h's (but for the naive reference,
 * which reads the format on its own). */
#include "doccache.h"
#include "recfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MAGIC "IMDBDCCH"
#define BMAGIC "DCBK"
#define MAX_PAYLOAD (UINT32_C(1) << 31)

typedef struct blk {
    uint64_t off;        /* of the block header */
    uint32_t ndocs, payload, crc;
} blk;

struct doccache {
    int fd;                  /* -1: the image is mem */
    char *name;
    unsigned char *mem;      /* (memlen) a memory cache's image */
    size_t memlen, memcap;
    uint32_t B, nfeat;
    blk *blocks;
    size_t nblocks, capblocks;
    uint64_t ndocs, bytes, features;
    size_t max_payload;
    unsigned char **res;     /* (nblocks) resident payloads of a file cache, or NULL */
    uint64_t resident_bytes;
    /* The decoded block. */
    unsigned char *pbuf;
    size_t pcap;
    uint32_t *num, *feat;
    float *target;
    size_t *off, *enc_off, *enc_end;
    size_t dcap, fcap;
};

struct doccache_writer {
    doccache *c;
    unsigned char *buf;      /* the current block: header room, then the payload */
    size_t n, cap;           /* payload bytes, capacity */
    uint32_t docs;           /* in the current block */
    uint64_t at;             /* file offset of the next block */
    size_t resident;         /* budget left for resident blocks */
    int failed;              /* errno of the first failed write */
};

size_t doccache_encoded_bytes(const uint32_t *feat, size_t nf)
{
    size_t n = recfile_varint_bytes(nf);
    for (size_t i = 0; i < nf; i++) n += recfile_varint_bytes(i ? feat[i] - feat[i - 1] : feat[i]);
    return n;
}

static doccache *cache_new(int fd, const char *name, uint32_t B, uint32_t nfeat)
{
    doccache *c = imdb_xcalloc(1, sizeof *c);
    c->fd = fd;
    c->name = imdb_xstrdup(name);
    c->B = B;
    c->nfeat = nfeat;
    return c;
}

/* ---- writing ---- */

static int put_at(doccache_writer *w, const unsigned char *p, size_t n, uint64_t at, imdb_err *e)
{
    doccache *c = w->c;
    if (w->failed)
        return imdb_fail(e, IMDB_EXIT_IO, "%s: write error: %s", c->name, strerror(w->failed));
    if (c->fd < 0) {
        if (at + n > c->memcap) {
            size_t cap = c->memcap ? c->memcap : 1 << 16;
            while (cap < at + n) cap *= 2;
            c->mem = imdb_xrealloc(c->mem, cap);
            c->memcap = cap;
        }
        memcpy(c->mem + at, p, n);
        if (at + n > c->memlen) c->memlen = (size_t)(at + n);
        return 0;
    }
    if (recfile_write(c->fd, p, n, at) < 0) {
        w->failed = errno;
        return imdb_fail(e, IMDB_EXIT_IO, "%s: write error: %s", c->name, strerror(w->failed));
    }
    return 0;
}

static doccache_writer *writer_on(doccache *c, size_t resident)
{
    doccache_writer *w = imdb_xcalloc(1, sizeof *w);
    w->c = c;
    w->cap = 1 << 16;
    w->buf = imdb_xmalloc(DOCCACHE_BLOCK_HEADER + w->cap);
    w->at = DOCCACHE_HEADER;
    w->resident = c->fd < 0 ? 0 : resident;
    unsigned char zero[DOCCACHE_HEADER] = { 0 };   /* the header is written last */
    imdb_err ignored;
    put_at(w, zero, sizeof zero, 0, &ignored);      /* a failure is kept in w->failed */
    return w;
}

doccache_writer *doccache_create_fd(int fd, const char *name, uint32_t block_docs, uint32_t nfeat,
                                    size_t resident)
{
    return writer_on(cache_new(fd, name, block_docs ? block_docs : 1, nfeat), resident);
}

doccache_writer *doccache_create(const char *dir, uint32_t block_docs, uint32_t nfeat, size_t resident,
                                 imdb_err *e)
{
    if (!dir) return writer_on(cache_new(-1, "(document cache in memory)", block_docs ? block_docs : 1, nfeat), 0);
    char *path;
    int fd = recfile_tmp(dir, "document cache", "imdb-train-cache", &path, e);
    if (fd < 0) return NULL;
    doccache_writer *w = doccache_create_fd(fd, path, block_docs, nfeat, resident);
    free(path);
    if (w->failed) {
        imdb_fail(e, IMDB_EXIT_IO, "%s: write error: %s", w->c->name, strerror(w->failed));
        doccache_abort(w);
        return NULL;
    }
    return w;
}

static int flush_block(doccache_writer *w, imdb_err *e)
{
    doccache *c = w->c;
    if (w->docs == 0) return 0;
    unsigned char *h = w->buf;
    uint32_t pc = recfile_crc32(w->buf + DOCCACHE_BLOCK_HEADER, w->n);
    memcpy(h, BMAGIC, 4);
    put_u32le(h + 4, w->docs);
    put_u32le(h + 8, (uint32_t)w->n);
    put_u32le(h + 12, pc);
    put_u32le(h + 16, (uint32_t)c->nblocks);
    recfile_seal(h, 20);
    if (put_at(w, w->buf, DOCCACHE_BLOCK_HEADER + w->n, w->at, e) < 0) return -1;
    if (c->nblocks == c->capblocks) {
        c->capblocks = c->capblocks ? 2 * c->capblocks : 64;
        c->blocks = imdb_xrealloc(c->blocks, c->capblocks * sizeof *c->blocks);
        if (c->fd >= 0) {
            c->res = imdb_xrealloc(c->res, c->capblocks * sizeof *c->res);
        }
    }
    c->blocks[c->nblocks] = (blk){ w->at, w->docs, (uint32_t)w->n, pc };
    if (c->fd >= 0) {
        c->res[c->nblocks] = NULL;
        if (w->n <= w->resident) {   /* written through: no read back */
            c->res[c->nblocks] = imdb_xmalloc(w->n ? w->n : 1);
            memcpy(c->res[c->nblocks], w->buf + DOCCACHE_BLOCK_HEADER, w->n);
            w->resident -= w->n;
            c->resident_bytes += w->n;
        }
    }
    if (w->n > c->max_payload) c->max_payload = w->n;
    c->nblocks++;
    w->at += DOCCACHE_BLOCK_HEADER + w->n;
    w->n = 0;
    w->docs = 0;
    return 0;
}

static int add_record(doccache_writer *w, uint32_t num, float target, const unsigned char *enc, size_t len,
                      const uint32_t *feat, size_t nf, imdb_err *e)
{
    doccache *c = w->c;
    if (w->failed)
        return imdb_fail(e, IMDB_EXIT_IO, "%s: write error: %s", c->name, strerror(w->failed));
    size_t need = 5 + 4 + (enc ? len : 5 + 5 * nf);
    if (w->n + need > MAX_PAYLOAD)
        return imdb_fail(e, IMDB_EXIT_INTERNAL, "%s: a block of %u documents would exceed %u bytes", c->name,
                         (unsigned)c->B, (unsigned)MAX_PAYLOAD);
    if (w->n + need > w->cap) {
        while (w->n + need > w->cap) w->cap *= 2;
        w->buf = imdb_xrealloc(w->buf, DOCCACHE_BLOCK_HEADER + w->cap);
    }
    unsigned char *p0 = w->buf + DOCCACHE_BLOCK_HEADER + w->n, *p = p0;
    p += recfile_put_varint(p, num);
    uint32_t bits;
    memcpy(&bits, &target, 4);
    put_u32le(p, bits);
    p += 4;
    if (enc) {
        uint32_t k;
        size_t h = recfile_get_varint32(enc, enc + len, &k);
        if (!h) return imdb_fail(e, IMDB_EXIT_INTERNAL, "%s: bad encoded record", c->name);
        memcpy(p, enc, len);
        p += len;
        nf = k;
    } else {
        p += recfile_put_varint(p, nf);
        for (size_t i = 0; i < nf; i++) {
            if (feat[i] >= c->nfeat || (i > 0 && feat[i] <= feat[i - 1]))
                return imdb_fail(e, IMDB_EXIT_INTERNAL, "%s: document %u: feature ids not sorted below %u",
                                 c->name, (unsigned)num, (unsigned)c->nfeat);
            p += recfile_put_varint(p, i ? feat[i] - feat[i - 1] : feat[i]);
        }
    }
    w->n += (size_t)(p - p0);
    c->features += nf;
    c->ndocs++;
    if (++w->docs == c->B) return flush_block(w, e);
    return 0;
}

int doccache_add(doccache_writer *w, uint32_t num, float target, const uint32_t *feat, size_t nf, imdb_err *e)
{
    return add_record(w, num, target, NULL, 0, feat, nf, e);
}

int doccache_add_encoded(doccache_writer *w, uint32_t num, float target, const unsigned char *enc, size_t len,
                         imdb_err *e)
{
    return add_record(w, num, target, enc, len, NULL, 0, e);
}

static void header(const doccache *c, unsigned char *h)
{
    memcpy(h, MAGIC, 8);
    put_u32le(h + 8, DOCCACHE_VERSION);
    put_u32le(h + 12, c->B);
    put_u32le(h + 16, c->nfeat);
    put_u32le(h + 20, (uint32_t)c->nblocks);
    put_u64le(h + 24, c->ndocs);
    put_u32le(h + 32, 0);
    recfile_seal(h, 36);
}

doccache *doccache_finish(doccache_writer *w, imdb_err *e)
{
    doccache *c = w->c;
    unsigned char h[DOCCACHE_HEADER];
    int rc = flush_block(w, e);
    if (rc == 0) {
        header(c, h);
        rc = put_at(w, h, sizeof h, 0, e);
    }
    c->bytes = w->at;
    free(w->buf);
    free(w);
    if (rc < 0) {
        doccache_close(c);
        return NULL;
    }
    return c;
}

void doccache_abort(doccache_writer *w)
{
    if (!w) return;
    doccache_close(w->c);
    free(w->buf);
    free(w);
}

/* ---- reading ---- */

static int read_at(const doccache *c, unsigned char *p, size_t n, uint64_t at, imdb_err *e)
{
    if (c->fd < 0) {
        if (at > c->memlen || n > c->memlen - at)
            return imdb_fail(e, IMDB_EXIT_DATA, "%s: truncated", c->name);
        memcpy(p, c->mem + at, n);
        return 0;
    }
    int got = recfile_read(c->fd, p, n, at);
    if (got < 0) return imdb_fail(e, IMDB_EXIT_IO, "%s: read error: %s", c->name, strerror(errno));
    if (got == 0) return imdb_fail(e, IMDB_EXIT_DATA, "%s: truncated at byte %llu", c->name, (unsigned long long)at);
    return 0;
}

doccache *doccache_open_fd(int fd, const char *name, size_t resident, imdb_err *e)
{
    doccache *c = cache_new(fd, name, 1, 0);
    struct stat st;
    unsigned char h[DOCCACHE_HEADER];
    if (fstat(fd, &st) < 0) {
        imdb_fail(e, IMDB_EXIT_IO, "%s: %s", name, strerror(errno));
        goto fail;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (read_at(c, h, sizeof h, 0, e) < 0) goto fail;
    if (memcmp(h, MAGIC, 8) != 0) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: not a document cache (bad magic)", name);
        goto fail;
    }
    if (get_u32le(h + 8) != DOCCACHE_VERSION) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: document cache of version %u; this build reads version %d only",
                  name, (unsigned)get_u32le(h + 8), DOCCACHE_VERSION);
        goto fail;
    }
    if (!recfile_sealed(h, 36)) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: document cache header is corrupt (bad CRC)", name);
        goto fail;
    }
    c->B = get_u32le(h + 12);
    c->nfeat = get_u32le(h + 16);
    size_t nb = get_u32le(h + 20);
    c->ndocs = get_u64le(h + 24);
    if (c->B == 0 || (c->ndocs + c->B - 1) / c->B != nb || nb > size / DOCCACHE_BLOCK_HEADER) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: document cache header is inconsistent", name);
        goto fail;
    }
    c->blocks = imdb_xmalloc((nb ? nb : 1) * sizeof *c->blocks);
    c->res = imdb_xcalloc(nb ? nb : 1, sizeof *c->res);
    c->capblocks = nb;
    uint64_t at = DOCCACHE_HEADER;
    for (size_t b = 0; b < nb; b++) {
        unsigned char bh[DOCCACHE_BLOCK_HEADER];
        if (read_at(c, bh, sizeof bh, at, e) < 0) goto fail;
        uint32_t docs = get_u32le(bh + 4), pl = get_u32le(bh + 8);
        uint32_t want = b + 1 < nb ? c->B : (uint32_t)(c->ndocs - (uint64_t)(nb - 1) * c->B);
        if (memcmp(bh, BMAGIC, 4) != 0 || !recfile_sealed(bh, 20) || get_u32le(bh + 16) != b ||
            docs != want || pl > MAX_PAYLOAD || pl > size - at - DOCCACHE_BLOCK_HEADER) {
            imdb_fail(e, IMDB_EXIT_DATA, "%s: block %zu of the document cache is corrupt or truncated", name, b);
            goto fail;
        }
        c->blocks[b] = (blk){ at, docs, pl, get_u32le(bh + 12) };
        if (pl > c->max_payload) c->max_payload = pl;
        at += DOCCACHE_BLOCK_HEADER + (uint64_t)pl;
        c->nblocks = b + 1;
    }
    if (at != size) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: %llu bytes after the last block of the document cache", name,
                  (unsigned long long)(size - at));
        goto fail;
    }
    c->bytes = size;
    if (doccache_set_resident(c, resident, e) < 0) goto fail;
    return c;
fail:
    doccache_close(c);
    return NULL;
}

/* Read block b's payload from the file into p and check its CRC. */
static int read_payload(const doccache *c, size_t b, unsigned char *p, imdb_err *e)
{
    const blk *k = &c->blocks[b];
    if (read_at(c, p, k->payload, k->off + DOCCACHE_BLOCK_HEADER, e) < 0) return -1;
    if (recfile_crc32(p, k->payload) != k->crc)
        return imdb_fail(e, IMDB_EXIT_DATA, "%s: block %zu of the document cache is corrupt (bad CRC)",
                         c->name, b);
    return 0;
}

int doccache_set_resident(doccache *c, size_t resident, imdb_err *e)
{
    if (c->fd < 0) return 0;
    for (size_t b = 0; b < c->nblocks; b++) {
        free(c->res[b]);
        c->res[b] = NULL;
    }
    c->resident_bytes = 0;
    for (size_t b = 0; b < c->nblocks && c->blocks[b].payload <= resident; b++) {
        const blk *k = &c->blocks[b];
        unsigned char *p = imdb_xmalloc(k->payload ? k->payload : 1);
        if (read_payload(c, b, p, e) < 0) { free(p); return -1; }
        c->res[b] = p;
        resident -= k->payload;
        c->resident_bytes += k->payload;
    }
    return 0;
}

void doccache_close(doccache *c)
{
    if (!c) return;
    if (c->fd >= 0) close(c->fd);
    for (size_t b = 0; c->res && b < c->nblocks; b++) free(c->res[b]);
    free(c->res);
    free(c->blocks);
    free(c->mem);
    free(c->name);
    free(c->pbuf); free(c->num); free(c->feat); free(c->target); free(c->off); free(c->enc_off); free(c->enc_end);
    free(c);
}

uint64_t doccache_docs(const doccache *c) { return c->ndocs; }
size_t doccache_blocks(const doccache *c) { return c->nblocks; }
uint32_t doccache_block_docs(const doccache *c) { return c->B; }
uint64_t doccache_bytes(const doccache *c) { return c->bytes; }
uint64_t doccache_resident_bytes(const doccache *c) { return c->fd < 0 ? c->bytes : c->resident_bytes; }
uint64_t doccache_features(const doccache *c) { return c->features; }
size_t doccache_max_payload(const doccache *c) { return c->max_payload; }

size_t doccache_block_memory(const doccache *c)
{
    /* The payload (when read from the file), at most one id per payload byte, and the
     * per-document arrays. */
    size_t p = c->max_payload, d = c->B;
    return p + p * sizeof(uint32_t) + d * (2 * sizeof(uint32_t) + 2 * sizeof(size_t)) + 2 * sizeof(size_t);
}

int doccache_read(doccache *c, size_t b, doccache_block *out, imdb_err *e)
{
    if (b >= c->nblocks) return imdb_fail(e, IMDB_EXIT_INTERNAL, "%s: no block %zu", c->name, b);
    const blk *k = &c->blocks[b];
    const unsigned char *p;
    if (c->fd < 0) p = c->mem + k->off + DOCCACHE_BLOCK_HEADER;
    else if (c->res[b]) p = c->res[b];
    else {
        if (k->payload > c->pcap) {
            free(c->pbuf);
            c->pbuf = imdb_xmalloc(k->payload);
            c->pcap = k->payload;
        }
        if (read_payload(c, b, c->pbuf, e) < 0) return -1;
        p = c->pbuf;
    }
    if (k->ndocs > c->dcap) {
        c->dcap = k->ndocs;
        c->num = imdb_xrealloc(c->num, c->dcap * sizeof *c->num);
        c->target = imdb_xrealloc(c->target, c->dcap * sizeof *c->target);
        c->off = imdb_xrealloc(c->off, (c->dcap + 1) * sizeof *c->off);
        c->enc_off = imdb_xrealloc(c->enc_off, (c->dcap + 1) * sizeof *c->enc_off);
        c->enc_end = imdb_xrealloc(c->enc_end, (c->dcap + 1) * sizeof *c->enc_end);
    }
    if (k->payload > c->fcap) {
        c->fcap = k->payload;
        c->feat = imdb_xrealloc(c->feat, c->fcap * sizeof *c->feat);
    }
    const unsigned char *q = p, *end = p + k->payload;
    size_t nf = 0;
    for (uint32_t j = 0; j < k->ndocs; j++) {
        uint32_t num, cnt, bits;
        size_t h = recfile_get_varint32(q, end, &num);
        if (!h || end - (q + h) < 4) goto bad;
        q += h;
        bits = get_u32le(q);
        q += 4;
        c->num[j] = num;
        memcpy(&c->target[j], &bits, 4);
        c->enc_off[j] = (size_t)(q - p);
        if (!(h = recfile_get_varint32(q, end, &cnt)) || cnt > (size_t)(end - q)) goto bad;
        q += h;
        c->off[j] = nf;
        uint64_t f = 0;
        for (uint32_t i = 0; i < cnt; i++) {
            uint32_t d;
            if (!(h = recfile_get_varint32(q, end, &d))) goto bad;
            q += h;
            if (i > 0 && d == 0) goto bad;
            f = i ? f + d : d;
            if (f >= c->nfeat) goto bad;
            c->feat[nf++] = (uint32_t)f;
        }
        c->enc_end[j] = (size_t)(q - p);
    }
    if (q != end) goto bad;
    c->off[k->ndocs] = nf;
    *out = (doccache_block){ k->ndocs, c->num, c->target, c->off, c->feat, p, c->enc_off, c->enc_end };
    return 0;
bad:
    return imdb_fail(e, IMDB_EXIT_DATA, "%s: block %zu of the document cache has a bad record", c->name, b);
}

/* ---- the naive reference ---- */

static int naive_u32(const unsigned char *img, size_t size, size_t *at, uint32_t *v)
{
    if (*at + 4 > size) return -1;
    *v = (uint32_t)img[*at] | (uint32_t)img[*at + 1] << 8 | (uint32_t)img[*at + 2] << 16 |
         (uint32_t)img[*at + 3] << 24;
    *at += 4;
    return 0;
}

static int naive_varint(const unsigned char *img, size_t end, size_t *at, uint32_t *v)
{
    uint64_t x = 0;
    int shift = 0;
    for (;;) {
        if (*at >= end || shift > 28) return -1;
        unsigned char byte = img[(*at)++];
        x += (uint64_t)(byte & 127) << shift;
        if (byte < 128) break;
        shift += 7;
    }
    if (x > 0xffffffffu) return -1;
    *v = (uint32_t)x;
    return 0;
}

long doccache_read_naive(const unsigned char *img, size_t size, uint32_t **num, float **target, size_t **off,
                         uint32_t **feat)
{
    size_t at = 0;
    uint32_t version, B, nfeat, nblocks, lo, hi, zero, hcrc;
    if (size < 40 || memcmp(img, "IMDBDCCH", 8) != 0) return -1;
    at = 8;
    naive_u32(img, size, &at, &version);
    naive_u32(img, size, &at, &B);
    naive_u32(img, size, &at, &nfeat);
    naive_u32(img, size, &at, &nblocks);
    naive_u32(img, size, &at, &lo);
    naive_u32(img, size, &at, &hi);
    naive_u32(img, size, &at, &zero);
    naive_u32(img, size, &at, &hcrc);
    uint64_t ndocs = (uint64_t)hi << 32 | lo;
    if (version != 1 || B == 0 || hcrc != (uint32_t)crc32(0, img, 36) || ndocs > size)
        return -1;
    size_t nd = 0, cap = 0, nfe = 0, fcap = 0;
    uint32_t *N = NULL, *F = NULL;
    float *T = NULL;
    size_t *O = NULL;
    for (uint32_t b = 0; b < nblocks; b++) {
        size_t h = at;
        uint32_t docs, pl, pcrc, index, bcrc;
        if (at + 24 > size || memcmp(img + at, "DCBK", 4) != 0) goto bad;
        at += 4;
        naive_u32(img, size, &at, &docs);
        naive_u32(img, size, &at, &pl);
        naive_u32(img, size, &at, &pcrc);
        naive_u32(img, size, &at, &index);
        naive_u32(img, size, &at, &bcrc);
        if (bcrc != (uint32_t)crc32(0, img + h, 20) || index != b || docs == 0 || docs > B ||
            (b + 1 < nblocks && docs != B) || pl > size - at || pcrc != (uint32_t)crc32(0, img + at, pl))
            goto bad;
        size_t end = at + pl;
        for (uint32_t j = 0; j < docs; j++) {
            if (nd + 1 >= cap) {
                cap = cap ? 2 * cap : 64;
                N = imdb_xrealloc(N, cap * sizeof *N);
                T = imdb_xrealloc(T, cap * sizeof *T);
                O = imdb_xrealloc(O, (cap + 1) * sizeof *O);
            }
            uint32_t bits, k, prev = 0;
            if (naive_varint(img, end, &at, &N[nd]) < 0 || at + 4 > end) goto bad;
            naive_u32(img, size, &at, &bits);
            memcpy(&T[nd], &bits, 4);
            if (naive_varint(img, end, &at, &k) < 0) goto bad;
            O[nd] = nfe;
            for (uint32_t i = 0; i < k; i++) {
                uint32_t d;
                if (naive_varint(img, end, &at, &d) < 0) goto bad;
                uint64_t f = i == 0 ? d : (uint64_t)prev + d;
                if ((i > 0 && d == 0) || f >= nfeat) goto bad;
                if (nfe == fcap) {
                    fcap = fcap ? 2 * fcap : 256;
                    F = imdb_xrealloc(F, fcap * sizeof *F);
                }
                F[nfe++] = prev = (uint32_t)f;
            }
            nd++;
        }
        if (at != end) goto bad;
    }
    if (at != size || nd != ndocs) goto bad;
    if (!O) O = imdb_xmalloc(sizeof *O);
    O[nd] = nfe;
    *num = N; *target = T; *off = O; *feat = F;
    return (long)nd;
bad:
    free(N); free(T); free(O); free(F);
    return -1;
}
