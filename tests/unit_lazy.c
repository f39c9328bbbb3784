/* unit_lazy.c — the checks of format 2 model files done on first use (issue 21), on an
 * nblr model of four 64 KiB chunks of slots built here: a byte flipped in any section is
 * refused, by a lazy load for the small sections and by the first lookup that reaches a
 * damaged chunk of the slots (NaN, clf_verify naming the section), by an eager load and
 * by modelio_verify always; a slot the CRC cannot fault (a bad index, CRC made right) is
 * refused by the kind's check of its chunk; format 1 files still load; threads racing to
 * the first use of chunks all get the right answers, each chunk is checked about once,
 * and not again. */
#include "clf.h"
#include "feat.h"
#include "linear.h"
#include "modelio.h"
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>


#define CAP 16384                      /* slots: 4 chunks of 4096 */
#define SLOTS_PER_CHUNK (MODELIO_CHUNK / 16)
#define NCHUNK (CAP / SLOTS_PER_CHUNK)
#define NW 3000                        /* features "w0" .. "w2999" */
#define BIAS 0.25f

typedef struct sec { const char *name; const void *data; size_t size; } sec;

static linear_slot slots[CAP];
static char words[NW][8];
static char vocab_text[NW * 8];
static size_t vocab_len;
static unsigned char hdr[28];
/* doc[c]: a word whose slot is its home slot, inside chunk c and not at its edges, so
 * that its lookup reads chunk c only. */
static int doc_word[NCHUNK];

static float weight(int i) { return (float)((i % 7) - 3) * 0.125f; }

static void build(void)
{
    for (int i = 0; i < NW; i++) {
        snprintf(words[i], sizeof words[i], "w%d", i);
        uint64_t key = feat_hash_token(words[i], strlen(words[i])), j = feat_table_home(key, CAP - 1);
        while (slots[j].key) j = (j + 1) & (CAP - 1);
        slots[j] = (linear_slot){ key, i, weight(i) };
        vocab_len += (size_t)sprintf(vocab_text + vocab_len, "%s\n", words[i]);
    }
    for (int c = 0; c < NCHUNK; c++) {
        doc_word[c] = -1;
        for (int i = 0; i < NW && doc_word[c] < 0; i++) {
            uint64_t key = feat_hash_token(words[i], strlen(words[i])), j = feat_table_home(key, CAP - 1);
            if (slots[j].key == key && j / SLOTS_PER_CHUNK == (uint64_t)c && j % SLOTS_PER_CHUNK > 0 &&
                j % SLOTS_PER_CHUNK < SLOTS_PER_CHUNK - 1 && weight(i) != 0)
                doc_word[c] = i;
        }
        if (doc_word[c] < 0) { printf("FAIL: no word in chunk %d\n", c); exit(1); }
    }
    uint32_t b;
    float bias = BIAS;
    memcpy(&b, &bias, 4);
    put_u32le(hdr, 1);
    put_u32le(hdr + 4, NW);
    put_u32le(hdr + 8, b);
    put_u64le(hdr + 12, CAP);
    put_u64le(hdr + 20, NW);
}

static sec secs[] = {
    { "nblr.hdr", hdr, sizeof hdr }, { "nblr.slots", slots, sizeof slots }, { "nblr.vocab", vocab_text, 0 },
    { "kind", "nblr", 4 }, { "params", "ngrams = 1\n", 11 }, { "clean", "html=1", 6 },
};
#define NSEC (sizeof secs / sizeof *secs)

static void write_v2(const char *path)
{
    imdb_err e;
    modelio_writer *w = modelio_create(path, &e);
    for (size_t i = 0; w && i < NSEC; i++)
        if (modelio_add(w, secs[i].name, secs[i].data, secs[i].size, &e) < 0) { modelio_abort(w); w = NULL; }
    if (!w || modelio_commit(w, &e) < 0) { printf("FAIL: write: %s\n", e.msg); exit(1); }
}

/* Format 1, as imdb 0.1 wrote it: directory at 16, a CRC of the whole file at its end. */
static void write_v1(const char *path)
{
    size_t off = 16 + 32 * NSEC, offs[NSEC];
    for (size_t i = 0; i < NSEC; i++) {
        off = (off + 63) / 64 * 64;
        offs[i] = off;
        off += secs[i].size;
    }
    size_t n = off + 4;
    unsigned char *b = calloc(n, 1);
    memcpy(b, "IMDBMODL", 8);
    put_u32le(b + 8, 1);
    put_u32le(b + 12, NSEC);
    for (size_t i = 0; i < NSEC; i++) {
        unsigned char *d = b + 16 + 32 * i;
        memcpy(d, secs[i].name, strlen(secs[i].name));
        put_u64le(d + 16, offs[i]);
        put_u64le(d + 24, secs[i].size);
        memcpy(b + offs[i], secs[i].data, secs[i].size);
    }
    put_u32le(b + off, (uint32_t)crc32(0L, b, (uInt)off));
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
    free(b);
}

static void spit(const char *path, const char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
}

/* Offset and size of section name in a format 2 file's bytes. */
static size_t find_sec(const char *b, const char *name, size_t *size)
{
    uint32_t ns = get_u32le((const unsigned char *)b + 12);
    for (uint32_t i = 0; i < ns; i++) {
        const unsigned char *d = (const unsigned char *)b + 24 + 32 * i;
        if (strcmp((const char *)d, name) == 0) {
            *size = (size_t)get_u64le(d + 24);
            return (size_t)get_u64le(d + 16);
        }
    }
    printf("FAIL: no section %s\n", name);
    exit(1);
}

static double want_prob(int c) { return 1 / (1 + exp(-((double)BIAS + weight(doc_word[c])))); }

static double score(const clf *m, int c)
{
    const char *toks[1] = { words[doc_word[c]] };
    return clf_prob(m, toks, 1);
}

/* Every chunk's document scores right (all but chunk bad, which must give NaN). */
static void check_scores(const clf *m, int bad, const char *what)
{
    for (int c = 0; c < NCHUNK; c++) {
        double p = score(m, c);
        if (c == bad) CHECK(isnan(p), "%s: chunk %d is damaged, scored %g", what, c, p);
        else CHECK(fabs(p - want_prob(c)) < 1e-6, "%s: chunk %d scored %g, expected %g", what, c, p, want_prob(c));
    }
}

static void expect_msg(const imdb_err *e, const char *what, const char *where)
{
    CHECK(e->status == IMDB_EXIT_DATA && strstr(e->msg, what), "%s: got %d '%s', expected '%s'", where,
          e->status, e->msg, what);
}

/* ---- threads ---- */

typedef struct job { const clf *m; int bad, rounds, wrong; } job;

static void *racer(void *arg)
{
    job *j = arg;
    for (int r = 0; r < j->rounds; r++)
        for (int k = 0; k < NCHUNK; k++) {
            int c = (k + r) % NCHUNK;
            double p = score(j->m, c);
            if (c == j->bad ? !isnan(p) : !(fabs(p - want_prob(c)) < 1e-6)) j->wrong++;
        }
    return NULL;
}

static void race(const char *path, int bad)
{
    enum { T = 8 };
    for (int round = 0; round < 20; round++) {
        imdb_err e;
        clf *m = clf_load_lazy(path, &e);
        CHECK(m, "race: %s", e.msg);
        if (!m) return;
        pthread_t t[T];
        job j[T];
        for (int i = 0; i < T; i++) {
            j[i] = (job){ m, bad, 3, 0 };
            pthread_create(&t[i], NULL, racer, &j[i]);
        }
        int wrong = 0;
        for (int i = 0; i < T; i++) {
            pthread_join(t[i], NULL);
            wrong += j[i].wrong;
        }
        CHECK(wrong == 0, "race (damaged chunk %d), round %d: %d wrong scores", bad, round, wrong);
        clf_free(m);
    }
}

static atomic_int nchecks;
static int count_check(const void *ctx, const unsigned char *p, size_t off, size_t n, imdb_err *e)
{
    (void)ctx; (void)p; (void)off; (void)n; (void)e;
    atomic_fetch_add(&nchecks, 1);
    return 0;
}

typedef struct njob { const modelio_lazy *lz; int bad; } njob;
static void *needer(void *arg)
{
    njob *j = arg;
    for (int r = 0; r < 100; r++)
        for (size_t off = 0; off < sizeof slots; off += 4096)
            if (modelio_need(j->lz, off) < 0) j->bad++;
    return NULL;
}

/* Racing threads check each chunk at least once and at most once per thread; later
 * uses check nothing; modelio_verify checks each once more. */
static void check_once(const char *path)
{
    enum { T = 8 };
    imdb_err e;
    modelio *m = modelio_open_flags(path, MODELIO_LAZY, &e);
    CHECK(m, "check_once: %s", e.msg);
    if (!m) return;
    const modelio_lazy *lz;
    size_t size;
    CHECK(modelio_get_lazy(m, "nblr.slots", &size, count_check, NULL, &lz) && size == sizeof slots,
          "lazy section");
    pthread_t t[T];
    njob j[T];
    for (int i = 0; i < T; i++) {
        j[i] = (njob){ lz, 0 };
        pthread_create(&t[i], NULL, needer, &j[i]);
    }
    int bad = 0;
    for (int i = 0; i < T; i++) {
        pthread_join(t[i], NULL);
        bad += j[i].bad;
    }
    int n = atomic_load(&nchecks);
    CHECK(bad == 0 && n >= NCHUNK && n <= T * NCHUNK, "racing first uses: %d refused, %d checks of %d chunks",
          bad, n, NCHUNK);
    needer(&j[0]);
    CHECK(atomic_load(&nchecks) == n, "checked again after first use (%d, then %d)", n, atomic_load(&nchecks));
    CHECK(modelio_verify(m, &e) == 0 && atomic_load(&nchecks) == n + NCHUNK, "verify: %d checks (%s)",
          atomic_load(&nchecks) - n, e.msg);
    modelio_close(m);
}

int main(void)
{
    build();
    char dir[] = "/tmp/unit_lazy.XXXXXX", a[64], b1[64], c[64];
    if (!mkdtemp(dir)) return 1;
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b1, sizeof b1, "%s/v1", dir);
    snprintf(c, sizeof c, "%s/c", dir);
    secs[2].size = vocab_len;
    write_v2(a);
    write_v1(b1);

    /* Intact files, both formats, both ways of loading: the same scores. */
    const char *files[] = { a, b1 };
    for (int f = 0; f < 2; f++)
        for (int lazy = 0; lazy < 2; lazy++) {
            imdb_err e;
            clf *m = lazy ? clf_load_lazy(files[f], &e) : clf_load(files[f], &e);
            CHECK(m, "load %s (lazy %d): %s", files[f], lazy, e.msg);
            if (!m) continue;
            check_scores(m, -1, files[f]);
            CHECK(clf_verify(m, &e) == 0, "verify %s: %s", files[f], e.msg);
            clf_free(m);
            modelio *mf = modelio_open_flags(files[f], lazy ? MODELIO_LAZY : 0, &e);
            CHECK(mf && modelio_version(mf) == 2 - f, "%s: version %d", files[f], mf ? modelio_version(mf) : -1);
            modelio_close(mf);
        }

    /* A flipped byte in each section (and each chunk of the slots). */
    size_t na;
    char *ba = test_slurp(a, &na);
    for (size_t s = 0; s < NSEC; s++) {
        size_t size, off = find_sec(ba, secs[s].name, &size);
        int chunks = strcmp(secs[s].name, "nblr.slots") == 0 ? NCHUNK : 1;
        for (int k = 0; k < chunks; k++) {
            size_t pos = off + (chunks > 1 ? (size_t)k * MODELIO_CHUNK + 1000 : size / 2);
            char where[80], named[64];
            snprintf(where, sizeof where, "byte %zu (section %s, chunk %d) flipped", pos, secs[s].name, k);
            snprintf(named, sizeof named, "CRC mismatch in section %s, bytes %zu", secs[s].name,
                     (size_t)k * (chunks > 1 ? MODELIO_CHUNK : 0));
            ba[pos] ^= 0x20;
            spit(c, ba, na);
            ba[pos] ^= 0x20;
            imdb_err e = { 0 };
            clf *m = clf_load(c, &e);
            CHECK(!m, "%s: an eager load accepted it", where);
            if (!m) expect_msg(&e, named, where);
            clf_free(m);
            modelio *mf = modelio_open_flags(c, MODELIO_LAZY, &e);
            CHECK(mf && modelio_verify(mf, &e) < 0, "%s: modelio_verify accepted it", where);
            if (mf) expect_msg(&e, named, where);
            modelio_close(mf);
            m = clf_load_lazy(c, &e);
            int used_at_load = strcmp(secs[s].name, "nblr.slots") != 0 && strcmp(secs[s].name, "nblr.vocab") != 0;
            if (used_at_load) {
                CHECK(!m, "%s: a lazy load accepted it", where);
                if (!m) expect_msg(&e, named, where);
            } else {
                CHECK(m, "%s: a lazy load refused it (%s)", where, e.msg);
                if (!m) continue;
                check_scores(m, chunks > 1 ? k : -1, where);
                CHECK(clf_verify(m, &e) < 0, "%s: clf_verify accepted it", where);
                expect_msg(&e, named, where);
            }
            clf_free(m);
        }
    }

    /* A slot whose index is out of range, CRC made right: the kind's check of chunk 2. */
    {
        char *bb = malloc(na);
        memcpy(bb, ba, na);
        size_t size, off = find_sec(bb, "nblr.slots", &size);
        size_t j = 2 * SLOTS_PER_CHUNK + 7;
        while (!slots[j].key) j++;
        linear_slot *sl = (linear_slot *)(void *)(bb + off);
        sl[j].idx = NW + 5;
        modelio_reseal((unsigned char *)bb, na, 0);
        spit(c, bb, na);
        free(bb);
        char named[64];
        snprintf(named, sizeof named, "nblr slot %zu is corrupt", j);
        imdb_err e = { 0 };
        clf *m = clf_load(c, &e);
        CHECK(!m, "bad index: an eager load accepted it");
        if (!m) expect_msg(&e, named, "bad index, eager");
        clf_free(m);
        m = clf_load_lazy(c, &e);
        CHECK(m, "bad index: a lazy load refused it (%s)", e.msg);
        if (m) {
            check_scores(m, 2, "bad index");
            CHECK(clf_verify(m, &e) < 0, "bad index: clf_verify accepted it");
            expect_msg(&e, named, "bad index, clf_verify");
            clf_free(m);
        }
        /* Threads racing to the damaged chunk all see it. */
        race(c, 2);
    }

    /* Padding: zeros, checked at any open. */
    {
        size_t size, off = find_sec(ba, "kind", &size);
        ba[off + size + 3] = 'x';
        spit(c, ba, na);
        ba[off + size + 3] = 0;
        imdb_err e = { 0 };
        clf *m = clf_load_lazy(c, &e);
        CHECK(!m, "damaged padding accepted");
        if (!m) expect_msg(&e, "padding after section kind is not zero", "padding");
        clf_free(m);
    }

    /* Format 1: a flipped byte anywhere fails the whole file's CRC, lazily or not. */
    {
        size_t n1;
        char *b = test_slurp(b1, &n1);
        b[n1 / 2] ^= 1;
        spit(c, b, n1);
        free(b);
        for (int lazy = 0; lazy < 2; lazy++) {
            imdb_err e = { 0 };
            clf *m = lazy ? clf_load_lazy(c, &e) : clf_load(c, &e);
            CHECK(!m, "format 1, flipped byte, lazy %d: accepted", lazy);
            if (!m) expect_msg(&e, "corrupt model file (CRC mismatch)", "format 1");
            clf_free(m);
        }
    }

    race(a, -1);
    race(b1, -1);
    check_once(a);

    free(ba);
    unlink(a);
    unlink(b1);
    unlink(c);
    CHECK(rmdir(dir) == 0, "temporary files left in %s", dir);
    if (failures) printf("%d failure(s)\n", failures);
    else printf("lazy checks: all passed\n");
    return failures ? 1 : 0;
}
