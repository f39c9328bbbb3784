/* layer_conv.h — 1-D convolution over time for text CNNs (Kim 2014: filters of widths
 * 3, 4, 5 over word embeddings, ReLU, then max-pool over time, maxpool_* in layers.h).
 * Implemented as im2col + one sgemm per sequence: the K*C inputs under each window are
 * laid out as one row, so the product runs at BLAS speed with depth K*C. */
#ifndef IMDB_LAYER_CONV_H
#define IMDB_LAYER_CONV_H
#include <stddef.h>
#include <stdint.h>

/* Windows of width K over a sequence of length len: len-K+1 of them, and one window
 * (zero beyond the end) for a non-empty sequence shorter than K, so short documents
 * still have a feature. */
static inline int conv1d_npos(int32_t len, int K)
{ return len <= 0 ? 0 : len >= K ? len - K + 1 : 1; }

/* Floats of scratch that conv1d_forward / conv1d_backward need (both use the same). */
static inline size_t conv1d_scratch_size(int T, int K, int C)
{ return 2 * (size_t)T * K * C; }

/* inp (B,T,C), len (B) with 0 <= len[b] <= T (clamped), w (OC, K*C) where w[o, j*C + c]
 * weighs channel c at offset j of the window, bias (OC) or NULL, out (B,T,OC).
 * out[b,p] for p < conv1d_npos(len[b], K) is the window starting at p, where inputs at
 * positions >= len[b] count as zeros (padding is never read); later positions are 0.
 * scratch: conv1d_scratch_size(T, K, C) floats. */
void conv1d_forward(float *out, float *scratch, const float *inp, const int32_t *len,
                    const float *w, const float *bias, int B, int T, int C, int K, int OC);
/* dout (B,T,OC) (only the window positions are read). Adds into dinp (B,T,C) (valid
 * positions only), dw (OC,K*C), dbias (OC); any may be NULL. */
void conv1d_backward(float *dinp, float *dw, float *dbias, float *scratch, const float *dout,
                     const float *inp, const int32_t *len, const float *w,
                     int B, int T, int C, int K, int OC);
#endif
