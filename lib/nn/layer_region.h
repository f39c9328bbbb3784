/* layer_region.h — regions of a token sequence as bags of words, the input layer of a
 * one-hot region CNN (Johnson & Zhang 2015, "Effective use of word order for text
 * categorization with convolutional neural networks", NAACL, and "Semi-supervised CNN
 * for text categorization via region embedding", NIPS): a region of p consecutive words
 * is the binary bag of its words, and a layer over it is a sum of weight rows, never a
 * dense product with a (R, V) one-hot matrix (that product is the naive reference here).
 * Also the sampled logistic output of the unsupervised region embedding (predicting the
 * words of the adjacent regions with sampled zero targets) and the backward passes that
 * follow a max over regions, which touch only the winning region of each channel.
 *
 * Conventions of layers.h: forward writes, backward ADDS, a NULL gradient is skipped, no
 * globals and no allocation (reentrant).
 *
 * Regions. A sequence of L ids (ids outside [0, V) are unknown words: they keep their
 * position and are left out of every bag) has region_count(L, p) regions of size p:
 * region r covers positions [r, r + p) clipped to [0, L); L - p + 1 of them, 1 when
 * 0 < L < p (the whole sequence), 0 when L == 0. A view of size q of region r is the q
 * positions with the same centre, [r + floor((p - q) / 2), + q) clipped to [0, L): a
 * side input of another region size sees its own region around the same place. The bag
 * of a view holds each distinct id in [0, V) once. */
#ifndef IMDB_LAYER_REGION_H
#define IMDB_LAYER_REGION_H
#include <stddef.h>
#include <stdint.h>
#include "params.h"

#define REGION_MAX 64          /* the largest region or view size */

int region_count(int L, int p);
/* Positions [*lo, *hi) of the view of size q of region r (0 <= r < region_count(L, p)). */
void region_view(int L, int p, int q, int r, int *lo, int *hi);
/* The bag of that view: distinct ids in [0, V), in order of first position, into
 * out (REGION_MAX); returns how many. */
int region_bag(const int32_t *ids, int L, int p, int q, int r, int V, int32_t *out);

/* out (R,C) = bias + sum of the rows w[i] of the bag of the view q of each region r.
 * ids (L), w (V,C), bias (C) or NULL, R = region_count(L, p). */
void layer_region_forward(float *out, const int32_t *ids, int L, int p, int q, const float *w,
                          const float *bias, int C, int V);
/* The same as a dense product: X (R,V) the one-hot bags, out = X w + bias by
 * blas_sgemm_naive. scratch holds R*V floats. The oracle of the fast path. */
void layer_region_forward_naive(float *out, float *scratch, const int32_t *ids, int L, int p, int q,
                                const float *w, const float *bias, int C, int V);
/* dw (V,C) += X^T dout, dbias (C) += column sums of dout; dout (R,C). Every row of w that
 * received a gradient is added to touched (a rowset over V rows) unless it is NULL. */
void layer_region_backward(float *dw, rowset *touched, float *dbias, const float *dout,
                           const int32_t *ids, int L, int p, int q, int C, int V);
/* The same for a dout that is g[c] at region argmax[c] of channel c and 0 elsewhere (the
 * gradient below a max over regions): (C) g and argmax; argmax[c] < 0 gives nothing.
 * Costs C times the bag size instead of R*C. */
void layer_region_backward_pooled(float *dw, rowset *touched, float *dbias, const float *g,
                                  const int32_t *argmax, const int32_t *ids, int L, int p, int q,
                                  int C, int V);

/* Backward of a dense layer out (N,OC) = inp (N,C) w^T (w (OC,C); layer_dense_forward)
 * for a dout that is g[o] at row argmax[o] of column o and 0 elsewhere:
 * dw[o,:] += g[o] inp[argmax[o],:], dinp[argmax[o],:] += g[o] w[o,:]; argmax[o] < 0 gives
 * nothing. dinp (N,C) or NULL. */
void layer_dense_backward_pooled(float *dinp, float *dw, const float *g, const int32_t *argmax,
                                 const float *inp, const float *w, int C, int OC);

/* Sampled logistic outputs: row r of x (R,C) is scored against targets
 * tgt[off[r] .. off[r+1]) (ids in [0, V)), s = w[t] . x[r] + bias[t], with binary
 * cross-entropy against y (same indexing: 1 for a word that occurs, 0 for a sampled zero
 * target). Returns sum of BCE / norm. With dx (R,C), dw (V,C), dbias (V), each may be
 * NULL: adds the gradients, the rows of w and bias touched listed in touched. */
double layer_sampled_bce_forward_backward(float *dx, float *dw, rowset *touched, float *dbias,
                                          const float *x, const float *w, const float *bias,
                                          const int32_t *tgt, const float *y, const int64_t *off,
                                          int R, int C, double norm);
#endif
