/* trainlog.c — see trainlog.h. */
#include "trainlog.h"
#include "cli.h"
#include "outfile.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

struct trainlog {
    outfile *tsv;
    double start;
};

trainlog *trainlog_new(const char *curves, imdb_err *e)
{
    trainlog *l = xcalloc(1, sizeof *l);
    l->start = imdb_now();
    if (curves) {
        l->tsv = outfile_open(curves, -1, e);
        if (!l->tsv || outfile_puts(l->tsv, "epoch\ttrain_loss\tvalid_loss\tvalid_acc\tseconds\n", e) < 0) {
            trainlog_abort(l);
            return NULL;
        }
    }
    return l;
}

int trainlog_epoch(trainlog *l, int epoch, int epochs, double train_loss, double valid_loss,
                   double valid_acc, imdb_err *e)
{
    double t = imdb_now() - l->start;
    if (cli_verbose >= 0) {
        if (isnan(valid_loss))
            fprintf(stderr, "%s: epoch %d/%d  train_loss %.4f  %.1fs\n", cli_prog, epoch, epochs, train_loss, t);
        else
            fprintf(stderr, "%s: epoch %d/%d  train_loss %.4f  valid_loss %.4f  valid_acc %.4f  %.1fs\n",
                    cli_prog, epoch, epochs, train_loss, valid_loss, valid_acc, t);
    }
    if (l->tsv)
        return outfile_printf(l->tsv, e, "%d\t%.6f\t%.6f\t%.6f\t%.3f\n", epoch, train_loss, valid_loss,
                              valid_acc, t);
    return 0;
}

int trainlog_finish(trainlog *l, imdb_err *e)
{
    int rc = l->tsv ? outfile_commit(l->tsv, e) : 0;
    free(l);
    return rc;
}

void trainlog_abort(trainlog *l)
{
    if (!l) return;
    outfile_abort(l->tsv);
    free(l);
}
