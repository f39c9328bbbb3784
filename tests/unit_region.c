/* unit_region.c — the region layers (layer_region.h): region and view bounds, the sparse
 * forward against the dense one-hot product (blas_sgemm_naive) and a double-precision
 * reference, and every backward against central finite differences of that reference
 * (L = sum_i out_i R_i with R random, eps = 1e-5, in double; gradient buffers pre-filled
 * with random values to check that backward adds), as unit_layers.c does for the other
 * layers, with the same checks (gradcheck.h). Prints the worst difference per tensor;
 * exits 1 on any failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "layer_region.h"
#include "layers.h"
#include "params.h"
#include "rng.h"
#include "gradcheck.h"
#include "testutil.h"

static rng R;

/* ---- bounds ---------------------------------------------------------------------- */

static void test_bounds(void)
{
    int lo, hi;
    test_expect(region_count(0, 3) == 0 && region_count(2, 3) == 1 && region_count(3, 3) == 1 &&
                region_count(7, 3) == 5 && region_count(7, 1) == 7, "region_count");
    region_view(7, 3, 3, 2, &lo, &hi);
    test_expect(lo == 2 && hi == 5, "view q = p is the region");
    region_view(7, 3, 5, 0, &lo, &hi);
    test_expect(lo == 0 && hi == 4, "a wider view is clipped at the start");
    region_view(7, 3, 5, 4, &lo, &hi);
    test_expect(lo == 3 && hi == 7, "a wider view is clipped at the end");
    region_view(7, 3, 1, 0, &lo, &hi);
    test_expect(lo == 1 && hi == 2, "a narrower view is the centre");
    region_view(7, 2, 5, 1, &lo, &hi);
    test_expect(lo == 0 && hi == 4, "p - q odd and negative: floor");
    region_view(2, 5, 5, 0, &lo, &hi);
    test_expect(lo == 0 && hi == 2, "a short sequence is one region");
    int32_t ids[] = { 3, -1, 3, 9, 2, 3 }, bag[REGION_MAX];
    int n = region_bag(ids, 6, 5, 5, 0, 5, bag);
    test_expect(n == 2 && bag[0] == 3 && bag[1] == 2, "bag: distinct known ids in order");
}

/* ---- the region layer ------------------------------------------------------------ */

enum { RL = 9, RV = 6, RC = 4 };
static const int32_t rids[RL] = { 0, 5, 5, -1, 2, 7, 1, 1, 4 };   /* -1, 7: unknown */

typedef struct {
    int p, q;
    double *w, *b;
    const float *r;       /* (R,C) random weights of the loss */
    const float *g;       /* pooled: (C) */
    const int32_t *argmax;
} reg_ctx;

static void reg_ref(double *out, const reg_ctx *c)
{
    int R = region_count(RL, c->p);
    for (int r = 0; r < R; r++) {
        int lo, hi;
        region_view(RL, c->p, c->q, r, &lo, &hi);
        int seen[RV] = { 0 };
        for (int k = 0; k < RC; k++) out[r * RC + k] = c->b[k];
        for (int t = lo; t < hi; t++) {
            int id = rids[t];
            if (id < 0 || id >= RV || seen[id]) continue;
            seen[id] = 1;
            for (int k = 0; k < RC; k++) out[r * RC + k] += c->w[id * RC + k];
        }
    }
}

static double reg_loss(void *vc)
{
    reg_ctx *c = vc;
    double out[RL * RC];
    reg_ref(out, c);
    double s = 0;
    for (int i = 0; i < region_count(RL, c->p) * RC; i++) s += out[i] * c->r[i];
    return s;
}

static double reg_pooled_loss(void *vc)
{
    reg_ctx *c = vc;
    double out[RL * RC], s = 0;
    reg_ref(out, c);
    for (int k = 0; k < RC; k++)
        if (c->argmax[k] >= 0) s += c->g[k] * out[c->argmax[k] * RC + k];
    return s;
}

static void test_region(int p, int q)
{
    char name[32];
    snprintf(name, sizeof name, "region p%d q%d", p, q);
    int NR = region_count(RL, p);
    size_t no = (size_t)NR * RC;
    float *w = test_frand(&R, RV * RC, 1), *b = test_frand(&R, RC, 1), *out = test_frand(&R, no, 1), *out2 = test_frand(&R, no, 1);
    float *r = test_frand(&R, no, 1), *scratch = malloc((size_t)NR * RV * sizeof *scratch);
    reg_ctx c = { p, q, test_dcopy(w, RV * RC), test_dcopy(b, RC), r, NULL, NULL };
    double ref[RL * RC];
    reg_ref(ref, &c);
    layer_region_forward(out, rids, RL, p, q, w, b, RC, RV);
    test_check_close(name, out, ref, no);
    layer_region_forward_naive(out2, scratch, rids, RL, p, q, w, b, RC, RV);
    test_check_close("  naive (one-hot sgemm)", out2, ref, no);

    float *gw0 = test_frand(&R, RV * RC, 1), *gb0 = test_frand(&R, RC, 1), *gw = test_fcopy(gw0, RV * RC), *gb = test_fcopy(gb0, RC);
    rowset rs;
    rowset_init(&rs, RV);
    layer_region_backward(gw, &rs, gb, r, rids, RL, p, q, RC, RV);
    test_check_grad(name, "weight", c.w, RV * RC, gw, gw0, reg_loss, &c);
    test_check_grad(name, "bias", c.b, RC, gb, gb0, reg_loss, &c);
    int ok = 1;
    for (int v = 0; v < RV; v++) {
        double d = 0;
        for (int k = 0; k < RC; k++) d += fabs((double)gw[v * RC + k] - gw0[v * RC + k]);
        ok &= (d > 0) == (rs.mark[v] != 0);
    }
    test_expect(ok, "region: the rowset lists exactly the rows with a gradient");

    /* Below a max over regions: only argmax regions get a gradient. */
    float *g = test_frand(&R, RC, 1);
    int32_t argmax[RC];
    for (int k = 0; k < RC; k++) argmax[k] = k == 1 ? -1 : (int32_t)rng_below(&R, (uint32_t)NR);
    c.g = g;
    c.argmax = argmax;
    memcpy(gw, gw0, RV * RC * sizeof *gw);
    memcpy(gb, gb0, RC * sizeof *gb);
    rowset_clear(&rs);
    layer_region_backward_pooled(gw, &rs, gb, g, argmax, rids, RL, p, q, RC, RV);
    snprintf(name, sizeof name, "pooled p%d q%d", p, q);
    test_check_grad(name, "weight", c.w, RV * RC, gw, gw0, reg_pooled_loss, &c);
    test_check_grad(name, "bias", c.b, RC, gb, gb0, reg_pooled_loss, &c);
    /* ... and the same numbers as the dense backward of the scattered gradient. */
    float *dout = calloc(no, sizeof *dout), *hw = test_fcopy(gw0, RV * RC), *hb = test_fcopy(gb0, RC);
    for (int k = 0; k < RC; k++)
        if (argmax[k] >= 0) dout[argmax[k] * RC + k] = g[k];
    layer_region_backward(hw, NULL, hb, dout, rids, RL, p, q, RC, RV);
    double *hwd = test_dcopy(hw, RV * RC);
    test_check_close("  pooled = dense backward", gw, hwd, RV * RC);
    rowset_free(&rs);
    free(w); free(b); free(out); free(out2); free(r); free(scratch); free(c.w); free(c.b);
    free(gw0); free(gb0); free(gw); free(gb); free(g); free(dout); free(hw); free(hb); free(hwd);
}

/* ---- dense backward below a max -------------------------------------------------- */

enum { DN = 5, DC = 3, DOC = 4 };
typedef struct { double *x, *w; const float *g; const int32_t *argmax; } dp_ctx;

static double dp_loss(void *vc)
{
    dp_ctx *c = vc;
    double s = 0;
    for (int o = 0; o < DOC; o++) {
        if (c->argmax[o] < 0) continue;
        double z = 0;
        for (int k = 0; k < DC; k++) z += c->x[c->argmax[o] * DC + k] * c->w[o * DC + k];
        s += c->g[o] * z;
    }
    return s;
}

static void test_dense_pooled(void)
{
    float *x = test_frand(&R, DN * DC, 1), *w = test_frand(&R, DOC * DC, 1), *g = test_frand(&R, DOC, 1);
    int32_t argmax[DOC] = { 2, -1, 4, 2 };
    float *gx0 = test_frand(&R, DN * DC, 1), *gw0 = test_frand(&R, DOC * DC, 1), *gx = test_fcopy(gx0, DN * DC), *gw = test_fcopy(gw0, DOC * DC);
    dp_ctx c = { test_dcopy(x, DN * DC), test_dcopy(w, DOC * DC), g, argmax };
    layer_dense_backward_pooled(gx, gw, g, argmax, x, w, DC, DOC);
    test_check_grad("dense pooled", "inp", c.x, DN * DC, gx, gx0, dp_loss, &c);
    test_check_grad("dense pooled", "weight", c.w, DOC * DC, gw, gw0, dp_loss, &c);
    free(x); free(w); free(g); free(gx0); free(gw0); free(gx); free(gw); free(c.x); free(c.w);
}

/* ---- sampled logistic outputs ---------------------------------------------------- */

enum { SR = 3, SC = 4, SV = 7 };
static const int32_t stgt[] = { 1, 4, 6, 0, /* row 1 */ 2, 2, /* row 2 */ };
static const float sy[] = { 1, 1, 0, 0, 1, 0 };
static const int64_t soff[SR + 1] = { 0, 4, 4, 6 };
typedef struct { double *x, *w, *b; } sb_ctx;

static double sb_loss(void *vc)
{
    sb_ctx *c = vc;
    double s = 0;
    for (int r = 0; r < SR; r++)
        for (int64_t k = soff[r]; k < soff[r + 1]; k++) {
            double z = c->b[stgt[k]];
            for (int j = 0; j < SC; j++) z += c->w[stgt[k] * SC + j] * c->x[r * SC + j];
            s += log(1 + exp(z)) - sy[k] * z;
        }
    return s / 2.0;
}

static void test_sampled(void)
{
    float *x = test_frand(&R, SR * SC, 1), *w = test_frand(&R, SV * SC, 1), *b = test_frand(&R, SV, 1);
    float *gx0 = test_frand(&R, SR * SC, 1), *gw0 = test_frand(&R, SV * SC, 1), *gb0 = test_frand(&R, SV, 1);
    float *gx = test_fcopy(gx0, SR * SC), *gw = test_fcopy(gw0, SV * SC), *gb = test_fcopy(gb0, SV);
    sb_ctx c = { test_dcopy(x, SR * SC), test_dcopy(w, SV * SC), test_dcopy(b, SV) };
    rowset rs;
    rowset_init(&rs, SV);
    double L = layer_sampled_bce_forward_backward(gx, gw, &rs, gb, x, w, b, stgt, sy, soff, SR, SC, 2.0);
    double Lref = sb_loss(&c);
    test_check_close("sampled bce loss", (float[]){ (float)L }, &Lref, 1);
    test_check_grad("sampled bce", "inp", c.x, SR * SC, gx, gx0, sb_loss, &c);
    test_check_grad("sampled bce", "weight", c.w, SV * SC, gw, gw0, sb_loss, &c);
    test_check_grad("sampled bce", "bias", c.b, SV, gb, gb0, sb_loss, &c);
    test_expect(rs.n == 5 && !rs.mark[3] && !rs.mark[5], "sampled bce: touched rows are the targets");
    double L2 = layer_sampled_bce_forward_backward(NULL, NULL, NULL, NULL, x, w, b, stgt, sy, soff, SR, SC, 2.0);
    test_expect(L2 == L, "sampled bce: the loss alone is the same");
    rowset_free(&rs);
    free(x); free(w); free(b); free(gx0); free(gw0); free(gb0); free(gx); free(gw); free(gb);
    free(c.x); free(c.w); free(c.b);
}

int main(void)
{
    rng_seed(&R, 42);
    test_bounds();
    test_region(3, 3);
    test_region(1, 1);
    test_region(3, 5);
    test_region(5, 3);
    test_region(12, 12);     /* longer than the sequence: one region */
    test_dense_pooled();
    test_sampled();
    return test_status("unit_region");
}
