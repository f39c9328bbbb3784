/* ensemble.h — several trained models combined by a logistic-regression stacker
 * (stacked generalization, Wolpert 1992; Breiman 1996 "Stacked regressions").
 *
 *   P(pos) = sigmoid(b + sum_k w_k * logit(p_k)),  p_k clamped to [1e-6, 1 - 1e-6]
 * where p_k is member k's P(pos). The stacker (logreg.h) is fitted on predictions the
 * members made for documents they did not train on: each member's "heldout" section
 * (heldout.h; nblr's heldout_folds), or, for a member without one, its predictions of
 * the validation part, which is allowed only when the member was trained with the
 * ensemble's own valid_fraction (> 0) and seed, so that it never saw those documents.
 * The test set never takes part.
 *
 * The ensemble's model file holds the stacker ("ens.w") and each member's whole model
 * file as a section ("member.0", "member.1", ...); loading opens every member from its
 * section in place (modelio_open_mem, clf_open). Members must be cleaned like each
 * other and like the ensemble's training tokens; an ensemble cannot be a member. */
#ifndef IMDB_ENSEMBLE_H
#define IMDB_ENSEMBLE_H
#include "clf.h"
#include "train.h"

#define ENSEMBLE_MAX_MEMBERS 32

extern const trainer ensemble_trainer;   /* imdb-train --model ensemble */
extern const clf_ops ensemble_clf_ops;   /* kind "ensemble" */
#endif
