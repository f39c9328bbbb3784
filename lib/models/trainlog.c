/* trainlog.c — see trainlog.h. */
#include "trainlog.h"
#include "outfile.h"
#include "runlog.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CURVES_HEADER "epoch\ttrain_loss\tvalid_loss\tvalid_acc\tseconds\n"

struct trainlog {
    outfile *tsv;
    runlog *run;
    char *curve;          /* the TSV text again, for the run's artifact */
    size_t curve_len, curve_cap;
    double start;
    const imdb_log *log;
};

static void curve_add(trainlog *l, const char *s, size_t n)
{
    if (l->curve_len + n + 1 > l->curve_cap) {
        while (l->curve_len + n + 1 > l->curve_cap) l->curve_cap = l->curve_cap ? 2 * l->curve_cap : 4096;
        l->curve = imdb_xrealloc(l->curve, l->curve_cap);
    }
    memcpy(l->curve + l->curve_len, s, n);
    l->curve_len += n;
    l->curve[l->curve_len] = '\0';
}

static void trainlog_free(trainlog *l)
{
    free(l->curve);
    free(l);
}

trainlog *trainlog_new(const char *curves, const trainlog_run *run, const imdb_log *log, imdb_err *e)
{
    trainlog *l = imdb_xcalloc(1, sizeof *l);
    l->start = imdb_now();
    l->log = log;
    curve_add(l, CURVES_HEADER, strlen(CURVES_HEADER));
    if (curves) {
        l->tsv = outfile_open(curves, -1, e);
        if (!l->tsv || outfile_puts(l->tsv, CURVES_HEADER, e) < 0) goto fail;
    }
    if (run && run->dir) {
        l->run = runlog_start(run->dir, run->experiment, run->name, run->source, e);
        if (!l->run) goto fail;
        if ((run->kind && runlog_tag(l->run, "model_kind", run->kind, e) < 0) ||
            (run->params && runlog_params_text(l->run, run->params, e) < 0))
            goto fail;
        imdb_logf(log, IMDB_LOG_VERBOSE, "recording the run in %s", runlog_path(l->run));
    }
    return l;
fail:
    trainlog_abort(l);
    return NULL;
}

int trainlog_epoch(trainlog *l, int epoch, int epochs, double train_loss, double valid_loss,
                   double valid_acc, imdb_err *e)
{
    double t = imdb_now() - l->start;
    if (isnan(valid_loss))
        imdb_logf(l->log, IMDB_LOG_INFO, "epoch %d/%d  train_loss %.4f  %.1fs", epoch, epochs, train_loss, t);
    else
        imdb_logf(l->log, IMDB_LOG_INFO, "epoch %d/%d  train_loss %.4f  valid_loss %.4f  valid_acc %.4f  %.1fs",
                  epoch, epochs, train_loss, valid_loss, valid_acc, t);
    char line[256];
    int n = snprintf(line, sizeof line, "%d\t%.6f\t%.6f\t%.6f\t%.3f\n", epoch, train_loss, valid_loss,
                     valid_acc, t);
    curve_add(l, line, (size_t)n);
    if (l->tsv && outfile_write(l->tsv, line, (size_t)n, e) < 0) return -1;
    if (l->run && (runlog_metric(l->run, "train_loss", train_loss, epoch, e) < 0 ||
                   runlog_metric(l->run, "valid_loss", valid_loss, epoch, e) < 0 ||
                   runlog_metric(l->run, "valid_acc", valid_acc, epoch, e) < 0))
        return -1;
    return 0;
}

/* The last part of a path, for the artifact's name. */
static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

int trainlog_finish(trainlog *l, const char *params, const char *artifact, imdb_err *e)
{
    int rc = 0;
    if (l->tsv) {
        rc = outfile_commit(l->tsv, e);
        l->tsv = NULL;
    }
    if (l->run) {
        if (rc == 0 && params) rc = runlog_params_text(l->run, params, e);
        if (rc == 0) rc = runlog_artifact_data(l->run, "curves.tsv", l->curve, l->curve_len, e);
        if (rc == 0 && artifact && strcmp(artifact, "-") != 0)
            rc = runlog_artifact_file(l->run, artifact, base_name(artifact), e);
        imdb_err ignored;
        if (runlog_end(l->run, rc == 0, rc == 0 ? e : &ignored) < 0) rc = -1;
    }
    trainlog_free(l);
    return rc;
}

void trainlog_abort(trainlog *l)
{
    if (!l) return;
    outfile_abort(l->tsv);
    imdb_err ignored;
    runlog_end(l->run, 0, &ignored);
    trainlog_free(l);
}
