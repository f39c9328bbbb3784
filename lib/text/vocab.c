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
#include "spill.h"
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

/* Runs on disk (bounded memory, below); level: merged from FANIN^level spills. */
struct vrun {
    spill_run *run;
    int level;
};
typedef struct runlist {
    struct vrun *r;
    size_t n, cap;
} runlist;

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

    /* Bounded memory (vocab_set_memory; budget 0 = unbounded). The arena is allocated
     * once at arena_cap bytes and the slot table grows to at most slot_limit slots; a
     * document or entry that would not fit first spills the table as a run. */
    size_t budget, arena_cap, slot_limit;
    char *tmpdir;
    runlist runs;           /* runs by text, in time order */
    uint64_t nspills, spilled_bytes;
    /* Merging files: file_no counts the files read (marks in rec.last are file numbers);
     * the run being filled began in file run_first, whose records lie below first_end
     * (SIZE_MAX while run_first is still being read). See spill_table. */
    uint32_t file_no, run_first;
    size_t first_end;
    char **files;
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
    v->maxn = maxn < 0 ? 1 : maxn > VOCAB_MAX_NGRAMS ? VOCAB_MAX_NGRAMS : maxn;
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
    free(v->tmpdir);
    for (size_t i = 0; i < v->runs.n; i++) spill_run_free(v->runs.r[i].run);
    free(v->runs.r);
    for (uint32_t i = 0; i < v->file_no; i++) free(v->files[i]);
    free(v->files);
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
        if (v->budget)   /* cannot happen: callers check room first */
        {
            keep_error(v, IMDB_EXIT_INTERNAL, "vocabulary arena overflow");
            return NULL;
        }
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

static int make_room(vocab *v, size_t nrec, size_t bytes);

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
    if (v->budget) {
        size_t bytes = 0;
        for (size_t i = 0; i < m; i++) bytes += rec_size(v->nl[i]);
        if (make_room(v, m, bytes) < 0) return;
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

/* The header lines; the same for every way of writing. */
static int write_head(const vocab *v, outfile *o, imdb_err *e)
{
    if (outfile_printf(o, e, "#imdb-vocab 1 ngrams=%d docs=%llu tokens=%llu\n", v->maxn,
                       (unsigned long long)v->docs, (unsigned long long)v->tokens) < 0)
        return -1;
    if (v->clean) {
        if (strpbrk(v->clean, "\t\n\r"))
            return imdb_fail(e, IMDB_EXIT_DATA, "cleaning settings contain a TAB or newline");
        if (outfile_printf(o, e, "#clean %s\n", v->clean) < 0) return -1;
    }
    return 0;
}

/* Entry lines "NGRAM<TAB>COUNT<TAB>DF", buffered: every writer formats them here, so the
 * bytes of a vocabulary do not depend on how it was counted. */
enum { LINES_BUF = 1 << 16 };
typedef struct lines {
    outfile *o;
    char *buf, *p;
} lines;

static void lines_init(lines *l, outfile *o)
{
    l->o = o;
    l->p = l->buf = imdb_xmalloc(LINES_BUF);
}

static int lines_put(lines *l, const char *text, size_t len, uint64_t count, uint64_t df,
                     imdb_err *e)
{
    if ((size_t)(l->p - l->buf) + len + 48 > LINES_BUF) {
        if (outfile_write(l->o, l->buf, (size_t)(l->p - l->buf), e) < 0) return -1;
        l->p = l->buf;
        if (len + 48 > LINES_BUF) {
            if (outfile_write(l->o, text, len, e) < 0) return -1;
        } else {
            memcpy(l->p, text, len);
            l->p += len;
        }
    } else {
        memcpy(l->p, text, len);
        l->p += len;
    }
    *l->p++ = '\t';
    l->p = put_u64(l->p, count);
    *l->p++ = '\t';
    l->p = put_u64(l->p, df);
    *l->p++ = '\n';
    return 0;
}

/* Flush and free (also after an error: then ok is 0 and nothing is written). */
static int lines_end(lines *l, int ok, imdb_err *e)
{
    int rc = 0;
    if (ok && l->p > l->buf) rc = outfile_write(l->o, l->buf, (size_t)(l->p - l->buf), e);
    free(l->buf);
    l->buf = l->p = NULL;
    return ok ? rc : -1;
}

int vocab_write(const vocab *v, outfile *o, imdb_err *e)
{
    if (vocab_status(v, e) < 0) return -1;
    if (!v->sorted)
        return imdb_fail(e, IMDB_EXIT_INTERNAL, "vocab_write: vocabulary not finished");
    if (write_head(v, o, e) < 0) return -1;
    lines l;
    lines_init(&l, o);
    for (size_t i = 0; i < v->n; i++) {
        const rec *r = rec_at(v, v->order[i]);
        if (i + 32 < v->n) PREFETCH(rec_at(v, v->order[i + 32]));
        if (lines_put(&l, r->text, r->len, r->count, r->df, e) < 0) return lines_end(&l, 0, e);
    }
    return lines_end(&l, 1, e);
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
/* With a memory budget the mark is the file's number instead, and stays after the file:
 * a run spilled in the middle of a file needs to know which records that file touched. */
static inline uint32_t read_mark(const vocab *v) { return v->budget ? v->file_no : READ_MARK; }

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
    if (v->budget && make_room(v, 1, rec_size(nlen)) < 0)
        return imdb_fail(e, v->err.status, "%s:%ld: %s", name, ln, v->err.msg);
    reserve_slot(v);
    uint64_t *s = find_slot(v, h);
    if (*s) {
        rec *r = rec_of_slot(v, *s);
        if (r->len != nlen || memcmp(r->text, line, nlen) != 0) {
            *t1 = '\0';
            collision(v, r->text, line);
            return imdb_fail(e, IMDB_EXIT_INTERNAL, "%s:%ld: %s", name, ln, v->err.msg);
        }
        if (r->last == read_mark(v))
            return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: duplicate n-gram '%.200s'", name, ln,
                             r->text);
        if (r->count + count < r->count)
            return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: count of '%.200s' overflows 64 bits",
                             name, ln, r->text);
        r->count += count;
        r->df += df;
        r->last = read_mark(v);
        return 0;
    }
    rec *r = new_rec(v, h, nlen);
    if (!r) return imdb_fail(e, IMDB_EXIT_INTERNAL, "%s:%ld: %s", name, ln, v->err.msg);
    memcpy(r->text, line, nlen);
    r->text[nlen] = '\0';
    r->count = count;
    r->df = df;
    r->last = read_mark(v);
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
    /* A vocabulary made by vocab_new(0) takes the order and settings of its first file. */
    int adopt = v && v->maxn == 0 && v->n == 0 && v->runs.n == 0 && v->docs == 0 && v->file_no == 0;
    if (!v) {
        v = fresh = vocab_new(hd.maxn);
    } else {
        if (vocab_status(v, e) < 0) goto fail;
        if (adopt) v->maxn = hd.maxn;
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
        if (v->budget) {
            v->files = imdb_xrealloc(v->files, (v->file_no + 1) * sizeof *v->files);
            v->files[v->file_no++] = imdb_xstrdup(name);
            if (v->n == 0) {
                v->run_first = v->file_no;
                v->first_end = SIZE_MAX;
            } else if (v->first_end == SIZE_MAX) {
                v->first_end = v->alen;
            }
        } else {
            reset_last(v);
        }
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
            if (fresh || adopt) {
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
    if (!clean_checked && !fresh && !adopt && v->clean) {
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
        if (!v->budget) {
            reset_last(v);
            v->doc_id = 0;
        }
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

/* ---- bounded memory: spilling sorted runs and merging them ----
 *
 * With a budget (vocab_set_memory) the table is filled as usual until the next document
 * (or file entry) might not fit; then it is sorted by text and written out as a run
 * (spill.h), and counting goes on in the emptied table. Runs are merged FANIN at a time,
 * summing counts and document frequencies: whenever the newest FANIN runs are of one
 * level (a merge of FANIN runs of level L makes one of level L + 1), so few runs are open
 * at once; and at the end, giving the exact totals, in order of text. Those that pass
 * the thresholds go into the table again, which is spilled as runs in the order of the
 * file (count, df, bytes) when full, and the runs are merged into the output, cut at
 * max_size. Lines go through lines_put, the writer of vocab_write, so the bytes are the
 * same as counting in memory.
 *
 * Memory: the arena is allocated once (arena_cap); the slot table grows to slot_limit;
 * sorting before a spill reuses the slot table (two slots per record, 16 bytes per item,
 * sorted in place); merges use FANIN readers and one writer, twice over (the final
 * merge by text fills the table, which may spill and cascade meanwhile). */

#define FANIN 16
#define TABLE_MIN ((size_t)64 << 10)
#define MERGE_RESERVE (2 * (FANIN + 1) * (size_t)SPILL_BUFFER_BYTES + (size_t)LINES_BUF + ((size_t)16 << 10))

size_t vocab_memory_min(void) { return MERGE_RESERVE + TABLE_MIN; }

/* The largest power of two of slots whose bytes stay within 3/10 of the table. */
static size_t slot_limit_of(size_t table)
{
    size_t s = 1 << 10;
    while (s * 2 * 8 <= table / 10 * 3) s *= 2;
    return s;
}

/* Would a table of `table` bytes take nrec more records of `bytes` with scratch bytes of
 * per-document buffers, holding n records in alen arena bytes already? */
static int table_takes(size_t table, size_t n, size_t alen, size_t nrec, size_t bytes, size_t scratch)
{
    size_t sl = slot_limit_of(table);
    if (sl * 8 + scratch >= table) return 0;
    return 2 * (n + nrec) <= sl && alen + bytes <= table - sl * 8 - scratch;
}

size_t vocab_memory(const vocab *v)
{
    return (v->budget ? v->arena_cap : v->acap) + v->cap * sizeof *v->slots + v->scap * 32;
}

int vocab_set_memory(vocab *v, size_t bytes, const char *tmpdir, imdb_err *e)
{
    if (bytes < vocab_memory_min())
        return imdb_fail(e, IMDB_EXIT_USAGE,
                         "a memory budget of %zu bytes is too small: counting needs at least "
                         "%zu bytes (%zu KiB) for its merge buffers and a minimal table",
                         bytes, vocab_memory_min(), (vocab_memory_min() + 1023) >> 10);
    if (v->n || v->docs || v->budget)
        return imdb_fail(e, IMDB_EXIT_INTERNAL, "vocab_set_memory: vocabulary already in use");
    size_t table = bytes - MERGE_RESERVE;
    v->budget = bytes;
    v->slot_limit = slot_limit_of(table);
    v->arena_cap = table - v->slot_limit * 8;
    free(v->arena);
    v->arena = imdb_xmalloc(v->arena_cap);   /* touched only as records are added */
    advise_huge(v->arena, v->arena_cap);
    v->acap = v->arena_cap;
    v->alen = 8;
    free(v->tmpdir);
    v->tmpdir = imdb_xstrdup(tmpdir && *tmpdir ? tmpdir : "/tmp");
    v->first_end = SIZE_MAX;
    return 0;
}

static int fits(const vocab *v, size_t nrec, size_t bytes)
{
    size_t scratch = v->scap * 32;
    return 2 * (v->n + nrec) <= v->slot_limit && scratch < v->arena_cap &&
           v->alen + bytes <= v->arena_cap - scratch;
}

typedef struct sitem {
    uint64_t key;     /* SPILL_BY_TEXT: the first 8 text bytes, big-endian; BY_RANK: count */
    uint64_t off8;
} sitem;

static inline int sitem_less(const sitem *a, const sitem *b, const vocab *v, int order)
{
    if (a->key != b->key) return order == SPILL_BY_TEXT ? a->key < b->key : a->key > b->key;
    const rec *ra = rec_at(v, a->off8), *rb = rec_at(v, b->off8);
    if (order == SPILL_BY_RANK && ra->df != rb->df) return ra->df > rb->df;
    return strcmp(ra->text, rb->text) < 0;
}

static void sift_down(sitem *a, size_t i, size_t n, const vocab *v, int order)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) return;
        if (c + 1 < n && sitem_less(&a[c], &a[c + 1], v, order)) c++;
        if (!sitem_less(&a[i], &a[c], v, order)) return;
        sitem t = a[i];
        a[i] = a[c];
        a[c] = t;
        i = c;
    }
}

/* In place (the items fill the memory there is): quicksort with Hoare's partition around
 * a median of three, insertion sort below 16, heapsort past a depth limit. Keys are
 * distinct (texts are), so every order is total. */
static void sort_sitems(sitem *a, size_t n, const vocab *v, int order, int depth)
{
    while (n > 16) {
        if (depth-- == 0) {
            for (size_t i = n / 2; i-- > 0;) sift_down(a, i, n, v, order);
            for (size_t k = n; k-- > 1;) {
                sitem t = a[0];
                a[0] = a[k];
                a[k] = t;
                sift_down(a, 0, k, v, order);
            }
            return;
        }
        size_t mid = n / 2;
        sitem t;
#define SWAP(i, j) (t = a[i], a[i] = a[j], a[j] = t)
        if (sitem_less(&a[mid], &a[0], v, order)) SWAP(mid, 0);
        if (sitem_less(&a[n - 1], &a[0], v, order)) SWAP(n - 1, 0);
        if (sitem_less(&a[n - 1], &a[mid], v, order)) SWAP(n - 1, mid);
        sitem p = a[mid];
        size_t i = 0, j = n - 1;
        for (;;) {
            while (sitem_less(&a[i], &p, v, order)) i++;
            while (sitem_less(&p, &a[j], v, order)) j--;
            if (i >= j) break;
            SWAP(i, j);
            i++;
            j--;
        }
#undef SWAP
        /* a[0..j] <= p <= a[j+1..n) */
        size_t left = j + 1;
        if (left < n - left) {
            sort_sitems(a, left, v, order, depth);
            a += left;
            n -= left;
        } else {
            sort_sitems(a + left, n - left, v, order, depth);
            n = left;
        }
    }
    for (size_t i = 1; i < n; i++) {
        sitem x = a[i];
        size_t j = i;
        while (j > 0 && sitem_less(&x, &a[j - 1], v, order)) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = x;
    }
}

static int log2_depth(size_t n)
{
    int d = 0;
    while (n > 1) {
        n >>= 1;
        d++;
    }
    return 2 * d + 2;
}

/* The table's records as items in the slot table's memory (allocated at slot_limit if
 * need be), those with count >= min_count and df >= min_df, sorted; *m their number. */
static sitem *sorted_items(vocab *v, int order, uint64_t min_count, uint64_t min_df, size_t *m)
{
    if (!v->slots || v->cap < 2 * v->n) {
        free(v->slots);
        v->cap = v->slot_limit;
        v->slots = imdb_xcalloc(v->cap, sizeof *v->slots);
    }
    sitem *it = (sitem *)(void *)v->slots;
    size_t k = 0;
    for (size_t off = 8; off < v->alen;) {
        rec *r = (rec *)(v->arena + off);
        if (r->count >= min_count && r->df >= min_df) {
            it[k].key = order == SPILL_BY_TEXT ? text_prefix(r, 0) : r->count;
            it[k].off8 = off >> 3;
            k++;
        }
        off += rec_size(r->len);
    }
    sort_sitems(it, k, v, order, log2_depth(k));
    *m = k;
    return it;
}

static void clear_table(vocab *v)
{
    v->alen = 8;
    v->n = 0;
    if (v->slots) memset(v->slots, 0, v->cap * sizeof *v->slots);
    v->run_first = v->file_no;
    v->first_end = SIZE_MAX;
}

static void push_run(runlist *l, spill_run *run, int level)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->r = imdb_xrealloc(l->r, l->cap * sizeof *l->r);
    }
    l->r[l->n++] = (struct vrun){run, level};
}

/* ---- k-way merge ---- */

typedef int (*sink_fn)(void *ctx, const spill_entry *en, imdb_err *e);   /* 0 go on, 1 stop */

typedef struct merger {
    spill_reader *rd[FANIN];
    spill_entry hd[FANIN];
    int heap[FANIN], nheap, order;
} merger;

static int head_less(const merger *g, int a, int b)
{
    int c = spill_cmp(g->order, &g->hd[a], &g->hd[b]);
    return c < 0 || (c == 0 && a < b);   /* ties: the older run first */
}

static void heap_down(merger *g, int i)
{
    for (;;) {
        int c = 2 * i + 1;
        if (c >= g->nheap) return;
        if (c + 1 < g->nheap && head_less(g, g->heap[c + 1], g->heap[c])) c++;
        if (!head_less(g, g->heap[c], g->heap[i])) return;
        int t = g->heap[i];
        g->heap[i] = g->heap[c];
        g->heap[c] = t;
        i = c;
    }
}

/* Advance the reader at the top of the heap. */
static int heap_advance(merger *g, imdb_err *e)
{
    int r = g->heap[0];
    int got = spill_next(g->rd[r], &g->hd[r], e);
    if (got < 0) return -1;
    if (!got) g->heap[0] = g->heap[--g->nheap];
    heap_down(g, 0);
    return 0;
}

/* Merge runs[0..k) (k <= FANIN) in order into sink: in text order, equal n-grams are
 * summed (in the runs' time order, which finds a line repeated in one merged file when
 * it straddles a spill: the earlier part's last file is the later part's first). */
static int merge_runs(vocab *v, struct vrun *runs, size_t k, int order, sink_fn sink, void *ctx,
                      imdb_err *e)
{
    merger g;
    memset(&g, 0, sizeof g);
    g.order = order;
    char *acc_text = NULL;
    size_t acc_cap = 0;
    int rc = -1;
    for (size_t i = 0; i < k; i++) {
        if (!(g.rd[i] = spill_open(runs[i].run, order, v->maxn, e))) goto done;
        int got = spill_next(g.rd[i], &g.hd[i], e);
        if (got < 0) goto done;
        if (got) g.heap[g.nheap++] = (int)i;
    }
    for (int i = g.nheap / 2; i-- > 0;) heap_down(&g, i);
    while (g.nheap > 0) {
        spill_entry acc = g.hd[g.heap[0]];
        if (acc.len > acc_cap) {
            acc_cap = acc.len > 2 * acc_cap ? acc.len : 2 * acc_cap;
            acc_text = imdb_xrealloc(acc_text, acc_cap);
        }
        memcpy(acc_text, acc.text, acc.len);
        acc.text = acc_text;
        if (heap_advance(&g, e) < 0) goto done;
        while (g.nheap > 0 && spill_cmp(order, &g.hd[g.heap[0]], &acc) == 0) {
            const spill_entry *x = &g.hd[g.heap[0]];
            if (order != SPILL_BY_TEXT) {
                imdb_fail(e, IMDB_EXIT_INTERNAL, "n-gram '%.*s' twice in sorted runs",
                          (int)(acc.len > 200 ? 200 : acc.len), acc.text);
                goto done;
            }
            if (x->first && x->first == acc.last) {
                imdb_fail(e, IMDB_EXIT_DATA, "%s: duplicate n-gram '%.*s'",
                          x->first <= v->file_no ? v->files[x->first - 1] : "?",
                          (int)(acc.len > 200 ? 200 : acc.len), acc.text);
                goto done;
            }
            if (acc.count + x->count < acc.count) {
                imdb_fail(e, IMDB_EXIT_DATA, "count of '%.*s' overflows 64 bits",
                          (int)(acc.len > 200 ? 200 : acc.len), acc.text);
                goto done;
            }
            acc.count += x->count;
            acc.df += x->df;
            acc.last = x->last;
            if (heap_advance(&g, e) < 0) goto done;
        }
        int s = sink(ctx, &acc, e);
        if (s < 0) goto done;
        if (s > 0) break;
    }
    rc = 0;
done:
    for (size_t i = 0; i < k; i++) spill_close(g.rd[i]);
    free(acc_text);
    return rc;
}

static int sink_put(void *ctx, const spill_entry *en, imdb_err *e)
{
    return spill_put(ctx, en, e);
}

/* Replace l->r[from .. from + k) by their merge, a run of level `level`. */
static int merge_into_run(vocab *v, runlist *l, size_t from, size_t k, int order, int level,
                          imdb_err *e)
{
    spill_writer *w = spill_create(v->tmpdir, order, v->maxn, e);
    if (!w) return -1;
    if (merge_runs(v, l->r + from, k, order, sink_put, w, e) < 0) {
        spill_abort(w);
        return -1;
    }
    spill_run *run = spill_finish(w, e);
    if (!run) return -1;
    v->spilled_bytes += spill_run_bytes(run);
    for (size_t i = from; i < from + k; i++) spill_run_free(l->r[i].run);
    l->r[from] = (struct vrun){run, level};
    memmove(l->r + from + 1, l->r + from + k, (l->n - from - k) * sizeof *l->r);
    l->n -= k - 1;
    return 0;
}

/* Merge while the newest FANIN runs share a level. */
static int cascade(vocab *v, runlist *l, int order, imdb_err *e)
{
    while (l->n >= FANIN) {
        size_t from = l->n - FANIN;
        int level = l->r[l->n - 1].level;
        for (size_t i = from; i < l->n; i++)
            if (l->r[i].level != level) return 0;
        if (merge_into_run(v, l, from, FANIN, order, level + 1, e) < 0) return -1;
    }
    return 0;
}

/* Down to FANIN runs at most, merging the newest (the smallest) first. */
static int reduce_runs(vocab *v, runlist *l, int order, imdb_err *e)
{
    while (l->n > FANIN) {
        size_t k = l->n - FANIN + 1 < FANIN ? l->n - FANIN + 1 : FANIN;
        if (merge_into_run(v, l, l->n - k, k, order, l->r[l->n - k].level + 1, e) < 0) return -1;
    }
    return 0;
}

/* Write the table out as a run of list l, sorted by order, and empty it. In a merge of
 * files each entry carries the numbers of the first and last file that touched it: last
 * is the mark; first is exact when it is the run's first file (records made before
 * first_end), and otherwise only needs to be later than that file, which last is. */
static int spill_table(vocab *v, runlist *l, int order, imdb_err *e)
{
    size_t m;
    sitem *it = sorted_items(v, order, 0, 0, &m);
    spill_writer *w = spill_create(v->tmpdir, order, v->maxn, e);
    if (!w) return -1;
    int merging = v->file_no > 0 && order == SPILL_BY_TEXT;
    for (size_t i = 0; i < m; i++) {
        const rec *r = rec_at(v, it[i].off8);
        spill_entry en = {r->text, r->len, r->count, r->df, 0, 0};
        if (merging) {
            en.last = r->last;
            en.first = ((size_t)it[i].off8 << 3) < v->first_end ? v->run_first : r->last;
        }
        if (spill_put(w, &en, e) < 0) {
            spill_abort(w);
            return -1;
        }
    }
    spill_run *run = spill_finish(w, e);
    if (!run) return -1;
    v->nspills++;
    v->spilled_bytes += spill_run_bytes(run);
    push_run(l, run, 0);
    clear_table(v);
    return cascade(v, l, order, e);
}

static int spill_text(vocab *v, imdb_err *e) { return spill_table(v, &v->runs, SPILL_BY_TEXT, e); }

/* Room for nrec records of bytes in all, spilling the table if need be. */
static int make_room(vocab *v, size_t nrec, size_t bytes)
{
    if (fits(v, nrec, bytes)) return 0;
    if (v->n > 0) {
        imdb_err e;
        if (spill_text(v, &e) < 0) return keep_error(v, e.status, "%s", e.msg);
        if (fits(v, nrec, bytes)) return 0;
    }
    size_t table = TABLE_MIN;
    while (!table_takes(table, 0, 8, nrec, bytes, v->scap * 32)) table += table / 4;
    return keep_error(v, IMDB_EXIT_USAGE,
                      "a memory budget of %zu bytes is too small for %zu n-grams at once "
                      "(one document or entry): it needs at least %zu bytes (%zu KiB)",
                      v->budget, nrec, table + MERGE_RESERVE, (table + MERGE_RESERVE + 1023) >> 10);
}

/* ---- the end of a bounded count ---- */

typedef struct survivors {
    vocab *v;
    runlist *ranked;
    uint64_t min_count, min_df, distinct;
} survivors;

/* Phase 2: an exact total; into the table if it passes the thresholds. */
static int sink_survivor(void *ctx, const spill_entry *en, imdb_err *e)
{
    survivors *s = ctx;
    vocab *v = s->v;
    s->distinct++;
    if (en->count < s->min_count || en->df < s->min_df) return 0;
    size_t sz = rec_size(en->len);
    if (!fits(v, 1, sz)) {
        if (v->n > 0 && spill_table(v, s->ranked, SPILL_BY_RANK, e) < 0) return -1;
        if (!fits(v, 1, sz))
            return imdb_fail(e, IMDB_EXIT_USAGE, "a memory budget of %zu bytes is too small for "
                             "an n-gram of %zu bytes", v->budget, en->len);
    }
    rec *r = new_rec(v, 0, en->len);
    if (!r) return vocab_status(v, e);
    memcpy(r->text, en->text, en->len);
    r->text[en->len] = '\0';
    r->count = en->count;
    r->df = en->df;
    return 0;
}

typedef struct out_lines {
    lines l;
    size_t left;
    uint64_t kept;
} out_lines;

static int sink_line(void *ctx, const spill_entry *en, imdb_err *e)
{
    out_lines *o = ctx;
    if (o->left == 0) return 1;
    o->left--;
    o->kept++;
    return lines_put(&o->l, en->text, en->len, en->count, en->df, e);
}

/* The table, thresholds applied, in the file's order, the first max_size. */
static int write_table(vocab *v, uint64_t min_count, uint64_t min_df, out_lines *o, imdb_err *e)
{
    size_t m;
    sitem *it = sorted_items(v, SPILL_BY_RANK, min_count, min_df, &m);
    for (size_t i = 0; i < m && o->left > 0; i++) {
        const rec *r = rec_at(v, it[i].off8);
        if (i + 32 < m) PREFETCH(rec_at(v, it[i + 32].off8));
        o->left--;
        o->kept++;
        if (lines_put(&o->l, r->text, r->len, r->count, r->df, e) < 0) return -1;
    }
    return 0;
}

static void free_runs(runlist *l)
{
    for (size_t i = 0; i < l->n; i++) spill_run_free(l->r[i].run);
    free(l->r);
    l->r = NULL;
    l->n = l->cap = 0;
}

int vocab_finish_write(vocab *v, uint64_t min_count, uint64_t min_df, size_t max_size,
                       outfile *o, vocab_stats *st, imdb_err *e)
{
    vocab_stats dummy;
    if (!st) st = &dummy;
    memset(st, 0, sizeof *st);
    if (vocab_status(v, e) < 0) return -1;
    if (!v->budget) {
        st->distinct = v->n;
        vocab_finish_df(v, min_count, min_df, max_size);
        st->kept = v->n;
        return vocab_write(v, o, e);
    }
    /* The per-document buffers are done with. */
    free(v->th);
    free(v->tl);
    free(v->nh);
    free(v->nl);
    v->th = v->nh = NULL;
    v->tl = v->nl = NULL;
    v->scap = 0;
    out_lines ol = {.left = max_size ? max_size : SIZE_MAX};
    runlist ranked = {NULL, 0, 0};
    int rc = -1;
    if (v->runs.n == 0) {
        st->distinct = v->n;
        if (write_head(v, o, e) < 0) goto done;
        lines_init(&ol.l, o);
        rc = lines_end(&ol.l, write_table(v, min_count, min_df, &ol, e) == 0, e);
        goto done;
    }
    if (v->n > 0 && spill_text(v, e) < 0) goto done;
    if (reduce_runs(v, &v->runs, SPILL_BY_TEXT, e) < 0) goto done;
    survivors s = {v, &ranked, min_count, min_df, 0};
    if (merge_runs(v, v->runs.r, v->runs.n, SPILL_BY_TEXT, sink_survivor, &s, e) < 0) goto done;
    st->distinct = s.distinct;
    free_runs(&v->runs);
    if (write_head(v, o, e) < 0) goto done;
    lines_init(&ol.l, o);
    int ok;
    if (ranked.n == 0) {
        ok = write_table(v, 0, 0, &ol, e) == 0;
    } else {
        ok = (v->n == 0 || spill_table(v, &ranked, SPILL_BY_RANK, e) == 0) &&
             reduce_runs(v, &ranked, SPILL_BY_RANK, e) == 0 &&
             merge_runs(v, ranked.r, ranked.n, SPILL_BY_RANK, sink_line, &ol, e) == 0;
    }
    rc = lines_end(&ol.l, ok, e);
done:
    free_runs(&ranked);
    st->kept = ol.kept;
    st->spills = v->nspills;
    st->spilled_bytes = v->spilled_bytes;
    /* Only the totals are left to read. */
    clear_table(v);
    v->sorted = 0;
    return rc;
}
