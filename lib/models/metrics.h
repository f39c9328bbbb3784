/* metrics.h — binary classification metrics from labels and predicted probabilities:
 * accuracy, balanced accuracy, per-class and macro precision/recall/F1, confusion matrix,
 * ROC AUC (ties count one half, Mann–Whitney), PR AUC of each class (average precision),
 * mean log loss (probabilities clipped to [1e-15, 1-1e-15]); and the decision threshold
 * that maximises balanced accuracy (imdb-train -o threshold=auto). */
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
    double balanced_accuracy;        /* (recall[0] + recall[1]) / 2 */
    /* Area under the precision-recall curve of each class ([0] neg, scored by 1 - P(pos);
     * [1] pos), as average precision: sum over the distinct scores s, highest first, of
     * (R(s) - R(s_prev)) P(s), P and R the class's precision and recall when everything
     * scoring >= s is predicted in the class (scikit-learn's average_precision_score).
     * NaN when the class is absent. */
    double pr_auc[2];
} metrics;

/* label[i] is 0 (neg) or 1 (pos); prob[i] is P(pos). */
void metrics_compute(const int *label, const double *prob, size_t n, double threshold,
                     metrics *m);
/* Naive O(n^2) AUC: the test oracle for the sorting implementation inside metrics_compute. */
double metrics_auc_naive(const int *label, const double *prob, size_t n);
/* Naive O(n^2) average precision of class c (0 or 1): the oracle for pr_auc[c]. */
double metrics_pr_auc_naive(const int *label, const double *prob, size_t n, int c);

/* The decision threshold t (predict pos iff prob >= t) that maximises balanced accuracy
 * on labelled predictions: among the cuts between distinct probabilities (and 0 and 1
 * beyond them), the one with the highest balanced accuracy, ties going to the cut
 * nearest 0.5; t is the midpoint of the two probabilities it falls between. *ba (if not
 * NULL) receives its balanced accuracy. 0.5 (and *ba NaN) when a class is absent.
 * O(n log n); metrics_best_threshold_naive is the O(n^2) oracle. NaN probabilities are
 * not allowed. */
double metrics_best_threshold(const int *label, const double *prob, size_t n, double *ba);
double metrics_best_threshold_naive(const int *label, const double *prob, size_t n, double *ba);

/* The value of a metric by the name of its JSON key (imdb-eval(1): "accuracy",
 * "balanced_accuracy", "f1_neg", "auc", "pr_auc_neg", ...; not "n", "confusion" or
 * "threshold"): 0 and *v, or -1 for an unknown name. For imdb-eval --min-metric.
 * "logloss" is a loss (lower is better): metrics_lower_is_better says so. */
int metrics_get(const metrics *m, const char *name, double *v);
int metrics_lower_is_better(const char *name);
/* The names metrics_get knows, comma-separated, for messages. */
extern const char metrics_names[];
/* Human-readable table / one JSON object (keys documented in imdb-eval(1)). */
int metrics_write_text(const metrics *m, outfile *o, imdb_err *e);
int metrics_write_json(const metrics *m, outfile *o, imdb_err *e);
/* The same object with further members after the documented keys: more is their text
 * ("  \"key\": value", several separated by ",\n"), without a trailing comma or
 * newline; NULL for none (then it is metrics_write_json). */
int metrics_write_json_with(const metrics *m, const char *more, outfile *o, imdb_err *e);
#endif
