/* imdb-synth — write N novel labelled reviews that grow like real ones, for benchmarks at
 * sizes the real corpus does not reach (issue 22: 1M, 3.6M documents).
 *
 *   imdb-synth [--docs N] [--seed S] [--tsv] [-o FILE] TRAIN.tok.gz [UNSUP.tok.gz]...
 *
 * The model is fitted on token streams from imdb-clean (train and unsup: a stream
 * holding a "test/" id is refused, so test text never leaks into a benchmark corpus).
 * Each generated document takes its class (pos, neg: alternating) and its length from a
 * random labelled training review of that class, then its tokens from a class-conditional
 * bigram chain: the next token follows a random occurrence of the previous one, in the
 * reviews of the class with weight --class-weight, else in all the unlabelled reviews
 * (sampling occurrences samples the empirical successor distribution), and copying goes
 * on from that occurrence (real trigrams) until it jumps (--jump); with probability
 * --backoff it is drawn from the unigram distribution instead (new bigrams, like the
 * real text's unseen pairs); and with probability --novel it is a rare word from a
 * Pitman-Yor process of discount --discount (K n^d distinct words in n draws), so that
 * distinct 1-, 2- and 3-grams keep growing past the real vocabulary. The chains alone
 * saturate (they copy 75,000 reviews), so after 1000 documents the two rates are steered
 * (--heaps): the distinct words and the distinct bigrams of the documents written so far
 * (counted exactly) follow Heaps' laws fitted on real reviews; trigrams follow as they
 * will. Rare words are strings of syllables ("xbafo") that the default cleaning keeps
 * as one token.
 *
 * Output: an imdb-tokens(5) stream with the inputs' cleaning settings (ids synth/K), or
 * with --tsv raw text lines LABEL<TAB>ID<TAB>TEXT after a "label<TAB>id<TAB>text" header,
 * for imdb-clean --format tsv (the tokens joined by spaces clean to themselves), so that
 * cleaning is part of a benchmark. Same inputs, options and seed: same bytes.
 * Not installed: a tool of scripts/benchmark-scale and tests/vocab-memory.sh. */
#include "cli.h"
#include "feat.h"
#include "outfile.h"
#include "rng.h"
#include "tokio.h"
#include "util.h"

#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { END = 0 };              /* word id 0: the boundary between documents */
#define WARM 1000              /* documents before the rates are steered */
#define GAIN 1.0               /* how hard they are steered */
enum { S_NEG, S_POS, S_UNL, NSTREAM };

typedef struct stream {
    uint32_t *tok;             /* word ids, every document followed by END, END first */
    size_t n, cap;
    uint32_t *pos;             /* positions of word w: pos[start[w] .. start[w + 1]) */
    uint32_t *start;
    uint32_t *doclen;          /* lengths of its documents */
    size_t ndocs, dcap;
} stream;

/* ---- interning words ---- */
typedef struct dict {
    imdb_arena text;
    size_t *off;               /* word id -> offset in text */
    uint32_t *slot;            /* hash table of id + 1 */
    size_t n, cap, ocap;
} dict;

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h ^ (h >> 29);
}

static uint32_t intern(dict *d, const char *s, size_t len)
{
    if (2 * (d->n + 1) > d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 1 << 16;
        uint32_t *slot = imdb_xcalloc(cap, sizeof *slot);
        for (size_t i = 0; i < d->n; i++) {
            const char *w = d->text.p + d->off[i];
            size_t j = hash_bytes(w, strlen(w)) & (cap - 1);
            while (slot[j]) j = (j + 1) & (cap - 1);
            slot[j] = (uint32_t)i + 1;
        }
        free(d->slot);
        d->slot = slot;
        d->cap = cap;
    }
    size_t j = hash_bytes(s, len) & (d->cap - 1);
    while (d->slot[j]) {
        const char *w = d->text.p + d->off[d->slot[j] - 1];
        if (strlen(w) == len && memcmp(w, s, len) == 0) return d->slot[j] - 1;
        j = (j + 1) & (d->cap - 1);
    }
    if (d->n == d->ocap) {
        d->ocap = d->ocap ? 2 * d->ocap : 1 << 16;
        d->off = imdb_xrealloc(d->off, d->ocap * sizeof *d->off);
    }
    d->off[d->n] = imdb_arena_add(&d->text, s, len);
    d->slot[j] = (uint32_t)d->n + 1;
    return (uint32_t)d->n++;
}

static void push_tok(stream *s, uint32_t w)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1 << 20;
        s->tok = imdb_xrealloc(s->tok, s->cap * sizeof *s->tok);
    }
    s->tok[s->n++] = w;
}

static void index_stream(stream *s, size_t nwords)
{
    s->start = imdb_xcalloc(nwords + 1, sizeof *s->start);
    for (size_t i = 0; i < s->n; i++) s->start[s->tok[i] + 1]++;
    for (size_t w = 0; w < nwords; w++) s->start[w + 1] += s->start[w];
    s->pos = imdb_xmalloc((s->n ? s->n : 1) * sizeof *s->pos);
    uint32_t *fill = imdb_xmalloc((nwords + 1) * sizeof *fill);
    memcpy(fill, s->start, (nwords + 1) * sizeof *fill);
    for (size_t i = 0; i < s->n; i++) s->pos[fill[s->tok[i]]++] = (uint32_t)i;
    free(fill);
}

static size_t occurrences(const stream *s, uint32_t w) { return s->start ? s->start[w + 1] - s->start[w] : 0; }

/* ---- rare words: a Pitman-Yor process (discount d, concentration theta) ---- */
typedef struct pitman_yor {
    double d, theta;
    uint32_t *draw;            /* every draw so far, as a rare-word index */
    uint32_t *count;           /* draws of each rare word */
    size_t n, ncap, k, kcap;
} pitman_yor;

static uint32_t py_draw(pitman_yor *p, rng *r)
{
    double pnew = p->n ? (p->theta + p->d * (double)p->k) / (p->theta + (double)p->n) : 1.0;
    uint32_t w;
    if (rng_uniform(r) < pnew) {
        if (p->k == p->kcap) {
            p->kcap = p->kcap ? 2 * p->kcap : 1 << 16;
            p->count = imdb_xrealloc(p->count, p->kcap * sizeof *p->count);
        }
        w = (uint32_t)p->k;
        p->count[p->k++] = 0;
    } else {
        /* an old word with probability (count - d) / (n - d k): a uniform past draw,
         * kept with probability 1 - d / count */
        for (;;) {
            w = p->draw[rng_below(r, (uint32_t)p->n)];
            if (rng_uniform(r) * p->count[w] >= p->d) break;
        }
    }
    if (p->n == p->ncap) {
        p->ncap = p->ncap ? 2 * p->ncap : 1 << 16;
        p->draw = imdb_xrealloc(p->draw, p->ncap * sizeof *p->draw);
    }
    p->draw[p->n++] = w;
    p->count[w]++;
    return w;
}

/* Rare word k as syllables after an "x": consonant-vowel pairs, base 70. */
static size_t rare_word(char *out, uint32_t k)
{
    static const char cons[] = "bdfgklmnprstvz", vow[] = "aeiou";
    size_t n = 0;
    out[n++] = 'x';
    uint64_t x = (uint64_t)k + 70;   /* at least two syllables */
    while (x) {
        unsigned s = (unsigned)(x % 70);
        out[n++] = cons[s / 5];
        out[n++] = vow[s % 5];
        x /= 70;
    }
    return n;
}

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
    printf(
"Usage: %s [OPTION]... STREAM...\n"
"Write N synthetic labelled reviews from class-conditional bigram statistics of\n"
"token STREAMs (imdb-clean output of train and unsup; test is refused), with new\n"
"rare words so that distinct n-grams grow with N as in real text.\n"
"\n"
"  -n, --docs=N           documents to write (default: 25000)\n"
"      --seed=S           random seed (default: 1)\n"
"      --class-weight=A   weight of the class's own reviews against the unlabelled\n"
"                         ones when choosing a next token (default: 0.5)\n"
"      --backoff=P        probability of a unigram draw instead of the next\n"
"                         token (default: 0.22)\n"
"      --jump=P           probability of leaving the real review being copied\n"
"                         for another occurrence of the last token (default: 0.3)\n"
"      --novel=P          probability of a rare word instead (default: 0.005)\n"
"      --discount=D       Pitman-Yor discount of the rare words (default: 0.9)\n"
"      --heaps=K1,B1,K2,B2  after 1000 documents, steer the rare-word and unigram\n"
"                         rates so that the distinct words and bigrams of N\n"
"                         documents follow K1 N^B1 and K2 N^B2 (default:\n"
"                         410,0.541,803.4,0.741, fitted on 25k, 50k, 75k real\n"
"                         reviews)\n"
"      --tsv              raw text lines for imdb-clean --format tsv (default: an\n"
"                         imdb-tokens stream)\n"
"  -o, --output=FILE      write to FILE (default: standard output)\n"
"      --help             display this help and exit\n"
"\n"
"Exit status: 0 ok, 1 bad input, 2 usage error, 4 I/O error.\n", cli_prog);
    exit(IMDB_EXIT_OK);
}

int main(int argc, char **argv)
{
    cli_init("imdb-synth");
    enum { OPT_SEED = 256, OPT_CW, OPT_BACKOFF, OPT_NOVEL, OPT_DISCOUNT, OPT_JUMP, OPT_HEAPS, OPT_TSV, OPT_HELP };
    static const struct option opts[] = {
        {"docs", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, OPT_SEED},
        {"class-weight", required_argument, NULL, OPT_CW},
        {"backoff", required_argument, NULL, OPT_BACKOFF},
        {"novel", required_argument, NULL, OPT_NOVEL},
        {"discount", required_argument, NULL, OPT_DISCOUNT},
        {"jump", required_argument, NULL, OPT_JUMP},
        {"heaps", required_argument, NULL, OPT_HEAPS},
        {"tsv", no_argument, NULL, OPT_TSV},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    long ndocs = 25000, seed = 1;
    double cw = 0.5, backoff = 0.22, novel = 0.005, discount = 0.9, jump = 0.3;
    /* Heaps' law V(N) = K N^beta (N documents) of the distinct 1- and 2-grams of 25k, 50k,
     * 75k real reviews (train, then unsup; default cleaning): scripts/benchmark-scale
     * --synth measures them. */
    double heaps[4] = {410.0, 0.541, 803.4, 0.741};
    int tsv = 0, c;
    const char *output = "-";
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":n:o:", opts, NULL)) != -1) {
        switch (c) {
        case 'n': ndocs = cli_long("--docs", optarg, 0, LONG_MAX); break;
        case OPT_SEED: seed = cli_long("--seed", optarg, 0, LONG_MAX); break;
        case OPT_CW: cw = cli_double("--class-weight", optarg, 0, 1); break;
        case OPT_BACKOFF: backoff = cli_double("--backoff", optarg, 0, 1); break;
        case OPT_NOVEL: novel = cli_double("--novel", optarg, 0, 1); break;
        case OPT_DISCOUNT: discount = cli_double("--discount", optarg, 0, 0.99); break;
        case OPT_JUMP: jump = cli_double("--jump", optarg, 0, 1); break;
        case OPT_HEAPS:
            if (sscanf(optarg, "%lf,%lf,%lf,%lf", &heaps[0], &heaps[1], &heaps[2], &heaps[3]) != 4 ||
                heaps[0] <= 0 || heaps[2] <= 0 || heaps[1] <= 0 || heaps[1] > 1 || heaps[3] <= 0 || heaps[3] > 1)
                cli_usage_error("invalid value '%s' for --heaps (expected K1,B1,K2,B2: K > 0, B in (0, 1])", optarg);
            break;
        case OPT_TSV: tsv = 1; break;
        case 'o': output = optarg; break;
        case OPT_HELP: usage();
        default: cli_bad_option(argv, c);
        }
    }
    if (optind >= argc) cli_usage_error("no input stream (the train and unsup token streams)");

    imdb_err e = {0, ""};
    dict d;
    memset(&d, 0, sizeof d);
    intern(&d, "", 0);   /* END */
    stream st[NSTREAM];
    memset(st, 0, sizeof st);
    for (int s = 0; s < NSTREAM; s++) push_tok(&st[s], END);
    char *settings = NULL;
    char **toks = NULL;
    size_t tcap = 0;
    for (int f = optind; f < argc; f++) {
        tokio_reader *r = tokio_open(argv[f], &e);
        if (!r) cli_die(&e);
        if (f == optind && tokio_settings(r)) settings = imdb_xstrdup(tokio_settings(r));
        tokio_doc doc;
        int got;
        while ((got = tokio_next(r, &doc, &e)) > 0) {
            if (strncmp(doc.id, "test/", 5) == 0) {
                imdb_fail(&e, IMDB_EXIT_DATA, "%s:%ld: a test review (%s): fit on train and "
                          "unsup only", tokio_name(r), doc.lineno, doc.id);
                cli_die(&e);
            }
            int s = doc.label == TOKIO_UNLABELLED || doc.soft ? S_UNL : doc.label == TOKIO_POS ? S_POS : S_NEG;
            size_t n = tokio_split(doc.text, doc.text_len, &toks, &tcap);
            for (size_t i = 0; i < n; i++) push_tok(&st[s], intern(&d, toks[i], strlen(toks[i])));
            push_tok(&st[s], END);
            stream *t = &st[s];
            if (t->ndocs == t->dcap) {
                t->dcap = t->dcap ? 2 * t->dcap : 1 << 12;
                t->doclen = imdb_xrealloc(t->doclen, t->dcap * sizeof *t->doclen);
            }
            t->doclen[t->ndocs++] = (uint32_t)n;
        }
        if (got < 0) cli_die(&e);
        tokio_close(r);
    }
    free(toks);
    for (int s = 0; s < NSTREAM; s++) {   /* a spare END after the last, never indexed */
        push_tok(&st[s], END);
        st[s].n--;
    }
    if (!st[S_POS].ndocs || !st[S_NEG].ndocs)
        cli_usage_error("the inputs need labelled reviews of both classes (the train stream)");
    for (int s = 0; s < NSTREAM; s++)
        if (st[s].ndocs) index_stream(&st[s], d.n);
    if (!st[S_UNL].ndocs) cw = 1;

    outfile *o = outfile_open(output, -1, &e);
    if (!o) cli_die(&e);
    if (tsv) {
        if (outfile_puts(o, "label\tid\ttext\n", &e) < 0) goto fail;
    } else if (tokio_write_header(o, settings, &e) < 0) {
        goto fail;
    }
    rng r;
    rng_seed(&r, (uint64_t)seed);
    pitman_yor py = {discount, 1.0, NULL, NULL, 0, 0, 0, 0};
    size_t lcap = 1 << 16;
    char *line = imdb_xmalloc(lcap);
    double rq = novel, rb = backoff;
    unsigned char *seen = imdb_xcalloc(d.n + 1, 1);   /* real words written so far */
    size_t nseen = 0;
    feat_table bigrams;   /* distinct bigrams so far (as a set: values unused) */
    feat_table_init(&bigrams, 0);
    for (long k = 0; k < ndocs; k++) {
        int cls = (int)(k & 1) ? S_NEG : S_POS;
        const stream *own = &st[cls], *unl = &st[S_UNL];
        uint32_t len = own->doclen[rng_below(&r, (uint32_t)own->ndocs)];
        size_t n = (size_t)snprintf(line, lcap, "%s\tsynth/%ld\t", cls == S_POS ? "pos" : "neg", k);
        /* The rates of new material follow Heaps' law fitted on real text: every 64
         * documents each is multiplied by (target / distinct so far)^GAIN, the rare-word
         * rate for distinct words, the unigram-draw rate for distinct bigrams. */
        if (k >= WARM && (k & 63) == 0) {
            double t1 = heaps[0] * pow((double)k, heaps[1]), t2 = heaps[2] * pow((double)k, heaps[3]);
            rq = fmin(0.5, fmax(1e-6, rq * pow(t1 / (double)(nseen + py.k), GAIN)));
            rb = fmin(0.95, fmax(1e-4, rb * pow(t2 / (double)(bigrams.n ? bigrams.n : 1), GAIN)));
        }
        uint32_t prev = END, last = UINT32_MAX;   /* last: the id of the token before, in this document */
        const stream *cs = NULL;   /* copying from cs at position cur */
        size_t cur = 0;
        for (uint32_t i = 0; i < len; i++) {
            char rare[32];
            const char *w;
            size_t wl;
            double u = rng_uniform(&r);
            uint32_t next, id;
            if (u < rq) {
                uint32_t q = py_draw(&py, &r);
                wl = rare_word(rare, q);
                w = rare;
                id = (uint32_t)d.n + q;
                prev = UINT32_MAX;   /* a rare word has no successors here */
                cs = NULL;
            } else {
                if (cs && rng_uniform(&r) >= jump && cs->tok[cur + 1] != END) {
                    next = cs->tok[++cur];   /* go on copying: real trigrams */
                } else {
                    const stream *s = rng_uniform(&r) < cw ? own : unl;
                    if (u < rq + rb || prev == UINT32_MAX) {
                        do cur = rng_below(&r, (uint32_t)s->n); while (s->tok[cur] == END);
                    } else {
                        if (s == own && !occurrences(own, prev)) s = unl;
                        else if (s == unl && !occurrences(unl, prev)) s = own;
                        cur = s->pos[s->start[prev] + rng_below(&r, (uint32_t)occurrences(s, prev))] + 1;
                        while (s->tok[cur] == END) cur = rng_below(&r, (uint32_t)s->n);
                    }
                    next = s->tok[cur];
                    cs = s;
                }
                w = d.text.p + d.off[next];
                wl = strlen(w);
                prev = next;
                id = next;
                if (!seen[next]) {
                    seen[next] = 1;
                    nseen++;
                }
            }
            if (last != UINT32_MAX) feat_table_put(&bigrams, (uint64_t)last << 32 | ((uint64_t)id + 1), 0);
            last = id;
            if (n + wl + 2 > lcap) {
                lcap *= 2;
                line = imdb_xrealloc(line, lcap);
            }
            if (i) line[n++] = ' ';
            memcpy(line + n, w, wl);
            n += wl;
        }
        line[n++] = '\n';
        if (outfile_write(o, line, n, &e) < 0) goto fail;
    }
    free(line);
    free(settings);
    free(py.draw);
    free(py.count);
    free(seen);
    feat_table_free(&bigrams);
    for (int s = 0; s < NSTREAM; s++) {
        free(st[s].tok);
        free(st[s].pos);
        free(st[s].start);
        free(st[s].doclen);
    }
    free(d.text.p);
    free(d.off);
    free(d.slot);
    if (outfile_commit(o, &e) < 0) cli_die(&e);
    return IMDB_EXIT_OK;
fail:
    outfile_abort(o);
    cli_die(&e);
}
