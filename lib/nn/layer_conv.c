/* layer_conv.c — see layer_conv.h. */
#include "layer_conv.h"

#include <string.h>
#include "blas.h"

static inline int clamp_len(int32_t len, int T) { return len < 0 ? 0 : len > T ? T : len; }

/* col (P, K*C): row p holds x[p .. p+K-1] (C each), zeros past L. */
static void im2col(float *col, const float *x, int L, int P, int C, int K)
{
    size_t KC = (size_t)K * C;
    for (int p = 0; p < P; p++) {
        float *row = col + (size_t)p * KC;
        int n = L - p < K ? L - p : K;       /* taps inside the sequence */
        memcpy(row, x + (size_t)p * C, (size_t)n * C * sizeof *row);
        memset(row + (size_t)n * C, 0, (size_t)(K - n) * C * sizeof *row);
    }
}

void conv1d_forward(float *out, float *scratch, const float *inp, const int32_t *len,
                    const float *w, const float *bias, int B, int T, int C, int K, int OC)
{
    int KC = K * C;
    for (int b = 0; b < B; b++) {
        int L = clamp_len(len[b], T), P = conv1d_npos(L, K);
        float *o = out + (size_t)b * T * OC;
        memset(o + (size_t)P * OC, 0, (size_t)(T - P) * OC * sizeof *o);
        if (!P) continue;
        im2col(scratch, inp + (size_t)b * T * C, L, P, C, K);
        if (bias) for (int p = 0; p < P; p++) memcpy(o + (size_t)p * OC, bias, (size_t)OC * sizeof *o);
        blas_sgemm(BLAS_N, BLAS_T, P, OC, KC, 1.0f, scratch, KC, w, KC, bias ? 1.0f : 0.0f, o, OC);
    }
}

void conv1d_backward(float *dinp, float *dw, float *dbias, float *scratch, const float *dout,
                     const float *inp, const int32_t *len, const float *w,
                     int B, int T, int C, int K, int OC)
{
    int KC = K * C;
    float *col = scratch, *dcol = scratch + (size_t)T * KC;
    for (int b = 0; b < B; b++) {
        int L = clamp_len(len[b], T), P = conv1d_npos(L, K);
        if (!P) continue;
        const float *g = dout + (size_t)b * T * OC;
        if (dw) {
            im2col(col, inp + (size_t)b * T * C, L, P, C, K);
            blas_sgemm(BLAS_T, BLAS_N, OC, KC, P, 1.0f, g, OC, col, KC, 1.0f, dw, KC);
        }
        if (dbias)
            for (int p = 0; p < P; p++)
                for (int o = 0; o < OC; o++) dbias[o] += g[(size_t)p * OC + o];
        if (dinp) {
            blas_sgemm(BLAS_N, BLAS_N, P, KC, OC, 1.0f, g, OC, w, KC, 0.0f, dcol, KC);
            float *d = dinp + (size_t)b * T * C;
            for (int p = 0; p < P; p++) {
                int n = L - p < K ? L - p : K;
                const float *row = dcol + (size_t)p * KC;
                float *dx = d + (size_t)p * C;
                for (int i = 0; i < n * C; i++) dx[i] += row[i];
            }
        }
    }
}
