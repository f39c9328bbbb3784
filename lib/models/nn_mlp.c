/* nn_mlp.c — the fastText-like kind of nnmodel.h (Joulin et al. 2017, "Bag of Tricks for
 * Efficient Text Classification"): a document is the mean of the embeddings of its words
 * and of its n-grams (vocabulary n-grams, or n-grams hashed into buckets rows), followed
 * by dropout, one dense ReLU layer and the output unit. The embedding table is large and
 * sparse: a batch touches a few thousand rows, and the trainer updates only those. */
#include "nnmodel.h"
#include "layers.h"

#include <stdlib.h>
#include <string.h>

enum { T_EMB, T_DW, T_DB, T_OW, T_OB };

static int mlp_configure(nnmodel_hyper *hy, float *dropout, float *emb_dropout, conf *cfg, imdb_err *e)
{
    long D, ng, buckets;
    double dr;
    if (conf_long(cfg, "dense", 16, 1, 4096, &D, e) < 0 ||
        conf_long(cfg, "ngrams", 2, 1, 4, &ng, e) < 0 ||
        conf_long(cfg, "buckets", 0, 0, 1L << 26, &buckets, e) < 0 ||
        conf_double(cfg, "dropout", 0.0, 0, 0.95, &dr, e) < 0)
        return -1;
    hy->D = (int)D;
    hy->ngrams = (int)ng;
    hy->buckets = ng > 1 ? (int)buckets : 0;
    *dropout = (float)dr;
    *emb_dropout = 0;
    return 0;
}

static void mlp_declare(const nnmodel_hyper *h, params *p)
{
    params_add(p, "emb", nnmodel_rows(h), (size_t)h->E);
    params_add(p, "d.w", (size_t)h->D, (size_t)h->E);
    params_add(p, "d.b", 1, (size_t)h->D);
    params_add(p, "out.w", 1, (size_t)h->D);
    params_add(p, "out.b", 1, 1);
}

static void mlp_init(const nnmodel_hyper *h, const params *p, float *w, rng *r)
{
    /* fastText's U(-1/dim, 1/dim) for the input vectors. */
    params_uniform(params_at(p, w, T_EMB), params_size(p, T_EMB), 1.0f / (float)h->E, r);
    params_uniform(params_at(p, w, T_DW), params_size(p, T_DW), params_glorot((size_t)h->E, (size_t)h->D), r);
    params_uniform(params_at(p, w, T_OW), params_size(p, T_OW), params_glorot((size_t)h->D, 1), r);
}

typedef struct mlp_ws {
    float *bag, *dbag, *dbag2, *hid, *dhid, *dpre, *dz;
    uint8_t *mask;
} mlp_ws;

static void mlp_ws_free(void *v);

static void *mlp_ws_new(const nnmodel_hyper *h, int max_b, int max_t)
{
    (void)max_t;
    mlp_ws *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    size_t B = (size_t)max_b, E = (size_t)h->E, D = (size_t)h->D;
    s->bag = malloc(B * E * sizeof(float));
    s->dbag = malloc(B * E * sizeof(float));
    s->dbag2 = malloc(B * E * sizeof(float));
    s->mask = malloc(B * E);
    s->hid = malloc(B * D * sizeof(float));
    s->dhid = malloc(B * D * sizeof(float));
    s->dpre = malloc(B * D * sizeof(float));
    s->dz = malloc(B * sizeof(float));
    if (!s->bag || !s->dbag || !s->dbag2 || !s->mask || !s->hid || !s->dhid || !s->dpre || !s->dz) {
        mlp_ws_free(s);
        return NULL;
    }
    return s;
}

static void mlp_ws_free(void *v)
{
    mlp_ws *s = v;
    free(s->bag); free(s->dbag); free(s->dbag2); free(s->mask);
    free(s->hid); free(s->dhid); free(s->dpre); free(s->dz);
    free(s);
}

static double mlp_step(const nnmodel_hyper *h, const params *p, const float *w, void *wsv,
                       const nnmodel_batch *b, float dropout, float emb_dropout,
                       float *logits, float *grad, rowset *touched, double norm)
{
    (void)emb_dropout;
    mlp_ws *s = wsv;
    int B = b->B, E = h->E, D = h->D, V = (int)nnmodel_rows(h);
    float dr = grad && b->drop ? dropout : 0.0f;
    const float *emb = params_at(p, (float *)w, T_EMB), *dw = params_at(p, (float *)w, T_DW);
    const float *db = params_at(p, (float *)w, T_DB), *ow = params_at(p, (float *)w, T_OW);
    const float *ob = params_at(p, (float *)w, T_OB);
    layer_embbag_forward(s->bag, b->flat, b->off, B, emb, E, V);
    if (dr > 0)
        for (int i = 0; i < B; i++)
            layer_dropout_forward(s->bag + (size_t)i * E, s->mask + (size_t)i * E, s->bag + (size_t)i * E, (size_t)E, dr,
                            &b->drop[i]);
    layer_dense_forward(s->hid, s->bag, dw, db, B, E, D);
    layer_relu_forward(s->hid, s->hid, (size_t)B * D);
    layer_dense_forward(logits, s->hid, ow, ob, B, D, 1);
    if (!grad) return 0.0;

    memset(s->dz, 0, (size_t)B * sizeof *s->dz);
    double loss = nnmodel_bce(s->dz, logits, b, norm);
    memset(s->dhid, 0, (size_t)B * D * sizeof *s->dhid);
    layer_dense_backward(s->dhid, params_at(p, grad, T_OW), params_at(p, grad, T_OB), s->dz, s->hid, ow, B, D, 1);
    memset(s->dpre, 0, (size_t)B * D * sizeof *s->dpre);
    layer_relu_backward(s->dpre, s->dhid, s->hid, (size_t)B * D);
    memset(s->dbag, 0, (size_t)B * E * sizeof *s->dbag);
    layer_dense_backward(s->dbag, params_at(p, grad, T_DW), params_at(p, grad, T_DB), s->dpre, s->bag, dw, B, E, D);
    float *dbag = s->dbag;
    if (dr > 0) {
        memset(s->dbag2, 0, (size_t)B * E * sizeof *s->dbag2);
        layer_dropout_backward(s->dbag2, s->dbag, s->mask, (size_t)B * E, dr);
        dbag = s->dbag2;
    }
    layer_embbag_backward(params_at(p, grad, T_EMB), touched, dbag, b->flat, b->off, B, E, V);
    return loss;
}

const nnmodel_arch nnmodel_arch_mlp = {
    .kind = "mlp", .id = NNMODEL_MLP, .configure = mlp_configure, .declare = mlp_declare,
    .init = mlp_init, .ws_new = mlp_ws_new, .ws_free = mlp_ws_free, .step = mlp_step, .bag = 1,
};
