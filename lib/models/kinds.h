/* kinds.h — the one registry of model kinds: each kind's name, how a model file of the kind
 * is loaded and scored (its clf_ops, clf.h) and how imdb-train trains it (its trainer,
 * train.h). clf_open and train_find both look kinds up here, so adding a kind is one line
 * in kinds.c. */
#ifndef IMDB_KINDS_H
#define IMDB_KINDS_H
#include "clf.h"
#include "train.h"

typedef struct kinds_entry {
    const char *name;        /* the "kind" section of a model file, imdb-train --kind */
    const clf_ops *clf;      /* NULL: its files are no classifiers (word2vec writes vectors) */
    const trainer *train;    /* NULL: imdb-train cannot make it */
} kinds_entry;

/* Every kind, in the order imdb-train --help lists them; the last entry's name is NULL.
 * Where both are set, clf->kind and train->kind equal name. */
extern const kinds_entry kinds_table[];

/* The entry named name, or NULL. */
const kinds_entry *kinds_find(const char *name);
#endif
