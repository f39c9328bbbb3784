/* unit_layers.c — every layer's forward against a naive double-precision reference, and
 * its backward against central finite differences of that reference:
 *
 *   L(params, inputs) = sum_i out_i R_i        (R random, so dout = R)
 *   dL/dx_i ~ (L(x_i + eps) - L(x_i - eps)) / (2 eps),   eps = 1e-5, all in double.
 *
 * Every entry of every input and parameter is checked (shapes are small). Gradient
 * buffers are pre-filled with random values to check that backward adds. Tolerances
 * (gradcheck.h): forward |f - d| <= 1e-5 + 1e-4 |d|; gradient |a - n| <= 1e-5 + 1e-4 |n|
 * (float arithmetic in the layer against an O(eps^2) + O(1e-16/eps) accurate reference).
 * Also: masking (garbage in padding changes nothing, bit for bit; a padded sequence
 * equals the same sequence run alone), numerically extreme BCE logits, dropout
 * statistics, determinism under a fixed seed, reentrancy (two threads at once). Prints the worst difference per layer and
 * exits 1 on any failure. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "blas.h"
#include "layer_conv.h"
#include "layer_lstm.h"
#include "layers.h"
#include "params.h"
#include "rng.h"
#include "gradcheck.h"
#include "testutil.h"

static rng R;

/* ---- helpers -------------------------------------------------------------------- */

static double dsig(double x) { return 1.0 / (1.0 + exp(-x)); }

static double dot(const double *a, const float *r, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += a[i] * r[i];
    return s;
}

static void check_forward(const char *layer, const float *f, const double *d, size_t n)
{
    char what[64];
    snprintf(what, sizeof what, "%s forward", layer);
    test_check_close(what, f, d, n);
}

/* ---- embedding ------------------------------------------------------------------ */

typedef struct { const int32_t *ids; double *w; const float *r; size_t N; int C, V; } embed_ctx;

static double embed_loss(void *vc)
{
    embed_ctx *c = vc;
    double s = 0.0;
    for (size_t i = 0; i < c->N; i++)
        if (c->ids[i] >= 0 && c->ids[i] < c->V)
            for (int k = 0; k < c->C; k++) s += c->w[(size_t)c->ids[i] * c->C + k] * c->r[i * c->C + k];
    return s;
}

static void test_embed(void)
{
    enum { B = 3, T = 4, C = 5, V = 7 };
    int32_t ids[B * T] = {0, 3, 3, -1, 6, 7, 2, -1, 1, 1, 100, -5};   /* 7, 100: out of range */
    float *w = test_frand(&R, V * C, 1), *out = test_frand(&R, B * T * C, 1), *r = test_frand(&R, B * T * C, 1);
    float *g0 = test_frand(&R, V * C, 1), *g = test_fcopy(g0, V * C);
    double *wd = test_dcopy(w, V * C), ref[B * T * C];
    layer_embed_forward(out, ids, w, B * T, C, V);
    for (int i = 0; i < B * T; i++)
        for (int k = 0; k < C; k++)
            ref[i * C + k] = ids[i] >= 0 && ids[i] < V ? wd[ids[i] * C + k] : 0.0;
    check_forward("embed", out, ref, B * T * C);
    rowset rs;
    rowset_init(&rs, V);
    layer_embed_backward(g, &rs, r, ids, B * T, C, V);
    embed_ctx c = {ids, wd, r, B * T, C, V};
    test_check_grad("embed", "weight", wd, V * C, g, g0, embed_loss, &c);
    int want[V] = {1, 1, 1, 1, 0, 0, 1}, ok = rs.n == 5;
    for (int v = 0; v < V; v++) ok &= rs.mark[v] == want[v];
    test_expect(ok, "embed: rowset lists the rows with a gradient");
    rowset_zero_rows(&rs, g, C);
    ok = rs.n == 0;
    for (int v = 0; v < V; v++) ok &= want[v] ? g[v * C] == 0.0f : g[v * C] == g0[v * C];
    test_expect(ok, "embed: rowset_zero_rows zeroes exactly those");
    rowset_free(&rs);
    free(w); free(out); free(r); free(g0); free(g); free(wd);
}

typedef struct { const int32_t *ids; const int64_t *off; double *w; const float *r; int B, C, V; } bag_ctx;

static void bag_ref(double *out, const bag_ctx *c)
{
    for (int b = 0; b < c->B; b++) {
        int n = 0;
        for (int k = 0; k < c->C; k++) out[b * c->C + k] = 0.0;
        for (int64_t j = c->off[b]; j < c->off[b + 1]; j++) {
            if (c->ids[j] < 0 || c->ids[j] >= c->V) continue;
            n++;
            for (int k = 0; k < c->C; k++) out[b * c->C + k] += c->w[c->ids[j] * c->C + k];
        }
        if (n) for (int k = 0; k < c->C; k++) out[b * c->C + k] /= n;
    }
}

static double bag_loss(void *vc)
{
    bag_ctx *c = vc;
    double out[64];
    bag_ref(out, c);
    return dot(out, c->r, (size_t)c->B * c->C);
}

static void test_embbag(void)
{
    enum { B = 4, C = 3, V = 6 };
    int32_t ids[] = {0, 1, 1, 5, /* doc 1 empty */ 2, -1, 9, /* doc 3 */ 4, 4, 4, 3};
    int64_t off[B + 1] = {0, 4, 4, 7, 11};
    float *w = test_frand(&R, V * C, 1), *out = test_frand(&R, B * C, 1), *r = test_frand(&R, B * C, 1);
    float *g0 = test_frand(&R, V * C, 1), *g = test_fcopy(g0, V * C);
    double *wd = test_dcopy(w, V * C), ref[B * C];
    bag_ctx c = {ids, off, wd, r, B, C, V};
    layer_embbag_forward(out, ids, off, B, w, C, V);
    bag_ref(ref, &c);
    check_forward("embbag", out, ref, B * C);
    rowset rs;
    rowset_init(&rs, V);
    layer_embbag_backward(g, &rs, r, ids, off, B, C, V);
    test_check_grad("embbag", "weight", wd, V * C, g, g0, bag_loss, &c);
    test_expect(rs.n == 6, "embbag: rowset lists the 6 rows used");
    rowset_free(&rs);
    free(w); free(out); free(r); free(g0); free(g); free(wd);
}

/* ---- dense ------------------------------------------------------------------------ */

typedef struct { double *x, *w, *b; const float *r; int N, C, OC; } dense_ctx;

static void dense_ref(double *out, const dense_ctx *c)
{
    for (int i = 0; i < c->N; i++)
        for (int o = 0; o < c->OC; o++) {
            double s = c->b ? c->b[o] : 0.0;
            for (int k = 0; k < c->C; k++) s += c->x[i * c->C + k] * c->w[o * c->C + k];
            out[i * c->OC + o] = s;
        }
}

static double dense_loss(void *vc)
{
    dense_ctx *c = vc;
    double *out = malloc((size_t)c->N * c->OC * sizeof *out);
    dense_ref(out, c);
    double s = dot(out, c->r, (size_t)c->N * c->OC);
    free(out);
    return s;
}

static void test_dense(int N, int C, int OC, int with_bias)
{
    float *x = test_frand(&R, N * C, 1), *w = test_frand(&R, OC * C, 1), *b = test_frand(&R, OC, 1);
    float *out = test_frand(&R, N * OC, 1), *r = test_frand(&R, N * OC, 1);
    float *gx0 = test_frand(&R, N * C, 1), *gw0 = test_frand(&R, OC * C, 1), *gb0 = test_frand(&R, OC, 1);
    float *gx = test_fcopy(gx0, N * C), *gw = test_fcopy(gw0, OC * C), *gb = test_fcopy(gb0, OC);
    dense_ctx c = {test_dcopy(x, N * C), test_dcopy(w, OC * C), with_bias ? test_dcopy(b, OC) : NULL, r, N, C, OC};
    double *ref = malloc((size_t)N * OC * sizeof *ref);
    layer_dense_forward(out, x, w, with_bias ? b : NULL, N, C, OC);
    dense_ref(ref, &c);
    const char *name = with_bias ? "dense" : "dense-nob";
    check_forward(name, out, ref, N * OC);
    layer_dense_backward(gx, gw, with_bias ? gb : NULL, r, x, w, N, C, OC);
    test_check_grad(name, "inp", c.x, N * C, gx, gx0, dense_loss, &c);
    test_check_grad(name, "weight", c.w, OC * C, gw, gw0, dense_loss, &c);
    if (with_bias) test_check_grad(name, "bias", c.b, OC, gb, gb0, dense_loss, &c);
    free(x); free(w); free(b); free(out); free(r); free(gx0); free(gw0); free(gb0);
    free(gx); free(gw); free(gb); free(c.x); free(c.w); free(c.b); free(ref);
}

/* ---- activations, dropout --------------------------------------------------------- */

typedef struct { double *x; const float *r; size_t n; int kind; const uint8_t *mask; double p; } act_ctx;

static double act_ref(double x, const act_ctx *c, size_t i)
{
    switch (c->kind) {
    case 0: return x > 0 ? x : 0;
    case 1: return dsig(x);
    case 2: return tanh(x);
    default: return c->mask[i] ? x / (1.0 - c->p) : 0.0;
    }
}

static double act_loss(void *vc)
{
    act_ctx *c = vc;
    double s = 0.0;
    for (size_t i = 0; i < c->n; i++) s += act_ref(c->x[i], c, i) * c->r[i];
    return s;
}

static void test_act(int kind)
{
    static const char *names[] = {"relu", "sigmoid", "tanh", "dropout"};
    enum { N = 50 };
    float *x = test_frand(&R, N, 3), *y = test_frand(&R, N, 1), *r = test_frand(&R, N, 1), *g0 = test_frand(&R, N, 1), *g = test_fcopy(g0, N);
    for (int i = 0; i < N; i++)   /* keep relu's kink away from the finite differences */
        if (fabsf(x[i]) < 1e-2f) x[i] = 0.5f;
    uint8_t mask[N];
    float p = 0.3f;
    switch (kind) {
    case 0: layer_relu_forward(y, x, N); layer_relu_backward(g, r, y, N); break;
    case 1: layer_sigmoid_forward(y, x, N); layer_sigmoid_backward(g, r, y, N); break;
    case 2: layer_tanh_forward(y, x, N); layer_tanh_backward(g, r, y, N); break;
    default: layer_dropout_forward(y, mask, x, N, p, &R); layer_dropout_backward(g, r, mask, N, p); break;
    }
    act_ctx c = {test_dcopy(x, N), r, N, kind, mask, p};
    double ref[N];
    for (int i = 0; i < N; i++) ref[i] = act_ref(c.x[i], &c, (size_t)i);
    check_forward(names[kind], y, ref, N);
    test_check_grad(names[kind], "inp", c.x, N, g, g0, act_loss, &c);
    free(x); free(y); free(r); free(g0); free(g); free(c.x);
}

static void test_dropout_stats(void)
{
    enum { N = 100000 };
    float *x = test_frand(&R, N, 1), *y = malloc(N * sizeof *y), *y2 = malloc(N * sizeof *y2);
    uint8_t *m = malloc(N), *m2 = malloc(N);
    rng a, b;
    rng_seed(&a, 7);
    rng_seed(&b, 7);
    layer_dropout_forward(y, m, x, N, 0.25f, &a);
    layer_dropout_forward(y2, m2, x, N, 0.25f, &b);
    size_t kept = 0;
    int scaled = 1;
    for (size_t i = 0; i < N; i++) {
        kept += m[i];
        if (m[i] && y[i] != x[i] * (1.0f / 0.75f)) scaled = 0;
        if (!m[i] && y[i] != 0.0f) scaled = 0;
    }
    double frac = (double)kept / N;
    printf("  dropout p=0.25: kept %.4f of units (expected 0.75)\n", frac);
    test_expect(fabs(frac - 0.75) < 0.01 && scaled, "dropout: keep rate and 1/(1-p) scaling");
    test_expect(!memcmp(y, y2, N * sizeof *y) && !memcmp(m, m2, N), "dropout: same seed, same mask");
    layer_dropout_forward(y, m, x, N, 0.25f, NULL);
    int id = !memcmp(y, x, N * sizeof *y);
    for (size_t i = 0; i < N; i++) id &= m[i] == 1;
    test_expect(id, "dropout: inference (no rng) is the identity");
    free(x); free(y); free(y2); free(m); free(m2);
}

/* ---- BCE ---------------------------------------------------------------------------- */

typedef struct { double *z; const float *y; int n; } bce_ctx;

static double bce_loss(void *vc)
{
    bce_ctx *c = vc;
    double s = 0.0;
    for (int i = 0; i < c->n; i++) {
        double p = dsig(c->z[i]);
        s += -(c->y[i] * log(p) + (1 - c->y[i]) * log(1 - p));
    }
    return s / c->n;
}

static void test_bce(void)
{
    enum { N = 16 };
    float *z = test_frand(&R, N, 6), *y = test_frand(&R, N, 1), *g0 = test_frand(&R, N, 1), *g = test_fcopy(g0, N);
    for (int i = 0; i < N; i++) y[i] = i % 5 == 4 ? 0.3f : (float)(i & 1);   /* soft labels too */
    bce_ctx c = {test_dcopy(z, N), y, N};
    double l = layer_bce_forward_backward(g, z, y, N, N);
    double lref = bce_loss(&c);
    float lf = (float)l;
    check_forward("bce", &lf, &lref, 1);
    test_check_grad("bce", "logits", c.z, N, g, g0, bce_loss, &c);
    /* Extreme logits: exact values, no overflow, gradients at the limits. */
    float zz[4] = {1000.0f, -1000.0f, 80.0f, -80.0f}, yy[4] = {0, 0, 1, 1}, gg[4] = {0};
    double big = layer_bce_forward_backward(gg, zz, yy, 4, 1.0);
    int ok = fabs(big - (1000.0 + 0.0 + 0.0 + 80.0)) < 1e-9 && fabs(gg[0] - 1.0f) < 1e-6
             && fabs(gg[1]) < 1e-6 && fabs(gg[2]) < 1e-6 && fabs(gg[3] + 1.0f) < 1e-6;
    printf("  bce at |z| = 1000, 80: loss %.6f (expected 1080), grads %g %g %g %g\n",
           big, gg[0], gg[1], gg[2], gg[3]);
    test_expect(ok, "bce: stable at extreme logits");
    float tiny[1] = {1e-4f}, ty[1] = {1.0f};
    double lt = layer_bce_forward_backward(NULL, tiny, ty, 1, 1.0);
    test_expect(fabs(lt - log1p(exp(-(double)tiny[0]))) < 1e-12, "bce: accurate near z = 0");
    free(z); free(y); free(g0); free(g); free(c.z);
}

/* Class weights: the naive reference is the definition, w_pos y log p + w_neg (1 - y)
 * log(1 - p) per example, on the original targets. */
typedef struct { double *z; const float *y; int n; double wn, wp; } wbce_ctx;

static double wbce_loss(void *vc)
{
    wbce_ctx *c = vc;
    double s = 0.0;
    for (int i = 0; i < c->n; i++) {
        double p = dsig(c->z[i]);
        s += -(c->wp * c->y[i] * log(p) + c->wn * (1 - c->y[i]) * log(1 - p));
    }
    return s / c->n;
}

static void test_bce_weighted(void)
{
    enum { N = 16 };
    float *z = test_frand(&R, N, 6), *y = test_frand(&R, N, 1), *g0 = test_frand(&R, N, 1), *g = test_fcopy(g0, N);
    for (int i = 0; i < N; i++) y[i] = i % 5 == 4 ? 0.3f : i % 7 == 6 ? 0.85f : (float)(i & 1);
    float yw[N], wt[N];
    double wn = 6.25, wp = 0.6;
    for (int i = 0; i < N; i++) {
        yw[i] = y[i];
        layer_bce_class_weight(&yw[i], &wt[i], wn, wp);
    }
    int hard = 1;
    for (int i = 0; i < N; i++)
        if ((y[i] == 1 || y[i] == 0) && (yw[i] != y[i] || wt[i] != (float)(y[i] == 1 ? wp : wn))) hard = 0;
    test_expect(hard, "class weights: a hard label keeps its target and weighs its class's weight");
    wbce_ctx c = {test_dcopy(z, N), y, N, wn, wp};
    double l = layer_bce_weighted_forward_backward(g, z, yw, wt, N, N);
    double lref = wbce_loss(&c);
    float lf = (float)l;
    check_forward("weighted bce", &lf, &lref, 1);
    test_check_grad("weighted bce", "logits", c.z, N, g, g0, wbce_loss, &c);
    /* Weights of 1 are the plain BCE. */
    float one[N];
    for (int i = 0; i < N; i++) one[i] = 1.0f;
    test_expect(layer_bce_weighted_forward_backward(NULL, z, y, one, N, N) ==
                layer_bce_forward_backward(NULL, z, y, N, N), "weighted bce: weights 1 give the plain loss");
    free(z); free(y); free(g0); free(g); free(c.z);
}

/* ---- sequence helpers: reverse, pools, concat --------------------------------------- */

typedef struct { double *x; const float *r; const int32_t *len; int B, T, C, kind; } seq_ctx;

static void seq_ref(double *out, const seq_ctx *c)
{
    int B = c->B, T = c->T, C = c->C;
    if (c->kind == 0) {   /* reverse */
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++)
                for (int k = 0; k < C; k++)
                    out[(b * T + t) * C + k] = t < c->len[b] ? c->x[(b * T + c->len[b] - 1 - t) * C + k] : 0.0;
        return;
    }
    for (int b = 0; b < B; b++)
        for (int k = 0; k < C; k++) {
            double m = c->kind == 1 ? -INFINITY : 0.0;
            for (int t = 0; t < c->len[b]; t++) {
                double v = c->x[(b * T + t) * C + k];
                if (c->kind == 1) m = v > m ? v : m;
                else m += v;
            }
            if (c->len[b] == 0) m = 0.0;
            else if (c->kind == 2) m /= c->len[b];
            out[b * C + k] = m;
        }
}

static double seq_loss(void *vc)
{
    seq_ctx *c = vc;
    size_t n = c->kind == 0 ? (size_t)c->B * c->T * c->C : (size_t)c->B * c->C;
    double *out = malloc(n * sizeof *out);
    seq_ref(out, c);
    double s = dot(out, c->r, n);
    free(out);
    return s;
}

static void test_seq(int kind)
{
    static const char *names[] = {"reverse", "maxpool", "meanpool"};
    enum { B = 4, T = 5, C = 3 };
    int32_t len[B] = {5, 2, 0, 4};
    size_t nin = B * T * C, nout = kind == 0 ? nin : B * C;
    float *x = test_frand(&R, nin, 1), *out = test_frand(&R, nout, 1), *r = test_frand(&R, nout, 1);
    float *g0 = test_frand(&R, nin, 1), *g = test_fcopy(g0, nin);
    int32_t am[B * C];
    seq_ctx c = {test_dcopy(x, nin), r, len, B, T, C, kind};
    double *ref = malloc(nout * sizeof *ref);
    seq_ref(ref, &c);
    if (kind == 0) { layer_seq_reverse_forward(out, x, len, B, T, C); layer_seq_reverse_backward(g, r, len, B, T, C); }
    if (kind == 1) { layer_maxpool_forward(out, am, x, len, B, T, C); layer_maxpool_backward(g, r, am, B, T, C); }
    if (kind == 2) { layer_meanpool_forward(out, x, len, B, T, C); layer_meanpool_backward(g, r, len, B, T, C); }
    check_forward(names[kind], out, ref, nout);
    test_check_grad(names[kind], "inp", c.x, nin, g, g0, seq_loss, &c);
    if (kind == 0) {
        int32_t ids[B * T], rid[B * T];
        for (int i = 0; i < B * T; i++) ids[i] = i;
        layer_seq_reverse_ids(rid, ids, len, B, T);
        test_expect(rid[0] == 4 && rid[4] == 0 && rid[5] == 6 && rid[6] == 5 && rid[7] == -1 && rid[10] == -1,
               "layer_seq_reverse_ids: reversed within lengths, -1 after");
    }
    free(x); free(out); free(r); free(g0); free(g); free(c.x); free(ref);
}

static void test_maxpool_ties(void)
{
    float x[4 * 2] = {1, 5, 3, 5, 3, 2, 3, 5}, out[2], d[8] = {0}, g[2] = {1, 1};
    int32_t n[1] = {4}, am[2];
    layer_maxpool_forward(out, am, x, n, 1, 4, 2);
    layer_maxpool_backward(d, g, am, 1, 4, 2);
    test_expect(out[0] == 3 && out[1] == 5 && am[0] == 1 && am[1] == 0 && d[2] == 1 && d[1] == 1 && d[4] == 0,
           "maxpool: ties go to the first position");
}

static void test_concat(void)
{
    enum { N = 3, C1 = 2, C2 = 4 };
    float *a = test_frand(&R, N * C1, 1), *b = test_frand(&R, N * C2, 1), out[N * (C1 + C2)];
    float *r = test_frand(&R, N * (C1 + C2), 1), *ga = test_frand(&R, N * C1, 1), *gb = test_frand(&R, N * C2, 1);
    float *ga0 = test_fcopy(ga, N * C1), *gb0 = test_fcopy(gb, N * C2);
    layer_concat_forward(out, a, b, N, C1, C2);
    layer_concat_backward(ga, gb, r, N, C1, C2);
    int ok = 1;
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < C1; k++)
            ok &= out[i * 6 + k] == a[i * C1 + k] && ga[i * C1 + k] == ga0[i * C1 + k] + r[i * 6 + k];
        for (int k = 0; k < C2; k++)
            ok &= out[i * 6 + C1 + k] == b[i * C2 + k] && gb[i * C2 + k] == gb0[i * C2 + k] + r[i * 6 + C1 + k];
    }
    test_expect(ok, "concat: forward and backward exact");
    free(a); free(b); free(r); free(ga); free(gb); free(ga0); free(gb0);
}

/* ---- LSTM --------------------------------------------------------------------------- */

typedef struct {
    double *x, *wx, *wh, *bias;
    const float *r1, *r2;      /* projections of hs and hlast */
    const int32_t *len;
    int B, T, C, H;
} lstm_ctx;

static void lstm_ref(double *hs, double *hlast, const lstm_ctx *k)
{
    int B = k->B, T = k->T, C = k->C, H = k->H, G = 4 * H;
    double *h = calloc(H, sizeof *h), *c = calloc(H, sizeof *c), *z = malloc(G * sizeof *z);
    for (int b = 0; b < B; b++) {
        memset(h, 0, H * sizeof *h);
        memset(c, 0, H * sizeof *c);
        for (int t = 0; t < T; t++) {
            double *o = hs + ((size_t)b * T + t) * H;
            if (t >= k->len[b]) { for (int j = 0; j < H; j++) o[j] = 0.0; continue; }
            const double *x = k->x + ((size_t)b * T + t) * C;
            for (int j = 0; j < G; j++) {
                double s = k->bias[j];
                for (int i = 0; i < C; i++) s += k->wx[j * C + i] * x[i];
                for (int i = 0; i < H; i++) s += k->wh[j * H + i] * h[i];
                z[j] = s;
            }
            for (int j = 0; j < H; j++) {
                double ig = dsig(z[j]), fg = dsig(z[H + j]), gg = tanh(z[2 * H + j]), og = dsig(z[3 * H + j]);
                c[j] = fg * c[j] + ig * gg;
                h[j] = og * tanh(c[j]);
                o[j] = h[j];
            }
        }
        for (int j = 0; j < H; j++) hlast[b * H + j] = k->len[b] > 0 ? h[j] : 0.0;
    }
    free(h); free(c); free(z);
}

static double lstm_loss(void *vc)
{
    lstm_ctx *k = vc;
    size_t nh = (size_t)k->B * k->T * k->H;
    double *hs = malloc(nh * sizeof *hs), *hl = malloc((size_t)k->B * k->H * sizeof *hl);
    lstm_ref(hs, hl, k);
    double s = (k->r1 ? dot(hs, k->r1, nh) : 0.0) + (k->r2 ? dot(hl, k->r2, (size_t)k->B * k->H) : 0.0);
    free(hs); free(hl);
    return s;
}

static void test_lstm(const char *name, int B, int T, int C, int H, const int32_t *len,
                      int use_hs, int use_last, float xscale)
{
    int G = 4 * H;
    size_t nx = (size_t)B * T * C, nh = (size_t)B * T * H;
    float *x = test_frand(&R, nx, xscale), *wx = test_frand(&R, G * C, 0.5f), *wh = test_frand(&R, G * H, 0.5f), *bias = test_frand(&R, G, 0.5f);
    float *r1 = test_frand(&R, nh, 1), *r2 = test_frand(&R, B * H, 1), *hl = test_frand(&R, B * H, 1);
    float *gx0 = test_frand(&R, nx, 1), *gwx0 = test_frand(&R, G * C, 1), *gwh0 = test_frand(&R, G * H, 1), *gb0 = test_frand(&R, G, 1);
    float *gx = test_fcopy(gx0, nx), *gwx = test_fcopy(gwx0, G * C), *gwh = test_fcopy(gwh0, G * H), *gb = test_fcopy(gb0, G);
    lstm_ctx k = {test_dcopy(x, nx), test_dcopy(wx, G * C), test_dcopy(wh, G * H), test_dcopy(bias, G),
                  use_hs ? r1 : NULL, use_last ? r2 : NULL, len, B, T, C, H};
    double *hs = malloc(nh * sizeof *hs), *hlr = malloc((size_t)B * H * sizeof *hlr);
    lstm_cache cache;
    lstm_cache_init(&cache, B, T, H);
    lstm_forward(&cache, hl, x, len, wx, wh, bias, B, T, C, H);
    lstm_ref(hs, hlr, &k);
    check_forward(name, cache.h, hs, nh);
    check_forward(name, hl, hlr, (size_t)B * H);
    lstm_backward(gx, gwx, gwh, gb, &cache, use_hs ? r1 : NULL, use_last ? r2 : NULL,
                  x, len, wx, wh, B, T, C, H);
    test_check_grad(name, "inp", k.x, nx, gx, gx0, lstm_loss, &k);
    test_check_grad(name, "wx", k.wx, G * C, gwx, gwx0, lstm_loss, &k);
    test_check_grad(name, "wh", k.wh, G * H, gwh, gwh0, lstm_loss, &k);
    test_check_grad(name, "bias", k.bias, G, gb, gb0, lstm_loss, &k);
    lstm_cache_free(&cache);
    free(x); free(wx); free(wh); free(bias); free(r1); free(r2); free(hl);
    free(gx0); free(gwx0); free(gwh0); free(gb0); free(gx); free(gwx); free(gwh); free(gb);
    free(k.x); free(k.wx); free(k.wh); free(k.bias); free(hs); free(hlr);
}

/* One forward + backward; returns the outputs and gradients in freshly malloc'd buffers. */
typedef struct { float *h, *hl, *gx, *gwx, *gwh, *gb; } lstm_run;

static lstm_run run_lstm(const float *x, const int32_t *len, const float *wx, const float *wh,
                         const float *bias, const float *dhs, const float *dhl,
                         int B, int T, int C, int H)
{
    int G = 4 * H;
    lstm_run o;
    o.h = malloc((size_t)B * T * H * sizeof(float));
    o.hl = malloc((size_t)B * H * sizeof(float));
    o.gx = calloc((size_t)B * T * C, sizeof(float));
    o.gwx = calloc((size_t)G * C, sizeof(float));
    o.gwh = calloc((size_t)G * H, sizeof(float));
    o.gb = calloc(G, sizeof(float));
    lstm_cache k;
    lstm_cache_init(&k, B, T, H);
    lstm_forward(&k, o.hl, x, len, wx, wh, bias, B, T, C, H);
    memcpy(o.h, k.h, (size_t)B * T * H * sizeof(float));
    lstm_backward(o.gx, o.gwx, o.gwh, o.gb, &k, dhs, dhl, x, len, wx, wh, B, T, C, H);
    lstm_cache_free(&k);
    return o;
}

static void free_run(lstm_run *o)
{
    free(o->h); free(o->hl); free(o->gx); free(o->gwx); free(o->gwh); free(o->gb);
}

static double maxdiff(const float *a, const float *b, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > m || d != d) m = d;
    }
    return m;
}

static void test_lstm_mask(void)
{
    enum { B = 5, T = 9, C = 6, H = 8, G = 4 * H };
    int32_t len[B] = {9, 3, 0, 7, 1};
    float *x = test_frand(&R, B * T * C, 1), *wx = test_frand(&R, G * C, 0.4f), *wh = test_frand(&R, G * H, 0.4f), *bias = test_frand(&R, G, 0.2f);
    float *dhs = test_frand(&R, B * T * H, 1), *dhl = test_frand(&R, B * H, 1);
    float *x2 = test_fcopy(x, B * T * C), *dhs2 = test_fcopy(dhs, B * T * H);
    for (int b = 0; b < B; b++)       /* garbage in the padding of the input and of dhs */
        for (int t = len[b]; t < T; t++) {
            for (int c = 0; c < C; c++) x2[(b * T + t) * C + c] = 1e30f;
            for (int j = 0; j < H; j++) dhs2[(b * T + t) * H + j] = -7e20f;
        }
    lstm_run a = run_lstm(x, len, wx, wh, bias, dhs, dhl, B, T, C, H);
    lstm_run g = run_lstm(x2, len, wx, wh, bias, dhs2, dhl, B, T, C, H);
    int same = !memcmp(a.h, g.h, B * T * H * sizeof(float)) && !memcmp(a.hl, g.hl, B * H * sizeof(float))
               && !memcmp(a.gx, g.gx, B * T * C * sizeof(float)) && !memcmp(a.gwx, g.gwx, G * C * sizeof(float))
               && !memcmp(a.gwh, g.gwh, G * H * sizeof(float)) && !memcmp(a.gb, g.gb, G * sizeof(float));
    int zero = 1;
    for (int b = 0; b < B; b++)
        for (int t = len[b]; t < T; t++) {
            for (int j = 0; j < H; j++) zero &= a.h[(b * T + t) * H + j] == 0.0f;
            for (int c = 0; c < C; c++) zero &= a.gx[(b * T + t) * C + c] == 0.0f;
        }
    test_expect(same, "lstm: garbage in padding changes nothing (bitwise)");
    test_expect(zero, "lstm: padded outputs and input gradients are zero");

    /* Each sequence alone (B = 1, T = len) gives the same results. */
    double worst = 0.0;
    float *sgwx = calloc(G * C, sizeof(float)), *sgwh = calloc(G * H, sizeof(float)), *sgb = calloc(G, sizeof(float));
    for (int b = 0; b < B; b++) {
        int L = len[b];
        if (!L) continue;
        float *dh1 = malloc((size_t)L * H * sizeof(float));
        memcpy(dh1, dhs + (size_t)b * T * H, (size_t)L * H * sizeof(float));
        int32_t l1 = L;
        lstm_run s = run_lstm(x + (size_t)b * T * C, &l1, wx, wh, bias, dh1, dhl + b * H, 1, L, C, H);
        double d = maxdiff(s.h, a.h + (size_t)b * T * H, (size_t)L * H);
        d = fmax(d, maxdiff(s.hl, a.hl + b * H, H));
        d = fmax(d, maxdiff(s.gx, a.gx + (size_t)b * T * C, (size_t)L * C));
        if (d > worst) worst = d;
        for (int i = 0; i < G * C; i++) sgwx[i] += s.gwx[i];
        for (int i = 0; i < G * H; i++) sgwh[i] += s.gwh[i];
        for (int i = 0; i < G; i++) sgb[i] += s.gb[i];
        free_run(&s);
        free(dh1);
    }
    worst = fmax(worst, maxdiff(sgwx, a.gwx, G * C));
    worst = fmax(worst, maxdiff(sgwh, a.gwh, G * H));
    worst = fmax(worst, maxdiff(sgb, a.gb, G));
    printf("  lstm: batch vs each sequence alone, worst |diff| %.2e\n", worst);
    test_expect(worst < 1e-5, "lstm: padded batch equals sequences run alone");
    free_run(&a); free_run(&g);
    free(x); free(wx); free(wh); free(bias); free(dhs); free(dhl); free(x2); free(dhs2);
    free(sgwx); free(sgwh); free(sgb);
}

/* Two threads at once, each with its own cache and gradients, give what one gives. */
typedef struct { const float *x, *wx, *wh, *bias, *dhs, *dhl; const int32_t *len; lstm_run out; } thr_arg;

static void *thr_main(void *p)
{
    thr_arg *a = p;
    for (int i = 0; i < 20; i++) {
        if (i) free_run(&a->out);
        a->out = run_lstm(a->x, a->len, a->wx, a->wh, a->bias, a->dhs, a->dhl, 6, 10, 8, 12);
    }
    return NULL;
}

static void test_lstm_threads(void)
{
    enum { B = 6, T = 10, C = 8, H = 12, G = 4 * H };
    int32_t len[B] = {10, 9, 3, 7, 0, 10};
    float *x = test_frand(&R, B * T * C, 1), *wx = test_frand(&R, G * C, 0.4f), *wh = test_frand(&R, G * H, 0.4f), *bias = test_frand(&R, G, 0.2f);
    float *dhs = test_frand(&R, B * T * H, 1), *dhl = test_frand(&R, B * H, 1);
    lstm_run serial = run_lstm(x, len, wx, wh, bias, dhs, dhl, B, T, C, H);
    thr_arg a[2];
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        a[i] = (thr_arg){x, wx, wh, bias, dhs, dhl, len, {0}};
        pthread_create(&t[i], NULL, thr_main, &a[i]);
    }
    int same = 1;
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        same &= !memcmp(a[i].out.h, serial.h, B * T * H * sizeof(float))
                && !memcmp(a[i].out.gx, serial.gx, B * T * C * sizeof(float))
                && !memcmp(a[i].out.gwx, serial.gwx, G * C * sizeof(float))
                && !memcmp(a[i].out.gwh, serial.gwh, G * H * sizeof(float));
        free_run(&a[i].out);
    }
    test_expect(same, "lstm: two threads at once, same results as one");
    free_run(&serial);
    free(x); free(wx); free(wh); free(bias); free(dhs); free(dhl);
}

/* ---- convolution -------------------------------------------------------------------- */

typedef struct { double *x, *w, *b; const float *r; const int32_t *len; int B, T, C, K, OC; } conv_ctx;

static void conv_ref(double *out, const conv_ctx *c)
{
    int T = c->T, C = c->C, K = c->K, OC = c->OC;
    for (int b = 0; b < c->B; b++) {
        int L = c->len[b], P = conv1d_npos(L, K);
        for (int p = 0; p < T; p++)
            for (int o = 0; o < OC; o++) {
                double s = 0.0;
                if (p < P) {
                    s = c->b[o];
                    for (int j = 0; j < K; j++)
                        if (p + j < L)
                            for (int k = 0; k < C; k++)
                                s += c->w[(o * K + j) * C + k] * c->x[((size_t)b * T + p + j) * C + k];
                }
                out[((size_t)b * T + p) * OC + o] = s;
            }
    }
}

static double conv_loss(void *vc)
{
    conv_ctx *c = vc;
    size_t n = (size_t)c->B * c->T * c->OC;
    double *out = malloc(n * sizeof *out);
    conv_ref(out, c);
    double s = dot(out, c->r, n);
    free(out);
    return s;
}

static void test_conv(int K)
{
    enum { B = 4, T = 7, C = 3, OC = 4 };
    int32_t len[B] = {7, 2, 0, 4};
    size_t nx = B * T * C, nw = (size_t)OC * K * C, no = B * T * OC;
    float *x = test_frand(&R, nx, 1), *w = test_frand(&R, nw, 1), *bias = test_frand(&R, OC, 1), *out = test_frand(&R, no, 1), *r = test_frand(&R, no, 1);
    float *gx0 = test_frand(&R, nx, 1), *gw0 = test_frand(&R, nw, 1), *gb0 = test_frand(&R, OC, 1);
    float *gx = test_fcopy(gx0, nx), *gw = test_fcopy(gw0, nw), *gb = test_fcopy(gb0, OC);
    float *scratch = malloc(conv1d_scratch_size(T, K, C) * sizeof(float));
    conv_ctx c = {test_dcopy(x, nx), test_dcopy(w, nw), test_dcopy(bias, OC), r, len, B, T, C, K, OC};
    double *ref = malloc(no * sizeof *ref);
    char name[16];
    snprintf(name, sizeof name, "conv%d", K);
    conv1d_forward(out, scratch, x, len, w, bias, B, T, C, K, OC);
    conv_ref(ref, &c);
    check_forward(name, out, ref, no);
    conv1d_backward(gx, gw, gb, scratch, r, x, len, w, B, T, C, K, OC);
    test_check_grad(name, "inp", c.x, nx, gx, gx0, conv_loss, &c);
    test_check_grad(name, "weight", c.w, nw, gw, gw0, conv_loss, &c);
    test_check_grad(name, "bias", c.b, OC, gb, gb0, conv_loss, &c);

    /* Garbage in the padding: same output, bit for bit. */
    float *x2 = test_fcopy(x, nx), *out2 = malloc(no * sizeof *out2);
    for (int b = 0; b < B; b++)
        for (size_t i = (size_t)(b * T + len[b]) * C; i < (size_t)(b + 1) * T * C; i++) x2[i] = 1e30f;
    conv1d_forward(out2, scratch, x2, len, w, bias, B, T, C, K, OC);
    test_expect(!memcmp(out, out2, no * sizeof *out), "conv: garbage in padding changes nothing");
    free(x); free(w); free(bias); free(out); free(r); free(gx0); free(gw0); free(gb0);
    free(gx); free(gw); free(gb); free(scratch); free(c.x); free(c.w); free(c.b); free(ref);
    free(x2); free(out2);
}

/* ---- a whole BiLSTM classifier, wired as a trainer would, over one params block ------ */

enum { BI_B = 4, BI_T = 6, BI_C = 4, BI_H = 3, BI_V = 10 };
enum { P_EMB, P_FWX, P_FWH, P_FB, P_RWX, P_RWH, P_RB, P_OW, P_OB };

typedef struct { params *p; double *w; const int32_t *ids, *len; const float *y; } bi_ctx;

static double bi_loss(void *vc)
{
    bi_ctx *c = vc;
    enum { B = BI_B, T = BI_T, C = BI_C, H = BI_H, V = BI_V };
    double x[B * T * C], xr[B * T * C], hs[B * T * H], h1[B * H], h2[B * H];
    const double *emb = c->w + c->p->t[P_EMB].offset;
    for (int i = 0; i < B * T; i++)
        for (int k = 0; k < C; k++) x[i * C + k] = c->ids[i] >= 0 && c->ids[i] < V ? emb[c->ids[i] * C + k] : 0.0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int k = 0; k < C; k++)
                xr[(b * T + t) * C + k] = t < c->len[b] ? x[(b * T + c->len[b] - 1 - t) * C + k] : 0.0;
    lstm_ctx f = {x, c->w + c->p->t[P_FWX].offset, c->w + c->p->t[P_FWH].offset,
                  c->w + c->p->t[P_FB].offset, NULL, NULL, c->len, B, T, C, H};
    lstm_ref(hs, h1, &f);
    lstm_ctx r = {xr, c->w + c->p->t[P_RWX].offset, c->w + c->p->t[P_RWH].offset,
                  c->w + c->p->t[P_RB].offset, NULL, NULL, c->len, B, T, C, H};
    lstm_ref(hs, h2, &r);
    const double *ow = c->w + c->p->t[P_OW].offset, *ob = c->w + c->p->t[P_OB].offset;
    double loss = 0.0;
    for (int b = 0; b < B; b++) {
        double z = ob[0];
        for (int j = 0; j < H; j++) z += ow[j] * h1[b * H + j] + ow[H + j] * h2[b * H + j];
        loss += (z > 0 ? z : 0) - z * c->y[b] + log1p(exp(-fabs(z)));
    }
    return loss / B;
}

static void test_bilstm(void)
{
    enum { B = BI_B, T = BI_T, C = BI_C, H = BI_H, V = BI_V, G = 4 * H };
    params p;
    params_init(&p);
    params_add(&p, "emb", V, C);
    params_add(&p, "fwd.wx", G, C); params_add(&p, "fwd.wh", G, H); params_add(&p, "fwd.b", 1, G);
    params_add(&p, "rev.wx", G, C); params_add(&p, "rev.wh", G, H); params_add(&p, "rev.b", 1, G);
    params_add(&p, "out.w", 1, 2 * H); params_add(&p, "out.b", 1, 1);
    params_alloc(&p);
    float *grad = params_mirror(&p);
    rng r;
    rng_seed(&r, 99);
    params_normal(params_at(&p, p.data, P_EMB), V * C, 0.5f, &r);
    lstm_init(params_at(&p, p.data, P_FWX), params_at(&p, p.data, P_FWH), params_at(&p, p.data, P_FB), C, H, &r);
    lstm_init(params_at(&p, p.data, P_RWX), params_at(&p, p.data, P_RWH), params_at(&p, p.data, P_RB), C, H, &r);
    params_uniform(params_at(&p, p.data, P_OW), 2 * H, 1.0f, &r);
#define W(i) params_at(&p, p.data, i)
#define D(i) params_at(&p, grad, i)
    int32_t len[B] = {6, 2, 4, 0}, ids[B * T], rids[B * T];
    for (int i = 0; i < B * T; i++) ids[i] = i % T < len[i / T] ? (int32_t)rng_below(&r, V) : -1;
    float y[B] = {1, 0, 1, 0};
    float x[B * T * C], xr[B * T * C], dx[B * T * C] = {0}, dxr[B * T * C] = {0};
    float h1[B * H], h2[B * H], cat[B * 2 * H], z[B], dz[B] = {0}, dcat[B * 2 * H] = {0};
    float dh1[B * H] = {0}, dh2[B * H] = {0};
    lstm_cache k1, k2;
    lstm_cache_init(&k1, B, T, H);
    lstm_cache_init(&k2, B, T, H);
    rowset rs;
    rowset_init(&rs, V);

    layer_embed_forward(x, ids, W(P_EMB), B * T, C, V);
    layer_seq_reverse_forward(xr, x, len, B, T, C);
    layer_seq_reverse_ids(rids, ids, len, B, T);          /* same thing, through the ids */
    float xr2[B * T * C];
    layer_embed_forward(xr2, rids, W(P_EMB), B * T, C, V);
    lstm_forward(&k1, h1, x, len, W(P_FWX), W(P_FWH), W(P_FB), B, T, C, H);
    lstm_forward(&k2, h2, xr, len, W(P_RWX), W(P_RWH), W(P_RB), B, T, C, H);
    layer_concat_forward(cat, h1, h2, B, H, H);
    layer_dense_forward(z, cat, W(P_OW), W(P_OB), B, 2 * H, 1);
    double loss = layer_bce_forward_backward(dz, z, y, B, B);
    layer_dense_backward(dcat, D(P_OW), D(P_OB), dz, cat, W(P_OW), B, 2 * H, 1);
    layer_concat_backward(dh1, dh2, dcat, B, H, H);
    lstm_backward(dx, D(P_FWX), D(P_FWH), D(P_FB), &k1, NULL, dh1, x, len, W(P_FWX), W(P_FWH), B, T, C, H);
    lstm_backward(dxr, D(P_RWX), D(P_RWH), D(P_RB), &k2, NULL, dh2, xr, len, W(P_RWX), W(P_RWH), B, T, C, H);
    layer_seq_reverse_backward(dx, dxr, len, B, T, C);
    layer_embed_backward(D(P_EMB), &rs, dx, ids, B * T, C, V);

    double *wd = test_dcopy(p.data, p.total);
    bi_ctx c = {&p, wd, ids, len, y};
    double lref = bi_loss(&c);
    float lf = (float)loss;
    test_expect(!memcmp(xr, xr2, sizeof xr), "bilstm: reversing ids or embeddings agrees");
    check_forward("bilstm", &lf, &lref, 1);
    test_check_grad("bilstm", "params", wd, p.total, grad, NULL, bi_loss, &c);
#undef W
#undef D
    rowset_free(&rs);
    lstm_cache_free(&k1);
    lstm_cache_free(&k2);
    free(wd);
    free(grad);
    params_free(&p);
}

/* ---- determinism -------------------------------------------------------------------- */

static void model_run(uint64_t seed, float *hl_out)
{
    enum { B = 4, T = 12, C = 8, H = 6, V = 20 };
    rng r;
    rng_seed(&r, seed);
    float emb[V * C], wx[4 * H * C], wh[4 * H * H], bias[4 * H], x[B * T * C], y[B * T * C];
    uint8_t mask[B * T * C];
    int32_t ids[B * T], len[B] = {12, 5, 9, 1};
    params_normal(emb, V * C, 0.1f, &r);
    lstm_init(wx, wh, bias, C, H, &r);
    for (int i = 0; i < B * T; i++) ids[i] = (int32_t)rng_below(&r, V);
    layer_embed_forward(x, ids, emb, B * T, C, V);
    layer_dropout_forward(y, mask, x, B * T * C, 0.5f, &r);
    lstm_cache k;
    lstm_cache_init(&k, B, T, H);
    lstm_forward(&k, hl_out, y, len, wx, wh, bias, B, T, C, H);
    lstm_cache_free(&k);
}

static void test_determinism(void)
{
    float a[24], b[24], c[24];
    model_run(1234, a);
    model_run(1234, b);
    model_run(1235, c);
    test_expect(!memcmp(a, b, sizeof a), "determinism: same seed, identical outputs");
    test_expect(memcmp(a, c, sizeof a) != 0, "determinism: another seed, other outputs");
}

static void test_params(void)
{
    params p;
    params_init(&p);
    int e = params_add(&p, "emb", 10, 3);
    int w = params_add(&p, "lstm.wx", 8, 3);
    int b = params_add(&p, "out.b", 1, 1);
    params_alloc(&p);
    float *g = params_mirror(&p);
    int ok = p.t[e].offset == 0 && p.t[w].offset == 32 && p.t[b].offset == 64 && p.total == 65
             && params_find(&p, "lstm.wx") == w && params_find(&p, "nope") == -1
             && ((uintptr_t)p.data & 63) == 0 && ((uintptr_t)g & 63) == 0
             && params_at(&p, p.data, w) == p.data + 32 && params_size(&p, w) == 24;
    for (size_t i = 0; i < p.total; i++) ok &= p.data[i] == 0.0f && g[i] == 0.0f;
    test_expect(ok, "params: 64-byte aligned tensors in one zeroed block");
    free(g);
    params_free(&p);
}

int main(void)
{
    rng_seed(&R, 20240601);
    printf("layers (blas: %s)\n", blas_backend());
    test_params();
    test_embed();
    test_embbag();
    test_dense(6, 5, 4, 1);
    test_dense(33, 17, 9, 0);
    for (int k = 0; k < 4; k++) test_act(k);
    test_dropout_stats();
    test_bce();
    test_bce_weighted();
    for (int k = 0; k < 3; k++) test_seq(k);
    test_maxpool_ties();
    test_concat();
    {
        int32_t full[3] = {6, 6, 6}, mixed[4] = {3, 6, 0, 1};
        /* H = 3: scalar code only; 6: vector + scalar tail; 16: vector only. */
        test_lstm("lstm-full", 3, 6, 4, 6, full, 1, 1, 1.0f);
        test_lstm("lstm-mask", 4, 6, 4, 3, mixed, 1, 1, 1.0f);
        test_lstm("lstm-last", 4, 6, 4, 3, mixed, 0, 1, 1.0f);
        int32_t big[5] = {12, 11, 12, 4, 9};
        test_lstm("lstm-big", 5, 12, 8, 16, big, 1, 1, 1.0f);
        /* Saturated gates (pre-activations up to ~40): no overflow, no NaN. */
        test_lstm("lstm-sat", 3, 6, 4, 8, full, 1, 1, 20.0f);
    }
    test_lstm_mask();
    test_lstm_threads();
    for (int K = 3; K <= 5; K++) test_conv(K);
    test_bilstm();
    test_determinism();
    return test_status("unit_layers");
}
