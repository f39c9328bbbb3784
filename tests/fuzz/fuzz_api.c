/* fuzz_api.c — the public C API (lib/api/imdb.h) as a program would call it.
 *
 * Input: one byte of mode, then the payload.
 *   mode bit 0 = 0: the payload is a text, scored, explained (k from the mode's other
 *     bits) and batch-scored (split at newlines) on a fixed small nblr model built at
 *     start-up with the model writer; every probability must lie in [0, 1], explain's
 *     must equal score's, and the batch's each text's score.
 *   mode bit 0 = 1: the payload is a model file given to imdb_model_open_mem (its CRCs
 *     fixed first, as fuzz_model.c does, so the fuzzer explores the sections, not zlib's
 *     checksum); a model that opens is verified, described, and scores a few texts.
 * No call may crash, and every failure must carry a status and a message. */
#include "fuzz.h"
#include "feat.h"
#include "imdb.h"
#include "modelio.h"
#include "text.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define DIRENT 32

static imdb_model *fixed;

static void fix_crc(unsigned char *p, size_t n, int depth)
{
    if (n < 20 || memcmp(p, "IMDBMODL", 8) != 0) return;
    uint32_t ns = get_u32le(p + 12);
    if (depth < 3 && ns <= (n - 20) / DIRENT) {
        for (uint32_t i = 0; i < ns; i++) {
            const unsigned char *d = p + 16 + (size_t)i * DIRENT;
            uint64_t off = get_u64le(d + 16), sz = get_u64le(d + 24);
            if (off <= n - 4 && sz <= n - 4 - off) fix_crc(p + off, (size_t)sz, depth + 1);
        }
    }
    put_u32le(p + n - 4, (uint32_t)crc32(0L, p, (uInt)(n - 4)));
}

/* The fixed model: nblr with ngrams = 2 over a few words and one bigram, written by
 * modelio into a temporary directory and read back into memory. */
static const struct { const char *a, *b; float w; } feats[] = {
    { "good", NULL, 1.0f }, { "great", NULL, 1.5f }, { "bad", NULL, -1.0f }, { "awful", NULL, -2.0f },
    { "not", "bad", 1.8f }, { "!", NULL, 0.1f }, { "film", NULL, 0.05f }, { "caf\xc3\xa9", NULL, 0.3f },
};
#define NFEAT (sizeof feats / sizeof *feats)
#define CAP 64

static void *build_fixed(size_t *size)
{
    unsigned char slots[CAP * 16];
    memset(slots, 0, sizeof slots);
    for (size_t f = 0; f < NFEAT; f++) {
        uint64_t k = feat_hash_token(feats[f].a, strlen(feats[f].a));
        if (feats[f].b) k = feat_chain(k, feat_hash_token(feats[f].b, strlen(feats[f].b)));
        uint64_t i = feat_table_home(k, CAP - 1);
        while (get_u64le(slots + i * 16)) i = (i + 1) & (CAP - 1);
        put_u64le(slots + i * 16, k);
        put_u32le(slots + i * 16 + 8, (uint32_t)f);
        uint32_t w;
        memcpy(&w, &feats[f].w, 4);
        put_u32le(slots + i * 16 + 12, w);
    }
    unsigned char hdr[28];
    float bias = -0.1f;
    uint32_t b;
    memcpy(&b, &bias, 4);
    put_u32le(hdr, 2);
    put_u32le(hdr + 4, (uint32_t)NFEAT);
    put_u32le(hdr + 8, b);
    put_u64le(hdr + 12, CAP);
    put_u64le(hdr + 20, NFEAT);
    text_settings ts;
    text_settings_default(&ts);
    char *clean = text_settings_format(&ts);
    text_settings_free(&ts);
    char dir[] = "/tmp/fuzz-api.XXXXXX", path[64];
    if (!mkdtemp(dir)) abort();
    snprintf(path, sizeof path, "%s/fixed.model", dir);
    imdb_err e;
    modelio_writer *w = modelio_create(path, &e);
    if (!w || modelio_add_str(w, "kind", "nblr", &e) < 0 || modelio_add_str(w, "params", "ngrams = 2\n", &e) < 0 ||
        modelio_add_str(w, "clean", clean, &e) < 0 || modelio_add(w, "nblr.hdr", hdr, sizeof hdr, &e) < 0 ||
        modelio_add(w, "nblr.slots", slots, sizeof slots, &e) < 0 || modelio_commit(w, &e) < 0) {
        fprintf(stderr, "fuzz_api: cannot write the fixed model: %s\n", e.msg);
        abort();
    }
    free(clean);
    FILE *f = fopen(path, "rb");
    void *buf = aligned_alloc(64, 1 << 16);
    if (!f || !buf) abort();
    *size = fread(buf, 1, 1 << 16, f);
    fclose(f);
    unlink(path);
    rmdir(dir);
    return buf;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    size_t size;
    void *buf = build_fixed(&size);   /* lent to the model for the whole run */
    imdb_error e;
    if (imdb_model_open_mem(buf, size, "fixed.model", &fixed, &e) != IMDB_OK) {
        fprintf(stderr, "fuzz_api: the fixed model does not open: %s\n", e.message);
        abort();
    }
    return 0;
}

static void must_fail_well(imdb_status st, const imdb_error *e)
{
    if (st != IMDB_OK && (e->status != st || !e->message[0])) abort();
}

static void on_text(const char *t, size_t n, int k)
{
    imdb_error e;
    double p = -1, q = -1;
    imdb_status st = imdb_score(fixed, t, n, &p, &e);
    if (st != IMDB_OK || !(p >= 0 && p <= 1)) abort();
    imdb_contrib *c;
    size_t nc;
    st = imdb_explain(fixed, t, n, k, &q, &c, &nc, &e);
    if (st != IMDB_OK || q != p || nc > (size_t)k) abort();
    for (size_t i = 0; i < nc; i++)
        if (!c[i].ngram || !isfinite(c[i].weight)) abort();
    imdb_contrib_free(c, nc);
    /* Lines as a batch (lens given: NULs inside stay). */
    enum { MAXL = 64 };
    const char *texts[MAXL];
    size_t lens[MAXL], nl = 0, s = 0;
    for (size_t i = 0; i <= n && nl < MAXL; i++)
        if (i == n || t[i] == '\n') {
            texts[nl] = t + s;
            lens[nl++] = i - s;
            s = i + 1;
        }
    double probs[MAXL];
    if (imdb_score_batch(fixed, texts, lens, nl, probs, 1, &e) != IMDB_OK) abort();
    for (size_t i = 0; i < nl; i++) {
        double r;
        if (imdb_score(fixed, texts[i], lens[i], &r, &e) != IMDB_OK || r != probs[i]) abort();
    }
}

static void on_model(const uint8_t *data, size_t size)
{
    unsigned char *buf = aligned_alloc(64, (size + 63) / 64 * 64 + 64);
    if (!buf) return;
    memcpy(buf, data, size);
    fix_crc(buf, size, 0);
    imdb_model *m = NULL;
    imdb_error e;
    imdb_status st = imdb_model_open_mem(buf, size, "fuzz.model", &m, &e);
    must_fail_well(st, &e);
    if (st == IMDB_OK) {
        /* The CRCs were fixed, but verify checks more than opening does (format 2's zero
         * padding, every kind's check from scratch): a refusal is a data error with its
         * message, nothing else. */
        st = imdb_model_verify(m, &e);
        if (st != IMDB_OK && st != IMDB_ERR_DATA) abort();
        must_fail_well(st, &e);
        int sound = st == IMDB_OK;   /* then no use of it may find damage */
        imdb_model_info info;
        if (imdb_model_info_get(m, &info, &e) != IMDB_OK || !info.kind || !info.params || !info.clean) abort();
        static const char *const texts[] = { "a wonderful moving film", "not bad at all!", "", "the the the" };
        for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
            double p;
            st = imdb_score(m, texts[i], strlen(texts[i]), &p, &e);
            must_fail_well(st, &e);
            imdb_contrib *c;
            size_t n;
            st = imdb_explain(m, texts[i], strlen(texts[i]), 5, NULL, &c, &n, &e);
            must_fail_well(st, &e);
            if (st == IMDB_OK) imdb_contrib_free(c, n);
            else if (st == IMDB_ERR_DATA ? sound : info.can_explain || st != IMDB_ERR_USAGE) abort();
        }
        imdb_model_close(m);
    } else if (m != NULL) {
        abort();
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    if (data[0] & 1) on_model(data + 1, size - 1);
    else on_text((const char *)data + 1, size - 1, 1 + (data[0] >> 1) % 20);
    return 0;
}
