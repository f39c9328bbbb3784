/* heldout.h — the held-out predictions a model carries for its own labelled training
 * documents: section "heldout" of the model file, imdb-model(5).
 *
 * A held-out prediction of a document is P(pos) from a model that did not train on it
 * (nblr's cross-fitting, heldout_folds; the validation part). An ensemble (ensemble.h)
 * fits its stacker on these, never on predictions of documents a member has seen, as
 * stacked generalization requires (Wolpert 1992).
 *
 *   u64 count N
 *   N records of 16 bytes, sorted by key, keys distinct:
 *     u64 key    feat_hash_token(id, strlen(id)) of the document id (never 0)
 *     f32 prob   held-out P(pos), in [0, 1]
 *     u32 label  the document's label when the model trained: 1 pos, 0 neg
 * All little-endian. A reader finds a document by binary search in the mapped file. */
#ifndef IMDB_HELDOUT_H
#define IMDB_HELDOUT_H
#include <stddef.h>
#include <stdint.h>
#include "util.h"
#include "modelio.h"
#include "train.h"

#define HELDOUT_SECTION "heldout"
#define HELDOUT_RECORD 16

/* Add section "heldout" to w: one record per document d->id[docs[i]] with P(pos) prob[i],
 * for i < n; docs[i] must be labelled (pos or neg). An id given twice, or two ids with
 * the same hash, cannot be told apart: all their records are left out (so a reader finds
 * none rather than a wrong one). n may be 0. prob values are clamped to [0, 1]; a NaN is
 * an IMDB_EXIT_INTERNAL error. Errors of modelio_add pass through. */
int heldout_add(modelio_writer *w, const train_docs *d, const uint32_t *docs, const double *prob,
                size_t n, imdb_err *e);

/* The same from the documents' keys (feat_hash_token of their ids) and labels (1 pos,
 * 0 neg) directly: record i is key[i], prob[i], pos[i]. */
int heldout_add_keys(modelio_writer *w, const uint64_t *key, const int *pos, const double *prob, size_t n,
                     imdb_err *e);

/* Check a whole section (size bytes at sec): its size matches the count, keys are
 * sorted and distinct and not 0, probabilities in [0, 1], labels 0 or 1. Returns the
 * number of records, or -1 with IMDB_EXIT_DATA "NAME: heldout section ..." (name: the
 * model file, for the message). */
long heldout_check(const void *sec, size_t size, const char *name, imdb_err *e);

/* Look id up: 1 and *prob (and *label, if not NULL: 1 pos, 0 neg) when present, 0 when
 * absent, -1 when the section's size does not match its count (nothing else is checked:
 * run heldout_check once first). O(log N). */
int heldout_find(const void *sec, size_t size, const char *id, double *prob, int *label);
#endif
