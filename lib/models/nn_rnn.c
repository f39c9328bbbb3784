/* nn_rnn.c — the recurrent kinds of nnmodel.h:
 *
 *   lstm:    embedding -> LSTM -> h at the last word (or the mean or max of h over
 *            time, pool) -> dropout -> dense 1
 *   bilstm:  embedding -> LSTM forward and LSTM over the reversed words -> the last
 *            (or mean/max) state of each, concatenated -> dense D, ReLU -> dropout
 *            -> dense 1 (Graves & Schmidhuber 2005; the Keras IMDB BiLSTM example)
 *
 * Training runs the batched layers of layer_lstm.h. Prediction of one review is a
 * different program: the input projection of a word does not depend on the position, so
 * at load time every vocabulary row is projected once (P = emb wx^T + bias, rows x 4H)
 * and a step is one table row plus the recurrent product wh h — a (4H,H) matrix-vector
 * product kept in registers block by block — and the cell. That loop is compiled twice,
 * for AVX2 with FMA and for the baseline x86-64/other targets, and chosen at load. */
#include "nnmodel.h"
#include "blas.h"
#include "layer_lstm.h"
#include "layers.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int nn_bi(const nnmodel_hyper *h) { return h->arch == NNMODEL_BILSTM; }

static int rnn_configure(nnmodel_hyper *hy, float *dropout, float *emb_dropout, conf *cfg, imdb_err *e)
{
    int bi = nn_bi(hy);
    long H, D = 0;
    double dr, edr;
    const char *pool;
    if (conf_long(cfg, "hidden", 64, 1, 4096, &H, e) < 0 ||
        (bi && conf_long(cfg, "dense", 64, 1, 4096, &D, e) < 0) ||
        conf_double(cfg, "dropout", 0.5, 0, 0.95, &dr, e) < 0 ||
        conf_double(cfg, "emb_dropout", bi ? 0.2 : 0, 0, 0.95, &edr, e) < 0)
        return -1;
    conf_string(cfg, "pool", "max", &pool);
    hy->pool = nnmodel_pool_parse(pool);
    if (hy->pool < 0) return imdb_fail(e, IMDB_EXIT_USAGE, "setting pool: '%s' is not last, mean or max", pool);
    hy->H = (int)H;
    hy->D = (int)D;
    *dropout = (float)dr;
    *emb_dropout = (float)edr;
    return 0;
}

/* Tensor indices, in declaration order. */
enum { T_EMB, T_FWX, T_FWH, T_FB, T_BWX, T_BWH, T_BB, T_DW, T_DB, T_OW, T_OB };
enum { L_EMB, L_WX, L_WH, L_B, L_OW, L_OB };

static void rnn_declare(const nnmodel_hyper *h, params *p)
{
    size_t G = 4 * (size_t)h->H;
    params_add(p, "emb", nnmodel_rows(h), (size_t)h->E);
    params_add(p, "f.wx", G, (size_t)h->E);
    params_add(p, "f.wh", G, (size_t)h->H);
    params_add(p, "f.b", 1, G);
    if (nn_bi(h)) {
        params_add(p, "b.wx", G, (size_t)h->E);
        params_add(p, "b.wh", G, (size_t)h->H);
        params_add(p, "b.b", 1, G);
        params_add(p, "d.w", (size_t)h->D, 2 * (size_t)h->H);
        params_add(p, "d.b", 1, (size_t)h->D);
        params_add(p, "out.w", 1, (size_t)h->D);
    } else {
        params_add(p, "out.w", 1, (size_t)h->H);
    }
    params_add(p, "out.b", 1, 1);
}

static void rnn_init(const nnmodel_hyper *h, const params *p, float *w, rng *r)
{
    params_uniform(params_at(p, w, 0), params_size(p, 0), 0.05f, r);
    lstm_init(params_at(p, w, 1), params_at(p, w, 2), params_at(p, w, 3), h->E, h->H, r);
    int k = 4;
    if (nn_bi(h)) {
        lstm_init(params_at(p, w, 4), params_at(p, w, 5), params_at(p, w, 6), h->E, h->H, r);
        params_uniform(params_at(p, w, 7), params_size(p, 7), params_glorot(2 * (size_t)h->H, (size_t)h->D), r);
        k = 9;
    }
    params_uniform(params_at(p, w, k), params_size(p, k), params_glorot(p->t[k].cols, 1), r);
}

/* ---- training: the batched layers ------------------------------------------------------ */

typedef struct rnn_ws {
    int max_b, max_t;
    lstm_cache kf, kb;
    float *x, *xr, *dx, *dx2, *dxr;            /* (B,T,E) */
    uint8_t *xmask;                              /* (B,T,E) */
    float *hl[2], *pooled[2], *dpool[2];        /* (B,H) */
    int32_t *argmax[2];                          /* (B,H) */
    float *dhs[2];                               /* (B,T,H) */
    float *feat, *dfeat, *dfeat2;               /* (B,2H) */
    uint8_t *fmask;                              /* (B, max(2H, D)) */
    float *hid, *dhid, *dhid2, *dpre;           /* (B,D) */
    float *dz;                                   /* (B) */
} rnn_ws;

static void *rnn_ws_new(const nnmodel_hyper *h, int max_b, int max_t)
{
    rnn_ws *s = imdb_xcalloc(1, sizeof *s);
    size_t B = (size_t)max_b, BT = B * (size_t)max_t, E = (size_t)h->E, H = (size_t)h->H;
    size_t D = (size_t)h->D, F = 2 * H > D ? 2 * H : D;
    int bi = nn_bi(h);
    s->max_b = max_b;
    s->max_t = max_t;
    lstm_cache_init(&s->kf, max_b, max_t, h->H);
    if (bi) lstm_cache_init(&s->kb, max_b, max_t, h->H);
    s->x = imdb_xmalloc(BT * E * sizeof(float));
    s->dx = imdb_xmalloc(BT * E * sizeof(float));
    s->dx2 = imdb_xmalloc(BT * E * sizeof(float));
    s->xmask = imdb_xmalloc(BT * E);
    if (bi) {
        s->xr = imdb_xmalloc(BT * E * sizeof(float));
        s->dxr = imdb_xmalloc(BT * E * sizeof(float));
    }
    for (int d = 0; d < 1 + bi; d++) {
        s->hl[d] = imdb_xmalloc(B * H * sizeof(float));
        s->pooled[d] = imdb_xmalloc(B * H * sizeof(float));
        s->dpool[d] = imdb_xmalloc(B * H * sizeof(float));
        s->argmax[d] = imdb_xmalloc(B * H * sizeof(int32_t));
        s->dhs[d] = imdb_xmalloc(BT * H * sizeof(float));
    }
    s->feat = imdb_xmalloc(B * F * sizeof(float));
    s->dfeat = imdb_xmalloc(B * F * sizeof(float));
    s->dfeat2 = imdb_xmalloc(B * F * sizeof(float));
    s->fmask = imdb_xmalloc(B * F);
    if (bi) {
        s->hid = imdb_xmalloc(B * D * sizeof(float));
        s->dhid = imdb_xmalloc(B * D * sizeof(float));
        s->dhid2 = imdb_xmalloc(B * D * sizeof(float));
        s->dpre = imdb_xmalloc(B * D * sizeof(float));
    }
    s->dz = imdb_xmalloc(B * sizeof(float));
    return s;
}

static void rnn_ws_free(void *v)
{
    rnn_ws *s = v;
    lstm_cache_free(&s->kf);
    if (s->kb.block) lstm_cache_free(&s->kb);
    free(s->x); free(s->xr); free(s->dx); free(s->dx2); free(s->dxr); free(s->xmask);
    for (int d = 0; d < 2; d++) {
        free(s->hl[d]); free(s->pooled[d]); free(s->dpool[d]); free(s->argmax[d]); free(s->dhs[d]);
    }
    free(s->feat); free(s->dfeat); free(s->dfeat2); free(s->fmask);
    free(s->hid); free(s->dhid); free(s->dhid2); free(s->dpre); free(s->dz);
    free(s);
}

/* Pool one direction's states k->h (B,T,H) into out (B,H). */
static void pool_forward(const nnmodel_hyper *h, lstm_cache *k, const float *hl, float *out, int32_t *argmax,
                         const int32_t *len, int B, int T)
{
    if (h->pool == NNMODEL_POOL_LAST) memcpy(out, hl, (size_t)B * h->H * sizeof *out);
    else if (h->pool == NNMODEL_POOL_MEAN) layer_meanpool_forward(out, k->h, len, B, T, h->H);
    else layer_maxpool_forward(out, argmax, k->h, len, B, T, h->H);
}

/* The backward of pool_forward: dhs (B,T,H) (zeroed here) for mean/max, or dhlast. */
static void pool_backward(const nnmodel_hyper *h, const float *dout, const int32_t *argmax, const int32_t *len,
                          int B, int T, float *dhs, const float **dhs_out, const float **dhl_out)
{
    if (h->pool == NNMODEL_POOL_LAST) { *dhs_out = NULL; *dhl_out = dout; return; }
    memset(dhs, 0, (size_t)B * T * h->H * sizeof *dhs);
    if (h->pool == NNMODEL_POOL_MEAN) layer_meanpool_backward(dhs, dout, len, B, T, h->H);
    else layer_maxpool_backward(dhs, dout, argmax, B, T, h->H);
    *dhs_out = dhs;
    *dhl_out = NULL;
}

static double rnn_step(const nnmodel_hyper *h, const params *p, const float *w, void *wsv,
                       const nnmodel_batch *b, float dropout, float emb_dropout,
                       float *logits, float *grad, rowset *touched, double norm)
{
    rnn_ws *s = wsv;
    int B = b->B, T = b->T, E = h->E, H = h->H, D = h->D, bi = nn_bi(h), V = (int)nnmodel_rows(h);
    size_t BT = (size_t)B * T;
    const float *emb = params_at(p, (float *)w, T_EMB);
    const float *fwx = params_at(p, (float *)w, T_FWX), *fwh = params_at(p, (float *)w, T_FWH);
    const float *fb = params_at(p, (float *)w, T_FB);
    int iow = bi ? T_OW : L_OW, iob = bi ? T_OB : L_OB;
    const float *ow = params_at(p, (float *)w, iow), *ob = params_at(p, (float *)w, iob);
    int train = grad != NULL && b->drop != NULL;
    float edr = train ? emb_dropout : 0.0f, dr = train ? dropout : 0.0f;

    nnmodel_embed_forward(s->x, s->xmask, b, emb, E, V, edr);
    lstm_forward(&s->kf, s->hl[0], s->x, b->len, fwx, fwh, fb, B, T, E, H);
    pool_forward(h, &s->kf, s->hl[0], s->pooled[0], s->argmax[0], b->len, B, T);
    int FD = bi ? 2 * H : H;                 /* features before the dense layers */
    const float *bwx = NULL, *bwh = NULL, *bb = NULL, *dw = NULL, *db = NULL;
    if (bi) {
        bwx = params_at(p, (float *)w, T_BWX);
        bwh = params_at(p, (float *)w, T_BWH);
        bb = params_at(p, (float *)w, T_BB);
        dw = params_at(p, (float *)w, T_DW);
        db = params_at(p, (float *)w, T_DB);
        layer_seq_reverse_forward(s->xr, s->x, b->len, B, T, E);
        lstm_forward(&s->kb, s->hl[1], s->xr, b->len, bwx, bwh, bb, B, T, E, H);
        pool_forward(h, &s->kb, s->hl[1], s->pooled[1], s->argmax[1], b->len, B, T);
        layer_concat_forward(s->feat, s->pooled[0], s->pooled[1], (size_t)B, H, H);
        layer_dense_forward(s->hid, s->feat, dw, db, B, FD, D);
        layer_relu_forward(s->hid, s->hid, (size_t)B * D);
    } else {
        memcpy(s->feat, s->pooled[0], (size_t)B * H * sizeof *s->feat);
    }
    float *top = bi ? s->hid : s->feat;      /* the input of the output layer */
    int TD = bi ? D : H;
    if (dr > 0)
        for (int i = 0; i < B; i++)
            layer_dropout_forward(top + (size_t)i * TD, s->fmask + (size_t)i * TD, top + (size_t)i * TD, (size_t)TD,
                            dr, &b->drop[i]);
    layer_dense_forward(logits, top, ow, ob, B, TD, 1);
    if (!grad) return 0.0;

    /* Backward. */
    memset(s->dz, 0, (size_t)B * sizeof *s->dz);
    double loss = nnmodel_bce(s->dz, logits, b, norm);
    float *gow = params_at(p, grad, iow), *gob = params_at(p, grad, iob);
    float *dtop = bi ? s->dhid : s->dfeat, *dtop2 = bi ? s->dhid2 : s->dfeat2;
    memset(dtop, 0, (size_t)B * TD * sizeof *dtop);
    layer_dense_backward(dtop, gow, gob, s->dz, top, ow, B, TD, 1);
    if (dr > 0) {
        memset(dtop2, 0, (size_t)B * TD * sizeof *dtop2);
        layer_dropout_backward(dtop2, dtop, s->fmask, (size_t)B * TD, dr);
        dtop = dtop2;
    }
    const float *dfeat = dtop;
    if (bi) {
        memset(s->dpre, 0, (size_t)B * D * sizeof *s->dpre);
        layer_relu_backward(s->dpre, dtop, s->hid, (size_t)B * D);
        memset(s->dfeat, 0, (size_t)B * FD * sizeof *s->dfeat);
        layer_dense_backward(s->dfeat, params_at(p, grad, T_DW), params_at(p, grad, T_DB), s->dpre, s->feat, dw, B, FD, D);
        memset(s->dpool[0], 0, (size_t)B * H * sizeof(float));
        memset(s->dpool[1], 0, (size_t)B * H * sizeof(float));
        layer_concat_backward(s->dpool[0], s->dpool[1], s->dfeat, (size_t)B, H, H);
    } else {
        memcpy(s->dpool[0], dfeat, (size_t)B * H * sizeof(float));
    }
    const float *dhs, *dhl;
    memset(s->dx, 0, BT * E * sizeof *s->dx);
    pool_backward(h, s->dpool[0], s->argmax[0], b->len, B, T, s->dhs[0], &dhs, &dhl);
    lstm_backward(s->dx, params_at(p, grad, T_FWX), params_at(p, grad, T_FWH), params_at(p, grad, T_FB), &s->kf,
                  dhs, dhl, s->x, b->len, fwx, fwh, B, T, E, H);
    if (bi) {
        memset(s->dxr, 0, BT * E * sizeof *s->dxr);
        pool_backward(h, s->dpool[1], s->argmax[1], b->len, B, T, s->dhs[1], &dhs, &dhl);
        lstm_backward(s->dxr, params_at(p, grad, T_BWX), params_at(p, grad, T_BWH), params_at(p, grad, T_BB),
                      &s->kb, dhs, dhl, s->xr, b->len, bwx, bwh, B, T, E, H);
        layer_seq_reverse_backward(s->dx, s->dxr, b->len, B, T, E);
    }
    nnmodel_embed_backward(params_at(p, grad, T_EMB), touched, s->dx, s->dx2, s->xmask, b, E, V, edr);
    return loss;
}

/* ---- prediction of one document ----------------------------------------------------------- */

typedef struct rnn_infer {
    int dirs;
    float *P[2];       /* (rows, 4H): emb wx^T + bias of every vocabulary row */
    float *whT[2];     /* (H, 4H): wh transposed */
    int avx2;
} rnn_infer;

static void rnn_infer_free(void *v)
{
    rnn_infer *f = v;
    for (int d = 0; d < 2; d++) { free(f->P[d]); free(f->whT[d]); }
    free(f);
}

static void *rnn_infer_new(const nnmodel_hyper *h, const params *p, const float *w)
{
    rnn_infer *f = calloc(1, sizeof *f);   /* loading a model never exits: NULL */
    if (!f) return NULL;
    size_t rows = nnmodel_rows(h), H = (size_t)h->H, G = 4 * H;
    f->dirs = nn_bi(h) ? 2 : 1;
    for (int d = 0; d < f->dirs; d++) {
        const float *wx = params_at(p, (float *)w, d ? T_BWX : T_FWX);
        const float *wh = params_at(p, (float *)w, d ? T_BWH : T_FWH);
        const float *bias = params_at(p, (float *)w, d ? T_BB : T_FB);
        f->P[d] = malloc(rows * G * sizeof(float));
        f->whT[d] = malloc(H * G * sizeof(float));
        if (!f->P[d] || !f->whT[d]) {
            rnn_infer_free(f);
            return NULL;
        }
        for (size_t r = 0; r < rows; r++) memcpy(f->P[d] + r * G, bias, G * sizeof(float));
        blas_sgemm(BLAS_N, BLAS_T, (int)rows, (int)G, h->E, 1.0f, params_at(p, (float *)w, T_EMB), h->E,
                   wx, h->E, 1.0f, f->P[d], (int)G);
        for (size_t g = 0; g < G; g++)
            for (size_t j = 0; j < H; j++) f->whT[d][j * G + g] = wh[g * H + j];
    }
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    f->avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return f;
}

#if defined(__GNUC__)
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
#define V8_LOAD(p) ({ v8f v_; memcpy(&v_, (p), sizeof v_); v_; })
#define V8_STORE(p, v) do { v8f s_ = (v); memcpy((p), &s_, sizeof s_); } while (0)
#define V8_SEL(m, a, b) ((v8f)(((m) & (v8i)(a)) | (~(m) & (v8i)(b))))
/* exp(x) for x <= 0: the Cephes scheme of layer_lstm.c, 8 lanes. */
#define V8_EXPNEG(x0) ({ \
    v8f x_ = (x0); \
    x_ = V8_SEL(x_ < -87.0f, (v8f){} - 87.0f, x_); \
    v8f n_ = x_ * 1.44269504088896341f + 12582912.0f; \
    n_ -= 12582912.0f; \
    x_ = x_ - n_ * 0.693359375f + n_ * 2.12194440e-4f; \
    v8f z_ = x_ * x_, y_ = (v8f){} + 1.9875691500e-4f; \
    y_ = y_ * x_ + 1.3981999507e-3f; y_ = y_ * x_ + 8.3334519073e-3f; \
    y_ = y_ * x_ + 4.1665795894e-2f; y_ = y_ * x_ + 1.6666665459e-1f; \
    y_ = y_ * x_ + 5.0000001201e-1f; y_ = y_ * z_ + x_ + 1.0f; \
    v8i e_ = (__builtin_convertvector(n_, v8i) + 127) << 23; \
    y_ * (v8f)e_; })
#define V8_ABS(x) ((v8f)((v8i)(x) & 0x7fffffff))
#define V8_SIGMOID(x0) ({ v8f xs_ = (x0); v8f es_ = V8_EXPNEG(-V8_ABS(xs_)); v8f rs_ = 1.0f / (1.0f + es_); \
    V8_SEL(xs_ >= 0.0f, rs_, es_ * rs_); })
#define V8_TANH(x0) ({ v8f xt_ = (x0); v8f et_ = V8_EXPNEG(-2.0f * V8_ABS(xt_)); \
    v8f tt_ = (1.0f - et_) / (1.0f + et_); (v8f)((v8i)tt_ | ((v8i)xt_ & (int32_t)0x80000000u)); })
#endif

/* g (G) = pr + whT^T h: the step's gate pre-activations, whT (H,G). */
typedef void matvec_fn(float *restrict g, const float *restrict pr, const float *restrict whT,
                       const float *restrict h, int H, size_t G);

static void matvec_base(float *restrict g, const float *restrict pr, const float *restrict whT,
                        const float *restrict h, int H, size_t G)
{
    size_t q = 0;
#if defined(__GNUC__)
    for (; q + 32 <= G; q += 32) {       /* 32 outputs at a time in registers */
        v8f a0 = V8_LOAD(pr + q), a1 = V8_LOAD(pr + q + 8), a2 = V8_LOAD(pr + q + 16), a3 = V8_LOAD(pr + q + 24);
        for (int j = 0; j < H; j++) {
            const float *wr = whT + (size_t)j * G + q;
            float hj = h[j];
            a0 += hj * V8_LOAD(wr); a1 += hj * V8_LOAD(wr + 8);
            a2 += hj * V8_LOAD(wr + 16); a3 += hj * V8_LOAD(wr + 24);
        }
        V8_STORE(g + q, a0); V8_STORE(g + q + 8, a1); V8_STORE(g + q + 16, a2); V8_STORE(g + q + 24, a3);
    }
#endif
    for (; q < G; q++) {
        float a = pr[q];
        for (int j = 0; j < H; j++) a += h[j] * whT[(size_t)j * G + q];
        g[q] = a;
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* The same with fused multiply-adds, 64 outputs in 8 registers: twice the throughput of
 * separate multiplies and adds, which is what bounds this loop. (Rounding differs from
 * matvec_base in the last bits; a machine always takes the same path.) */
__attribute__((target("avx2,fma")))
static void matvec_fma(float *restrict g, const float *restrict pr, const float *restrict whT,
                       const float *restrict h, int H, size_t G)
{
    size_t q = 0;
    for (; q + 64 <= G; q += 64) {
        __m256 a0 = _mm256_loadu_ps(pr + q), a1 = _mm256_loadu_ps(pr + q + 8);
        __m256 a2 = _mm256_loadu_ps(pr + q + 16), a3 = _mm256_loadu_ps(pr + q + 24);
        __m256 a4 = _mm256_loadu_ps(pr + q + 32), a5 = _mm256_loadu_ps(pr + q + 40);
        __m256 a6 = _mm256_loadu_ps(pr + q + 48), a7 = _mm256_loadu_ps(pr + q + 56);
        for (int j = 0; j < H; j++) {
            const float *w = whT + (size_t)j * G + q;
            __m256 hj = _mm256_broadcast_ss(h + j);
            a0 = _mm256_fmadd_ps(hj, _mm256_loadu_ps(w), a0);
            a1 = _mm256_fmadd_ps(hj, _mm256_loadu_ps(w + 8), a1);
            a2 = _mm256_fmadd_ps(hj, _mm256_loadu_ps(w + 16), a2);
            a3 = _mm256_fmadd_ps(hj, _mm256_loadu_ps(w + 24), a3);
            a4 = _mm256_fmadd_ps(hj, _mm256_loadu_ps(w + 32), a4);
            a5 = _mm256_fmadd_ps(hj, _mm256_loadu_ps(w + 40), a5);
            a6 = _mm256_fmadd_ps(hj, _mm256_loadu_ps(w + 48), a6);
            a7 = _mm256_fmadd_ps(hj, _mm256_loadu_ps(w + 56), a7);
        }
        _mm256_storeu_ps(g + q, a0); _mm256_storeu_ps(g + q + 8, a1);
        _mm256_storeu_ps(g + q + 16, a2); _mm256_storeu_ps(g + q + 24, a3);
        _mm256_storeu_ps(g + q + 32, a4); _mm256_storeu_ps(g + q + 40, a5);
        _mm256_storeu_ps(g + q + 48, a6); _mm256_storeu_ps(g + q + 56, a7);
    }
    for (; q + 8 <= G; q += 8) {
        __m256 a = _mm256_loadu_ps(pr + q);
        for (int j = 0; j < H; j++)
            a = _mm256_fmadd_ps(_mm256_broadcast_ss(h + j), _mm256_loadu_ps(whT + (size_t)j * G + q), a);
        _mm256_storeu_ps(g + q, a);
    }
    for (; q < G; q++) {
        float a = pr[q];
        for (int j = 0; j < H; j++) a += h[j] * whT[(size_t)j * G + q];
        g[q] = a;
    }
}
#endif

/* One direction over ids[0..n) (backwards if rev), pooled into feat (H). g (4H), h, c
 * (H) scratch. The cell runs 8 units at a time when H % 8 == 0, else scalar. */
static inline __attribute__((always_inline)) void
run_body(matvec_fn *mv, const float *restrict P, const float *restrict whT, int H, const int32_t *ids, int n,
         int rev, int pool, float *restrict feat, float *restrict g, float *restrict h, float *restrict c)
{
    size_t G = 4 * (size_t)H;
    memset(h, 0, (size_t)H * sizeof *h);
    memset(c, 0, (size_t)H * sizeof *c);
    if (pool == NNMODEL_POOL_MAX) for (int j = 0; j < H; j++) feat[j] = -INFINITY;
    else memset(feat, 0, (size_t)H * sizeof *feat);
    for (int s = 0; s < n; s++) {
        const float *pr = P + (size_t)ids[rev ? n - 1 - s : s] * G;
        if (s > 0) mv(g, pr, whT, h, H, G);
        else memcpy(g, pr, G * sizeof *g);          /* h_{-1} = 0 */
#if defined(__GNUC__)
        if (H % 8 == 0) {
            for (int j = 0; j < H; j += 8) {
                v8f i = V8_SIGMOID(V8_LOAD(g + j)), f = V8_SIGMOID(V8_LOAD(g + H + j));
                v8f gg = V8_TANH(V8_LOAD(g + 2 * H + j)), o = V8_SIGMOID(V8_LOAD(g + 3 * H + j));
                v8f cv = f * V8_LOAD(c + j) + i * gg;
                v8f hv = o * V8_TANH(cv);
                V8_STORE(c + j, cv);
                V8_STORE(h + j, hv);
            }
        } else
#endif
        {
            for (int j = 0; j < H; j++) {
                float i = layer_sigmoidf(g[j]), f = layer_sigmoidf(g[H + j]), gg = layer_tanhf(g[2 * H + j]);
                float o = layer_sigmoidf(g[3 * H + j]);
                c[j] = f * c[j] + i * gg;
                h[j] = o * layer_tanhf(c[j]);
            }
        }
        if (pool == NNMODEL_POOL_MEAN) for (int j = 0; j < H; j++) feat[j] += h[j];
        else if (pool == NNMODEL_POOL_MAX) for (int j = 0; j < H; j++) feat[j] = h[j] > feat[j] ? h[j] : feat[j];
    }
    if (n == 0) memset(feat, 0, (size_t)H * sizeof *feat);
    else if (pool == NNMODEL_POOL_LAST) memcpy(feat, h, (size_t)H * sizeof *feat);
    else if (pool == NNMODEL_POOL_MEAN) for (int j = 0; j < H; j++) feat[j] /= (float)n;
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,fma")))
static void run_avx2(const float *P, const float *whT, int H, const int32_t *ids, int n, int rev, int pool,
                     float *feat, float *g, float *h, float *c)
{ run_body(matvec_fma, P, whT, H, ids, n, rev, pool, feat, g, h, c); }
#endif

static void run_base(const float *P, const float *whT, int H, const int32_t *ids, int n, int rev, int pool,
                     float *feat, float *g, float *h, float *c)
{ run_body(matvec_base, P, whT, H, ids, n, rev, pool, feat, g, h, c); }

static double rnn_infer_logit(const nnmodel_hyper *hy, const params *p, const float *w, const void *inf,
                              const int32_t *ids, int n)
{
    const rnn_infer *f = inf;
    int H = hy->H;
    float stack[4096], *buf = stack;
    size_t need = 8 * (size_t)H + (size_t)hy->D;
    if (need > sizeof stack / sizeof *stack && !(buf = malloc(need * sizeof *buf))) {
        errno = ENOMEM;   /* clf.h's convention for out of memory */
        return NAN;
    }
    float *feat = buf, *g = buf + 2 * H, *h = g + 4 * H, *c = h + H, *hid = c + H;
    for (int d = 0; d < f->dirs; d++) {
#if defined(__x86_64__) && defined(__GNUC__)
        if (f->avx2) run_avx2(f->P[d], f->whT[d], H, ids, n, d, hy->pool, feat + (size_t)d * H, g, h, c);
        else
#endif
            run_base(f->P[d], f->whT[d], H, ids, n, d, hy->pool, feat + (size_t)d * H, g, h, c);
    }
    const float *top = feat;
    int TD = H;
    if (f->dirs == 2) {
        const float *dw = params_at(p, (float *)w, T_DW), *db = params_at(p, (float *)w, T_DB);
        for (int k = 0; k < hy->D; k++) {
            float z = db[k];
            const float *r = dw + (size_t)k * 2 * H;
            for (int j = 0; j < 2 * H; j++) z += r[j] * feat[j];
            hid[k] = z > 0 ? z : 0;
        }
        top = hid;
        TD = hy->D;
    }
    const float *ow = params_at(p, (float *)w, f->dirs == 2 ? T_OW : L_OW);
    const float *ob = params_at(p, (float *)w, f->dirs == 2 ? T_OB : L_OB);
    double z = ob[0];
    for (int j = 0; j < TD; j++) z += (double)ow[j] * top[j];
    if (buf != stack) free(buf);
    return z;
}

const nnmodel_arch nnmodel_arch_lstm = {
    .kind = "lstm", .id = NNMODEL_LSTM, .configure = rnn_configure, .declare = rnn_declare,
    .init = rnn_init, .ws_new = rnn_ws_new, .ws_free = rnn_ws_free, .step = rnn_step, .bag = 0,
    .infer_new = rnn_infer_new, .infer_free = rnn_infer_free, .infer_logit = rnn_infer_logit,
};

const nnmodel_arch nnmodel_arch_bilstm = {
    .kind = "bilstm", .id = NNMODEL_BILSTM, .configure = rnn_configure, .declare = rnn_declare,
    .init = rnn_init, .ws_new = rnn_ws_new, .ws_free = rnn_ws_free, .step = rnn_step, .bag = 0,
    .infer_new = rnn_infer_new, .infer_free = rnn_infer_free, .infer_logit = rnn_infer_logit,
};
