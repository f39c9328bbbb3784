/* unit_nnmodel.c — the neural model kinds end to end, on a small synthetic corpus
 * (documents of random filler words where "good" marks pos and "bad" neg):
 *
 *   - every architecture's gradient (the whole network, wired by nn_*.c) against
 *     central finite differences of its loss (float forward passes, eps 2e-3), on
 *     sampled weights of every tensor, in each pooling mode: relative error of the
 *     sampled gradient <= 2e-2; an entry whose one-sided differences disagree sits at
 *     a ReLU or max kink and is skipped (at most a quarter may be);
 *   - training reduces the training loss and learns the corpus (validation accuracy);
 *   - a fixed seed gives the same model bytes twice, with 1 and with 2 threads;
 *   - save, load, save gives the same bytes;
 *   - the fast recurrent prediction agrees with the batched forward pass (|dp| <= 1e-4),
 *     also for empty, unknown-only and truncated documents, in every truncation mode;
 *   - prediction from two threads at once gives the sequential results, bit for bit;
 *   - a model damaged inside a valid container (header fields, sizes, table ids, a NaN
 *     weight, a missing section) is refused with status 1;
 *   - bad settings: max_len 0, no training documents, a malformed widths list.
 * Prints the worst difference of each check; exit status 0 or 1. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "conf.h"
#include "layers.h"
#include "modelio.h"
#include "nnmodel.h"
#include "rng.h"
#include "tokio.h"
#include "train.h"
#include "trainlog.h"
#include "testutil.h"

static char tmpdir[] = "/tmp/unit_nnmodel.XXXXXX";


/* ---- a synthetic corpus --------------------------------------------------------------- */

#define NDOCS 240
static train_docs docs;
static const char *words[40];
static char wordbuf[40][8];

static void make_corpus(void)
{
    rng r;
    rng_seed(&r, 7);
    for (int i = 0; i < 40; i++) {
        snprintf(wordbuf[i], sizeof wordbuf[i], "w%d", i);
        words[i] = wordbuf[i];
    }
    size_t cap = NDOCS * 64;
    docs.n = NDOCS;
    docs.label = malloc(NDOCS * sizeof *docs.label);
    docs.target = malloc(NDOCS * sizeof *docs.target);
    docs.id = malloc(NDOCS * sizeof *docs.id);
    docs.off = malloc((NDOCS + 1) * sizeof *docs.off);
    docs.tok = malloc(cap * sizeof *docs.tok);
    size_t k = 0;
    docs.off[0] = 0;
    for (int i = 0; i < NDOCS; i++) {
        int pos = i % 2, len = 3 + (int)rng_below(&r, 40);
        docs.label[i] = pos ? TOKIO_POS : TOKIO_NEG;
        docs.target[i] = (float)pos;
        docs.id[i] = "doc";
        for (int t = 0; t < len; t++) {
            uint32_t u = rng_below(&r, 10);
            docs.tok[k++] = u == 0 ? (pos ? "good" : "bad") : u == 1 ? (pos ? "fine" : "awful") : words[rng_below(&r, 40)];
        }
        docs.off[i + 1] = k;
    }
}

/* ---- training through the trainer interface --------------------------------------------- */

static const trainer *trainer_of(const char *kind)
{
    const trainer *t = train_find(kind);
    if (!t) { printf("FAIL: no trainer %s\n", kind); exit(1); }
    return t;
}

/* Train kind with settings (NULL-terminated "key=value") into path; returns 0 or -1 with
 * e filled. first/last: the first and last epoch's training loss; vacc the last
 * validation accuracy (from the curve). */
static int train_model(const char *kind, const char *const *set, int threads, const char *path,
                       double *first, double *last, double *vacc, imdb_err *e)
{
    conf *cfg = conf_new();
    for (int i = 0; set[i]; i++) conf_set_arg(cfg, set[i], e);
    char curves[256];
    snprintf(curves, sizeof curves, "%s/curves.tsv", tmpdir);
    train_docs unlab = { 0 };
    train_ctx ctx = { .cfg = cfg, .voc = NULL, .clean = "x", .docs = &docs, .unlab = &unlab, .seed = 3,
                      .threads = threads };
    train_split(&ctx, 0.25);
    ctx.log = trainlog_new(curves, NULL, NULL, e);
    modelio_writer *w = modelio_create(path, e);
    int rc = trainer_of(kind)->train(&ctx, w, e);
    if (rc == 0) {
        char *params = conf_format(cfg);
        rc = test_model_commit(w, kind, params, "settings", e);
        free(params);
        trainlog_finish(ctx.log, NULL, NULL, e);
        FILE *f = fopen(curves, "r");
        char line[512];
        int n = 0;
        while (f && fgets(line, sizeof line, f)) {
            double tl, vl, va;
            int ep;
            if (sscanf(line, "%d %lf %lf %lf", &ep, &tl, &vl, &va) != 4) continue;
            if (n++ == 0 && first) *first = tl;
            if (last) *last = tl;
            if (vacc) *vacc = va;
        }
        if (f) fclose(f);
    } else {
        modelio_abort(w);
        trainlog_abort(ctx.log);
    }
    free(ctx.tr);
    free(ctx.va);
    conf_free(cfg);
    return rc;
}


static int same_file(const char *a, const char *b)
{
    size_t na, nb;
    unsigned char *x = (unsigned char *)test_slurp(a, &na), *y = (unsigned char *)test_slurp(b, &nb);
    int same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

/* ---- gradient check ------------------------------------------------------------------------- */

/* Loss of arch on a fixed batch, in double from float logits. */
/* gc_dropout > 0 (regcnn): dropout at that rate with the same masks in every call (the
 * generators re-seeded each time), so the check covers the trained configuration. */
static float gc_dropout;

static double batch_loss(const nnmodel_arch *a, const nnmodel_hyper *h, const params *p, const float *w,
                         void *ws, const nnmodel_batch *b0, float *grad, rowset *rs)
{
    float logits[8];
    rng drop[8];
    nnmodel_batch bd = *b0;
    const nnmodel_batch *b = b0;
    if (gc_dropout > 0) {
        for (int i = 0; i < b0->B && i < 8; i++) rng_split(&drop[i], 77, (uint64_t)i);
        bd.drop = drop;
        b = &bd;
    }
    if (grad) return a->step(h, p, w, ws, b, gc_dropout, 0, logits, grad, rs, b->B);
    double own = a->step(h, p, w, ws, b, gc_dropout, 0, logits, NULL, NULL, b->B);
    if (a->unsup) return own;      /* regemb: its own loss (zero targets fixed by content) */
    return layer_bce_forward_backward(NULL, logits, b->y, b->B, b->B);
}

static void gradcheck(const nnmodel_hyper *h, const char *what)
{
    const nnmodel_arch *a = nnmodel_archs[h->arch];
    params p;
    params_init(&p);
    a->declare(h, &p);
    params_alloc(&p);
    rng r;
    rng_seed(&r, 11);
    a->init(h, &p, p.data, &r);
    /* Larger weights than the initialisation, so every unit does something. */
    for (size_t i = 0; i < p.total; i++) p.data[i] += (float)(0.3 * (2 * rng_uniform(&r) - 1));
    enum { B = 3, T = 7 };
    int rows = (int)nnmodel_rows(h);
    int32_t len[B] = { 7, 4, 1 }, ids[B * T], flat[B * T];
    int64_t off[B + 1] = { 0 };
    float y[B] = { 1, 0, 1 };
    for (int b = 0, k = 0; b < B; b++) {
        for (int t = 0; t < T; t++) ids[b * T + t] = t < len[b] ? (int32_t)rng_below(&r, (uint32_t)rows) : -1;
        for (int t = 0; t < len[b]; t++) flat[k++] = ids[b * T + t];
        off[b + 1] = off[b] + len[b];
    }
    nnmodel_batch bt = { .B = B, .T = T, .ids = ids, .len = len, .flat = flat, .off = off, .y = y };
    void *ws = a->ws_new(h, B, T);
    float *grad = params_mirror(&p);
    rowset rs;
    rowset_init(&rs, (size_t)rows);
    batch_loss(a, h, &p, p.data, ws, &bt, NULL, NULL);
    batch_loss(a, h, &p, p.data, ws, &bt, grad, &rs);
    double worst = 0;
    int sampled = 0, skipped = 0;
    int frozen = a->first_frozen ? a->first_frozen(h) : 0;    /* regcnn: side inputs, no gradient */
    for (int ti = 0; ti < (frozen ? frozen : p.n); ti++) {
        size_t n = params_size(&p, ti);
        double num2 = 0, diff2 = 0;
        for (int s = 0; s < 12 && n; s++) {
            size_t i = p.t[ti].offset + (ti == 0 ? (size_t)flat[rng_below(&r, (uint32_t)off[B])] * h->E +
                                         rng_below(&r, (uint32_t)h->E) : rng_below(&r, (uint32_t)n));
            float keep = p.data[i];
            /* One-sided differences on both sides: a ReLU or max-pooling kink within
             * eps makes them disagree, and the central difference is then meaningless. */
            const float eps = 2e-3f;
            double l0 = batch_loss(a, h, &p, p.data, ws, &bt, NULL, NULL);
            p.data[i] = keep + eps;
            double lp = batch_loss(a, h, &p, p.data, ws, &bt, NULL, NULL);
            p.data[i] = keep - eps;
            double lm = batch_loss(a, h, &p, p.data, ws, &bt, NULL, NULL);
            p.data[i] = keep;
            double fwd = (lp - l0) / eps, bwd = (l0 - lm) / eps, num[2] = { fwd, (lp - lm) / (2 * (double)eps) };
            if (getenv("GRAD_DEBUG"))
                printf("  %s[%zu] fwd %.6f bwd %.6f ana %.6f\n", p.t[ti].name, i - p.t[ti].offset, fwd, bwd, grad[i]);
            if (fabs(fwd - bwd) > 0.1 * fabs(num[1]) + 2e-4) { skipped++; continue; }
            num2 += num[1] * num[1];
            diff2 += (num[1] - grad[i]) * (num[1] - grad[i]);
            sampled++;
        }
        double rel = sqrt(diff2) / (sqrt(num2) + 1e-4);
        if (rel > worst) worst = rel;
        CHECK(rel <= 2e-2, "%s: gradient of %s off by %.3g (relative)", what, p.t[ti].name, rel);
    }
    printf("gradient %-12s worst relative difference %.2e (%d entries, %d skipped at kinks)\n", what, worst,
           sampled, skipped);
    CHECK(skipped <= sampled / 4, "%s: %d of %d entries sit at kinks", what, skipped, sampled + skipped);
    rowset_free(&rs);
    free(grad);
    a->ws_free(ws);
    params_free(&p);
}

/* ---- concurrent prediction -------------------------------------------------------------------- */

typedef struct pjob {
    const nnmodel *m;
    double *out;
} pjob;

static void *predict_all(void *arg)
{
    pjob *j = arg;
    for (int i = 0; i < NDOCS; i++)
        j->out[i] = nnmodel_prob(j->m, docs.tok + docs.off[i], docs.off[i + 1] - docs.off[i]);
    return NULL;
}

/* ---- damaged model files ----------------------------------------------------------------- */

/* Copy model file src to dst with one thing broken (the container stays valid, so only
 * nnmodel_load's own checks stand between the damage and a crash); 0 if dst loads. */
static int load_damaged(const char *src, const char *dst, const char *kind, int what, imdb_err *e)
{
    modelio *mf = modelio_open(src, e);
    if (!mf) return -1;
    static const char *const names[] = { "nn.hdr", "nn.w", "nn.keys", "nn.vals", "nn.vocab", "kind", "params", "clean" };
    modelio_writer *w = modelio_create(dst, e);
    for (int i = 0; i < 8; i++) {
        size_t n;
        const unsigned char *d = modelio_get(mf, names[i], &n);
        unsigned char *c = malloc(n + 64);
        memcpy(c, d, n);
        if (what == 0 && i == 0) put_u32le(c + 4 * 9, 0);              /* E = 0 */
        if (what == 1 && i == 0) put_u32le(c + 4, (get_u32le(c + 4) + 1) % NNMODEL_NARCH);   /* another kind */
        if (what == 2 && i == 1) n -= 4;                                 /* one weight short */
        if (what == 3 && i == 3)                                         /* ids past the table */
            for (size_t k = 0; k < n; k += 4) put_u32le(c + k, 1u << 30);
        if (what == 4 && i == 0) put_u32le(c + 4 * 2, 1u << 31);        /* V absurd */
        if (what == 5 && i == 1) { float nan = NAN; memcpy(c + 8, &nan, 4); }
        if (what == 6 && i == 0) n = 12;                                  /* short header */
        if (what == 7 && i == 2) n = 24;                                  /* not a power of two */
        if (!(what == 8 && i == 1)) modelio_add(w, names[i], c, n, e);   /* 8: no weights */
        free(c);
    }
    modelio_commit(w, e);
    modelio_close(mf);
    mf = modelio_open(dst, e);
    if (!mf) return -1;
    nnmodel *m = nnmodel_load(mf, kind, e);
    int rc = m ? 0 : -1;
    nnmodel_free(m);
    modelio_close(mf);
    return rc;
}

/* ---- main ----------------------------------------------------------------------------------- */

int main(void)
{
    /* The trainers get no imdb_log (ctx.logger NULL): they say nothing. */
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 1; }
    make_corpus();
    imdb_err e = { 0 };

    /* Gradients of each architecture and pooling. */
    nnmodel_hyper base = { .V = 9, .unk = 1, .max_len = 10, .truncate = 0, .ngrams = 1, .E = 4, .H = 3,
                           .D = 5, .F = 3 };
    nnmodel_hyper h = base;
    const char *pools[] = { "last", "mean", "max" };
    for (int pl = 0; pl < 3; pl++) {
        char what[32];
        h = base; h.arch = NNMODEL_LSTM; h.pool = pl;
        snprintf(what, sizeof what, "lstm/%s", pools[pl]);
        gradcheck(&h, what);
        h.arch = NNMODEL_BILSTM;
        snprintf(what, sizeof what, "bilstm/%s", pools[pl]);
        gradcheck(&h, what);
    }
    h = base; h.arch = NNMODEL_MLP; h.ngrams = 2; h.buckets = 5;
    gradcheck(&h, "mlp");
    h = base; h.arch = NNMODEL_CNN; h.nwidths = 3; h.widths[0] = 1; h.widths[1] = 2; h.widths[2] = 5;
    gradcheck(&h, "cnn");
    /* The region kinds (nn_region.c): regcnn with two side inputs of region sizes 1 and 5
     * around regions of 3, and without; regemb with sampled zero targets. */
    h = base; h.arch = NNMODEL_REGCNN; h.F = h.E = 6; h.D = 3; h.nwidths = 3; h.widths[0] = 3; h.widths[1] = 1;
    h.widths[2] = 5;
    gradcheck(&h, "regcnn");
    gc_dropout = 0.5f;       /* as trained: dropout on the pooled features */
    gradcheck(&h, "regcnn/dropout");
    gc_dropout = 0;
    h.D = 0; h.nwidths = 1; h.widths[1] = h.widths[2] = 0;
    gradcheck(&h, "regcnn/alone");
    h = base; h.arch = NNMODEL_REGEMB; h.E = 4; h.nwidths = 1; h.widths[0] = 2; h.targets = 7; h.neg = 3;
    gradcheck(&h, "regemb");

    /* Training, determinism, round trip, prediction, per kind. */
    static const char *const kinds[] = { "lstm", "bilstm", "mlp", "cnn", "regcnn" };
    static const char *const sets[][12] = {
        { "dim=8", "hidden=8", "epochs=6", "lr=0.02", "batch=16", "dropout=0.1", "emb_dropout=0.1", "max_len=30", "min_count=1", NULL },
        { "dim=8", "hidden=8", "dense=8", "epochs=6", "lr=0.02", "batch=16", "max_len=30", "pool=mean", "min_count=1", NULL },
        { "dim=8", "dense=8", "epochs=6", "lr=0.05", "batch=16", "ngrams=2", "buckets=64", "min_count=1", NULL },
        { "dim=8", "filters=6", "widths=2,3", "epochs=6", "lr=0.02", "batch=16", "min_count=1", NULL },
        { "dim=16", "region=3", "epochs=6", "lr=0.02", "batch=16", "max_len=30", "min_count=1", NULL },
    };
    for (int k = 0; k < 5; k++) {
        char p1[300], p2[300], p3[300], p4[300];
        snprintf(p1, sizeof p1, "%s/%s.1", tmpdir, kinds[k]);
        snprintf(p2, sizeof p2, "%s/%s.2", tmpdir, kinds[k]);
        snprintf(p3, sizeof p3, "%s/%s.3", tmpdir, kinds[k]);
        snprintf(p4, sizeof p4, "%s/%s.4", tmpdir, kinds[k]);
        double first = 0, last = 0, vacc = 0;
        if (train_model(kinds[k], sets[k], 1, p1, &first, &last, &vacc, &e) < 0) {
            CHECK(0, "%s: training failed: %s", kinds[k], e.msg);
            continue;
        }
        printf("train %-7s loss %.4f -> %.4f, validation accuracy %.3f\n", kinds[k], first, last, vacc);
        CHECK(last < 0.8 * first, "%s: the training loss went from %.4f to %.4f", kinds[k], first, last);
        CHECK(vacc >= 0.9, "%s: validation accuracy %.3f on an easy corpus", kinds[k], vacc);
        CHECK(train_model(kinds[k], sets[k], 1, p2, NULL, NULL, NULL, &e) == 0 && same_file(p1, p2),
              "%s: two runs with one thread differ", kinds[k]);
        CHECK(train_model(kinds[k], sets[k], 2, p3, NULL, NULL, NULL, &e) == 0 &&
              train_model(kinds[k], sets[k], 2, p4, NULL, NULL, NULL, &e) == 0 && same_file(p3, p4),
              "%s: two runs with two threads differ", kinds[k]);

        /* Save, load, save. */
        modelio *mf = modelio_open(p1, &e);
        nnmodel *m = mf ? nnmodel_load(mf, kinds[k], &e) : NULL;
        CHECK(m != NULL, "%s: load failed: %s", kinds[k], e.msg);
        if (!m) { modelio_close(mf); continue; }
        modelio_writer *w = modelio_create(p2, &e);
        char *params = modelio_get_str(mf, "params"), *clean = modelio_get_str(mf, "clean");
        CHECK(nnmodel_write(m, w, &e) == 0 && test_model_commit(w, kinds[k], params, clean, &e) == 0 &&
              same_file(p1, p2), "%s: save, load, save differs", kinds[k]);
        free(params);
        free(clean);

        /* Damage inside a valid container: refused with IMDB_EXIT_DATA, never a crash. */
        for (int what = 0; what <= 8; what++) {
            imdb_err de = { 0 };
            int rc = load_damaged(p1, p3, kinds[k], what, &de);
            CHECK(rc < 0 && de.status == IMDB_EXIT_DATA, "%s: damage %d was not refused (%s)", kinds[k], what, de.msg);
        }

        /* Fast prediction against the batched forward pass, odd documents included. */
        const char *odd0[1] = { "x" }, *odd1[3] = { "zz", "yy", "xx" };
        const char *longdoc[80];
        for (int i = 0; i < 80; i++) longdoc[i] = i % 7 == 0 ? "good" : words[i % 40];
        double worst = 0;
        for (int i = 0; i < NDOCS + 3; i++) {
            const char *const *t = i < NDOCS ? docs.tok + docs.off[i] : i == NDOCS ? odd0 : i == NDOCS + 1 ? odd1 : longdoc;
            size_t n = i < NDOCS ? docs.off[i + 1] - docs.off[i] : i == NDOCS ? 0 : i == NDOCS + 1 ? 3 : 80;
            double a = nnmodel_prob(m, t, n), b = nnmodel_prob_batched(m, t, n);
            if (fabs(a - b) > worst) worst = fabs(a - b);
        }
        /* Explanations (regcnn): the parts and the bias (the logit of an empty document)
         * add up to the logit, each part a span inside the document; other kinds give none. */
        {
            double bias = log(nnmodel_prob(m, odd0, 0) / (1 - nnmodel_prob(m, odd0, 0))), werr = 0;
            size_t nexp = 0;
            clf_contrib cc[200];
            for (int i = 0; i < NDOCS + 3; i++) {
                const char *const *t = i < NDOCS ? docs.tok + docs.off[i] : i == NDOCS ? odd0 : i == NDOCS + 1 ? odd1 : longdoc;
                size_t n = i < NDOCS ? docs.off[i + 1] - docs.off[i] : i == NDOCS ? 0 : i == NDOCS + 1 ? 3 : 80;
                size_t nc = nnmodel_explain(m, t, n, cc, 200);
                CHECK(nc != CLF_NOMEM, "%s: explain ran out of memory", kinds[k]);
                if (nc == CLF_NOMEM || nc == 0) continue;
                double p = nnmodel_prob(m, t, n), sum = bias;
                for (size_t c = 0; c < nc; c++) {
                    sum += cc[c].weight;
                    CHECK(cc[c].n >= 1 && cc[c].start + (size_t)cc[c].n <= n, "%s: part %zu of doc %d is [%zu, +%d) of %zu",
                          kinds[k], c, i, cc[c].start, cc[c].n, n);
                    CHECK(c == 0 || clf_contrib_cmp(&cc[c - 1], &cc[c]) <= 0, "%s: parts out of order", kinds[k]);
                }
                if (nc < 200 && fabs(sum - log(p / (1 - p))) > werr) werr = fabs(sum - log(p / (1 - p)));
                nexp++;
            }
            int can = strcmp(kinds[k], "regcnn") == 0;
            printf("explain %-7s %zu documents, worst |bias + parts - logit| %.2e\n", kinds[k], nexp, werr);
            CHECK(can ? nexp >= NDOCS / 2 : nexp == 0, "%s: %zu documents explained", kinds[k], nexp);
            CHECK(werr <= 1e-3, "%s: the parts miss the logit by %.3g", kinds[k], werr);
        }
        printf("predict %-7s fast vs batched: worst |dp| %.2e\n", kinds[k], worst);
        CHECK(worst <= 1e-4, "%s: fast prediction differs from the batched forward by %.3g", kinds[k], worst);

        /* Two threads at once: the same numbers. */
        double *seq = malloc(NDOCS * sizeof *seq), *par0 = malloc(NDOCS * sizeof *par0),
               *par1 = malloc(NDOCS * sizeof *par1);
        pjob j0 = { m, seq }, j1 = { m, par0 }, j2 = { m, par1 };
        predict_all(&j0);
        pthread_t t1, t2;
        pthread_create(&t1, NULL, predict_all, &j1);
        pthread_create(&t2, NULL, predict_all, &j2);
        pthread_join(t1, NULL);
        pthread_join(t2, NULL);
        CHECK(memcmp(seq, par0, NDOCS * sizeof *seq) == 0 && memcmp(seq, par1, NDOCS * sizeof *seq) == 0,
              "%s: concurrent prediction differs", kinds[k]);
        free(seq); free(par0); free(par1);
        nnmodel_free(m);
        modelio_close(mf);
        unlink(p1); unlink(p2); unlink(p3); unlink(p4);
    }

    /* Truncation modes: the recurrent fast path and the batched path agree on long
     * documents whichever part is kept, and the parts differ. */
    {
        static const char *const modes[] = { "head", "tail", "headtail" };
        double pr[3];
        const char *longdoc[200];
        for (int i = 0; i < 200; i++) longdoc[i] = i < 50 ? "good" : i >= 150 ? "bad" : words[i % 40];
        for (int t = 0; t < 3; t++) {
            char mode[32], path[300];
            snprintf(mode, sizeof mode, "truncate=%s", modes[t]);
            snprintf(path, sizeof path, "%s/trunc", tmpdir);
            const char *set[] = { "dim=8", "hidden=8", "epochs=3", "lr=0.02", "max_len=20", "min_count=1", mode, NULL };
            if (train_model("lstm", set, 1, path, NULL, NULL, NULL, &e) < 0) { CHECK(0, "truncate: %s", e.msg); continue; }
            modelio *mf = modelio_open(path, &e);
            nnmodel *m = nnmodel_load(mf, "lstm", &e);
            pr[t] = nnmodel_prob(m, longdoc, 200);
            CHECK(fabs(pr[t] - nnmodel_prob_batched(m, longdoc, 200)) <= 1e-4, "truncate=%s: fast and batched differ", modes[t]);
            nnmodel_free(m);
            modelio_close(mf);
            unlink(path);
        }
        printf("truncate head/tail/headtail: P(pos) of good...bad %.3f %.3f %.3f\n", pr[0], pr[1], pr[2]);
        CHECK(pr[0] > 0.5 && pr[1] < 0.5, "truncate: head should see 'good', tail 'bad'");
    }

    /* Bad settings and data. */
    {
        char path[300];
        snprintf(path, sizeof path, "%s/bad", tmpdir);
        const char *s1[] = { "max_len=0", NULL };
        CHECK(train_model("lstm", s1, 1, path, NULL, NULL, NULL, &e) < 0 && e.status == IMDB_EXIT_USAGE &&
              strstr(e.msg, "max_len"), "max_len=0: %s", e.msg);
        const char *s2[] = { "widths=3,x", NULL };
        CHECK(train_model("cnn", s2, 1, path, NULL, NULL, NULL, &e) < 0 && e.status == IMDB_EXIT_USAGE &&
              strstr(e.msg, "widths"), "widths=3,x: %s", e.msg);
        const char *s3[] = { "min_count=100000", NULL };
        CHECK(train_model("mlp", s3, 1, path, NULL, NULL, NULL, &e) < 0 && e.status == IMDB_EXIT_DATA,
              "min_count=100000: %s", e.msg);
        size_t keep = docs.n;
        docs.n = 1;     /* one document, held out for validation: nothing to train on */
        const char *s4[] = { NULL };
        conf *cfg = conf_new();
        train_docs unlab = { 0 };
        train_ctx ctx = { .cfg = cfg, .docs = &docs, .unlab = &unlab, .seed = 3, .threads = 1 };
        train_split(&ctx, 0.9);
        ctx.log = trainlog_new(NULL, NULL, NULL, &e);
        modelio_writer *w = modelio_create(path, &e);
        (void)s4;
        CHECK(trainer_of("cnn")->train(&ctx, w, &e) < 0 && e.status == IMDB_EXIT_DATA,
              "no training documents: %s", e.msg);
        modelio_abort(w);
        trainlog_abort(ctx.log);
        free(ctx.tr); free(ctx.va);
        conf_free(cfg);
        docs.n = keep;
    }

    rmdir(tmpdir);
    return test_status("unit_nnmodel");
}
