/* metrics.h — binary classification metrics from labels and predicted probabilities:
 * accuracy, per-class and macro precision/recall/F1, confusion matrix, ROC AUC (ties
 * count one half, Mann–Whitney), mean log loss (probabilities clipped to [1e-15, 1-1e-15]). */
#ifndef IMDB_METRICS_H
#define IMDB_METRICS_H
#include <stddef.h>
#include "util.h"
#include "outfile.h"

typedef struct metrics {
    size_t n;
    size_t tp, fp, tn, fn;          /* positive class = pos; predicted pos iff prob >= threshold */
    double threshold;
    double accuracy;
    double precision[2], recall[2], f1[2];   /* [0] = neg, [1] = pos; 0 when undefined */
    double macro_precision, macro_recall, macro_f1;
    double auc;                      /* NaN when one class is absent */
    double logloss;
} metrics;

/* label[i] is 0 (neg) or 1 (pos); prob[i] is P(pos). */
void metrics_compute(const int *label, const double *prob, size_t n, double threshold,
                     metrics *m);
/* Naive O(n^2) AUC: the test oracle for the sorting implementation inside metrics_compute. */
double metrics_auc_naive(const int *label, const double *prob, size_t n);
/* Human-readable table / one JSON object (keys documented in imdb-eval(1)). */
int metrics_write_text(const metrics *m, outfile *o, imdb_err *e);
int metrics_write_json(const metrics *m, outfile *o, imdb_err *e);
/* The same object with further members after the documented keys: more is their text
 * ("  \"key\": value", several separated by ",\n"), without a trailing comma or
 * newline; NULL for none (then it is metrics_write_json). */
int metrics_write_json_with(const metrics *m, const char *more, outfile *o, imdb_err *e);
#endif
