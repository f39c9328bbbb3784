/* unit_doccache.c — the document cache (doccache.h): round trips in memory and in a file
 * (with and without resident blocks) against the input and against the naive reader;
 * a byte changed in every block's header and payload, the header, truncation at every
 * block boundary and inside blocks, trailing bytes and another version are all refused,
 * never read as other documents. */
#include "doccache.h"
#include "rng.h"
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define ND 300
#define NFEAT 5000

static uint32_t num[ND];
static float target[ND];
static size_t off[ND + 1];
static uint32_t feat[ND * 200];

static void make_docs(rng *g)
{
    off[0] = 0;
    for (size_t i = 0; i < ND; i++) {
        num[i] = (uint32_t)(ND - i) * 7;
        target[i] = i % 5 == 0 ? 0.25f : (float)(i % 2);
        /* Sorted distinct ids: empty documents, the id 0, the last id, long gaps. */
        size_t n = i % 17 == 0 ? 0 : rng_below(g, 200);
        uint32_t f = (uint32_t)rng_below(g, 3);
        size_t k = 0;
        for (; k < n && f < NFEAT; k++) {
            feat[off[i] + k] = f;
            f += 1 + (uint32_t)(rng_below(g, 4) == 0 ? rng_below(g, 400) : rng_below(g, 3));
        }
        if (i == 3 && k < 200 && (k == 0 || feat[off[i] + k - 1] < NFEAT - 1)) feat[off[i] + k++] = NFEAT - 1;
        off[i + 1] = off[i] + k;
    }
}

/* Every document of c, in order, equals the input. */
static int same_as_input(doccache *c, const char *what)
{
    imdb_err e = { 0 };
    size_t i = 0, bad = 0;
    for (size_t b = 0; b < doccache_blocks(c); b++) {
        doccache_block B;
        if (doccache_read(c, b, &B, &e) < 0) {
            printf("FAIL %s: block %zu: %s\n", what, b, e.msg);
            return 0;
        }
        for (size_t j = 0; j < B.n; j++, i++) {
            size_t n = B.off[j + 1] - B.off[j];
            if (i >= ND || B.num[j] != num[i] || B.target[j] != target[i] || n != off[i + 1] - off[i] ||
                memcmp(B.feat + B.off[j], feat + off[i], n * sizeof *feat) != 0 ||
                B.enc_end[j] - B.enc_off[j] != doccache_encoded_bytes(feat + off[i], n))
                bad++;
        }
    }
    if (bad || i != ND) printf("FAIL %s: %zu documents differ, %zu read\n", what, bad, i);
    return bad == 0 && i == ND;
}

static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    *size = 0;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = imdb_xmalloc((size_t)n + 1);
    *size = fread(p, 1, (size_t)n, f);
    fclose(f);
    return p;
}

static void spit(const char *path, const unsigned char *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    fwrite(p, 1, n, f);
    fclose(f);
}

/* Opening and reading every block of the file at path: 0 when all of it reads back as
 * the input; -1 when refused (e->status DATA); 1 when it read back as something else
 * (never acceptable). */
static int try_file(const char *path, size_t resident, imdb_err *e)
{
    int fd = open(path, O_RDONLY);
    doccache *c = doccache_open_fd(fd, path, resident, e);
    if (!c) return -1;
    int rc = 0;
    size_t i = 0;
    for (size_t b = 0; b < doccache_blocks(c) && rc == 0; b++) {
        doccache_block B;
        if (doccache_read(c, b, &B, e) < 0) { rc = -1; break; }
        for (size_t j = 0; j < B.n; j++, i++) {
            size_t n = B.off[j + 1] - B.off[j];
            if (i >= ND || B.num[j] != num[i] || B.target[j] != target[i] || n != off[i + 1] - off[i] ||
                memcmp(B.feat + B.off[j], feat + off[i], n * sizeof *feat) != 0)
                rc = 1;
        }
    }
    if (rc == 0 && i != ND) rc = 1;
    doccache_close(c);
    return rc;
}

int main(void)
{
    rng g;
    rng_seed(&g, 22);
    make_docs(&g);
    imdb_err e = { 0 };
    const uint32_t bds[] = { 1, 7, 64, 300, 1000 };
    for (size_t q = 0; q < sizeof bds / sizeof *bds; q++) {
        uint32_t bd = bds[q];
        char what[64];
        /* In memory. */
        doccache_writer *w = doccache_create(NULL, bd, NFEAT, 0, &e);
        for (size_t i = 0; i < ND; i++)
            CHECK(doccache_add(w, num[i], target[i], feat + off[i], off[i + 1] - off[i], &e) == 0, "add: %s", e.msg);
        doccache *c = doccache_finish(w, &e);
        CHECK(c != NULL, "finish: %s", e.msg);
        snprintf(what, sizeof what, "memory, block_docs %u", (unsigned)bd);
        CHECK(same_as_input(c, what), "%s", what);
        CHECK(doccache_blocks(c) == (ND + bd - 1) / bd, "%s: %zu blocks", what, doccache_blocks(c));
        CHECK(doccache_docs(c) == ND && doccache_features(c) == off[ND], "%s: counts", what);
        /* Copied record by record through the encoded form: the same documents. */
        doccache_writer *w2 = doccache_create(NULL, bd + 3, NFEAT, 0, &e);
        for (size_t b = 0; b < doccache_blocks(c); b++) {
            doccache_block B;
            CHECK(doccache_read(c, b, &B, &e) == 0, "read: %s", e.msg);
            for (size_t j = 0; j < B.n; j++)
                CHECK(doccache_add_encoded(w2, B.num[j], B.target[j], B.enc + B.enc_off[j],
                                           B.enc_end[j] - B.enc_off[j], &e) == 0, "add_encoded: %s", e.msg);
        }
        doccache *c2 = doccache_finish(w2, &e);
        snprintf(what, sizeof what, "copied, block_docs %u", (unsigned)bd + 3);
        CHECK(c2 && same_as_input(c2, what), "%s", what);
        doccache_close(c2);
        doccache_close(c);

        /* In a named file, resident budgets none, some, all; then read back from the file
         * by another reader and by the naive one. */
        const char *path = "unit_doccache.tmp";
        for (int res = 0; res < 3; res++) {
            int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
            w = doccache_create_fd(fd, path, bd, NFEAT, res == 0 ? 0 : res == 1 ? 4000 : SIZE_MAX);
            for (size_t i = 0; i < ND; i++)
                CHECK(doccache_add(w, num[i], target[i], feat + off[i], off[i + 1] - off[i], &e) == 0, "add");
            c = doccache_finish(w, &e);
            snprintf(what, sizeof what, "file, block_docs %u, resident %d", (unsigned)bd, res);
            CHECK(c && same_as_input(c, what), "%s", what);
            if (res == 1 && bd == 7) CHECK(doccache_resident_bytes(c) > 0 && doccache_resident_bytes(c) <= 4000, "%s: resident", what);
            if (res == 0) CHECK(doccache_resident_bytes(c) == 0, "%s: nothing resident", what);
            doccache_close(c);   /* the file stays: it has a name */
            fd = open(path, O_RDONLY);
            c = doccache_open_fd(fd, path, res == 2 ? SIZE_MAX : 0, &e);
            CHECK(c && same_as_input(c, what), "%s, reopened: %s", what, c ? "" : e.msg);
            doccache_close(c);
        }
        size_t size = 0;
        unsigned char *img = slurp(path, &size);
        CHECK(img != NULL, "%s: cannot read", path);
        if (!img) continue;
        uint32_t *nn, *ff;
        float *tt;
        size_t *oo;
        long got = doccache_read_naive(img, size, &nn, &tt, &oo, &ff);
        CHECK(got == ND, "naive reader: %ld documents", got);
        if (got == ND) {
            CHECK(memcmp(nn, num, sizeof num) == 0 && memcmp(tt, target, sizeof target) == 0 &&
                  memcmp(oo, off, sizeof off) == 0 && memcmp(ff, feat, off[ND] * sizeof *feat) == 0,
                  "naive reader: other documents");
            free(nn); free(tt); free(oo); free(ff);
        }

        /* Damage: a byte of the header, of every block's header and of every block's
         * payload (first, middle, last byte); every truncation at a block boundary and
         * inside blocks; trailing bytes; another version. Each must be refused. */
        if (bd == 7 || bd == 300) {
            const char *bad = "unit_doccache.bad";
            size_t tried = 0, refused = 0, wrong = 0, naive_ok = 0;
            unsigned char *copy = imdb_xmalloc(size + 16);
            size_t at = DOCCACHE_HEADER;
            size_t nb = (ND + bd - 1) / bd;
            for (size_t b = 0; b <= nb; b++) {
                size_t pl = b < nb ? get_u32le(img + at + 8) : 0;
                /* A block: its magic, count, CRC, first, middle and last payload bytes; after
                 * the last block, the file header: magic, block size, nfeat, blocks, count, CRC. */
                size_t spots[6] = { at + 1, at + 6, at + 22, at + 24, at + 24 + pl / 2, at + 23 + pl };
                size_t hspots[6] = { 5, 13, 17, 21, 25, 38 };
                for (size_t k = 0; k < 6; k++) {
                    size_t p = b < nb ? spots[k] : hspots[k];
                    if (p >= size) continue;
                    for (int mode = 0; mode < 2; mode++) {
                        memcpy(copy, img, size);
                        copy[p] ^= mode ? 0x80 : 0x01;
                        spit(bad, copy, size);
                        int r = try_file(bad, mode ? SIZE_MAX : 0, &e);
                        tried++;
                        refused += r < 0 && (e.status == IMDB_EXIT_DATA);
                        wrong += r > 0;
                        if (r >= 0) printf("FAIL byte %zu ^ %d (block %zu) was not refused (%d)\n", p, mode ? 0x80 : 1, b, r);
                        uint32_t *a1, *f1; float *t1; size_t *o1;
                        long ng = doccache_read_naive(copy, size, &a1, &t1, &o1, &f1);
                        if (ng >= 0) { naive_ok++; free(a1); free(t1); free(o1); free(f1); }
                    }
                }
                if (b < nb) {
                    /* Truncated at the block's start, in its header, in its payload. */
                    size_t cuts[3] = { at, at + 10, at + 24 + pl / 2 };
                    for (int k = 0; k < 3; k++) {
                        spit(bad, img, cuts[k]);
                        int r = try_file(bad, 0, &e);
                        tried++;
                        refused += r < 0 && e.status == IMDB_EXIT_DATA;
                        wrong += r > 0;
                        if (r >= 0) printf("FAIL truncation at %zu was not refused\n", cuts[k]);
                    }
                    at += 24 + pl;
                }
            }
            CHECK(at == size, "block walk ended at %zu of %zu", at, size);
            /* Trailing bytes; a version 2 header (its CRC made right: only the version is wrong). */
            memcpy(copy, img, size);
            memset(copy + size, 0, 16);
            spit(bad, copy, size + 3);
            CHECK(try_file(bad, 0, &e) < 0 && strstr(e.msg, "after the last block"), "trailing bytes: %s", e.msg);
            tried++, refused++;
            memcpy(copy, img, size);
            put_u32le(copy + 8, 2);
            put_u32le(copy + 36, (uint32_t)crc32(0, copy, 36));
            spit(bad, copy, size);
            CHECK(try_file(bad, 0, &e) < 0 && strstr(e.msg, "version 2"), "another version: %s", e.msg);
            tried++, refused++;
            CHECK(refused == tried && wrong == 0, "block_docs %u: %zu of %zu damaged caches refused, %zu read wrong",
                  (unsigned)bd, refused, tried, wrong);
            CHECK(naive_ok == 0, "the naive reader accepted %zu damaged caches", naive_ok);
            printf("block_docs %u: %zu damaged or truncated caches, all refused\n", (unsigned)bd, tried);
            free(copy);
            unlink(bad);
        }
        free(img);
        unlink(path);
    }
    /* Out of range ids are the caller's bug: refused, not written. */
    doccache_writer *w = doccache_create(NULL, 4, 10, 0, &e);
    uint32_t bad_ids[] = { 3, 3 }, big[] = { 10 };
    CHECK(doccache_add(w, 0, 1, bad_ids, 2, &e) < 0 && e.status == IMDB_EXIT_INTERNAL, "repeated id accepted");
    CHECK(doccache_add(w, 0, 1, big, 1, &e) < 0, "id >= nfeat accepted");
    doccache_abort(w);
    /* A file in a directory that does not exist. */
    CHECK(doccache_create("/nonexistent/dir", 4, 10, 0, &e) == NULL && e.status == IMDB_EXIT_IO, "no directory");
    return failures ? 1 : 0;
}
