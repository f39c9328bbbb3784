/* trainlog.h — the per-epoch record of a training run: one line on stderr, the learning
 * curve as TSV (--curves), and (issue 3) the run in an MLflow file store (--runs-dir). */
#ifndef IMDB_TRAINLOG_H
#define IMDB_TRAINLOG_H
#include "util.h"

typedef struct trainlog trainlog;

/* curves may be NULL (no TSV). The TSV has the header
 * "epoch\ttrain_loss\tvalid_loss\tvalid_acc\tseconds". */
trainlog *trainlog_new(const char *curves, imdb_err *e);
/* valid_loss/valid_acc are NaN when there is no validation part. */
int trainlog_epoch(trainlog *l, int epoch, int epochs, double train_loss, double valid_loss,
                   double valid_acc, imdb_err *e);
int trainlog_finish(trainlog *l, imdb_err *e);   /* commits the TSV; frees l */
void trainlog_abort(trainlog *l);                 /* removes the unfinished TSV; frees l */
#endif
