/* layer_lstm.h — a single-layer LSTM over a padded batch (Hochreiter & Schmidhuber 1997,
 * with the forget gate of Gers et al. 2000; no peepholes), forward and backpropagation
 * through time.
 *
 * Gates, in this order in the rows of the weights: i (input), f (forget), g (cell
 * candidate), o (output):
 *   [i f g o] = [sig sig tanh sig](wx x_t + wh h_{t-1} + bias)
 *   c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t),   h_{-1} = c_{-1} = 0.
 * Sequence b runs over positions [0, len[b]); padded positions are neither read nor
 * computed, so the last hidden state is h at len[b]-1. For speed: the input projection
 * of all positions is one sgemm per sequence, the recurrent projection one sgemm per
 * time step over the sequences still running — sorting the batch by length, longest
 * first, lets that sgemm shrink as sequences end; the saved activations are time-major
 * so that each step works on contiguous memory; no allocation per step.
 * A BiLSTM is two of these, the second on layer_seq_reverse_forward'ed input (layers.h): its
 * hlast summarizes the sequence from the first word; its h is in reversed order, which
 * pooling over time does not mind (the valid positions are still [0, len)), and which
 * layer_seq_reverse_forward undoes when per-position states must line up. A cache belongs to
 * one thread at a time; the functions themselves are reentrant. */
#ifndef IMDB_LAYER_LSTM_H
#define IMDB_LAYER_LSTM_H
#include <stddef.h>
#include <stdint.h>
#include "rng.h"

/* What the forward keeps for the backward, sized once for the largest batch. Shapes
 * refer to the B, T of the last forward (B*T <= cap_pos, B <= cap_b). */
typedef struct lstm_cache {
    float *gates;     /* (T,B,4H) activated gates; the backward overwrites them with the
                         gradient of the pre-activations, so one forward, one backward */
    float *c;         /* (T,B,H) cell states (time-major: one step is one block) */
    float *tc;        /* (T,B,H) tanh(c) */
    float *h;         /* (B,T,H) hidden states, the layer's output; 0 at padding */
    float *rec;       /* (B,4H) scratch: recurrent projection of one step */
    float *dh, *dc;   /* (B,H) scratch of the backward */
    size_t cap_pos;   /* capacity in positions B*T */
    int cap_b, H;
    float *block;     /* the one allocation behind all of the above */
} lstm_cache;

/* Allocate for batches with B <= max_b and B*T <= max_b*max_t (aborts on out of memory). */
void lstm_cache_init(lstm_cache *k, int max_b, int max_t, int H);
void lstm_cache_free(lstm_cache *k);

/* Weights: wx (4H,C), wh (4H,H), bias (4H). Glorot-uniform matrices, forget-gate bias 1
 * (Jozefowicz et al. 2015), other biases 0. */
void lstm_init(float *wx, float *wh, float *bias, int C, int H, rng *r);

/* inp (B,T,C), len (B) with 0 <= len[b] <= T (clamped). Writes k->h (B,T,H) and, if not
 * NULL, hlast (B,H) = h[b, len[b]-1] (0 when len[b] == 0). */
void lstm_forward(lstm_cache *k, float *hlast, const float *inp, const int32_t *len,
                  const float *wx, const float *wh, const float *bias,
                  int B, int T, int C, int H);
/* Gradients flow in through dhs (B,T,H) on every hidden state (padding ignored) and/or
 * dhlast (B,H) on the last ones; either may be NULL. Adds into dinp (B,T,C) (valid
 * positions only), dwx, dwh, dbias; any of them may be NULL. inp, len, wx, wh, B, T, C, H
 * must be those of the forward that filled k. */
void lstm_backward(float *dinp, float *dwx, float *dwh, float *dbias, lstm_cache *k,
                   const float *dhs, const float *dhlast, const float *inp,
                   const int32_t *len, const float *wx, const float *wh,
                   int B, int T, int C, int H);
#endif
