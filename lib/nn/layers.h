/* layers.h — the small layers of the neural models, llm.c style: free functions over
 * plain float buffers, row-major, shapes in the comments. B is the batch, T the padded
 * sequence length, C channels. Conventions, true of every layer here:
 *   - x_forward writes its output; x_backward ADDS into the gradient buffers it is given
 *     (zeroing them is the caller's, once per step), and a NULL gradient buffer skips
 *     that gradient;
 *   - sequences are padded at the end: sequence b occupies positions [0, len[b]) and
 *     whatever sits in positions >= len[b] is ignored (0 <= len[b] <= T);
 *   - no globals, no allocation: every function is reentrant, so a batch may be split
 *     over threads, each with its own gradient buffers.
 * The LSTM is in layer_lstm.h, the convolution in layer_conv.h. */
#ifndef IMDB_LAYERS_H
#define IMDB_LAYERS_H
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include "params.h"
#include "rng.h"

/* Embedding lookup. ids (N) (N = B*T), w (V,C), out (N,C). An id outside [0, V) (say -1
 * for padding or an unknown word) gives a zero row and receives no gradient. */
void layer_embed_forward(float *out, const int32_t *ids, const float *w, size_t N, int C, int V);
/* dw (V,C) += scattered dout (N,C). If touched is not NULL (a rowset over V rows), every
 * row that received a gradient is added to it. */
void layer_embed_backward(float *dw, rowset *touched, const float *dout, const int32_t *ids,
                    size_t N, int C, int V);

/* Mean of a bag of embeddings per document (fastText's hidden layer). Document b is
 * ids[off[b] .. off[b+1]) (off has B+1 entries, non-decreasing); ids outside [0, V) are
 * skipped and not counted; an empty bag gives zeros. w (V,C), out (B,C). */
void layer_embbag_forward(float *out, const int32_t *ids, const int64_t *off, int B,
                    const float *w, int C, int V);
void layer_embbag_backward(float *dw, rowset *touched, const float *dout, const int32_t *ids,
                     const int64_t *off, int B, int C, int V);

/* Dense layer: out = inp w^T + bias. inp (N,C), w (OC,C), bias (OC) or NULL,
 * out (N,OC). One sgemm each way. */
void layer_dense_forward(float *out, const float *inp, const float *w, const float *bias,
                   int N, int C, int OC);
/* dinp (N,C) += dout w; dw (OC,C) += dout^T inp; dbias (OC) += column sums of dout. */
void layer_dense_backward(float *dinp, float *dw, float *dbias, const float *dout,
                    const float *inp, const float *w, int N, int C, int OC);

/* Pointwise activations over n floats; out may equal inp. The backward passes take the
 * forward OUTPUT y (not the input) and add dout * f'(.) into dinp. */
void layer_relu_forward(float *out, const float *inp, size_t n);
void layer_relu_backward(float *dinp, const float *dout, const float *y, size_t n);
void layer_sigmoid_forward(float *out, const float *inp, size_t n);
void layer_sigmoid_backward(float *dinp, const float *dout, const float *y, size_t n);
void layer_tanh_forward(float *out, const float *inp, size_t n);
void layer_tanh_backward(float *dinp, const float *dout, const float *y, size_t n);

/* The logistic function without overflow for any finite x. */
static inline float layer_sigmoidf(float x)
{
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

/* tanh through one expf: glibc's tanhf goes through expm1f and was 40% of an LSTM
 * step. Absolute error ~1e-7 (relative accuracy is lost below |x| ~ 1e-3, where
 * nothing downstream can tell). */
static inline float layer_tanhf(float x)
{
    float e = expf(-2.0f * fabsf(x));
    return copysignf((1.0f - e) / (1.0f + e), x);
}

/* Inverted dropout over n floats: each unit is kept with probability 1 - p and scaled by
 * 1 / (1 - p), so inference is the identity. mask (n) records the kept units (1/0) for
 * the backward pass. r == NULL or p <= 0 means inference: out = inp, mask all 1.
 * p >= 1 drops everything. out may equal inp. */
void layer_dropout_forward(float *out, uint8_t *mask, const float *inp, size_t n, float p, rng *r);
void layer_dropout_backward(float *dinp, const float *dout, const uint8_t *mask, size_t n, float p);

/* Fused sigmoid + binary cross-entropy on logits z (n) with targets y (n) in [0, 1]:
 * returns sum_i [softplus(z_i) - y_i z_i] / norm, computed as
 * max(z,0) - z y + log1p(exp(-|z|)), which neither overflows nor loses precision.
 * If dz is not NULL, dz (n) += (sigmoid(z_i) - y_i) / norm. norm is normally n; a batch
 * split over threads passes the whole batch size so the parts add up to the mean. */
double layer_bce_forward_backward(float *dz, const float *z, const float *y, int n, double norm);
/* The same with a weight wt_i >= 0 per example: sum_i wt_i [softplus(z_i) - y_i z_i] /
 * norm, and dz += wt_i (sigmoid(z_i) - y_i) / norm. */
double layer_bce_weighted_forward_backward(float *dz, const float *z, const float *y, const float *wt, int n,
                                           double norm);
/* Class weights as an example weight: a target *y in [0, 1] becomes y' = w_pos y / wt with
 * *wt = w_pos y + w_neg (1 - y), so that wt BCE(z, y') = w_pos y softplus(-z) + w_neg (1 - y)
 * softplus(z), the cross-entropy with each class's term weighted (for y = 1 or 0: y' = y
 * and wt = w_pos or w_neg). w_neg, w_pos > 0. */
void layer_bce_class_weight(float *y, float *wt, double w_neg, double w_pos);

/* Sequences reversed within their lengths: out[b,t] = inp[b, len[b]-1-t] for t < len[b],
 * 0 for padding. inp, out (B,T,C), out != inp. The backward of a reversal is a
 * reversal: dinp[b, len-1-t] += dout[b,t]. A BiLSTM runs its second LSTM on the reversed
 * input; the padded positions of the result stay at the end. */
void layer_seq_reverse_forward(float *out, const float *inp, const int32_t *len, int B, int T, int C);
void layer_seq_reverse_backward(float *dinp, const float *dout, const int32_t *len, int B, int T, int C);
/* The same for token ids (B,T); padding becomes -1. */
void layer_seq_reverse_ids(int32_t *out, const int32_t *ids, const int32_t *len, int B, int T);

/* Max over time of the first n[b] positions of each sequence (padding excluded).
 * inp (B,T,C), out (B,C), argmax (B,C) keeps the winning position for the backward
 * (first maximum on ties; -1 and out 0 when n[b] == 0). */
void layer_maxpool_forward(float *out, int32_t *argmax, const float *inp, const int32_t *n,
                     int B, int T, int C);
void layer_maxpool_backward(float *dinp, const float *dout, const int32_t *argmax, int B, int T, int C);
/* Mean over time of the first n[b] positions; out 0 when n[b] == 0. */
void layer_meanpool_forward(float *out, const float *inp, const int32_t *n, int B, int T, int C);
void layer_meanpool_backward(float *dinp, const float *dout, const int32_t *n, int B, int T, int C);

/* Concatenation along channels: out (N, C1+C2) = [a (N,C1) | b (N,C2)]. */
void layer_concat_forward(float *out, const float *a, const float *b, size_t N, int C1, int C2);
void layer_concat_backward(float *da, float *db, const float *dout, size_t N, int C1, int C2);
#endif
