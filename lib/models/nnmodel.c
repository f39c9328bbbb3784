/* nnmodel.c — the neural model files and classifiers; see nnmodel.h. The trainer is
 * nn_train.c, the architectures nn_rnn.c, nn_mlp.c and nn_cnn.c. */
#include "nnmodel.h"
#include "blas.h"
#include "layers.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const nnmodel_arch *const nnmodel_archs[NNMODEL_NARCH] = {
    &nnmodel_arch_lstm, &nnmodel_arch_bilstm, &nnmodel_arch_mlp, &nnmodel_arch_cnn,
    &nnmodel_arch_regemb, &nnmodel_arch_regcnn,
};

int nnmodel_pool_parse(const char *s)
{
    static const char *const names[] = { "last", "mean", "max" };
    for (int i = 0; i < 3; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

const char *const nnmodel_truncate_names[] = { "head", "tail", "headtail" };

/* ---- nn.hdr ---------------------------------------------------------------------- */

#define HDR_VERSION 1

void nnmodel_hyper_pack(const nnmodel_hyper *h, unsigned char *b)
{
    uint32_t v[NNMODEL_HDR_WORDS] = {
        HDR_VERSION, (uint32_t)h->arch, (uint32_t)h->V, (uint32_t)h->unk, (uint32_t)h->max_len,
        (uint32_t)h->truncate, (uint32_t)h->ngrams, (uint32_t)h->ngram_rows, (uint32_t)h->buckets,
        (uint32_t)h->E, (uint32_t)h->H, (uint32_t)h->D, (uint32_t)h->F, (uint32_t)h->pool,
        (uint32_t)h->nwidths,
    };
    for (int i = 0; i < NNMODEL_MAX_WIDTHS; i++) v[15 + i] = (uint32_t)h->widths[i];
    v[19] = (uint32_t)h->targets;     /* words 19, 20: reserved (0) before the region kinds */
    v[20] = (uint32_t)h->neg;
    for (int i = 0; i < NNMODEL_HDR_WORDS; i++) put_u32le(b + 4 * i, v[i]);
}

/* The limits a header must respect: every product of them fits comfortably in size_t
 * and an int index, and the weight section's size is then checked exactly. */
const char *nnmodel_hyper_invalid(const nnmodel_hyper *h)
{
    if (h->arch < 0 || h->arch >= NNMODEL_NARCH) return "unknown architecture";
    if (h->V < 1 || h->V > (1 << 26)) return "vocabulary size out of range";
    if (h->unk < 0 || h->unk > 1) return "bad unk flag";
    if (h->max_len < 1 || h->max_len > NNMODEL_MAX_LEN) return "max_len out of range";
    if (h->truncate < 0 || h->truncate > 2) return "bad truncation mode";
    if (h->ngrams < 1 || h->ngrams > 4) return "ngrams out of range";
    if (h->ngram_rows < 0 || h->ngram_rows > (1 << 26) || h->buckets < 0 || h->buckets > (1 << 26))
        return "n-gram rows out of range";
    if (h->buckets && h->ngram_rows) return "both vocabulary and hashed n-grams";
    if (h->ngrams > 1 && !h->buckets && !h->ngram_rows) return "n-grams without rows";
    if (h->E < 1 || h->E > 4096 || h->H < 0 || h->H > 4096 || h->D < 0 || h->D > 4096 ||
        h->F < 0 || h->F > 4096) return "dimension out of range";
    if (h->pool < 0 || h->pool > 2) return "bad pooling mode";
    if (h->nwidths < 0 || h->nwidths > NNMODEL_MAX_WIDTHS) return "bad number of widths";
    for (int i = 0; i < NNMODEL_MAX_WIDTHS; i++)
        if (i < h->nwidths ? h->widths[i] < 1 || h->widths[i] > 32 : h->widths[i] != 0)
            return "convolution width out of range";
    switch (h->arch) {
    case NNMODEL_LSTM: if (h->H < 1) return "no hidden units"; break;
    case NNMODEL_BILSTM: if (h->H < 1 || h->D < 1) return "no hidden units"; break;
    case NNMODEL_MLP: if (h->D < 1) return "no hidden units"; break;
    case NNMODEL_CNN: if (h->F < 1 || h->nwidths < 1) return "no filters"; break;
    case NNMODEL_REGEMB:
        if (h->nwidths != 1 || h->widths[0] > 16) return "region size out of range";
        if (h->targets < 1 || h->targets > h->V) return "target vocabulary out of range";
        if (h->neg < 0 || h->neg > 1000) return "zero targets per region out of range";
        break;
    case NNMODEL_REGCNN:
        if (h->F < 1 || h->E != h->F) return "no feature maps";
        if (h->nwidths < 1 || h->widths[0] > 16) return "region size out of range";
        if (h->nwidths > 1 ? h->D < 1 : h->D != 0) return "side input dimension out of range";
        for (int i = 1; i < h->nwidths; i++)
            if (h->widths[i] > 16) return "side input region size out of range";
        break;
    }
    if (h->arch != NNMODEL_REGEMB && (h->targets || h->neg)) return "target settings in a kind without them";
    if (h->arch != NNMODEL_MLP && h->ngrams != 1) return "n-grams in a sequence model";
    return NULL;
}

int nnmodel_hyper_unpack(nnmodel_hyper *h, const unsigned char *b, size_t size, const char *name,
                         imdb_err *e)
{
    if (size != 4 * NNMODEL_HDR_WORDS)
        return imdb_fail(e, IMDB_EXIT_DATA, "%s: nn.hdr has %zu bytes, expected %d", name, size,
                         4 * NNMODEL_HDR_WORDS);
    uint32_t v[NNMODEL_HDR_WORDS];
    for (int i = 0; i < NNMODEL_HDR_WORDS; i++) v[i] = get_u32le(b + 4 * i);
    if (v[0] != HDR_VERSION)
        return imdb_fail(e, IMDB_EXIT_DATA, "%s: neural model header version %u, this program reads %d",
                         name, v[0], HDR_VERSION);
    for (int i = 1; i < NNMODEL_HDR_WORDS; i++)
        if (v[i] > (1u << 30)) return imdb_fail(e, IMDB_EXIT_DATA, "%s: nn.hdr: field %d out of range", name, i);
    *h = (nnmodel_hyper){
        .arch = (int)v[1], .V = (int)v[2], .unk = (int)v[3], .max_len = (int)v[4], .truncate = (int)v[5],
        .ngrams = (int)v[6], .ngram_rows = (int)v[7], .buckets = (int)v[8], .E = (int)v[9],
        .H = (int)v[10], .D = (int)v[11], .F = (int)v[12], .pool = (int)v[13], .nwidths = (int)v[14],
    };
    for (int i = 0; i < NNMODEL_MAX_WIDTHS; i++) h->widths[i] = (int)v[15 + i];
    h->targets = (int)v[19];
    h->neg = (int)v[20];
    for (int i = 21; i < NNMODEL_HDR_WORDS; i++)
        if (v[i]) return imdb_fail(e, IMDB_EXIT_DATA, "%s: nn.hdr: reserved field %d is not 0", name, i);
    const char *why = nnmodel_hyper_invalid(h);
    if (why) return imdb_fail(e, IMDB_EXIT_DATA, "%s: nn.hdr: %s", name, why);
    return 0;
}

/* ---- documents to ids ------------------------------------------------------------ */

/* Capacity of the id buffer of one document, and of the token-hash scratch. */
size_t nnmodel_ids_cap(const nnmodel_hyper *h) { return (size_t)h->max_len * (size_t)h->ngrams; }

/* Truncation picks tokens [0, head) and the last n - head; n-grams may span the cut
 * of headtail, as they would in a document that short. */
size_t nnmodel_doc_ids(const nnmodel_hyper *h, const feat_table *tab, const char *const *toks,
                       size_t ntok, uint64_t *hs, int32_t *out, size_t *pos)
{
    size_t L = (size_t)h->max_len, n = ntok < L ? ntok : L;
    size_t head = n;                      /* tokens [0, head) then [ntok - (n - head), ntok) */
    if (ntok > L) {
        if (h->truncate == NNMODEL_TAIL) head = 0;
        else if (h->truncate == NNMODEL_HEADTAIL) head = L / 4;
    }
    for (size_t i = 0; i < n; i++) {
        const char *t = i < head ? toks[i] : toks[ntok - n + i];
        hs[i] = feat_hash_token(t, strlen(t));
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = feat_table_get(tab, hs[i]);
        if (!(id >= 0 && id < h->V) && !h->unk) continue;
        if (pos) pos[k] = i < head ? i : ntok - n + i;
        out[k++] = id >= 0 && id < h->V ? id : h->V;
    }
    int32_t base = h->V + h->unk;
    for (int o = 2; o <= h->ngrams; o++) {
        for (size_t i = 0; i + (size_t)o <= n; i++) {
            uint64_t g = hs[i];
            for (int j = 1; j < o; j++) g = feat_chain(g, hs[i + (size_t)j]);
            if (h->buckets) out[k++] = base + (int32_t)(g % (uint64_t)h->buckets);
            else {
                int32_t id = feat_table_get(tab, g);
                if (id >= base) out[k++] = id;
            }
        }
    }
    return k;
}

/* ---- models: build, write, load, predict ----------------------------------------- */

void nnmodel_declare(nnmodel *m)
{
    params_init(&m->p);
    m->arch->declare(&m->hy, &m->p);
}

int nnmodel_write(const nnmodel *m, modelio_writer *w, imdb_err *e)
{
    unsigned char hdr[4 * NNMODEL_HDR_WORDS];
    nnmodel_hyper_pack(&m->hy, hdr);
    if (modelio_add(w, "nn.hdr", hdr, sizeof hdr, e) < 0 ||
        modelio_add(w, "nn.w", m->w, m->p.total * sizeof(float), e) < 0 ||
        modelio_add(w, "nn.keys", m->tab.keys, m->tab.cap * 8, e) < 0 ||
        modelio_add(w, "nn.vals", m->tab.vals, m->tab.cap * 4, e) < 0 ||
        modelio_add(w, "nn.vocab", m->vtext, m->vlen, e) < 0)
        return -1;
    return 0;
}

void nnmodel_free(nnmodel *m)
{
    if (!m) return;
    if (m->inf) m->arch->infer_free(m->inf);
    if (m->tab.owned) feat_table_free(&m->tab);
    free(m->w_owned);
    free(m->vtext_owned);
    params_free(&m->p);
    free(m);
}

/* The tensor table's room, reserved at load so that declaring the tensors (params_add)
 * never has to grow it: loading reports out of memory instead of exiting. */
#define LOAD_TENSORS 32

nnmodel *nnmodel_load(const modelio *mf, const char *kind, imdb_err *e)
{
    const char *name = modelio_name(mf);
    size_t hs = 0, ws = 0, ks = 0, vs = 0, ts = 0;
    const void *hp = NULL, *wb = NULL, *kb = NULL, *vb = NULL, *tp = NULL;
    int found[5];
    if ((found[0] = modelio_find(mf, "nn.hdr", &hp, &hs, e)) < 0 || (found[1] = modelio_find(mf, "nn.w", &wb, &ws, e)) < 0 ||
        (found[2] = modelio_find(mf, "nn.keys", &kb, &ks, e)) < 0 || (found[3] = modelio_find(mf, "nn.vals", &vb, &vs, e)) < 0 ||
        (found[4] = modelio_find(mf, "nn.vocab", &tp, &ts, e)) < 0)
        return NULL;
    const unsigned char *hb = hp;
    const char *tb = tp;
    if (!found[0] || !found[1] || !found[2] || !found[3] || !found[4]) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: neural model lacks a section (nn.hdr, nn.w, nn.keys, nn.vals, nn.vocab)", name);
        return NULL;
    }
    nnmodel *m = calloc(1, sizeof *m);
    if (!m) {
        imdb_fail(e, IMDB_EXIT_NOMEM, "%s: out of memory loading the model", name);
        return NULL;
    }
    if (nnmodel_hyper_unpack(&m->hy, hb, hs, name, e) < 0) goto fail;
    m->arch = nnmodel_archs[m->hy.arch];
    if (strcmp(m->arch->kind, kind) != 0) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: the model is of kind %s but its header describes a %s", name, kind,
                  m->arch->kind);
        goto fail;
    }
    params_init(&m->p);
    if (!(m->p.t = malloc(LOAD_TENSORS * sizeof *m->p.t))) goto nomem;
    m->p.cap = LOAD_TENSORS;
    m->arch->declare(&m->hy, &m->p);
    if (ws != m->p.total * sizeof(float)) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: nn.w has %zu bytes, the header implies %zu", name, ws,
                  m->p.total * sizeof(float));
        goto fail;
    }
    m->w = wb;
    uint64_t cap = ks / 8;
    if (ks % 8 || cap == 0 || (cap & (cap - 1)) || vs != cap * 4) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: nn.keys/nn.vals do not form a hash table", name);
        goto fail;
    }
    const uint64_t *keys = kb;
    const int32_t *vals = vb;
    uint64_t used = 0;
    int32_t idmax = m->hy.V + m->hy.unk + m->hy.ngram_rows;
    for (uint64_t i = 0; i < cap; i++) {
        if (!keys[i]) continue;
        used++;
        if (vals[i] < 0 || vals[i] >= idmax || (vals[i] == m->hy.V && m->hy.unk)) {
            imdb_fail(e, IMDB_EXIT_DATA, "%s: the word table points outside the embedding", name);
            goto fail;
        }
    }
    if (used >= cap) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: the word table is full", name);
        goto fail;
    }
    m->tab = (feat_table){ .keys = (uint64_t *)keys, .vals = (int32_t *)vals, .cap = cap, .n = used, .owned = 0 };
    for (size_t i = 0; i < m->p.total; i++)
        if (!isfinite(m->w[i])) {
            imdb_fail(e, IMDB_EXIT_DATA, "%s: weight %zu is not finite", name, i);
            goto fail;
        }
    m->vtext = tb;
    m->vlen = ts;
    /* Callers predict documents in parallel (imdb-predict --threads, imdb-serve): BLAS
     * threads inside one document's products would only compete with them. Before
     * infer_new's product too: OpenBLAS's threaded gemm mallocs its job table and exits
     * when that fails (tests/load-nomem.sh), its one-thread path does not. */
    blas_set_threads(1);
    if (m->arch->infer_new && !(m->inf = m->arch->infer_new(&m->hy, &m->p, m->w))) goto nomem;
    return m;
nomem:
    imdb_fail(e, IMDB_EXIT_NOMEM, "%s: out of memory loading the model", name);
fail:
    nnmodel_free(m);
    return NULL;
}

static double sigmoid_d(double z) { return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z)); }

/* Scratch of one prediction: on the stack for documents of ordinary length. */
#define STACK_IDS 2048

static double prob_impl(const nnmodel *m, const char *const *toks, size_t ntok, int batched)
{
    uint64_t hs_s[STACK_IDS];
    int32_t ids_s[STACK_IDS];
    size_t cap = nnmodel_ids_cap(&m->hy), L = (size_t)m->hy.max_len;
    size_t need_h = ntok < L ? ntok : L, need_i = need_h * (size_t)m->hy.ngrams;
    uint64_t *hs = need_h <= STACK_IDS ? hs_s : malloc(need_h * sizeof *hs);
    int32_t *ids = need_i <= STACK_IDS ? ids_s : malloc(cap * sizeof *ids);
    double z = NAN;   /* out of memory: clf.h's convention */
    if (!hs || !ids) goto nomem;
    int n = (int)nnmodel_doc_ids(&m->hy, &m->tab, toks, ntok, hs, ids, NULL);
    if (!batched && m->arch->infer_logit)
        z = m->arch->infer_logit(&m->hy, &m->p, m->w, m->inf, ids, n);
    else {
        void *ws = m->arch->ws_new(&m->hy, 1, n > 0 ? n : 1);
        if (!ws) goto nomem;
        int32_t len = n;
        int64_t off[2] = { 0, n };
        float y = 0, logit;
        nnmodel_batch b = { .B = 1, .T = n, .ids = ids, .len = &len, .flat = ids, .off = off, .y = &y };
        m->arch->step(&m->hy, &m->p, m->w, ws, &b, 0, 0, &logit, NULL, NULL, 1.0);
        m->arch->ws_free(ws);
        z = logit;
    }
    if (0) {
nomem:
        errno = ENOMEM;
    }
    if (hs != hs_s) free(hs);
    if (ids != ids_s) free(ids);
    return sigmoid_d(z);
}

double nnmodel_prob(const nnmodel *m, const char *const *toks, size_t ntok)
{
    return prob_impl(m, toks, ntok, 0);
}

double nnmodel_prob_batched(const nnmodel *m, const char *const *toks, size_t ntok)
{
    return prob_impl(m, toks, ntok, 1);
}

size_t nnmodel_explain(const nnmodel *m, const char *const *toks, size_t ntok, clf_contrib *out, size_t k)
{
    if (!m->arch->explain) return 0;
    size_t cap = nnmodel_ids_cap(&m->hy), L = (size_t)m->hy.max_len, nh = ntok < L ? ntok : L;
    uint64_t *hs = malloc((nh ? nh : 1) * sizeof *hs);
    int32_t *ids = malloc(cap * sizeof *ids);
    size_t *pos = malloc(cap * sizeof *pos), nc = CLF_NOMEM;
    clf_contrib *all = NULL;
    void *ws = NULL;
    if (!hs || !ids || !pos) goto done;
    int n = (int)nnmodel_doc_ids(&m->hy, &m->tab, toks, ntok, hs, ids, pos);
    if (!(all = malloc((size_t)(n > 0 ? n : 1) * sizeof *all)) || !(ws = m->arch->ws_new(&m->hy, 1, n > 0 ? n : 1)))
        goto done;
    int32_t len = n;
    int64_t off[2] = { 0, n };
    float y = 0, logit;
    nnmodel_batch b = { .B = 1, .T = n, .ids = ids, .len = &len, .flat = ids, .off = off, .y = &y };
    m->arch->step(&m->hy, &m->p, m->w, ws, &b, 0, 0, &logit, NULL, NULL, 1.0);
    int R = m->arch->explain(&m->hy, &m->p, m->w, ws, n, all);
    nc = 0;
    for (int r = 0; r < R; r++) {      /* id positions -> token positions */
        if (all[r].weight == 0 || all[r].n <= 0) continue;
        size_t lo = pos[all[r].start], hi = pos[all[r].start + (size_t)all[r].n - 1];
        all[nc++] = (clf_contrib){ .start = lo, .n = (int)(hi - lo + 1), .weight = all[r].weight };
    }
    qsort(all, nc, sizeof *all, clf_contrib_cmp);
    if (k < nc) nc = k;
    memcpy(out, all, nc * sizeof *all);
done:
    if (ws) m->arch->ws_free(ws);
    free(all); free(pos); free(ids); free(hs);
    return nc;
}

/* ---- clf_ops --------------------------------------------------------------------- */

#define CLF_OPS(NAME, KIND, EXPLAIN) \
    static void *NAME##_load(const modelio *m, imdb_err *e) { return nnmodel_load(m, KIND, e); } \
    const clf_ops nnmodel_##NAME##_clf_ops = { \
        .kind = KIND, .load = NAME##_load, .free = clf_free_nn, .prob = clf_prob_nn, .explain = EXPLAIN };

static void clf_free_nn(void *s) { nnmodel_free(s); }
static double clf_prob_nn(const void *s, const char *const *toks, size_t ntok)
{
    return nnmodel_prob(s, toks, ntok);
}
static size_t clf_explain_nn(const void *s, const char *const *toks, size_t ntok, clf_contrib *out, size_t k)
{
    return nnmodel_explain(s, toks, ntok, out, k);
}
CLF_OPS(lstm, "lstm", NULL)
CLF_OPS(bilstm, "bilstm", NULL)
CLF_OPS(mlp, "mlp", NULL)
CLF_OPS(cnn, "cnn", NULL)
CLF_OPS(regcnn, "regcnn", clf_explain_nn)

void nnmodel_embed_forward(float *x, uint8_t *mask, const nnmodel_batch *b, const float *emb,
                           int E, int V, float p)
{
    size_t BT = (size_t)b->B * b->T, row = (size_t)b->T * E;
    layer_embed_forward(x, b->ids, emb, BT, E, V);
    if (p > 0)
        for (int i = 0; i < b->B; i++)
            layer_dropout_forward(x + i * row, mask + i * row, x + i * row, (size_t)b->len[i] * E, p, &b->drop[i]);
}

void nnmodel_embed_backward(float *demb, rowset *touched, const float *dx, float *scratch,
                            const uint8_t *mask, const nnmodel_batch *b, int E, int V, float p)
{
    size_t BT = (size_t)b->B * b->T, row = (size_t)b->T * E;
    if (p > 0) {
        memset(scratch, 0, BT * E * sizeof *scratch);
        for (int i = 0; i < b->B; i++)
            layer_dropout_backward(scratch + i * row, dx + i * row, mask + i * row, (size_t)b->len[i] * E, p);
        dx = scratch;
    }
    layer_embed_backward(demb, touched, dx, b->ids, BT, E, V);
}

double nnmodel_bce(float *dz, const float *logits, const nnmodel_batch *b, double norm)
{
    if (b->wt) return layer_bce_weighted_forward_backward(dz, logits, b->y, b->wt, b->B, norm);
    return layer_bce_forward_backward(dz, logits, b->y, b->B, norm);
}
