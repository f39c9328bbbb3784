/* layer_region.c — see layer_region.h. */
#include "layer_region.h"
#include "blas.h"
#include "layers.h"

#include <math.h>
#include <string.h>

int region_count(int L, int p)
{
    if (L <= 0) return 0;
    return L >= p ? L - p + 1 : 1;
}

void region_view(int L, int p, int q, int r, int *lo, int *hi)
{
    int d = p - q, a = r + (d >= 0 ? d / 2 : -((-d + 1) / 2));   /* floor((p - q) / 2) */
    int b = a + q;
    *lo = a < 0 ? 0 : a;
    *hi = b > L ? L : b;
    if (*hi < *lo) *hi = *lo;
}

int region_bag(const int32_t *ids, int L, int p, int q, int r, int V, int32_t *out)
{
    int lo, hi, n = 0;
    region_view(L, p, q, r, &lo, &hi);
    for (int t = lo; t < hi && n < REGION_MAX; t++) {
        int32_t id = ids[t];
        if (id < 0 || id >= V) continue;
        int dup = 0;
        for (int j = 0; j < n && !dup; j++) dup = out[j] == id;
        if (!dup) out[n++] = id;
    }
    return n;
}

void layer_region_forward(float *out, const int32_t *ids, int L, int p, int q, const float *w,
                          const float *bias, int C, int V)
{
    int R = region_count(L, p);
    int32_t bag[REGION_MAX];
    for (int r = 0; r < R; r++) {
        float *o = out + (size_t)r * C;
        if (bias) memcpy(o, bias, (size_t)C * sizeof *o);
        else memset(o, 0, (size_t)C * sizeof *o);
        int n = region_bag(ids, L, p, q, r, V, bag);
        for (int j = 0; j < n; j++) {
            const float *row = w + (size_t)bag[j] * C;
            for (int c = 0; c < C; c++) o[c] += row[c];
        }
    }
}

void layer_region_forward_naive(float *out, float *scratch, const int32_t *ids, int L, int p, int q,
                                const float *w, const float *bias, int C, int V)
{
    int R = region_count(L, p);
    int32_t bag[REGION_MAX];
    memset(scratch, 0, (size_t)R * V * sizeof *scratch);
    for (int r = 0; r < R; r++) {
        int n = region_bag(ids, L, p, q, r, V, bag);
        for (int j = 0; j < n; j++) scratch[(size_t)r * V + bag[j]] = 1.0f;
        for (int c = 0; c < C; c++) out[(size_t)r * C + c] = bias ? bias[c] : 0.0f;
    }
    blas_sgemm_naive(BLAS_N, BLAS_N, R, C, V, 1.0f, scratch, V, w, C, 1.0f, out, C);
}

void layer_region_backward(float *dw, rowset *touched, float *dbias, const float *dout,
                           const int32_t *ids, int L, int p, int q, int C, int V)
{
    int R = region_count(L, p);
    int32_t bag[REGION_MAX];
    for (int r = 0; r < R; r++) {
        const float *g = dout + (size_t)r * C;
        if (dbias)
            for (int c = 0; c < C; c++) dbias[c] += g[c];
        if (!dw) continue;
        int n = region_bag(ids, L, p, q, r, V, bag);
        for (int j = 0; j < n; j++) {
            float *row = dw + (size_t)bag[j] * C;
            for (int c = 0; c < C; c++) row[c] += g[c];
            if (touched) rowset_add(touched, (uint32_t)bag[j]);
        }
    }
}

void layer_region_backward_pooled(float *dw, rowset *touched, float *dbias, const float *g,
                                  const int32_t *argmax, const int32_t *ids, int L, int p, int q,
                                  int C, int V)
{
    int32_t bag[REGION_MAX];
    for (int c = 0; c < C; c++) {
        int r = argmax[c];
        if (r < 0) continue;
        if (dbias) dbias[c] += g[c];
        if (!dw) continue;
        int n = region_bag(ids, L, p, q, r, V, bag);
        for (int j = 0; j < n; j++) {
            dw[(size_t)bag[j] * C + c] += g[c];
            if (touched) rowset_add(touched, (uint32_t)bag[j]);
        }
    }
}

void layer_dense_backward_pooled(float *dinp, float *dw, const float *g, const int32_t *argmax,
                                 const float *inp, const float *w, int C, int OC)
{
    for (int o = 0; o < OC; o++) {
        int r = argmax[o];
        if (r < 0) continue;
        float go = g[o];
        if (dw) {
            const float *x = inp + (size_t)r * C;
            float *d = dw + (size_t)o * C;
            for (int c = 0; c < C; c++) d[c] += go * x[c];
        }
        if (dinp) {
            const float *wr = w + (size_t)o * C;
            float *d = dinp + (size_t)r * C;
            for (int c = 0; c < C; c++) d[c] += go * wr[c];
        }
    }
}

double layer_sampled_bce_forward_backward(float *dx, float *dw, rowset *touched, float *dbias,
                                          const float *x, const float *w, const float *bias,
                                          const int32_t *tgt, const float *y, const int64_t *off,
                                          int R, int C, double norm)
{
    double loss = 0.0;
    for (int r = 0; r < R; r++) {
        const float *xr = x + (size_t)r * C;
        for (int64_t k = off[r]; k < off[r + 1]; k++) {
            const float *wt = w + (size_t)tgt[k] * C;
            float s = bias ? bias[tgt[k]] : 0.0f;
            for (int c = 0; c < C; c++) s += wt[c] * xr[c];
            double sd = s, yd = y[k];
            loss += (sd > 0 ? sd : 0) - sd * yd + log1p(exp(-fabs(sd)));
            float gk = (float)((layer_sigmoidf(s) - y[k]) / norm);
            if (dx) {
                float *d = dx + (size_t)r * C;
                for (int c = 0; c < C; c++) d[c] += gk * wt[c];
            }
            if (dw) {
                float *d = dw + (size_t)tgt[k] * C;
                for (int c = 0; c < C; c++) d[c] += gk * xr[c];
            }
            if (dbias) dbias[tgt[k]] += gk;
            if (touched && (dw || dbias)) rowset_add(touched, (uint32_t)tgt[k]);
        }
    }
    return loss / norm;
}
