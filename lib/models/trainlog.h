/* trainlog.h — the per-epoch record of a training run: one log message, the learning
 * curve as TSV (--curves), and the run in an MLflow file store (--runs-dir, runlog.h):
 * params, tags, the metrics train_loss, valid_loss and valid_acc per epoch (step = epoch),
 * and as artifacts the curve (curves.tsv) and the model file. */
#ifndef IMDB_TRAINLOG_H
#define IMDB_TRAINLOG_H
#include "util.h"

typedef struct trainlog trainlog;

/* Where and how to record the run in an MLflow file store. */
typedef struct trainlog_run {
    const char *dir;          /* --runs-dir; NULL: no record */
    const char *experiment;   /* NULL or "": "Default" (id 0) */
    const char *name;         /* run name (tag mlflow.runName) */
    const char *kind;         /* model kind: param "model" is in params; also tag "model_kind" */
    const char *params;       /* the settings as given (conf_format text), logged at once */
    const char *source;       /* the program (tag mlflow.source.name), e.g. "imdb-train" */
} trainlog_run;

/* curves may be NULL (no TSV), run may be NULL (no MLflow record). The TSV has the header
 * "epoch\ttrain_loss\tvalid_loss\tvalid_acc\tseconds". Each epoch is an IMDB_LOG_INFO
 * message to log ("epoch 3/30  train_loss ..."), which may be NULL; log must outlive l. */
trainlog *trainlog_new(const char *curves, const trainlog_run *run, const imdb_log *log, imdb_err *e);
/* valid_loss/valid_acc are NaN when there is no validation part (they are then left out
 * of the MLflow metrics). */
int trainlog_epoch(trainlog *l, int epoch, int epochs, double train_loss, double valid_loss,
                   double valid_acc, imdb_err *e);
/* Commits the TSV; in the MLflow run, logs params (the effective settings, conf_format
 * text; NULL for none), stores the file artifact (the model; NULL for none) and the curve,
 * and marks the run FINISHED. Frees l, also on error. */
int trainlog_finish(trainlog *l, const char *params, const char *artifact, imdb_err *e);
/* Removes the unfinished TSV, marks the MLflow run FAILED (keeping what it logged); frees l.
 * NULL is fine. */
void trainlog_abort(trainlog *l);
#endif
