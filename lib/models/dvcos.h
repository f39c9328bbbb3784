/* dvcos.h — document vectors trained with cosine similarity (Thongtan & Phienthrakul,
 * "Sentiment Classification using Document Embeddings trained with Cosine Similarity",
 * ACL 2019 SRW): PV-DBOW in which a document's vector h predicts each of the document's
 * 1..ngrams-grams v against negative samples, scoring a pair by  scale * cos(h, v)
 * instead of the dot product, then a logistic-regression head on the vectors of the
 * labelled training documents.
 *
 * Loss of one pair: -log s(scale cos(h, v)) for a target the document contains,
 * -log s(-scale cos(h, v)) for a negative drawn from the targets' count^neg_power
 * distribution; SGD, one step on h after each target and its negatives (their
 * gradients summed), on v after each pair, each vector put back to unit length after its
 * step (unit = 1: the loss ignores norms, and plain SGD would only grow them and so shrink
 * its own steps). The corpus is the text of every labelled
 * document (labels unused) and of the unlabelled pool (--unlabelled), which in
 * transductive use holds the test reviews' text.
 *
 * Prediction: a document whose token sequence was in the corpus has its learned vector,
 * kept in the model (transductive). Any other document gets a vector inferred by
 * infer_epochs SGD passes over its targets with the target vectors frozen, from an rng
 * seeded with the model's seed only, so the same text always gets the same vector
 * (inductive). With the setting inductive = 1 the head is fitted on the inferred
 * vectors of the training documents and no learned vector is kept, so every document is
 * inferred, as its head expects. Threads update shared vectors without locks (Hogwild), so only
 * --threads 1 reproduces a model byte for byte. */
#ifndef IMDB_DVCOS_H
#define IMDB_DVCOS_H
#include <stddef.h>
#include <stdint.h>
#include "clf.h"
#include "train.h"

/* One pair's SGD step, the kernel of training and inference. h (dim) is the document
 * vector with norm hn > 0 (held fixed while its target and negatives are scored), v
 * (dim) the target vector; label 1 for a target, 0 for a negative. Adds lr * (minus the
 * gradient of the pair's loss with respect to h) to gh, and the same for v to v itself
 * when update_v (update_v 2: then back to unit length); adds the pair's loss to *loss unless loss is NULL. Returns cos(h, v);
 * 0 and no update when v is zero. */
double dvcos_pair(const float *restrict h, float hn, float *restrict v, int dim, float scale, int label,
                  float lr, float *restrict gh, int update_v, float *loss);

extern const trainer dvcos_trainer;   /* imdb-train --model dvcos */
extern const clf_ops dvcos_clf_ops;   /* kind "dvcos" */
#endif
