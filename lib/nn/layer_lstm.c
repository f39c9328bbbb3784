/* layer_lstm.c — see layer_lstm.h.
 *
 * Layout. The input and the output h are (B,T,·) like every other layer, so the
 * states of step t are a strided slice of h (row stride T*H) that BLAS reads directly
 * through its leading dimension. What only this file touches (gates, c, tanh c) is
 * time-major (T,B,·): a step works on one contiguous block instead of B blocks spread
 * over megabytes, which made the whole layer 2.4x faster (cache misses, not
 * arithmetic, dominated the pointwise loops). The per-sequence sgemms reach those
 * arrays with leading dimension B*4H. */
#include "layer_lstm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "blas.h"
#include "layers.h"
#include "params.h"
#include "util.h"

void lstm_cache_init(lstm_cache *k, int max_b, int max_t, int H)
{
    memset(k, 0, sizeof *k);
    size_t P = (size_t)max_b * max_t, h = (size_t)H;
    size_t n = P * 4 * h + 3 * P * h + (size_t)max_b * 4 * h + 2 * (size_t)max_b * h;
    k->block = imdb_xmalloc((n ? n : 1) * sizeof(float));
    float *p = k->block;
    k->gates = p; p += P * 4 * h;
    k->c = p; p += P * h;
    k->tc = p; p += P * h;
    k->h = p; p += P * h;
    k->rec = p; p += (size_t)max_b * 4 * h;
    k->dh = p; p += (size_t)max_b * h;
    k->dc = p;
    k->cap_pos = P;
    k->cap_b = max_b;
    k->H = H;
}

void lstm_cache_free(lstm_cache *k)
{
    free(k->block);
    memset(k, 0, sizeof *k);
}

void lstm_init(float *wx, float *wh, float *bias, int C, int H, rng *r)
{
    params_uniform(wx, (size_t)4 * H * C, params_glorot((size_t)C, (size_t)4 * H), r);
    params_uniform(wh, (size_t)4 * H * H, params_glorot((size_t)H, (size_t)4 * H), r);
    for (int j = 0; j < 4 * H; j++) bias[j] = (j >= H && j < 2 * H) ? 1.0f : 0.0f;
}

static inline int clamp_len(int32_t len, int T) { return len < 0 ? 0 : len > T ? T : len; }

/* Rows [0, n) contain every sequence still running at step t. */
static int active_rows(const int32_t *len, int B, int T, int t)
{
    int n = 0;
    for (int b = 0; b < B; b++)
        if (clamp_len(len[b], T) > t) n = b + 1;
    return n;
}

/* The pointwise part of a step, per sequence: 5 exponentials per hidden unit forward,
 * plain arithmetic backward. It is as costly as the matrix products at H = 64, so it is
 * written with GCC/Clang vector extensions (4 floats: SSE2 or NEON, the baseline of
 * every 64-bit target) instead of hoping for the autovectorizer, which -O2 leaves off;
 * a scalar loop finishes H % 4 and serves other compilers. */
#if defined(__GNUC__)
#define LSTM_VEC 4
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

static inline v4f v4_load(const float *p) { v4f v; memcpy(&v, p, sizeof v); return v; }
static inline void v4_store(float *p, v4f v) { memcpy(p, &v, sizeof v); }
static inline v4f v4_set(float x) { return (v4f){x, x, x, x}; }
static inline v4i v4_set_i(int32_t x) { return (v4i){x, x, x, x}; }
static inline v4f v4_select(v4i m, v4f a, v4f b) { return (v4f)((m & (v4i)a) | (~m & (v4i)b)); }

/* exp(x) for x <= 0, the Cephes expf scheme (range reduction by ln 2, a polynomial,
 * 2^n from the exponent bits): within 1 ulp on [-87, 0] (measured); below -87 it
 * returns e^-87 ~ 1.6e-38 rather than a denormal or 0, which is all the same here. */
static inline v4f v4_exp_neg(v4f x)
{
    x = v4_select(x < v4_set(-87.0f), v4_set(-87.0f), x);
    v4f n = x * v4_set(1.44269504088896341f) + v4_set(12582912.0f);   /* round to nearest */
    n -= v4_set(12582912.0f);
    x = x - n * v4_set(0.693359375f) + n * v4_set(2.12194440e-4f);
    v4f z = x * x;
    v4f y = v4_set(1.9875691500e-4f);
    y = y * x + v4_set(1.3981999507e-3f);
    y = y * x + v4_set(8.3334519073e-3f);
    y = y * x + v4_set(4.1665795894e-2f);
    y = y * x + v4_set(1.6666665459e-1f);
    y = y * x + v4_set(5.0000001201e-1f);
    y = y * z + x + v4_set(1.0f);
    v4i e = (__builtin_convertvector(n, v4i) + 127) << 23;
    return y * (v4f)e;
}

static inline v4f v4_abs(v4f x) { return (v4f)((v4i)x & v4_set_i(0x7fffffff)); }

static inline v4f v4_sigmoid(v4f x)
{
    v4f e = v4_exp_neg(-v4_abs(x));          /* e^-|x| in (0, 1] */
    v4f r = v4_set(1.0f) / (v4_set(1.0f) + e);
    return v4_select(x >= v4_set(0.0f), r, e * r);
}

static inline v4f v4_tanh(v4f x)
{
    v4f e = v4_exp_neg(v4_set(-2.0f) * v4_abs(x));
    v4f t = (v4_set(1.0f) - e) / (v4_set(1.0f) + e);
    return (v4f)((v4i)t | ((v4i)x & v4_set_i((int32_t)0x80000000u)));   /* sign of x */
}
#endif

/* a (4H): pre-activations without the recurrent part r (4H, NULL at t = 0), replaced by
 * the activated gates; cprev (H) is NULL at t = 0; writes c, tanh(c), h (H). */
static void cell_forward(float *restrict a, const float *restrict r, const float *restrict cprev,
                         float *restrict c, float *restrict tc, float *restrict h, int H)
{
    int j = 0;
#ifdef LSTM_VEC
    for (; j + LSTM_VEC <= H; j += LSTM_VEC) {
        v4f zi = v4_load(a + j), zf = v4_load(a + H + j), zg = v4_load(a + 2 * H + j), zo = v4_load(a + 3 * H + j);
        if (r) {
            zi += v4_load(r + j); zf += v4_load(r + H + j);
            zg += v4_load(r + 2 * H + j); zo += v4_load(r + 3 * H + j);
        }
        v4f i = v4_sigmoid(zi), f = v4_sigmoid(zf), g = v4_tanh(zg), o = v4_sigmoid(zo);
        v4f cv = i * g;
        if (cprev) cv += f * v4_load(cprev + j);
        v4f tv = v4_tanh(cv);
        v4_store(a + j, i); v4_store(a + H + j, f); v4_store(a + 2 * H + j, g); v4_store(a + 3 * H + j, o);
        v4_store(c + j, cv);
        v4_store(tc + j, tv);
        v4_store(h + j, o * tv);
    }
#endif
    for (; j < H; j++) {
        float zi = a[j], zf = a[H + j], zg = a[2 * H + j], zo = a[3 * H + j];
        if (r) { zi += r[j]; zf += r[H + j]; zg += r[2 * H + j]; zo += r[3 * H + j]; }
        float i = layer_sigmoidf(zi), f = layer_sigmoidf(zf), g = layer_tanhf(zg), o = layer_sigmoidf(zo);
        float cv = i * g + (cprev ? f * cprev[j] : 0.0f);
        float tv = layer_tanhf(cv);
        a[j] = i; a[H + j] = f; a[2 * H + j] = g; a[3 * H + j] = o;
        c[j] = cv;
        tc[j] = tv;
        h[j] = o * tv;
    }
}

/* a (4H): the activated gates, replaced by the gradient of the pre-activations. dh, dc
 * (H): the gradients flowing back from step t+1, dc replaced by the one for step t-1
 * (dh is recomputed by the caller's sgemm). g_hs, g_last: the gradients arriving on
 * h_t from outside, or NULL. */
static void cell_backward(float *restrict a, const float *restrict tc, const float *restrict cprev,
                          const float *restrict g_hs, const float *restrict g_last,
                          const float *restrict dh, float *restrict dc, int H)
{
    int j = 0;
#ifdef LSTM_VEC
    const v4f one = v4_set(1.0f);
    for (; j + LSTM_VEC <= H; j += LSTM_VEC) {
        v4f i = v4_load(a + j), f = v4_load(a + H + j), g = v4_load(a + 2 * H + j), o = v4_load(a + 3 * H + j);
        v4f dhv = v4_load(dh + j);
        if (g_hs) dhv += v4_load(g_hs + j);
        if (g_last) dhv += v4_load(g_last + j);
        v4f tv = v4_load(tc + j);
        v4f dcv = v4_load(dc + j) + dhv * o * (one - tv * tv);
        v4f cp = cprev ? v4_load(cprev + j) : v4_set(0.0f);
        v4_store(a + j, dcv * g * i * (one - i));
        v4_store(a + H + j, dcv * cp * f * (one - f));
        v4_store(a + 2 * H + j, dcv * i * (one - g * g));
        v4_store(a + 3 * H + j, dhv * tv * o * (one - o));
        v4_store(dc + j, dcv * f);
    }
#endif
    for (; j < H; j++) {
        float i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j];
        float dhv = dh[j];
        if (g_hs) dhv += g_hs[j];
        if (g_last) dhv += g_last[j];
        float tv = tc[j];
        float dcv = dc[j] + dhv * o * (1.0f - tv * tv);
        float cp = cprev ? cprev[j] : 0.0f;
        a[j] = dcv * g * i * (1.0f - i);
        a[H + j] = dcv * cp * f * (1.0f - f);
        a[2 * H + j] = dcv * i * (1.0f - g * g);
        a[3 * H + j] = dhv * tv * o * (1.0f - o);
        dc[j] = dcv * f;
    }
}

/* dst (n) += src (n). */
static void add_to(float *restrict dst, const float *restrict src, size_t n)
{
    size_t j = 0;
#ifdef LSTM_VEC
    for (; j + LSTM_VEC <= n; j += LSTM_VEC) v4_store(dst + j, v4_load(dst + j) + v4_load(src + j));
#endif
    for (; j < n; j++) dst[j] += src[j];
}

void lstm_forward(lstm_cache *k, float *hlast, const float *inp, const int32_t *len,
                  const float *wx, const float *wh, const float *bias,
                  int B, int T, int C, int H)
{
    const size_t G = (size_t)4 * H;
    float *gates = k->gates, *cs = k->c, *tcs = k->tc, *hs = k->h, *rec = k->rec;
#define TB(t, b) ((size_t)(t) * B + (b))
#define BT(b, t) ((size_t)(b) * T + (t))

    /* Input projection, bias included, of every valid position: one sgemm per sequence,
     * writing time-major rows (stride B*4H). */
    for (int b = 0; b < B; b++) {
        int L = clamp_len(len[b], T);
        for (int t = 0; t < L; t++) memcpy(gates + TB(t, b) * G, bias, G * sizeof(float));
        blas_sgemm(BLAS_N, BLAS_T, L, (int)G, C, 1.0f, inp + BT(b, 0) * C, C, wx, C,
                   1.0f, gates + TB(0, b) * G, B * (int)G);
        /* Padding is zero in h: the output, and read by the next step's sgemm. */
        memset(hs + BT(b, L) * H, 0, (size_t)(T - L) * H * sizeof(float));
    }

    for (int t = 0; t < T; t++) {
        int M = active_rows(len, B, T, t);
        if (M == 0) break;
        if (t > 0)
            blas_sgemm(BLAS_N, BLAS_T, M, (int)G, H, 1.0f, hs + BT(0, t - 1) * H, T * H,
                       wh, H, 0.0f, rec, (int)G);
        for (int b = 0; b < M; b++) {
            if (clamp_len(len[b], T) <= t) continue;
            cell_forward(gates + TB(t, b) * G, t > 0 ? rec + (size_t)b * G : NULL,
                         t > 0 ? cs + TB(t - 1, b) * H : NULL,
                         cs + TB(t, b) * H, tcs + TB(t, b) * H, hs + BT(b, t) * H, H);
        }
    }

    if (hlast) {
        for (int b = 0; b < B; b++) {
            int L = clamp_len(len[b], T);
            float *o = hlast + (size_t)b * H;
            if (L) memcpy(o, hs + BT(b, L - 1) * H, (size_t)H * sizeof *o);
            else memset(o, 0, (size_t)H * sizeof *o);
        }
    }
}

void lstm_backward(float *dinp, float *dwx, float *dwh, float *dbias, lstm_cache *k,
                   const float *dhs, const float *dhlast, const float *inp,
                   const int32_t *len, const float *wx, const float *wh,
                   int B, int T, int C, int H)
{
    const size_t G = (size_t)4 * H;
    float *dpre = k->gates;          /* overwritten in place, position by position */
    const float *cs = k->c, *tcs = k->tc, *hs = k->h;
    float *dh = k->dh, *dc = k->dc;
    memset(dh, 0, (size_t)B * H * sizeof *dh);
    memset(dc, 0, (size_t)B * H * sizeof *dc);

    for (int t = T - 1; t >= 0; t--) {
        int M = active_rows(len, B, T, t);
        if (M == 0) continue;
        for (int b = 0; b < M; b++) {
            int L = clamp_len(len[b], T);
            float *a = dpre + TB(t, b) * G;
            if (L <= t) {
                /* Not started yet (seen from the end): a zero row keeps dh zero. */
                memset(a, 0, G * sizeof *a);
                continue;
            }
            cell_backward(a, tcs + TB(t, b) * H, t > 0 ? cs + TB(t - 1, b) * H : NULL,
                          dhs ? dhs + BT(b, t) * H : NULL,
                          (dhlast && t == L - 1) ? dhlast + (size_t)b * H : NULL,
                          dh + (size_t)b * H, dc + (size_t)b * H, H);
            if (dbias) add_to(dbias, a, G);
        }
        if (t > 0)   /* dh_{t-1} = dpre_t wh, for the rows still running */
            blas_sgemm(BLAS_N, BLAS_N, M, H, (int)G, 1.0f, dpre + TB(t, 0) * G, (int)G,
                       wh, H, 0.0f, dh, H);
    }

    /* Weight and input gradients: sums over the valid positions of each sequence. */
    for (int b = 0; b < B; b++) {
        int L = clamp_len(len[b], T);
        const float *d = dpre + TB(0, b) * G;
        int ld = B * (int)G;
        if (dwh)
            blas_sgemm(BLAS_T, BLAS_N, (int)G, H, L - 1, 1.0f, d + (size_t)ld, ld,
                       hs + BT(b, 0) * H, H, 1.0f, dwh, H);
        if (dwx)
            blas_sgemm(BLAS_T, BLAS_N, (int)G, C, L, 1.0f, d, ld, inp + BT(b, 0) * C, C, 1.0f, dwx, C);
        if (dinp)
            blas_sgemm(BLAS_N, BLAS_N, L, C, (int)G, 1.0f, d, ld, wx, C, 1.0f, dinp + BT(b, 0) * C, C);
    }
#undef TB
#undef BT
}
