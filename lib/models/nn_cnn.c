/* nn_cnn.c — the convolutional kind of nnmodel.h (Kim 2014, "Convolutional Neural
 * Networks for Sentence Classification", CNN-rand): word embeddings, for each width k
 * `filters` convolutions over k consecutive words with ReLU, the maximum of each filter
 * over the document, dropout, the output unit. */
#include "nnmodel.h"
#include "layer_conv.h"
#include "layers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tensors: emb, then per width c<k>.w (F, k*E) and c<k>.b, then out.w, out.b. */
#define T_EMB 0
#define T_CW(i) (1 + 2 * (i))
#define T_CB(i) (2 + 2 * (i))
#define T_OW(h) (1 + 2 * (h)->nwidths)
#define T_OB(h) (2 + 2 * (h)->nwidths)

static int cnn_configure(nnmodel_hyper *hy, float *dropout, float *emb_dropout, conf *cfg, imdb_err *e)
{
    long F;
    double dr, edr;
    const char *widths;
    if (conf_long(cfg, "filters", 200, 1, 4096, &F, e) < 0 ||
        conf_double(cfg, "dropout", 0.5, 0, 0.95, &dr, e) < 0 ||
        conf_double(cfg, "emb_dropout", 0, 0, 0.95, &edr, e) < 0)
        return -1;
    conf_string(cfg, "widths", "3,4,5", &widths);
    hy->nwidths = 0;
    const char *s = widths;
    for (;;) {
        char *end;
        long k = strtol(s, &end, 10);
        if (end == s || k < 1 || k > 32 || hy->nwidths == NNMODEL_MAX_WIDTHS)
            return imdb_fail(e, IMDB_EXIT_USAGE,
                             "setting widths: '%s' is not a list of 1 to %d widths from 1 to 32 (e.g. 3,4,5)",
                             widths, NNMODEL_MAX_WIDTHS);
        hy->widths[hy->nwidths++] = (int)k;
        if (*end == '\0') break;
        if (*end != ',')
            return imdb_fail(e, IMDB_EXIT_USAGE, "setting widths: '%s': widths are separated by commas", widths);
        s = end + 1;
    }
    hy->F = (int)F;
    *dropout = (float)dr;
    *emb_dropout = (float)edr;
    return 0;
}

static void cnn_declare(const nnmodel_hyper *h, params *p)
{
    char name[PARAMS_NAME_MAX];
    params_add(p, "emb", nnmodel_rows(h), (size_t)h->E);
    for (int i = 0; i < h->nwidths; i++) {
        snprintf(name, sizeof name, "c%d.w", h->widths[i]);
        params_add(p, name, (size_t)h->F, (size_t)h->widths[i] * h->E);
        snprintf(name, sizeof name, "c%d.b", h->widths[i]);
        params_add(p, name, 1, (size_t)h->F);
    }
    params_add(p, "out.w", 1, (size_t)h->F * h->nwidths);
    params_add(p, "out.b", 1, 1);
}

static void cnn_init(const nnmodel_hyper *h, const params *p, float *w, rng *r)
{
    params_uniform(params_at(p, w, T_EMB), params_size(p, T_EMB), 0.05f, r);
    for (int i = 0; i < h->nwidths; i++)
        params_uniform(params_at(p, w, T_CW(i)), params_size(p, T_CW(i)),
                       params_glorot((size_t)h->widths[i] * h->E, (size_t)h->F), r);
    params_uniform(params_at(p, w, T_OW(h)), params_size(p, T_OW(h)), params_glorot((size_t)h->F * h->nwidths, 1), r);
}

typedef struct cnn_ws {
    float *x, *dx, *dx2, *scratch;            /* (B,T,E), conv scratch */
    uint8_t *xmask;
    float *cout[NNMODEL_MAX_WIDTHS], *dcout[NNMODEL_MAX_WIDTHS];   /* (B,T,F) */
    float *pooled, *dpooled;                  /* (B,F) */
    int32_t *argmax[NNMODEL_MAX_WIDTHS];      /* (B,F) */
    int32_t *npos[NNMODEL_MAX_WIDTHS];        /* (B) */
    float *feat, *dfeat, *dfeat2, *dz;        /* (B, nw*F) */
    uint8_t *fmask;
} cnn_ws;

static void cnn_ws_free(void *v);

static void *cnn_ws_new(const nnmodel_hyper *h, int max_b, int max_t)
{
    cnn_ws *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    size_t B = (size_t)max_b, BT = B * (size_t)max_t, E = (size_t)h->E, F = (size_t)h->F, NF = F * h->nwidths;
    int kmax = 1;
    for (int i = 0; i < h->nwidths; i++) kmax = h->widths[i] > kmax ? h->widths[i] : kmax;
    s->x = malloc(BT * E * sizeof(float));
    s->dx = malloc(BT * E * sizeof(float));
    s->dx2 = malloc(BT * E * sizeof(float));
    s->xmask = malloc(BT * E);
    s->scratch = malloc((conv1d_scratch_size(max_t, kmax, h->E) + 1) * sizeof(float));
    for (int i = 0; i < h->nwidths; i++) {
        s->cout[i] = malloc(BT * F * sizeof(float));
        s->dcout[i] = malloc(BT * F * sizeof(float));
        s->argmax[i] = malloc(B * F * sizeof(int32_t));
        s->npos[i] = malloc(B * sizeof(int32_t));
    }
    s->pooled = malloc(B * F * sizeof(float));
    s->dpooled = malloc(B * F * sizeof(float));
    s->feat = malloc(B * NF * sizeof(float));
    s->dfeat = malloc(B * NF * sizeof(float));
    s->dfeat2 = malloc(B * NF * sizeof(float));
    s->fmask = malloc(B * NF);
    s->dz = malloc(B * sizeof(float));
    int ok = s->x && s->dx && s->dx2 && s->xmask && s->scratch && s->pooled && s->dpooled && s->feat &&
             s->dfeat && s->dfeat2 && s->fmask && s->dz;
    for (int i = 0; i < h->nwidths; i++) ok = ok && s->cout[i] && s->dcout[i] && s->argmax[i] && s->npos[i];
    if (!ok) {
        cnn_ws_free(s);
        return NULL;
    }
    return s;
}

static void cnn_ws_free(void *v)
{
    cnn_ws *s = v;
    free(s->x); free(s->dx); free(s->dx2); free(s->xmask); free(s->scratch);
    for (int i = 0; i < NNMODEL_MAX_WIDTHS; i++) {
        free(s->cout[i]); free(s->dcout[i]); free(s->argmax[i]); free(s->npos[i]);
    }
    free(s->pooled); free(s->dpooled); free(s->feat); free(s->dfeat); free(s->dfeat2); free(s->fmask);
    free(s->dz);
    free(s);
}

static double cnn_step(const nnmodel_hyper *h, const params *p, const float *w, void *wsv,
                       const nnmodel_batch *b, float dropout, float emb_dropout,
                       float *logits, float *grad, rowset *touched, double norm)
{
    cnn_ws *s = wsv;
    int B = b->B, T = b->T, E = h->E, F = h->F, NW = h->nwidths, NF = F * NW, V = (int)nnmodel_rows(h);
    size_t BT = (size_t)B * T;
    int train = grad && b->drop;
    float dr = train ? dropout : 0.0f, edr = train ? emb_dropout : 0.0f;
    const float *emb = params_at(p, (float *)w, T_EMB);
    const float *ow = params_at(p, (float *)w, T_OW(h)), *ob = params_at(p, (float *)w, T_OB(h));

    nnmodel_embed_forward(s->x, s->xmask, b, emb, E, V, edr);
    for (int k = 0; k < NW; k++) {
        int K = h->widths[k];
        for (int i = 0; i < B; i++) s->npos[k][i] = conv1d_npos(b->len[i], K);
        conv1d_forward(s->cout[k], s->scratch, s->x, b->len, params_at(p, (float *)w, T_CW(k)),
                       params_at(p, (float *)w, T_CB(k)), B, T, E, K, F);
        layer_relu_forward(s->cout[k], s->cout[k], BT * F);
        layer_maxpool_forward(s->pooled, s->argmax[k], s->cout[k], s->npos[k], B, T, F);
        for (int i = 0; i < B; i++)
            memcpy(s->feat + (size_t)i * NF + (size_t)k * F, s->pooled + (size_t)i * F, (size_t)F * sizeof(float));
    }
    if (dr > 0)
        for (int i = 0; i < B; i++)
            layer_dropout_forward(s->feat + (size_t)i * NF, s->fmask + (size_t)i * NF, s->feat + (size_t)i * NF,
                            (size_t)NF, dr, &b->drop[i]);
    layer_dense_forward(logits, s->feat, ow, ob, B, NF, 1);
    if (!grad) return 0.0;

    memset(s->dz, 0, (size_t)B * sizeof *s->dz);
    double loss = nnmodel_bce(s->dz, logits, b, norm);
    memset(s->dfeat, 0, (size_t)B * NF * sizeof *s->dfeat);
    layer_dense_backward(s->dfeat, params_at(p, grad, T_OW(h)), params_at(p, grad, T_OB(h)), s->dz, s->feat, ow, B, NF, 1);
    float *dfeat = s->dfeat;
    if (dr > 0) {
        memset(s->dfeat2, 0, (size_t)B * NF * sizeof *s->dfeat2);
        layer_dropout_backward(s->dfeat2, s->dfeat, s->fmask, (size_t)B * NF, dr);
        dfeat = s->dfeat2;
    }
    memset(s->dx, 0, BT * E * sizeof *s->dx);
    for (int k = 0; k < NW; k++) {
        int K = h->widths[k];
        for (int i = 0; i < B; i++)
            memcpy(s->dpooled + (size_t)i * F, dfeat + (size_t)i * NF + (size_t)k * F, (size_t)F * sizeof(float));
        float *dc = s->dcout[k];
        memset(dc, 0, BT * F * sizeof *dc);
        layer_maxpool_backward(dc, s->dpooled, s->argmax[k], B, T, F);
        const float *y = s->cout[k];
        for (size_t i = 0; i < BT * F; i++)
            if (y[i] <= 0.0f) dc[i] = 0.0f;           /* ReLU */
        conv1d_backward(s->dx, params_at(p, grad, T_CW(k)), params_at(p, grad, T_CB(k)), s->scratch, dc, s->x,
                        b->len, params_at(p, (float *)w, T_CW(k)), B, T, E, K, F);
    }
    nnmodel_embed_backward(params_at(p, grad, T_EMB), touched, s->dx, s->dx2, s->xmask, b, E, V, edr);
    return loss;
}

const nnmodel_arch nnmodel_arch_cnn = {
    .kind = "cnn", .id = NNMODEL_CNN, .configure = cnn_configure, .declare = cnn_declare,
    .init = cnn_init, .ws_new = cnn_ws_new, .ws_free = cnn_ws_free, .step = cnn_step, .bag = 0,
};
