/* metrics.c — binary classification metrics, see metrics.h.
 *
 * ROC AUC is the Mann–Whitney U statistic normalised by npos*nneg: the probability that
 * a random positive scores above a random negative, ties counting one half. It is
 * computed in O(n log n) from the rank sum of the positives, tied scores sharing their
 * mean rank (midranks); metrics_auc_naive is the O(n^2) pair count used as the oracle.
 * Log loss clips probabilities to [1e-15, 1-1e-15] as scikit-learn does, so a single
 * confident mistake gives a large but finite value. Everything here is independent of
 * the order of the input, so multi-threaded callers get identical numbers. */
#include "metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOGLOSS_EPS 1e-15

/* Sort key: a probability with NaN mapped below everything, so qsort sees a total order. */
typedef struct scored {
    double p;
    int label;
} scored;

static int cmp_scored(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    if (x->p < y->p) return -1;
    if (x->p > y->p) return 1;
    return 0;
}

static double key(double p) { return isnan(p) ? -INFINITY : p; }

static double auc_sorted(const int *label, const double *prob, size_t n)
{
    size_t npos = 0, nneg = 0;
    for (size_t i = 0; i < n; i++) {
        if (label[i]) npos++;
        else nneg++;
    }
    if (npos == 0 || nneg == 0) return NAN;

    scored *s = imdb_xmalloc(n * sizeof *s);
    for (size_t i = 0; i < n; i++) {
        s[i].p = key(prob[i]);
        s[i].label = label[i] ? 1 : 0;
    }
    qsort(s, n, sizeof *s, cmp_scored);

    /* Ranks run from 1; a run of ties [i, j) shares the rank (i+1 + j)/2. Tied elements
     * are equal in the key, so qsort's order among them does not matter. */
    double rank_sum_pos = 0.0;
    size_t i = 0;
    while (i < n) {
        size_t j = i + 1;
        while (j < n && s[j].p == s[i].p) j++;
        size_t pos_in_run = 0;
        for (size_t k = i; k < j; k++) pos_in_run += (size_t)s[k].label;
        double midrank = ((double)(i + 1) + (double)j) / 2.0;
        rank_sum_pos += midrank * (double)pos_in_run;
        i = j;
    }
    free(s);

    double u = rank_sum_pos - (double)npos * ((double)npos + 1.0) / 2.0;
    return u / ((double)npos * (double)nneg);
}

double metrics_auc_naive(const int *label, const double *prob, size_t n)
{
    double wins = 0.0;
    size_t npos = 0, nneg = 0;
    for (size_t i = 0; i < n; i++) {
        if (label[i]) npos++;
        else nneg++;
    }
    if (npos == 0 || nneg == 0) return NAN;
    for (size_t i = 0; i < n; i++) {
        if (!label[i]) continue;
        for (size_t j = 0; j < n; j++) {
            if (label[j]) continue;
            double a = key(prob[i]), b = key(prob[j]);
            if (a > b) wins += 1.0;
            else if (a == b) wins += 0.5;
        }
    }
    return wins / ((double)npos * (double)nneg);
}

static double ratio(size_t num, size_t den) { return den ? (double)num / (double)den : 0.0; }

static double f1(double p, double r) { return p + r > 0.0 ? 2.0 * p * r / (p + r) : 0.0; }

void metrics_compute(const int *label, const double *prob, size_t n, double threshold,
                     metrics *m)
{
    memset(m, 0, sizeof *m);
    m->n = n;
    m->threshold = threshold;

    /* Sum in index order: the same input order gives the same bits in every run. */
    double ll = 0.0;
    for (size_t i = 0; i < n; i++) {
        double p = prob[i];
        int pred = p >= threshold;   /* NaN predicts neg */
        if (label[i]) {
            if (pred) m->tp++;
            else m->fn++;
        } else {
            if (pred) m->fp++;
            else m->tn++;
        }
        double q = isnan(p) ? 0.5 : p;
        if (q < LOGLOSS_EPS) q = LOGLOSS_EPS;
        if (q > 1.0 - LOGLOSS_EPS) q = 1.0 - LOGLOSS_EPS;
        ll -= label[i] ? log(q) : log1p(-q);
    }

    m->accuracy = ratio(m->tp + m->tn, n);
    m->precision[1] = ratio(m->tp, m->tp + m->fp);
    m->recall[1] = ratio(m->tp, m->tp + m->fn);
    m->precision[0] = ratio(m->tn, m->tn + m->fn);
    m->recall[0] = ratio(m->tn, m->tn + m->fp);
    for (int c = 0; c < 2; c++) m->f1[c] = f1(m->precision[c], m->recall[c]);
    m->macro_precision = (m->precision[0] + m->precision[1]) / 2.0;
    m->macro_recall = (m->recall[0] + m->recall[1]) / 2.0;
    m->macro_f1 = (m->f1[0] + m->f1[1]) / 2.0;
    m->auc = n ? auc_sorted(label, prob, n) : NAN;
    m->logloss = n ? ll / (double)n : 0.0;
}

int metrics_write_text(const metrics *m, outfile *o, imdb_err *e)
{
    char auc[32];
    if (isnan(m->auc)) snprintf(auc, sizeof auc, "n/a (one class only)");
    else snprintf(auc, sizeof auc, "%.4f", m->auc);
    return outfile_printf(o, e,
        "documents  %zu\n"
        "threshold  %g\n"
        "accuracy   %.4f\n"
        "auc        %s\n"
        "logloss    %.4f\n"
        "\n"
        "class      precision  recall  f1      support\n"
        "neg        %-9.4f  %-6.4f  %-6.4f  %zu\n"
        "pos        %-9.4f  %-6.4f  %-6.4f  %zu\n"
        "macro      %-9.4f  %-6.4f  %-6.4f  %zu\n"
        "\n"
        "confusion  pred neg  pred pos\n"
        "true neg   %-8zu  %zu\n"
        "true pos   %-8zu  %zu\n",
        m->n, m->threshold, m->accuracy, auc, m->logloss,
        m->precision[0], m->recall[0], m->f1[0], m->tn + m->fp,
        m->precision[1], m->recall[1], m->f1[1], m->tp + m->fn,
        m->macro_precision, m->macro_recall, m->macro_f1, m->n,
        m->tn, m->fp, m->fn, m->tp);
}

/* %.10g: round numbers stay short ("0.8764"), and ten digits are more than any
 * comparison between runs needs. NaN is not JSON: it becomes null. */
static void jnum(char *buf, size_t size, double x)
{
    if (isfinite(x)) snprintf(buf, size, "%.10g", x);
    else snprintf(buf, size, "null");
}

int metrics_write_json(const metrics *m, outfile *o, imdb_err *e)
{
    return metrics_write_json_with(m, NULL, o, e);
}

int metrics_write_json_with(const metrics *m, const char *more, outfile *o, imdb_err *e)
{
    char v[13][40];
    const double x[13] = {
        m->accuracy, m->precision[1], m->recall[1], m->f1[1],
        m->precision[0], m->recall[0], m->f1[0],
        m->macro_precision, m->macro_recall, m->macro_f1,
        m->auc, m->logloss, m->threshold,
    };
    for (int i = 0; i < 13; i++) jnum(v[i], sizeof v[i], x[i]);
    return outfile_printf(o, e,
        "{\n"
        "  \"n\": %zu,\n"
        "  \"accuracy\": %s,\n"
        "  \"precision_pos\": %s,\n"
        "  \"recall_pos\": %s,\n"
        "  \"f1_pos\": %s,\n"
        "  \"precision_neg\": %s,\n"
        "  \"recall_neg\": %s,\n"
        "  \"f1_neg\": %s,\n"
        "  \"macro_precision\": %s,\n"
        "  \"macro_recall\": %s,\n"
        "  \"macro_f1\": %s,\n"
        "  \"auc\": %s,\n"
        "  \"logloss\": %s,\n"
        "  \"confusion\": {\"tp\": %zu, \"fp\": %zu, \"tn\": %zu, \"fn\": %zu},\n"
        "  \"threshold\": %s%s%s\n"
        "}\n",
        m->n, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11],
        m->tp, m->fp, m->tn, m->fn, v[12], more ? ",\n" : "", more ? more : "");
}
