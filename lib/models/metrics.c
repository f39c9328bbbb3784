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

/* Average precision of class c from (score, in class) pairs sorted by score ascending:
 * walk down from the highest score, one step per run of tied scores. */
static double ap_sorted(const scored *s, size_t n, size_t nc)
{
    if (nc == 0) return NAN;
    double ap = 0, rprev = 0;
    size_t tp = 0, seen = 0, j = n;
    while (j > 0) {
        size_t i = j - 1;
        while (i > 0 && s[i - 1].p == s[j - 1].p) i--;
        for (size_t k = i; k < j; k++) tp += (size_t)s[k].label;
        seen += j - i;
        double r = (double)tp / (double)nc, prec = (double)tp / (double)seen;
        ap += (r - rprev) * prec;
        rprev = r;
        j = i;
    }
    return ap;
}

static double pr_auc(const int *label, const double *prob, size_t n, int c)
{
    if (n == 0) return NAN;
    scored *s = imdb_xmalloc(n * sizeof *s);
    size_t nc = 0;
    for (size_t i = 0; i < n; i++) {
        double p = key(prob[i]);
        s[i].p = c ? p : -p;   /* neg is scored by 1 - P(pos): the same order as -P(pos) */
        s[i].label = (label[i] != 0) == (c != 0);
        nc += (size_t)s[i].label;
    }
    qsort(s, n, sizeof *s, cmp_scored);
    double ap = ap_sorted(s, n, nc);
    free(s);
    return ap;
}

double metrics_pr_auc_naive(const int *label, const double *prob, size_t n, int c)
{
    size_t nc = 0;
    for (size_t i = 0; i < n; i++) nc += (label[i] != 0) == (c != 0);
    if (nc == 0) return NAN;
    /* Each distinct score, taken from the highest down: precision and recall counted from
     * scratch at that cut. */
    double ap = 0, rprev = 0, last = INFINITY;
    for (;;) {
        double t = -INFINITY;
        int any = 0;
        for (size_t i = 0; i < n; i++) {
            double si = c ? key(prob[i]) : -key(prob[i]);
            if (si < last && (!any || si > t)) { t = si; any = 1; }
        }
        if (!any) break;
        size_t tp = 0, pred = 0;
        for (size_t i = 0; i < n; i++) {
            double si = c ? key(prob[i]) : -key(prob[i]);
            if (si >= t) {
                pred++;
                tp += (label[i] != 0) == (c != 0);
            }
        }
        double r = (double)tp / (double)nc;
        ap += (r - rprev) * ((double)tp / (double)pred);
        rprev = r;
        last = t;
    }
    return ap;
}

/* Balanced accuracy when the documents with prob >= t are predicted pos, tp of npos
 * positives and fp of nneg negatives among them. */
static double bal(size_t tp, size_t fp, size_t npos, size_t nneg)
{
    return ((double)tp / (double)npos + (double)(nneg - fp) / (double)nneg) / 2;
}

/* Keep (t, b) when b beats *best, or ties it with t nearer 0.5 (or as near and lower). */
static void consider(double t, double b, double *best_t, double *best)
{
    double d = fabs(t - 0.5), db = fabs(*best_t - 0.5);
    if (b > *best || (b == *best && (d < db || (d == db && t < *best_t)))) {
        *best = b;
        *best_t = t;
    }
}

double metrics_best_threshold(const int *label, const double *prob, size_t n, double *ba)
{
    size_t npos = 0;
    for (size_t i = 0; i < n; i++) npos += label[i] != 0;
    size_t nneg = n - npos;
    if (ba) *ba = NAN;
    if (npos == 0 || nneg == 0) return 0.5;
    scored *s = imdb_xmalloc(n * sizeof *s);
    for (size_t i = 0; i < n; i++) s[i] = (scored){ prob[i], label[i] != 0 };
    qsort(s, n, sizeof *s, cmp_scored);
    /* Cuts from the top: above the highest probability (nothing pos), then below each run
     * of ties, the threshold halfway to the next lower probability (0 below the lowest). */
    double best = -1, best_t = 0.5;
    size_t tp = 0, fp = 0, j = n;
    if (s[n - 1].p < 1) consider(s[n - 1].p + (1 - s[n - 1].p) / 2, bal(0, 0, npos, nneg), &best_t, &best);
    while (j > 0) {
        size_t i = j - 1;
        while (i > 0 && s[i - 1].p == s[j - 1].p) i--;
        for (size_t k = i; k < j; k++) {
            if (s[k].label) tp++;
            else fp++;
        }
        double t = i > 0 ? s[i - 1].p + (s[i].p - s[i - 1].p) / 2 : s[0].p / 2;
        consider(t, bal(tp, fp, npos, nneg), &best_t, &best);
        j = i;
    }
    free(s);
    if (ba) *ba = best;
    return best_t;
}

double metrics_best_threshold_naive(const int *label, const double *prob, size_t n, double *ba)
{
    size_t npos = 0;
    for (size_t i = 0; i < n; i++) npos += label[i] != 0;
    size_t nneg = n - npos;
    if (ba) *ba = NAN;
    if (npos == 0 || nneg == 0) return 0.5;
    /* Every candidate: above the maximum, and halfway below each probability to the next
     * lower one (or to 0); each counted from scratch. */
    double best = -1, best_t = 0.5, mx = -INFINITY;
    for (size_t i = 0; i < n; i++) mx = fmax(mx, prob[i]);
    for (size_t c = 0; c <= n; c++) {
        double t;
        if (c == n && mx >= 1) continue;   /* no cut above 1 */
        if (c == n) t = mx + (1 - mx) / 2;
        else {
            double lower = -INFINITY;
            for (size_t i = 0; i < n; i++)
                if (prob[i] < prob[c] && prob[i] > lower) lower = prob[i];
            t = lower == -INFINITY ? prob[c] / 2 : lower + (prob[c] - lower) / 2;
        }
        size_t tp = 0, fp = 0;
        for (size_t i = 0; i < n; i++)
            if (prob[i] >= t) {
                if (label[i]) tp++;
                else fp++;
            }
        consider(t, bal(tp, fp, npos, nneg), &best_t, &best);
    }
    if (ba) *ba = best;
    return best_t;
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
    m->balanced_accuracy = (m->recall[0] + m->recall[1]) / 2.0;
    for (int c = 0; c < 2; c++) m->pr_auc[c] = pr_auc(label, prob, n, c);
}

const char metrics_names[] = "accuracy, balanced_accuracy, precision_pos, recall_pos, f1_pos, precision_neg, "
                             "recall_neg, f1_neg, macro_precision, macro_recall, macro_f1, auc, pr_auc_pos, "
                             "pr_auc_neg, logloss";

int metrics_get(const metrics *m, const char *name, double *v)
{
    const struct { const char *name; double v; } t[] = {
        {"accuracy", m->accuracy}, {"balanced_accuracy", m->balanced_accuracy},
        {"precision_pos", m->precision[1]}, {"recall_pos", m->recall[1]}, {"f1_pos", m->f1[1]},
        {"precision_neg", m->precision[0]}, {"recall_neg", m->recall[0]}, {"f1_neg", m->f1[0]},
        {"macro_precision", m->macro_precision}, {"macro_recall", m->macro_recall},
        {"macro_f1", m->macro_f1}, {"auc", m->auc}, {"pr_auc_pos", m->pr_auc[1]},
        {"pr_auc_neg", m->pr_auc[0]}, {"logloss", m->logloss},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(name, t[i].name) == 0) {
            *v = t[i].v;
            return 0;
        }
    return -1;
}

int metrics_lower_is_better(const char *name) { return strcmp(name, "logloss") == 0; }

int metrics_write_text(const metrics *m, outfile *o, imdb_err *e)
{
    char auc[32], pr[2][32];
    if (isnan(m->auc)) snprintf(auc, sizeof auc, "n/a (one class only)");
    else snprintf(auc, sizeof auc, "%.4f", m->auc);
    for (int c = 0; c < 2; c++)
        if (isnan(m->pr_auc[c])) snprintf(pr[c], sizeof pr[c], "n/a    ");
        else snprintf(pr[c], sizeof pr[c], "%-7.4f", m->pr_auc[c]);
    return outfile_printf(o, e,
        "documents  %zu\n"
        "threshold  %g\n"
        "accuracy   %.4f\n"
        "balanced   %.4f\n"
        "auc        %s\n"
        "logloss    %.4f\n"
        "\n"
        "class      precision  recall  f1      pr_auc   support\n"
        "neg        %-9.4f  %-6.4f  %-6.4f  %s  %zu\n"
        "pos        %-9.4f  %-6.4f  %-6.4f  %s  %zu\n"
        "macro      %-9.4f  %-6.4f  %-6.4f           %zu\n"
        "\n"
        "confusion  pred neg  pred pos\n"
        "true neg   %-8zu  %zu\n"
        "true pos   %-8zu  %zu\n",
        m->n, m->threshold, m->accuracy, m->balanced_accuracy, auc, m->logloss,
        m->precision[0], m->recall[0], m->f1[0], pr[0], m->tn + m->fp,
        m->precision[1], m->recall[1], m->f1[1], pr[1], m->tp + m->fn,
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
    char v[16][40];
    const double x[16] = {
        m->accuracy, m->precision[1], m->recall[1], m->f1[1],
        m->precision[0], m->recall[0], m->f1[0],
        m->macro_precision, m->macro_recall, m->macro_f1,
        m->auc, m->logloss, m->threshold,
        m->balanced_accuracy, m->pr_auc[1], m->pr_auc[0],
    };
    for (int i = 0; i < 16; i++) jnum(v[i], sizeof v[i], x[i]);
    return outfile_printf(o, e,
        "{\n"
        "  \"n\": %zu,\n"
        "  \"accuracy\": %s,\n"
        "  \"balanced_accuracy\": %s,\n"
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
        "  \"pr_auc_pos\": %s,\n"
        "  \"pr_auc_neg\": %s,\n"
        "  \"logloss\": %s,\n"
        "  \"confusion\": {\"tp\": %zu, \"fp\": %zu, \"tn\": %zu, \"fn\": %zu},\n"
        "  \"threshold\": %s%s%s\n"
        "}\n",
        m->n, v[0], v[13], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[14], v[15], v[11],
        m->tp, m->fp, m->tn, m->fn, v[12], more ? ",\n" : "", more ? more : "");
}
