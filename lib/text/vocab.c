/* vocab.c — see vocab.h and imdb-vocab(5).
 *
 * Counting 1..3-grams of the IMDB training set meets ~6M distinct n-grams in ~20M
 * lookups, so the layout is chosen for one cache miss per lookup and little memory:
 *
 *   arena   every n-gram is one record {hash, count, df, last doc, length, text}, 8-byte
 *           aligned, appended when the n-gram is first seen (32 bytes + text);
 *   slots   open addressing with linear probing on the low bits of the 64-bit n-gram
 *           hash (feat.h); a slot is (high 32 bits of the hash) << 32 | (record offset / 8),
 *           0 = empty, so probing compares tags without touching the arena, and a hit
 *           touches exactly one record. The load factor stays <= 1/2.
 *
 * On a hit the record's text is compared with the tokens, so two different n-grams can
 * never be merged silently: a true 64-bit collision is reported as an error.
 *
 * Document frequency: each record remembers the id of the last document that counted it;
 * ids are 32-bit and all records are reset when they wrap.
 *
 * Both are allocated with a hint for transparent huge pages: lookups are random over
 * hundreds of megabytes, and with 4 KiB pages most of them also miss the TLB.
 *
 * vocab_finish sorts 24-byte items {rank of (count, df), first 16 text bytes, offset}:
 * an LSD radix sort on the rank and the first 8 bytes, then a merge sort (the reference,
 * with the full comparison) within each run that ties on both; only n-grams that share
 * count, df and 16 leading bytes look at the text. Input already in order (a file being
 * read) is detected in one pass. Pruning compacts the arena in place. The slot table is
 * dropped after finish (nothing needs it to read entries or write the file) and rebuilt
 * from the arena when counting or merging resumes.
 *
 * Reading a file adds its lines into a vocabulary directly (vocab_read_merge), marking
 * each record it touches, so a merge never holds two vocabularies and a duplicate line
 * is found without a second table. */
#include "vocab.h"
#include "feat.h"
#include "lineio.h"
#include "text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

typedef struct rec {
    uint64_t hash;
    uint64_t count;
    uint64_t df;
    uint32_t last;     /* last document id that counted it; during finish: rank + 1 */
    uint32_t len;      /* bytes of text, NUL excluded */
    char text[];       /* "t1 t2 t3", NUL-terminated */
} rec;

#define REC_HDR 32
#define MAX_ARENA (UINT64_C(1) << 35)   /* offsets / 8 fit 32 bits */

struct vocab {
    int maxn;
    char *clean;
    uint64_t docs, tokens;
    uint32_t doc_id;

    unsigned char *arena;   /* records from offset 8 (offset 0 would be an empty slot) */
    size_t alen, acap;
    size_t n;               /* records */

    uint64_t *slots;        /* NULL after finish until needed again */
    size_t cap;

    uint32_t *order;        /* offset / 8 of entry i, valid when sorted */
    int sorted;

    uint64_t *th, *nh;      /* per-document scratch: token and n-gram hashes, */
    size_t *tl, *nl;        /* and their text lengths */
    size_t scap;

    int failed;
    imdb_err err;
};

/* Ask for transparent huge pages on the 2 MiB-aligned interior of a large block (before
 * it is touched). The table and arena are read at random, and with 4 KiB pages nearly
 * every lookup also misses the TLB: huge pages halve the counting time. Only advice:
 * without it (or off Linux) everything works the same, slower. */
static void advise_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (n < 2 * huge) return;
    uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1), b = ((uintptr_t)p + n) & ~(huge - 1);
    if (b > a) madvise((void *)a, b - a, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

static inline rec *rec_at(const vocab *v, uint64_t off8)
{
    return (rec *)(v->arena + ((size_t)off8 << 3));
}

static inline rec *rec_of_slot(const vocab *v, uint64_t s) { return rec_at(v, s & 0xffffffffu); }

static inline size_t rec_size(size_t len) { return (REC_HDR + len + 1 + 7) & ~(size_t)7; }

/* Record the sticky error (the first one wins). */
static int keep_error(vocab *v, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int keep_error(vocab *v, int status, const char *fmt, ...)
{
    if (v->failed) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->err.msg, sizeof v->err.msg, fmt, ap);
    va_end(ap);
    v->err.status = status;
    v->failed = 1;
    return -1;
}

vocab *vocab_new(int maxn)
{
    vocab *v = imdb_xcalloc(1, sizeof *v);
    v->maxn = maxn < 1 ? 1 : maxn > VOCAB_MAX_NGRAMS ? VOCAB_MAX_NGRAMS : maxn;
    v->acap = 1 << 16;
    v->arena = imdb_xmalloc(v->acap);
    v->alen = 8;
    v->sorted = 1;    /* an empty vocabulary is trivially in order */
    return v;
}

void vocab_free(vocab *v)
{
    if (!v) return;
    free(v->clean);
    free(v->arena);
    free(v->slots);
    free(v->order);
    free(v->th);
    free(v->tl);
    free(v->nh);
    free(v->nl);
    free(v);
}

int vocab_maxn(const vocab *v) { return v->maxn; }
uint64_t vocab_docs(const vocab *v) { return v->docs; }
uint64_t vocab_tokens(const vocab *v) { return v->tokens; }
size_t vocab_size(const vocab *v) { return v->n; }
const char *vocab_clean(const vocab *v) { return v->clean; }

void vocab_set_clean(vocab *v, const char *settings)
{
    free(v->clean);
    v->clean = settings ? imdb_xstrdup(settings) : NULL;
}

int vocab_status(const vocab *v, imdb_err *e)
{
    if (!v->failed) return 0;
    if (e) *e = v->err;
    return -1;
}

static void invalidate_order(vocab *v)
{
    v->sorted = 0;
    free(v->order);
    v->order = NULL;
}

/* ---- slot table ---- */

static inline uint64_t *find_slot(const vocab *v, uint64_t h)
{
    size_t mask = v->cap - 1, i = (size_t)h & mask;
    uint64_t tag = h >> 32;
    for (;;) {
        uint64_t s = v->slots[i];
        if (s == 0 || ((s >> 32) == tag && rec_of_slot(v, s)->hash == h)) return &v->slots[i];
        i = (i + 1) & mask;
    }
}

static void build_slots(vocab *v, size_t want)
{
    size_t cap = 1 << 12;
    while (cap < 2 * want) cap <<= 1;
    free(v->slots);
    v->slots = imdb_xcalloc(cap, sizeof *v->slots);
    advise_huge(v->slots, cap * sizeof *v->slots);
    v->cap = cap;
    size_t mask = cap - 1;
    for (size_t off = 8; off < v->alen;) {
        rec *r = (rec *)(v->arena + off);
        size_t i = (size_t)r->hash & mask;
        while (v->slots[i]) i = (i + 1) & mask;
        v->slots[i] = (r->hash >> 32) << 32 | (off >> 3);
        off += rec_size(r->len);
    }
}

/* Room for one more record in the table. */
static inline void reserve_slot(vocab *v)
{
    if (!v->slots || 2 * (v->n + 1) > v->cap) build_slots(v, v->slots ? v->cap : v->n + 1);
}

/* Append a record; NULL (error kept) if the arena would pass its addressable size. */
static rec *new_rec(vocab *v, uint64_t h, size_t len)
{
    size_t sz = rec_size(len);
    if (len > UINT32_MAX || (uint64_t)v->alen + sz > MAX_ARENA) {
        keep_error(v, IMDB_EXIT_INTERNAL, "vocabulary too large (32 GiB of n-gram records)");
        return NULL;
    }
    if (v->alen + sz > v->acap) {
        while (v->alen + sz > v->acap) v->acap *= 2;
        v->arena = imdb_xrealloc(v->arena, v->acap);
        advise_huge(v->arena + v->alen, v->acap - v->alen);
    }
    rec *r = (rec *)(v->arena + v->alen);
    r->hash = h;
    r->count = 0;
    r->df = 0;
    r->last = 0;
    r->len = (uint32_t)len;
    v->alen += sz;
    v->n++;
    return r;
}

static inline uint64_t slot_of(const vocab *v, const rec *r)
{
    return (r->hash >> 32) << 32 | (uint64_t)(((const unsigned char *)r - v->arena) >> 3);
}

/* ---- counting ---- */

static void reset_last(vocab *v)
{
    for (size_t off = 8; off < v->alen;) {
        rec *r = (rec *)(v->arena + off);
        r->last = 0;
        off += rec_size(r->len);
    }
}

/* Does "t1 t2 .. tk" equal text? The lengths already match. */
static int same_tokens(const char *text, const char *const *toks, const size_t *tl, int k)
{
    for (int j = 0; j < k; j++) {
        if (memcmp(text, toks[j], tl[j]) != 0) return 0;
        text += tl[j] + 1;
    }
    return 1;
}

static void join_tokens(char *dst, const char *const *toks, const size_t *tl, int k)
{
    for (int j = 0; j < k; j++) {
        if (j) *dst++ = ' ';
        memcpy(dst, toks[j], tl[j]);
        dst += tl[j];
    }
    *dst = '\0';
}

static int bad_token(vocab *v, const char *tok)
{
    if (!*tok) return keep_error(v, IMDB_EXIT_DATA, "empty token");
    return keep_error(v, IMDB_EXIT_DATA, "token '%.60s' contains whitespace", tok);
}

static int collision(vocab *v, const char *a, const char *b)
{
    return keep_error(v, IMDB_EXIT_INTERNAL,
                      "64-bit hash collision between n-grams '%.200s' and '%.200s' "
                      "(please report this)", a, b);
}

#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)0)
#endif

/* Count the k-gram toks[0..k) with hash h and text length len; the table has room. */
static int count_one(vocab *v, uint64_t h, const char *const *toks, const size_t *tl, int k,
                     size_t len)
{
    uint64_t *s = find_slot(v, h);
    if (*s) {
        rec *r = rec_of_slot(v, *s);
        if (r->len != len || !same_tokens(r->text, toks, tl, k)) {
            char *mine = imdb_xmalloc(len + 1);
            join_tokens(mine, toks, tl, k);
            collision(v, r->text, mine);
            free(mine);
            return -1;
        }
        r->count++;
        if (r->last != v->doc_id) {
            r->df++;
            r->last = v->doc_id;
        }
        return 0;
    }
    /* First sight: the text must be representable in the file format. */
    for (int j = 0; j < k; j++)
        if (tl[j] == 0 || strpbrk(toks[j], " \t\n\r")) return bad_token(v, toks[j]);
    rec *r = new_rec(v, h, len);
    if (!r) return -1;
    join_tokens(r->text, toks, tl, k);
    r->count = 1;
    r->df = 1;
    r->last = v->doc_id;
    *s = slot_of(v, r);
    return 0;
}

void vocab_add_doc(vocab *v, const char *const *toks, size_t ntok)
{
    if (v->failed) return;
    v->docs++;
    v->tokens += ntok;
    invalidate_order(v);
    if (++v->doc_id == 0) {
        reset_last(v);
        v->doc_id = 1;
    }
    if (ntok == 0) return;
    size_t maxm = ntok * (size_t)v->maxn;
    if (maxm > v->scap) {
        v->scap = maxm > 2 * v->scap ? maxm : 2 * v->scap;
        v->th = imdb_xrealloc(v->th, v->scap * sizeof *v->th);
        v->tl = imdb_xrealloc(v->tl, v->scap * sizeof *v->tl);
        v->nh = imdb_xrealloc(v->nh, v->scap * sizeof *v->nh);
        v->nl = imdb_xrealloc(v->nl, v->scap * sizeof *v->nl);
    }
    /* Hashes and text lengths of all n-grams first (unigrams, then bigrams, ...), so the
     * lookups below can prefetch their slots and records ahead: the table is far larger
     * than the caches and each lookup is otherwise a stall. */
    for (size_t i = 0; i < ntok; i++) {
        v->tl[i] = strlen(toks[i]);
        v->nh[i] = v->th[i] = feat_hash_token(toks[i], v->tl[i]);
        v->nl[i] = v->tl[i];
    }
    size_t m = ntok, prev = 0;
    for (int k = 2; k <= v->maxn && (size_t)k <= ntok; k++) {
        size_t cnt = ntok - (size_t)k + 1;
        for (size_t i = 0; i < cnt; i++) {
            v->nh[m + i] = feat_chain(v->nh[prev + i], v->th[i + (size_t)k - 1]);
            v->nl[m + i] = v->nl[prev + i] + 1 + v->tl[i + (size_t)k - 1];
        }
        prev = m;
        m += cnt;
    }
    if (!v->slots || 2 * (v->n + m) > v->cap) build_slots(v, v->n + m > v->cap ? v->n + m : v->cap);
    const size_t mask = v->cap - 1;
    size_t j = 0;
    for (int k = 1; k <= v->maxn && (size_t)k <= ntok; k++) {
        size_t cnt = ntok - (size_t)k + 1;
        for (size_t i = 0; i < cnt; i++, j++) {
            if (j + 16 < m) PREFETCH(&v->slots[v->nh[j + 16] & mask]);
            if (j + 8 < m) {
                uint64_t s = v->slots[v->nh[j + 8] & mask];
                if (s) PREFETCH(rec_of_slot(v, s));
            }
            if (count_one(v, v->nh[j], toks + i, v->tl + i, k, v->nl[j]) < 0) return;
        }
    }
}

/* ---- merging ---- */

int vocab_merge(vocab *a, const vocab *b, imdb_err *e)
{
    if (vocab_status(a, e) < 0 || vocab_status(b, e) < 0) return -1;
    if (a->maxn != b->maxn)
        return imdb_fail(e, IMDB_EXIT_DATA, "cannot merge vocabularies of %d-grams and %d-grams",
                         a->maxn, b->maxn);
    if (!text_settings_same(a->clean, b->clean))
        return imdb_fail(e, IMDB_EXIT_DATA, "cannot merge vocabularies cleaned differently "
                         "('%.300s' and '%.300s')", a->clean ? a->clean : "(unknown)",
                         b->clean ? b->clean : "(unknown)");
    if (a->docs + b->docs < a->docs || a->tokens + b->tokens < a->tokens)
        return imdb_fail(e, IMDB_EXIT_DATA, "document or token total overflows 64 bits");
    invalidate_order(a);
    for (size_t off = 8; off < b->alen;) {
        const rec *rb = (const rec *)(b->arena + off);
        off += rec_size(rb->len);
        reserve_slot(a);
        uint64_t *s = find_slot(a, rb->hash);
        if (*s) {
            rec *ra = rec_of_slot(a, *s);
            if (ra->len != rb->len || memcmp(ra->text, rb->text, rb->len) != 0) {
                collision(a, ra->text, rb->text);
                return vocab_status(a, e);
            }
            if (ra->count + rb->count < ra->count)
                return imdb_fail(e, IMDB_EXIT_DATA, "count of '%.200s' overflows 64 bits",
                                 ra->text);
            ra->count += rb->count;
            ra->df += rb->df;
            continue;
        }
        rec *ra = new_rec(a, rb->hash, rb->len);
        if (!ra) return vocab_status(a, e);
        /* new_rec may move a's arena, never b's (a != b here: a self-merge finds every
         * record already present). */
        memcpy(ra->text, rb->text, (size_t)rb->len + 1);
        ra->count = rb->count;
        ra->df = rb->df;
        *s = slot_of(a, ra);
    }
    a->docs += b->docs;
    a->tokens += b->tokens;
    return 0;
}

/* ---- ordering and pruning ---- */

typedef struct item {
    uint32_t group;     /* rank of (count, df): 0 = largest count */
    uint32_t off8;
    uint64_t p0, p1;    /* first 16 bytes of the text, big-endian, zero-padded */
} item;

static inline int item_less(const item *x, const item *y, const vocab *v)
{
    if (x->group != y->group) return x->group < y->group;
    if (x->p0 != y->p0) return x->p0 < y->p0;
    if (x->p1 != y->p1) return x->p1 < y->p1;
    /* Equal 16-byte prefixes of distinct NUL-free texts: both are at least 16 bytes long. */
    return strcmp(rec_at(v, x->off8)->text + 16, rec_at(v, y->off8)->text + 16) < 0;
}

/* Sort a[0..n) with tmp of n/2 items: merge sort, insertion sort below 16, and an ordered
 * pair of halves costs one comparison (so sorted input is linear). */
static void sort_items(item *a, item *tmp, size_t n, const vocab *v)
{
    if (n <= 16) {
        for (size_t i = 1; i < n; i++) {
            item x = a[i];
            size_t j = i;
            while (j > 0 && item_less(&x, &a[j - 1], v)) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = x;
        }
        return;
    }
    size_t h = n / 2;
    sort_items(a, tmp, h, v);
    sort_items(a + h, tmp, n - h, v);
    if (!item_less(&a[h], &a[h - 1], v)) return;
    memcpy(tmp, a, h * sizeof *a);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) {
        if (item_less(&a[j], &tmp[i], v)) a[k++] = a[j++];
        else a[k++] = tmp[i++];
    }
    while (i < h) a[k++] = tmp[i++];
}

/* The fast path: LSD radix sort on (group, p0), one byte per pass, skipping bytes that
 * are the same in every item; then each run of equal (group, p0) is finished by
 * sort_items (the reference). tmp holds m items. */
static void radix_items(item *a, item *tmp, size_t m, const vocab *v)
{
    enum { DIGITS = 12 };   /* 8 bytes of p0, then 4 of group (most significant last) */
    size_t (*hist)[256] = imdb_xcalloc(DIGITS, sizeof *hist);
    for (size_t i = 0; i < m; i++) {
        uint64_t p = a[i].p0;
        uint32_t g = a[i].group;
        for (int d = 0; d < 8; d++) hist[d][(p >> (8 * d)) & 255]++;
        for (int d = 0; d < 4; d++) hist[8 + d][(g >> (8 * d)) & 255]++;
    }
    item *src = a, *dst = tmp;
    for (int d = 0; d < DIGITS; d++) {
        size_t *h = hist[d], pos = 0;
        int skip = 0;
        for (int b = 0; b < 256; b++) {
            if (h[b] == m) skip = 1;
            size_t c = h[b];
            h[b] = pos;
            pos += c;
        }
        if (skip) continue;
        int shift = d < 8 ? 8 * d : 8 * (d - 8);
        for (size_t i = 0; i < m; i++) {
            uint64_t key = d < 8 ? src[i].p0 : src[i].group;
            dst[h[(key >> shift) & 255]++] = src[i];
        }
        item *t = src;
        src = dst;
        dst = t;
    }
    free(hist);
    if (src != a) memcpy(a, src, m * sizeof *a);
    for (size_t i = 0; i < m;) {
        size_t j = i + 1;
        while (j < m && a[j].group == a[i].group && a[j].p0 == a[i].p0) j++;
        if (j - i > 1) sort_items(a + i, tmp, j - i, v);
        i = j;
    }
}

typedef struct cd_pair {
    uint64_t count, df;
} cd_pair;

static int cmp_pair_desc(const void *x, const void *y)
{
    const cd_pair *a = x, *b = y;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    if (a->df != b->df) return a->df > b->df ? -1 : 1;
    return 0;
}

/* Give every item the rank of its record's (count, df) among the distinct pairs. Items
 * arrive with group unset; on return group is the rank. */
static void rank_groups(item *it, size_t m, const vocab *v)
{
    size_t cap = 1 << 10, np = 0, pcap = 256;
    uint32_t *slot = imdb_xcalloc(cap, sizeof *slot);    /* pair index + 1 */
    cd_pair *pairs = imdb_xmalloc(pcap * sizeof *pairs);
    for (size_t i = 0; i < m; i++) {
        const rec *r = rec_at(v, it[i].off8);
        if (2 * (np + 1) > cap) {
            free(slot);
            cap *= 2;
            slot = imdb_xcalloc(cap, sizeof *slot);
            for (size_t p = 0; p < np; p++) {
                size_t j = (size_t)feat_chain(pairs[p].count, pairs[p].df) & (cap - 1);
                while (slot[j]) j = (j + 1) & (cap - 1);
                slot[j] = (uint32_t)p + 1;
            }
        }
        size_t j = (size_t)feat_chain(r->count, r->df) & (cap - 1);
        while (slot[j] && (pairs[slot[j] - 1].count != r->count || pairs[slot[j] - 1].df != r->df))
            j = (j + 1) & (cap - 1);
        if (!slot[j]) {
            if (np == pcap) {
                pcap *= 2;
                pairs = imdb_xrealloc(pairs, pcap * sizeof *pairs);
            }
            pairs[np] = (cd_pair){r->count, r->df};
            slot[j] = (uint32_t)++np;
        }
        it[i].group = slot[j] - 1;
    }
    /* rank[index of pair before sorting] */
    cd_pair *sorted = imdb_xmalloc((np ? np : 1) * sizeof *sorted);
    memcpy(sorted, pairs, np * sizeof *pairs);
    qsort(sorted, np, sizeof *sorted, cmp_pair_desc);
    uint32_t *rank = imdb_xmalloc((np ? np : 1) * sizeof *rank);
    for (size_t r = 0; r < np; r++) {
        size_t j = (size_t)feat_chain(sorted[r].count, sorted[r].df) & (cap - 1);
        while (pairs[slot[j] - 1].count != sorted[r].count || pairs[slot[j] - 1].df != sorted[r].df)
            j = (j + 1) & (cap - 1);
        rank[slot[j] - 1] = (uint32_t)r;
    }
    for (size_t i = 0; i < m; i++) it[i].group = rank[it[i].group];
    free(rank);
    free(sorted);
    free(pairs);
    free(slot);
}

/* Bytes [from, from + 8) of the text as a big-endian number, zero-padded. */
static uint64_t text_prefix(const rec *r, size_t from)
{
    uint64_t p = 0;
    for (size_t i = from; i < from + 8; i++)
        p = p << 8 | (i < r->len ? (unsigned char)r->text[i] : 0);
    return p;
}

void vocab_finish(vocab *v, uint64_t min_count, size_t max_size)
{
    vocab_finish_df(v, min_count, 0, max_size);
}

void vocab_finish_df(vocab *v, uint64_t min_count, uint64_t min_df, size_t max_size)
{
    /* The table is rebuilt when needed; dropping it first lowers the peak memory. */
    free(v->slots);
    v->slots = NULL;
    v->cap = 0;
    free(v->order);
    v->order = NULL;

    item *it = imdb_xmalloc((v->n ? v->n : 1) * sizeof *it);
    size_t m = 0;
    for (size_t off = 8; off < v->alen;) {
        rec *r = (rec *)(v->arena + off);
        r->last = 0;
        if (r->count >= min_count && r->df >= min_df) {
            it[m].off8 = (uint32_t)(off >> 3);
            it[m].p0 = text_prefix(r, 0);
            it[m].p1 = text_prefix(r, 8);
            m++;
        }
        off += rec_size(r->len);
    }
    v->doc_id = 0;
    rank_groups(it, m, v);
    /* A vocabulary read from a file usually arrives in order already. */
    size_t inorder = 1;
    while (inorder < m && item_less(&it[inorder - 1], &it[inorder], v)) inorder++;
    if (inorder < m) {
        item *tmp = imdb_xmalloc(m * sizeof *tmp);
        radix_items(it, tmp, m, v);
        free(tmp);
    }

    size_t kept = max_size && max_size < m ? max_size : m;
    v->order = imdb_xmalloc((kept ? kept : 1) * sizeof *v->order);
    if (kept == v->n) {
        for (size_t i = 0; i < kept; i++) v->order[i] = it[i].off8;
    } else {
        /* Compact the arena in place, keeping arena order; the rank finds each survivor's
         * place in the order. */
        for (size_t i = 0; i < kept; i++) rec_at(v, it[i].off8)->last = (uint32_t)(i + 1);
        size_t dst = 8;
        for (size_t off = 8; off < v->alen;) {
            rec *r = (rec *)(v->arena + off);
            size_t sz = rec_size(r->len);
            if (r->last) {
                v->order[r->last - 1] = (uint32_t)(dst >> 3);
                memmove(v->arena + dst, r, sz);
                ((rec *)(v->arena + dst))->last = 0;
                dst += sz;
            }
            off += sz;
        }
        v->alen = dst;
        v->n = kept;
        if (v->acap > 2 * dst && v->acap > (1 << 16)) {
            v->acap = dst > (1 << 16) ? dst : 1 << 16;
            v->arena = imdb_xrealloc(v->arena, v->acap);
        }
    }
    free(it);
    v->sorted = 1;
}

const char *vocab_ngram(const vocab *v, size_t i) { return rec_at(v, v->order[i])->text; }
uint64_t vocab_count(const vocab *v, size_t i) { return rec_at(v, v->order[i])->count; }
uint64_t vocab_df(const vocab *v, size_t i) { return rec_at(v, v->order[i])->df; }
uint64_t vocab_hash(const vocab *v, size_t i) { return rec_at(v, v->order[i])->hash; }

int vocab_order(const vocab *v, size_t i)
{
    int n = 1;
    for (const char *p = rec_at(v, v->order[i])->text; *p; p++) n += *p == ' ';
    return n;
}

/* ---- the text format ---- */

static char *put_u64(char *p, uint64_t x)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + x % 10);
        x /= 10;
    } while (x);
    while (n) *p++ = tmp[--n];
    return p;
}

int vocab_write(const vocab *v, outfile *o, imdb_err *e)
{
    if (vocab_status(v, e) < 0) return -1;
    if (!v->sorted)
        return imdb_fail(e, IMDB_EXIT_INTERNAL, "vocab_write: vocabulary not finished");
    if (outfile_printf(o, e, "#imdb-vocab 1 ngrams=%d docs=%llu tokens=%llu\n", v->maxn,
                       (unsigned long long)v->docs, (unsigned long long)v->tokens) < 0)
        return -1;
    if (v->clean) {
        if (strpbrk(v->clean, "\t\n\r"))
            return imdb_fail(e, IMDB_EXIT_DATA, "cleaning settings contain a TAB or newline");
        if (outfile_printf(o, e, "#clean %s\n", v->clean) < 0) return -1;
    }
    enum { BUF = 1 << 16 };
    char *buf = imdb_xmalloc(BUF), *p = buf;
    for (size_t i = 0; i < v->n; i++) {
        const rec *r = rec_at(v, v->order[i]);
        if (i + 32 < v->n) PREFETCH(rec_at(v, v->order[i + 32]));
        if ((size_t)(p - buf) + r->len + 48 > BUF) {
            if (outfile_write(o, buf, (size_t)(p - buf), e) < 0) goto fail;
            p = buf;
            if ((size_t)r->len + 48 > BUF) {
                if (outfile_write(o, r->text, r->len, e) < 0) goto fail;
            } else {
                memcpy(p, r->text, r->len);
                p += r->len;
            }
        } else {
            memcpy(p, r->text, r->len);
            p += r->len;
        }
        *p++ = '\t';
        p = put_u64(p, r->count);
        *p++ = '\t';
        p = put_u64(p, r->df);
        *p++ = '\n';
    }
    if (p > buf && outfile_write(o, buf, (size_t)(p - buf), e) < 0) goto fail;
    free(buf);
    return 0;
fail:
    free(buf);
    return -1;
}

/* A decimal number of at most 20 digits without sign; -1 if malformed or > UINT64_MAX. */
static int parse_u64(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 20) return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (x > (UINT64_MAX - d) / 10) return -1;
        x = x * 10 + d;
    }
    *out = x;
    return 0;
}

typedef struct header {
    int maxn;
    uint64_t docs, tokens;
} header;

/* "#imdb-vocab 1 ngrams=N docs=D tokens=T" */
static int parse_header(const char *name, char *line, size_t len, header *hd, imdb_err *e)
{
    static const char magic[] = "#imdb-vocab ";
    if (len < sizeof magic - 1 || memcmp(line, magic, sizeof magic - 1) != 0)
        return imdb_fail(e, IMDB_EXIT_DATA,
                         "%s:1: not an imdb vocabulary (expected a '#imdb-vocab' header, see imdb-vocab(5))",
                         name);
    char *p = line + sizeof magic - 1, *end = line + len;
    uint64_t val[4];
    int have[4] = {0, 0, 0, 0};
    static const char *const keys[4] = {"", "ngrams", "docs", "tokens"};
    for (int field = 0; p < end; field++) {
        char *sp = memchr(p, ' ', (size_t)(end - p));
        if (!sp) sp = end;
        int k = 0;
        const char *num = p;
        if (field > 0) {
            char *eq = memchr(p, '=', (size_t)(sp - p));
            for (k = 1; k < 4 && eq; k++)
                if ((size_t)(eq - p) == strlen(keys[k]) && memcmp(p, keys[k], (size_t)(eq - p)) == 0)
                    break;
            if (!eq || k == 4 || have[k])
                return imdb_fail(e, IMDB_EXIT_DATA, "%s:1: %s header field '%.*s'", name,
                                 eq && k < 4 ? "repeated" : "unknown",
                                 (int)(sp - p > 60 ? 60 : sp - p), p);
            num = eq + 1;
        }
        if (parse_u64(num, (size_t)(sp - num), &val[k]) < 0)
            return imdb_fail(e, IMDB_EXIT_DATA, "%s:1: malformed header field '%.*s'", name,
                             (int)(sp - p > 60 ? 60 : sp - p), p);
        if (field == 0 && val[0] != 1)
            return imdb_fail(e, IMDB_EXIT_DATA,
                             "%s:1: vocabulary format version %llu is %s this program's 1", name,
                             (unsigned long long)val[0], val[0] > 1 ? "newer than" : "not");
        have[k] = 1;
        p = sp < end ? sp + 1 : end;
    }
    for (int k = 1; k < 4; k++)
        if (!have[k]) return imdb_fail(e, IMDB_EXIT_DATA, "%s:1: header lacks '%s='", name, keys[k]);
    if (val[1] < 1 || val[1] > VOCAB_MAX_NGRAMS)
        return imdb_fail(e, IMDB_EXIT_DATA, "%s:1: ngrams=%llu is out of range [1, %d]", name,
                         (unsigned long long)val[1], VOCAB_MAX_NGRAMS);
    hd->maxn = (int)val[1];
    hd->docs = val[2];
    hd->tokens = val[3];
    return 0;
}

/* Records touched by the file being read carry this in last (all others hold 0), which
 * finds a duplicate line without a second table. */
#define READ_MARK UINT32_MAX

/* One "NGRAM<TAB>COUNT<TAB>DF" line, added into v; line is NUL-terminated at len. */
static int parse_entry(vocab *v, const header *hd, const char *name, long ln, char *line,
                       size_t len, vocab_info *info, imdb_err *e)
{
    char *t1 = memchr(line, '\t', len);
    char *t2 = t1 ? memchr(t1 + 1, '\t', len - (size_t)(t1 + 1 - line)) : NULL;
    char *end = line + len;
    if (!t2 || memchr(t2 + 1, '\t', (size_t)(end - t2 - 1)))
        return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: malformed line (expected NGRAM<TAB>COUNT<TAB>DF)",
                         name, ln);
    size_t nlen = (size_t)(t1 - line);
    if (nlen == 0) return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: empty n-gram", name, ln);
    if (memchr(line, '\0', len)) return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: NUL byte", name, ln);
    int order = 1;
    for (size_t i = 0; i < nlen; i++) {
        char ch = line[i];
        if (ch == '\n' || ch == '\r')
            return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: n-gram contains a line break", name, ln);
        if (ch == ' ') {
            if (i == 0 || i + 1 == nlen || line[i + 1] == ' ')
                return imdb_fail(e, IMDB_EXIT_DATA,
                                 "%s:%ld: n-gram has an empty token (tokens are joined by one space)",
                                 name, ln);
            order++;
        }
    }
    if (order > hd->maxn)
        return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: %d-gram in a vocabulary of ngrams=%d", name,
                         ln, order, hd->maxn);
    uint64_t count, df;
    if (parse_u64(t1 + 1, (size_t)(t2 - t1 - 1), &count) < 0 || count == 0)
        return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: bad count '%.*s'", name, ln,
                         (int)(t2 - t1 - 1 > 30 ? 30 : t2 - t1 - 1), t1 + 1);
    if (parse_u64(t2 + 1, (size_t)(end - t2 - 1), &df) < 0 || df == 0)
        return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: bad document frequency '%.*s'", name, ln,
                         (int)(end - t2 - 1 > 30 ? 30 : end - t2 - 1), t2 + 1);
    if (df > count)
        return imdb_fail(e, IMDB_EXIT_DATA,
                         "%s:%ld: document frequency %llu exceeds count %llu", name, ln,
                         (unsigned long long)df, (unsigned long long)count);
    if (df > hd->docs)
        return imdb_fail(e, IMDB_EXIT_DATA,
                         "%s:%ld: document frequency %llu exceeds docs=%llu of the header", name,
                         ln, (unsigned long long)df, (unsigned long long)hd->docs);
    info->entries++;
    if (order == 1) {
        if (info->unigrams + count < info->unigrams)
            return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: unigram counts overflow 64 bits", name, ln);
        info->unigrams += count;
    }
    uint64_t h = feat_hash_ngram(line, nlen);
    reserve_slot(v);
    uint64_t *s = find_slot(v, h);
    if (*s) {
        rec *r = rec_of_slot(v, *s);
        if (r->len != nlen || memcmp(r->text, line, nlen) != 0) {
            *t1 = '\0';
            collision(v, r->text, line);
            return imdb_fail(e, IMDB_EXIT_INTERNAL, "%s:%ld: %s", name, ln, v->err.msg);
        }
        if (r->last == READ_MARK)
            return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: duplicate n-gram '%.200s'", name, ln,
                             r->text);
        if (r->count + count < r->count)
            return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: count of '%.200s' overflows 64 bits",
                             name, ln, r->text);
        r->count += count;
        r->df += df;
        r->last = READ_MARK;
        return 0;
    }
    rec *r = new_rec(v, h, nlen);
    if (!r) return imdb_fail(e, IMDB_EXIT_INTERNAL, "%s:%ld: %s", name, ln, v->err.msg);
    memcpy(r->text, line, nlen);
    r->text[nlen] = '\0';
    r->count = count;
    r->df = df;
    r->last = READ_MARK;
    *s = slot_of(v, r);
    return 0;
}

/* Read path into v: v == NULL makes a new vocabulary (*out); else the file is added into
 * v, whose n-gram order and cleaning settings it must share. */
static int read_file(vocab *v, const char *path, vocab **out, vocab_info *info, imdb_err *e)
{
    vocab_info dummy;
    if (!info) info = &dummy;
    memset(info, 0, sizeof *info);
    lineio *in = lineio_open(path, e);
    if (!in) return -1;
    const char *name = lineio_name(in);
    vocab *fresh = NULL;
    char *line;
    size_t len;
    header hd = {0, 0, 0};
    int got = lineio_next(in, &line, &len, e);
    if (got < 0) goto fail;
    if (got == 0) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: empty file, not an imdb vocabulary (see imdb-vocab(5))",
                  name);
        goto fail;
    }
    if (parse_header(name, line, len, &hd, e) < 0) goto fail;
    info->docs = hd.docs;
    info->tokens = hd.tokens;
    if (!v) {
        v = fresh = vocab_new(hd.maxn);
    } else {
        if (vocab_status(v, e) < 0) goto fail;
        if (hd.maxn != v->maxn) {
            imdb_fail(e, IMDB_EXIT_DATA,
                      "%s: vocabulary of ngrams=%d, but the vocabularies merged so far have ngrams=%d",
                      name, hd.maxn, v->maxn);
            goto fail;
        }
        if (v->docs + hd.docs < v->docs || v->tokens + hd.tokens < v->tokens) {
            imdb_fail(e, IMDB_EXIT_DATA, "%s: document or token total overflows 64 bits", name);
            goto fail;
        }
        invalidate_order(v);
        reset_last(v);
    }
    int clean_checked = 0;
    while ((got = lineio_next(in, &line, &len, e)) > 0) {
        long ln = lineio_lineno(in);
        if (!clean_checked) {
            /* Line 2 may be "#clean SETTINGS"; a merged file must match v's. */
            clean_checked = 1;
            int is_clean = len >= 7 && memcmp(line, "#clean ", 7) == 0 && !memchr(line, '\t', len);
            if (is_clean && memchr(line, '\0', len)) {
                imdb_fail(e, IMDB_EXIT_DATA, "%s:2: NUL byte", name);
                goto fail;
            }
            const char *clean = is_clean ? line + 7 : NULL;
            if (fresh) {
                vocab_set_clean(v, clean);
            } else if (!text_settings_same(clean, v->clean)) {
                imdb_fail(e, IMDB_EXIT_DATA, "%s: cleaned with other settings (%.300s) than the "
                          "vocabularies merged so far (%.300s)", name,
                          clean ? clean : "none recorded", v->clean ? v->clean : "none recorded");
                goto fail;
            }
            if (is_clean) continue;
        }
        if (parse_entry(v, &hd, name, ln, line, len, info, e) < 0) goto fail;
    }
    if (got < 0) goto fail;
    if (!clean_checked && !fresh && v->clean) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: cleaned with other settings (none recorded) than the "
                  "vocabularies merged so far (%.300s)", name, v->clean);
        goto fail;
    }
    lineio_close(in);
    if (fresh) {
        v->docs = hd.docs;
        v->tokens = hd.tokens;
        vocab_finish(v, 0, 0);   /* also clears the read marks */
        *out = v;
    } else {
        v->docs += hd.docs;
        v->tokens += hd.tokens;
        reset_last(v);
        v->doc_id = 0;
    }
    return 0;
fail:
    lineio_close(in);
    vocab_free(fresh);
    return -1;
}

vocab *vocab_read(const char *path, imdb_err *e)
{
    vocab *v = NULL;
    return read_file(NULL, path, &v, NULL, e) < 0 ? NULL : v;
}

int vocab_read_merge(vocab *v, const char *path, vocab_info *info, imdb_err *e)
{
    return read_file(v, path, NULL, info, e);
}
