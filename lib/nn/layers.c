/* layers.c — see layers.h. The loops are written for the compiler's vectorizer:
 * innermost loops run over contiguous channels. */
#include "layers.h"

#include <math.h>
#include <string.h>
#include "blas.h"

static inline int valid_id(int32_t id, int V) { return id >= 0 && id < V; }

static inline int clamp_len(int32_t len, int T) { return len < 0 ? 0 : len > T ? T : len; }

void layer_embed_forward(float *out, const int32_t *ids, const float *w, size_t N, int C, int V)
{
    for (size_t i = 0; i < N; i++) {
        float *o = out + i * C;
        if (valid_id(ids[i], V)) memcpy(o, w + (size_t)ids[i] * C, (size_t)C * sizeof *o);
        else memset(o, 0, (size_t)C * sizeof *o);
    }
}

void layer_embed_backward(float *dw, rowset *touched, const float *dout, const int32_t *ids,
                    size_t N, int C, int V)
{
    for (size_t i = 0; i < N; i++) {
        if (!valid_id(ids[i], V)) continue;
        float *d = dw + (size_t)ids[i] * C;
        const float *g = dout + i * C;
        for (int c = 0; c < C; c++) d[c] += g[c];
        if (touched) rowset_add(touched, (uint32_t)ids[i]);
    }
}

static int bag_count(const int32_t *ids, int64_t lo, int64_t hi, int V)
{
    int n = 0;
    for (int64_t j = lo; j < hi; j++) n += valid_id(ids[j], V);
    return n;
}

void layer_embbag_forward(float *out, const int32_t *ids, const int64_t *off, int B,
                    const float *w, int C, int V)
{
    for (int b = 0; b < B; b++) {
        float *o = out + (size_t)b * C;
        memset(o, 0, (size_t)C * sizeof *o);
        int n = bag_count(ids, off[b], off[b + 1], V);
        if (n == 0) continue;
        for (int64_t j = off[b]; j < off[b + 1]; j++) {
            if (!valid_id(ids[j], V)) continue;
            const float *r = w + (size_t)ids[j] * C;
            for (int c = 0; c < C; c++) o[c] += r[c];
        }
        float s = 1.0f / (float)n;
        for (int c = 0; c < C; c++) o[c] *= s;
    }
}

void layer_embbag_backward(float *dw, rowset *touched, const float *dout, const int32_t *ids,
                     const int64_t *off, int B, int C, int V)
{
    for (int b = 0; b < B; b++) {
        int n = bag_count(ids, off[b], off[b + 1], V);
        if (n == 0) continue;
        float s = 1.0f / (float)n;
        const float *g = dout + (size_t)b * C;
        for (int64_t j = off[b]; j < off[b + 1]; j++) {
            if (!valid_id(ids[j], V)) continue;
            float *d = dw + (size_t)ids[j] * C;
            for (int c = 0; c < C; c++) d[c] += s * g[c];
            if (touched) rowset_add(touched, (uint32_t)ids[j]);
        }
    }
}

void layer_dense_forward(float *out, const float *inp, const float *w, const float *bias,
                   int N, int C, int OC)
{
    if (bias) {
        for (int i = 0; i < N; i++) memcpy(out + (size_t)i * OC, bias, (size_t)OC * sizeof *out);
    }
    blas_sgemm(BLAS_N, BLAS_T, N, OC, C, 1.0f, inp, C, w, C, bias ? 1.0f : 0.0f, out, OC);
}

void layer_dense_backward(float *dinp, float *dw, float *dbias, const float *dout,
                    const float *inp, const float *w, int N, int C, int OC)
{
    if (dinp) blas_sgemm(BLAS_N, BLAS_N, N, C, OC, 1.0f, dout, OC, w, C, 1.0f, dinp, C);
    if (dw) blas_sgemm(BLAS_T, BLAS_N, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f, dw, C);
    if (dbias) {
        for (int i = 0; i < N; i++) {
            const float *g = dout + (size_t)i * OC;
            for (int o = 0; o < OC; o++) dbias[o] += g[o];
        }
    }
}

void layer_relu_forward(float *out, const float *inp, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void layer_relu_backward(float *dinp, const float *dout, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) dinp[i] += y[i] > 0.0f ? dout[i] : 0.0f;
}

void layer_sigmoid_forward(float *out, const float *inp, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = layer_sigmoidf(inp[i]);
}

void layer_sigmoid_backward(float *dinp, const float *dout, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) dinp[i] += dout[i] * y[i] * (1.0f - y[i]);
}

void layer_tanh_forward(float *out, const float *inp, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = tanhf(inp[i]);
}

void layer_tanh_backward(float *dinp, const float *dout, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) dinp[i] += dout[i] * (1.0f - y[i] * y[i]);
}

void layer_dropout_forward(float *out, uint8_t *mask, const float *inp, size_t n, float p, rng *r)
{
    if (!r || p <= 0.0f) {
        if (out != inp) memmove(out, inp, n * sizeof *out);
        if (mask) memset(mask, 1, n);
        return;
    }
    float scale = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) {
        uint8_t keep = rng_uniform(r) >= p;
        mask[i] = keep;
        out[i] = keep ? inp[i] * scale : 0.0f;
    }
}

void layer_dropout_backward(float *dinp, const float *dout, const uint8_t *mask, size_t n, float p)
{
    float scale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
    for (size_t i = 0; i < n; i++) dinp[i] += mask[i] ? dout[i] * scale : 0.0f;
}

double layer_bce_forward_backward(float *dz, const float *z, const float *y, int n, double norm)
{
    double loss = 0.0;
    for (int i = 0; i < n; i++) {
        double zi = z[i], yi = y[i];
        loss += (zi > 0.0 ? zi : 0.0) - zi * yi + log1p(exp(-fabs(zi)));
        if (dz) dz[i] += (float)(((double)layer_sigmoidf(z[i]) - yi) / norm);
    }
    return loss / norm;
}

double layer_bce_weighted_forward_backward(float *dz, const float *z, const float *y, const float *wt, int n,
                                           double norm)
{
    double loss = 0.0;
    for (int i = 0; i < n; i++) {
        double zi = z[i], yi = y[i], wi = wt[i];
        loss += wi * ((zi > 0.0 ? zi : 0.0) - zi * yi + log1p(exp(-fabs(zi))));
        if (dz) dz[i] += (float)(wi * ((double)layer_sigmoidf(z[i]) - yi) / norm);
    }
    return loss / norm;
}

void layer_bce_class_weight(float *y, float *wt, double w_neg, double w_pos)
{
    double t = *y, w = w_pos * t + w_neg * (1 - t);
    *wt = (float)w;
    *y = t >= 1 ? 1.0f : t <= 0 ? 0.0f : (float)(w_pos * t / w);
}

void layer_seq_reverse_forward(float *out, const float *inp, const int32_t *len, int B, int T, int C)
{
    for (int b = 0; b < B; b++) {
        int L = clamp_len(len[b], T);
        const float *x = inp + (size_t)b * T * C;
        float *o = out + (size_t)b * T * C;
        for (int t = 0; t < L; t++) memcpy(o + (size_t)t * C, x + (size_t)(L - 1 - t) * C, (size_t)C * sizeof *o);
        memset(o + (size_t)L * C, 0, (size_t)(T - L) * C * sizeof *o);
    }
}

void layer_seq_reverse_backward(float *dinp, const float *dout, const int32_t *len, int B, int T, int C)
{
    for (int b = 0; b < B; b++) {
        int L = clamp_len(len[b], T);
        for (int t = 0; t < L; t++) {
            float *d = dinp + ((size_t)b * T + (L - 1 - t)) * C;
            const float *g = dout + ((size_t)b * T + t) * C;
            for (int c = 0; c < C; c++) d[c] += g[c];
        }
    }
}

void layer_seq_reverse_ids(int32_t *out, const int32_t *ids, const int32_t *len, int B, int T)
{
    for (int b = 0; b < B; b++) {
        int L = clamp_len(len[b], T);
        for (int t = 0; t < T; t++)
            out[(size_t)b * T + t] = t < L ? ids[(size_t)b * T + (L - 1 - t)] : -1;
    }
}

void layer_maxpool_forward(float *out, int32_t *argmax, const float *inp, const int32_t *n,
                     int B, int T, int C)
{
    for (int b = 0; b < B; b++) {
        int L = clamp_len(n[b], T);
        float *o = out + (size_t)b * C;
        int32_t *a = argmax + (size_t)b * C;
        const float *x = inp + (size_t)b * T * C;
        if (L == 0) {
            for (int c = 0; c < C; c++) { o[c] = 0.0f; a[c] = -1; }
            continue;
        }
        for (int c = 0; c < C; c++) { o[c] = x[c]; a[c] = 0; }
        for (int t = 1; t < L; t++) {
            const float *xt = x + (size_t)t * C;
            for (int c = 0; c < C; c++)
                if (xt[c] > o[c]) { o[c] = xt[c]; a[c] = t; }
        }
    }
}

void layer_maxpool_backward(float *dinp, const float *dout, const int32_t *argmax, int B, int T, int C)
{
    for (int b = 0; b < B; b++) {
        for (int c = 0; c < C; c++) {
            int32_t t = argmax[(size_t)b * C + c];
            if (t >= 0 && t < T) dinp[((size_t)b * T + t) * C + c] += dout[(size_t)b * C + c];
        }
    }
}

void layer_meanpool_forward(float *out, const float *inp, const int32_t *n, int B, int T, int C)
{
    for (int b = 0; b < B; b++) {
        int L = clamp_len(n[b], T);
        float *o = out + (size_t)b * C;
        memset(o, 0, (size_t)C * sizeof *o);
        for (int t = 0; t < L; t++) {
            const float *xt = inp + ((size_t)b * T + t) * C;
            for (int c = 0; c < C; c++) o[c] += xt[c];
        }
        if (L) for (int c = 0; c < C; c++) o[c] /= (float)L;
    }
}

void layer_meanpool_backward(float *dinp, const float *dout, const int32_t *n, int B, int T, int C)
{
    for (int b = 0; b < B; b++) {
        int L = clamp_len(n[b], T);
        if (!L) continue;
        float s = 1.0f / (float)L;
        const float *g = dout + (size_t)b * C;
        for (int t = 0; t < L; t++) {
            float *d = dinp + ((size_t)b * T + t) * C;
            for (int c = 0; c < C; c++) d[c] += s * g[c];
        }
    }
}

void layer_concat_forward(float *out, const float *a, const float *b, size_t N, int C1, int C2)
{
    size_t C = (size_t)C1 + C2;
    for (size_t i = 0; i < N; i++) {
        memcpy(out + i * C, a + i * C1, (size_t)C1 * sizeof *out);
        memcpy(out + i * C + C1, b + i * C2, (size_t)C2 * sizeof *out);
    }
}

void layer_concat_backward(float *da, float *db, const float *dout, size_t N, int C1, int C2)
{
    size_t C = (size_t)C1 + C2;
    for (size_t i = 0; i < N; i++) {
        const float *g = dout + i * C;
        if (da) for (int c = 0; c < C1; c++) da[i * C1 + c] += g[c];
        if (db) for (int c = 0; c < C2; c++) db[i * C2 + c] += g[C1 + c];
    }
}
