/* nn_region.c — the region kinds of nnmodel.h (issue 24), after Johnson & Zhang 2015,
 * "Semi-supervised convolutional neural networks for text categorization via region
 * embedding" (NIPS), and the authors' ConText:
 *
 *   regemb   unsupervised: a region of p words (a binary bag of words) -> u = ReLU(U x + b)
 *            (E = 100 dimensions), trained to predict the words of the two adjacent
 *            regions of p words (the left and the right one, as one bag) over the
 *            `targets` most frequent words: logistic outputs for the words present and
 *            for `neg` zero targets per region, sampled from the words of the batch
 *            (i.e. by frequency). Learns from the text of the labelled training part and
 *            the unlabelled documents (imdb-train --unlabelled), never from labels. Its
 *            file is a model of kind regemb (nn.* sections, imdb-model(5)) that classifies
 *            nothing: the input of regcnn.
 *   regcnn   supervised: region r of p words -> h_r = W x_r + b + sum_i S_i u_i(r), where
 *            x_r is the one-hot bag of the region (W x_r is a sum of rows of W, never a
 *            dense product) and u_i(r) the output of frozen region embedding i over the
 *            view of its own region size centred on the same place, then ReLU, max over
 *            the regions, dropout, a logistic output. Backward goes only through the
 *            winning region of each feature map.
 *
 * Both train on the shared trainer (nn_train.c): threads, determinism for a seed and a
 * thread count, checkpoints and resume, Adam with lazy updates of the rows of the first
 * tensor (U, W: the big tables). regcnn copies its side embeddings into the frozen tail
 * of its own weights (first_frozen), remapped to its vocabulary by word, so its file
 * stands alone; an embedding whose word list or cleaning differs from the training
 * stream's is refused unless --force.
 *
 * Unknown words keep their positions (unk = 1 by default: a row of its own in W; an
 * embedding's row for the unknown word is copied too). Every document is at most
 * max_len tokens, as in the other kinds. */
#include "nnmodel.h"
#include "blas.h"
#include "layer_region.h"
#include "layers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SIDES (NNMODEL_MAX_WIDTHS - 1)
/* regcnn: the side embeddings' outputs are multiplied by side_scale (copied into the
 * model scaled). Adam moves every weight of the side matrices S by about lr a step
 * whatever the size of its input, so 100 dense side outputs of order 0.3 would move the
 * pre-activations about ten times as fast as the three one-hot rows of a region; the
 * scale evens that out (chosen on the movie-grouped validation split). */
#define SIDE_SCALE 0.1

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30; x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27; x *= UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

/* ---- regemb ---------------------------------------------------------------------- */

/* Tensors: emb (rows, E) = U, emb.b (E), tgt.w (targets, E), tgt.b (targets). */
enum { E_U = 0, E_UB = 1, E_O = 2, E_OB = 3 };

static int emb_configure(nnmodel_hyper *hy, float *dropout, float *emb_dropout, conf *cfg, imdb_err *e)
{
    long p, targets, neg;
    double dr;
    if (conf_long(cfg, "region", 5, 1, 16, &p, e) < 0 ||
        conf_long(cfg, "targets", 30000, 1, 1L << 26, &targets, e) < 0 ||
        conf_long(cfg, "neg", 10, 0, 1000, &neg, e) < 0 ||
        conf_double(cfg, "dropout", 0, 0, 0, &dr, e) < 0)
        return -1;
    hy->nwidths = 1;
    hy->widths[0] = (int)p;
    hy->targets = (int)targets;     /* nn_train caps it at the vocabulary */
    hy->neg = (int)neg;
    *dropout = 0;
    *emb_dropout = 0;
    return 0;
}

static void emb_declare(const nnmodel_hyper *h, params *p)
{
    params_add(p, "emb", nnmodel_rows(h), (size_t)h->E);
    params_add(p, "emb.b", 1, (size_t)h->E);
    params_add(p, "tgt.w", (size_t)h->targets, (size_t)h->E);
    params_add(p, "tgt.b", 1, (size_t)h->targets);
}

static void emb_init(const nnmodel_hyper *h, const params *p, float *w, rng *r)
{
    (void)h;
    params_uniform(params_at(p, w, E_U), params_size(p, E_U), 0.1f, r);
    params_uniform(params_at(p, w, E_O), params_size(p, E_O), 0.01f, r);
}

typedef struct emb_ws {
    int max_t, cap;          /* regions; targets per document */
    float *x, *dx, *dpre;    /* (max_t, E) */
    int32_t *tgt;            /* (cap) */
    float *y;                /* (cap) */
    int64_t *toff;           /* (max_t + 1) */
} emb_ws;

static void emb_ws_free(void *v)
{
    emb_ws *s = v;
    if (!s) return;
    free(s->x); free(s->dx); free(s->dpre); free(s->tgt); free(s->y); free(s->toff);
    free(s);
}

static void *emb_ws_new(const nnmodel_hyper *h, int max_b, int max_t)
{
    (void)max_b;
    emb_ws *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    size_t T = (size_t)(max_t > 0 ? max_t : 1), E = (size_t)h->E;
    s->max_t = (int)T;
    s->cap = (int)(T * (size_t)(2 * h->widths[0] + h->neg));
    s->x = malloc(T * E * sizeof(float));
    s->dx = malloc(T * E * sizeof(float));
    s->dpre = malloc(T * E * sizeof(float));
    s->tgt = malloc(((size_t)s->cap + 1) * sizeof(int32_t));
    s->y = malloc(((size_t)s->cap + 1) * sizeof(float));
    s->toff = malloc((T + 1) * sizeof(int64_t));
    if (!s->x || !s->dx || !s->dpre || !s->tgt || !s->y || !s->toff) {
        emb_ws_free(s);
        return NULL;
    }
    return s;
}

/* The targets of every region of a document: the distinct target words of the adjacent
 * regions [r - p, r) and [r + p, r + 2p) (y = 1), then neg zero targets drawn from the
 * positions of the batch's documents (y = 0), skipping draws that are unknown, beyond
 * the target vocabulary or among the region's words present. Returns the count. */
static int emb_targets(emb_ws *s, const nnmodel_hyper *h, const nnmodel_batch *b, int i, rng *r)
{
    const int32_t *ids = b->flat + b->off[i];
    int L = (int)(b->off[i + 1] - b->off[i]), p = h->widths[0], R = region_count(L, p), K = h->targets;
    int k = 0;
    for (int q = 0; q < R; q++) {
        s->toff[q] = k;
        int first = k;
        for (int side = 0; side < 2; side++) {
            int lo = side ? q + p : q - p, hi = lo + p;
            if (lo < 0) lo = 0;
            if (hi > L) hi = L;
            for (int t = lo; t < hi; t++) {
                int32_t id = ids[t];
                if (id < 0 || id >= K) continue;
                int dup = 0;
                for (int j = first; j < k && !dup; j++) dup = s->tgt[j] == id;
                if (!dup) { s->tgt[k] = id; s->y[k] = 1.0f; k++; }
            }
        }
        int npos = k;
        for (int n = 0; n < h->neg; n++) {
            int d = (int)rng_below(r, (uint32_t)b->B);
            int64_t len = b->off[d + 1] - b->off[d];
            if (len <= 0) continue;
            int32_t id = b->flat[b->off[d] + (int64_t)rng_below(r, (uint32_t)len)];
            if (id < 0 || id >= K) continue;
            int dup = 0;
            for (int j = first; j < npos && !dup; j++) dup = s->tgt[j] == id;
            if (!dup) { s->tgt[k] = id; s->y[k] = 0.0f; k++; }
        }
    }
    s->toff[R] = k;
    return k;
}

/* The loss of a document is its mean over its targets, so that each document weighs the
 * same (as in the supervised kinds); the batch's is the mean over documents (norm). */
static double emb_step(const nnmodel_hyper *h, const params *p, const float *w, void *wsv,
                       const nnmodel_batch *b, float dropout, float emb_dropout,
                       float *logits, float *grad, rowset *touched, double norm)
{
    (void)dropout; (void)emb_dropout;
    emb_ws *s = wsv;
    int E = h->E, V = (int)nnmodel_rows(h), P = h->widths[0];
    const float *U = params_at(p, (float *)w, E_U), *ub = params_at(p, (float *)w, E_UB);
    const float *O = params_at(p, (float *)w, E_O), *ob = params_at(p, (float *)w, E_OB);
    int train = grad && b->drop;
    double loss = 0;
    for (int i = 0; i < b->B; i++) {
        logits[i] = 0.0f;
        const int32_t *ids = b->flat + b->off[i];
        int L = (int)(b->off[i + 1] - b->off[i]), R = region_count(L, P);
        if (R > s->max_t) R = s->max_t;       /* never: documents are at most max_len */
        if (R == 0) continue;
        rng own, *r = train ? &b->drop[i] : &own;
        if (!train) {      /* validation: zero targets drawn the same way every epoch */
            uint64_t hsh = mix64((uint64_t)L);
            for (int t = 0; t < L; t++) hsh = mix64(hsh ^ (uint32_t)ids[t]);
            rng_split(&own, hsh, 0x5245);
        }
        int nt = emb_targets(s, h, b, i, r);
        if (nt == 0) continue;
        layer_region_forward(s->x, ids, L, P, P, U, ub, E, V);
        layer_relu_forward(s->x, s->x, (size_t)R * E);
        double dn = norm * nt;
        if (!grad) {
            loss += layer_sampled_bce_forward_backward(NULL, NULL, NULL, NULL, s->x, O, ob, s->tgt, s->y,
                                                       s->toff, R, E, dn);
            continue;
        }
        memset(s->dx, 0, (size_t)R * E * sizeof *s->dx);
        loss += layer_sampled_bce_forward_backward(s->dx, params_at(p, grad, E_O), NULL, params_at(p, grad, E_OB),
                                                   s->x, O, ob, s->tgt, s->y, s->toff, R, E, dn);
        memset(s->dpre, 0, (size_t)R * E * sizeof *s->dpre);
        layer_relu_backward(s->dpre, s->dx, s->x, (size_t)R * E);
        layer_region_backward(params_at(p, grad, E_U), touched, params_at(p, grad, E_UB), s->dpre, ids, L, P, P,
                              E, V);
    }
    return loss;
}

const nnmodel_arch nnmodel_arch_regemb = {
    .kind = "regemb", .id = NNMODEL_REGEMB, .configure = emb_configure, .declare = emb_declare,
    .init = emb_init, .ws_new = emb_ws_new, .ws_free = emb_ws_free, .step = emb_step, .bag = 1,
    .unsup = 1,
};

/* ---- regcnn ---------------------------------------------------------------------- */

/* Tensors: emb (rows, F) = W, conv.b (F), s<i>.w (F, D) for each side input, out.w (F),
 * out.b (1), then the frozen tail: s<i>.u (rows, D) and s<i>.c (D) per side input. */
#define C_W 0
#define C_B 1
#define C_SW(i) (2 + (i))
#define C_OW(ns) (2 + (ns))
#define C_OB(ns) (3 + (ns))
#define C_SU(ns, i) (4 + (ns) + 2 * (i))
#define C_SC(ns, i) (5 + (ns) + 2 * (i))

static int nsides(const nnmodel_hyper *h) { return h->nwidths - 1; }

/* The paths of the setting "embeddings" (separated by spaces), into path[] (malloc'd). */
static int side_paths(conf *cfg, char **path, imdb_err *e)
{
    const char *list;
    conf_string(cfg, "embeddings", "", &list);
    int n = 0;
    for (const char *s = list; *s;) {
        while (*s == ' ' || *s == '\t') s++;
        if (!*s) break;
        size_t l = strcspn(s, " \t");
        if (n == MAX_SIDES) {
            for (int i = 0; i < n; i++) free(path[i]);
            return imdb_fail(e, IMDB_EXIT_USAGE, "setting embeddings: at most %d region embeddings", MAX_SIDES);
        }
        path[n] = imdb_xmalloc(l + 1);
        memcpy(path[n], s, l);
        path[n][l] = '\0';
        n++;
        s += l;
    }
    return n;
}

/* Open an embedding file: a model of kind regemb. */
static nnmodel *side_open(const char *path, modelio **mf, imdb_err *e)
{
    if (!(*mf = modelio_open(path, e))) return NULL;
    char *kind = modelio_get_str(*mf, "kind");
    nnmodel *em = NULL;
    if (!kind || strcmp(kind, "regemb") != 0)
        imdb_fail(e, IMDB_EXIT_DATA, "%s: not a region embedding (a model of kind %.40s; make one with "
                  "imdb-train --kind regemb)", path, kind ? kind : "?");
    else
        em = nnmodel_load(*mf, "regemb", e);
    free(kind);
    if (!em) {
        modelio_close(*mf);
        *mf = NULL;
    }
    return em;
}

static int cnn_configure(nnmodel_hyper *hy, float *dropout, float *emb_dropout, conf *cfg, imdb_err *e)
{
    long p;
    double dr;
    char *path[MAX_SIDES];
    if (conf_long(cfg, "region", 3, 1, 16, &p, e) < 0 || conf_double(cfg, "dropout", 0.5, 0, 0.95, &dr, e) < 0)
        return -1;
    int ns = side_paths(cfg, path, e);
    if (ns < 0) return -1;
    hy->F = hy->E;                /* dim = the feature maps */
    hy->nwidths = 1 + ns;
    hy->widths[0] = (int)p;
    hy->D = 0;
    int rc = 0;
    for (int i = 0; i < ns && rc == 0; i++) {
        modelio *mf;
        nnmodel *em = side_open(path[i], &mf, e);
        if (!em) { rc = -1; break; }
        if (i > 0 && em->hy.E != hy->D)
            rc = imdb_fail(e, IMDB_EXIT_USAGE, "%s: a region embedding of %d dimensions, the first has %d "
                           "(side inputs must agree)", path[i], em->hy.E, hy->D);
        hy->D = em->hy.E;
        hy->widths[1 + i] = em->hy.widths[0];
        nnmodel_free(em);
        modelio_close(mf);
    }
    for (int i = 0; i < ns; i++) free(path[i]);
    *dropout = (float)dr;
    *emb_dropout = 0;
    return rc;
}

static void cnn_declare(const nnmodel_hyper *h, params *p)
{
    char name[PARAMS_NAME_MAX];
    int ns = nsides(h);
    params_add(p, "emb", nnmodel_rows(h), (size_t)h->F);
    params_add(p, "conv.b", 1, (size_t)h->F);
    for (int i = 0; i < ns; i++) {
        snprintf(name, sizeof name, "s%d.w", i);
        params_add(p, name, (size_t)h->F, (size_t)h->D);
    }
    params_add(p, "out.w", 1, (size_t)h->F);
    params_add(p, "out.b", 1, 1);
    for (int i = 0; i < ns; i++) {
        snprintf(name, sizeof name, "s%d.u", i);
        params_add(p, name, nnmodel_rows(h), (size_t)h->D);
        snprintf(name, sizeof name, "s%d.c", i);
        params_add(p, name, 1, (size_t)h->D);
    }
}

static int cnn_first_frozen(const nnmodel_hyper *h) { return nsides(h) ? C_SU(nsides(h), 0) : 0; }

static void cnn_init(const nnmodel_hyper *h, const params *p, float *w, rng *r)
{
    int ns = nsides(h);
    params_uniform(params_at(p, w, C_W), params_size(p, C_W), 0.05f, r);
    for (int i = 0; i < ns; i++)
        params_uniform(params_at(p, w, C_SW(i)), params_size(p, C_SW(i)), params_glorot((size_t)h->D, (size_t)h->F), r);
    params_uniform(params_at(p, w, C_OW(ns)), params_size(p, C_OW(ns)), params_glorot((size_t)h->F, 1), r);
}

/* The words of a model's vocabulary: line i of nn.vocab, into buf; 0, or -1 if too long. */
static int vocab_word(const nnmodel *m, const char **cur, char *buf, size_t cap)
{
    const char *s = *cur, *end = m->vtext + m->vlen, *nl = memchr(s, '\n', (size_t)(end - s));
    if (!nl) nl = end;
    size_t l = (size_t)(nl - s);
    *cur = nl < end ? nl + 1 : end;
    if (l >= cap) return -1;
    memcpy(buf, s, l);
    buf[l] = '\0';
    return 0;
}

/* Copy side input i from its file into the frozen tail, remapped by word. */
static int side_copy(const nnmodel *m, float *w, int i, const char *path, const train_ctx *ctx, imdb_err *e)
{
    const nnmodel_hyper *h = &m->hy;
    int ns = nsides(h), rc = -1;
    modelio *mf;
    nnmodel *em = side_open(path, &mf, e);
    if (!em) return -1;
    char *clean = modelio_get_str(mf, "clean");
    if (em->hy.E != h->D || em->hy.widths[0] != h->widths[1 + i]) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: the region embedding changed while training started", path);
        goto done;
    }
    if (!clean || !ctx->clean || strcmp(clean, ctx->clean) != 0) {
        if (!ctx->force) {
            imdb_fail(e, IMDB_EXIT_DATA, "%s: region embedding made with other cleaning settings than the "
                      "training stream (--force accepts it)", path);
            goto done;
        }
        imdb_logf(ctx->logger, IMDB_LOG_INFO, "regcnn: warning: %s was made with other cleaning settings "
                  "(accepted: --force)", path);
    }
    double scale;
    if (conf_double(ctx->cfg, "side_scale", SIDE_SCALE, 1e-6, 1e6, &scale, e) < 0) goto done;
    const params_tensor *eu = &em->p.t[E_U];
    float *su = params_at(&m->p, w, C_SU(ns, i)), *sc = params_at(&m->p, w, C_SC(ns, i));
    memcpy(sc, em->w + em->p.t[E_UB].offset, (size_t)h->D * sizeof *sc);
    const char *cur = m->vtext, *ecur = em->vtext;
    char word[1024], eword[1024];
    int same = em->hy.V == h->V && em->hy.unk == h->unk, found = 0;
    for (int id = 0; id < h->V; id++) {
        float *dst = su + (size_t)id * h->D;
        int bad = vocab_word(m, &cur, word, sizeof word) < 0;
        if (same && (id >= em->hy.V || vocab_word(em, &ecur, eword, sizeof eword) < 0 || bad ||
                     strcmp(word, eword) != 0))
            same = 0;
        int32_t j = bad ? -1 : feat_table_get(&em->tab, feat_hash_token(word, strlen(word)));
        if (j >= 0 && j < em->hy.V) {
            memcpy(dst, em->w + eu->offset + (size_t)j * eu->cols, (size_t)h->D * sizeof *dst);
            found++;
        } else
            memset(dst, 0, (size_t)h->D * sizeof *dst);
    }
    if (h->unk) {           /* the unknown word's row, when both have one */
        float *dst = su + (size_t)h->V * h->D;
        if (em->hy.unk) memcpy(dst, em->w + eu->offset + (size_t)em->hy.V * eu->cols, (size_t)h->D * sizeof *dst);
        else memset(dst, 0, (size_t)h->D * sizeof *dst);
    }
    /* u = ReLU(U x + c) is positively homogeneous: scaling U and c scales u. */
    for (size_t k = 0; k < nnmodel_rows(h) * (size_t)h->D; k++) su[k] = (float)(su[k] * scale);
    for (int k = 0; k < h->D; k++) sc[k] = (float)(sc[k] * scale);
    if (!same) {
        if (!ctx->force) {
            imdb_fail(e, IMDB_EXIT_DATA, "%s: region embedding made with another vocabulary (%d words, %d of the "
                      "training's %d found; use the same vocabulary and settings vocab_size, min_count, unk, or "
                      "--force to accept it)", path, em->hy.V, found, h->V);
            goto done;
        }
        imdb_logf(ctx->logger, IMDB_LOG_INFO, "regcnn: warning: %s has another vocabulary: %d of %d words found "
                  "(accepted: --force)", path, found, h->V);
    }
    imdb_logf(ctx->logger, IMDB_LOG_VERBOSE, "regcnn: side input %d: %s, region %d, %d dimensions", i, path,
              h->widths[1 + i], h->D);
    rc = 0;
done:
    free(clean);
    nnmodel_free(em);
    modelio_close(mf);
    return rc;
}

static int cnn_prepare(const nnmodel *m, float *w, const train_ctx *ctx, imdb_err *e)
{
    char *path[MAX_SIDES];
    int ns = side_paths(ctx->cfg, path, e), rc = 0;
    if (ns < 0) return -1;
    if (ns != nsides(&m->hy)) rc = imdb_fail(e, IMDB_EXIT_INTERNAL, "regcnn: side inputs changed");
    for (int i = 0; i < ns && rc == 0; i++) rc = side_copy(m, w, i, path[i], ctx, e);
    for (int i = 0; i < ns; i++) free(path[i]);
    return rc;
}

typedef struct cnn_ws {
    int max_b, max_t;
    float *h;                  /* (max_t, F) one document's region activations */
    float *z;                  /* (max_b, ns, max_t, D) side outputs, kept for the backward */
    float *pooled, *feat, *dfeat, *dfeat2;   /* (max_b, F) */
    uint8_t *fmask;            /* (max_b, F) */
    int32_t *argmax;           /* (max_b, F) */
    float *dz, *g;             /* (max_b), (F) */
} cnn_ws;

static void cnn_ws_free(void *v)
{
    cnn_ws *s = v;
    if (!s) return;
    free(s->h); free(s->z); free(s->pooled); free(s->feat); free(s->dfeat); free(s->dfeat2); free(s->fmask);
    free(s->argmax); free(s->dz); free(s->g);
    free(s);
}

static void *cnn_ws_new(const nnmodel_hyper *h, int max_b, int max_t)
{
    cnn_ws *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    size_t B = (size_t)(max_b > 0 ? max_b : 1), T = (size_t)(max_t > 0 ? max_t : 1), F = (size_t)h->F;
    size_t nz = B * (size_t)nsides(h) * T * (size_t)h->D;
    s->max_b = (int)B;
    s->max_t = (int)T;
    s->h = malloc(T * F * sizeof(float));
    s->z = malloc((nz ? nz : 1) * sizeof(float));
    s->pooled = malloc(B * F * sizeof(float));
    s->feat = malloc(B * F * sizeof(float));
    s->dfeat = malloc(B * F * sizeof(float));
    s->dfeat2 = malloc(B * F * sizeof(float));
    s->fmask = malloc(B * F);
    s->argmax = malloc(B * F * sizeof(int32_t));
    s->dz = malloc(B * sizeof(float));
    s->g = malloc(F * sizeof(float));
    if (!s->h || !s->z || !s->pooled || !s->feat || !s->dfeat || !s->dfeat2 || !s->fmask || !s->argmax || !s->dz ||
        !s->g) {
        cnn_ws_free(s);
        return NULL;
    }
    return s;
}

static float *side_out(const cnn_ws *s, const nnmodel_hyper *h, int i, int k)
{
    return s->z + (((size_t)i * nsides(h) + (size_t)k) * (size_t)s->max_t) * (size_t)h->D;
}

static double cnn_step(const nnmodel_hyper *h, const params *p, const float *w, void *wsv,
                       const nnmodel_batch *b, float dropout, float emb_dropout,
                       float *logits, float *grad, rowset *touched, double norm)
{
    (void)emb_dropout;
    cnn_ws *s = wsv;
    int B = b->B, F = h->F, D = h->D, ns = nsides(h), P = h->widths[0], V = (int)nnmodel_rows(h);
    /* Dropout whenever the batch has generators (training; the trainer gives them with a
     * gradient only), so a finite-difference check can hold the masks fixed. */
    float dr = b->drop ? dropout : 0.0f;
    float *wf = (float *)w;
    const float *W = params_at(p, wf, C_W), *cb = params_at(p, wf, C_B);
    const float *ow = params_at(p, wf, C_OW(ns)), *ob = params_at(p, wf, C_OB(ns));

    for (int i = 0; i < B; i++) {
        const int32_t *ids = b->flat + b->off[i];
        int L = (int)(b->off[i + 1] - b->off[i]);
        if (L > s->max_t) L = s->max_t;      /* never: documents are at most max_len */
        int32_t R = region_count(L, P);
        layer_region_forward(s->h, ids, L, P, P, W, cb, F, V);
        for (int k = 0; k < ns; k++) {
            float *z = side_out(s, h, i, k);
            layer_region_forward(z, ids, L, P, h->widths[1 + k], params_at(p, wf, C_SU(ns, k)),
                                 params_at(p, wf, C_SC(ns, k)), D, V);
            layer_relu_forward(z, z, (size_t)R * D);
            /* h (R,F) += z (R,D) S^T, S (F,D) */
            if (R > 0) blas_sgemm(BLAS_N, BLAS_T, R, F, D, 1.0f, z, D, params_at(p, wf, C_SW(k)), D, 1.0f, s->h, F);
        }
        layer_relu_forward(s->h, s->h, (size_t)R * F);
        float *pi = s->pooled + (size_t)i * F;
        layer_maxpool_forward(pi, s->argmax + (size_t)i * F, s->h, &R, 1, R, F);
        float *fi = s->feat + (size_t)i * F;
        if (dr > 0) layer_dropout_forward(fi, s->fmask + (size_t)i * F, pi, (size_t)F, dr, &b->drop[i]);
        else memcpy(fi, pi, (size_t)F * sizeof *fi);
    }
    layer_dense_forward(logits, s->feat, ow, ob, B, F, 1);
    if (!grad) return 0.0;

    memset(s->dz, 0, (size_t)B * sizeof *s->dz);
    double loss = nnmodel_bce(s->dz, logits, b, norm);
    memset(s->dfeat, 0, (size_t)B * F * sizeof *s->dfeat);
    layer_dense_backward(s->dfeat, params_at(p, grad, C_OW(ns)), params_at(p, grad, C_OB(ns)), s->dz, s->feat, ow,
                         B, F, 1);
    float *dfeat = s->dfeat;
    if (dr > 0) {
        memset(s->dfeat2, 0, (size_t)B * F * sizeof *s->dfeat2);
        layer_dropout_backward(s->dfeat2, s->dfeat, s->fmask, (size_t)B * F, dr);
        dfeat = s->dfeat2;
    }
    for (int i = 0; i < B; i++) {
        const int32_t *ids = b->flat + b->off[i];
        int L = (int)(b->off[i + 1] - b->off[i]);
        if (L > s->max_t) L = s->max_t;
        const float *pi = s->pooled + (size_t)i * F, *di = dfeat + (size_t)i * F;
        const int32_t *am = s->argmax + (size_t)i * F;
        for (int f = 0; f < F; f++) s->g[f] = pi[f] > 0.0f ? di[f] : 0.0f;     /* ReLU at the maximum */
        layer_region_backward_pooled(params_at(p, grad, C_W), touched, params_at(p, grad, C_B), s->g, am, ids, L, P,
                                     P, F, V);
        for (int k = 0; k < ns; k++)
            layer_dense_backward_pooled(NULL, params_at(p, grad, C_SW(k)), s->g, am, side_out(s, h, i, k),
                                        params_at(p, wf, C_SW(k)), D, F);
    }
    return loss;
}

/* The logit less the output bias, max pooling's way: each map's output weight times its
 * maximum goes to the region that won it (exact: logit = bias + the sum over regions). */
static int cnn_explain(const nnmodel_hyper *h, const params *p, const float *w, const void *wsv, int n,
                       clf_contrib *out)
{
    const cnn_ws *s = wsv;
    int F = h->F, P = h->widths[0], R = region_count(n, P);
    const float *ow = params_at(p, (float *)w, C_OW(nsides(h)));
    for (int r = 0; r < R; r++) {
        int lo, hi;
        region_view(n, P, P, r, &lo, &hi);
        out[r] = (clf_contrib){ .start = (size_t)lo, .n = hi - lo, .weight = 0 };
    }
    for (int f = 0; f < F; f++)
        if (s->pooled[f] > 0 && s->argmax[f] >= 0 && s->argmax[f] < R)
            out[s->argmax[f]].weight += (double)ow[f] * s->pooled[f];
    return R;
}

const nnmodel_arch nnmodel_arch_regcnn = {
    .kind = "regcnn", .id = NNMODEL_REGCNN, .configure = cnn_configure, .declare = cnn_declare,
    .init = cnn_init, .ws_new = cnn_ws_new, .ws_free = cnn_ws_free, .step = cnn_step, .bag = 1,
    .first_frozen = cnn_first_frozen, .prepare = cnn_prepare, .explain = cnn_explain,
};
