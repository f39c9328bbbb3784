/* unit_metrics.c — metrics_compute against hand-computed cases and the naive AUC oracle.
 *
 * The sorting AUC (midranks) must equal the O(n^2) pair count on random data with many
 * ties; per-class precision/recall/F1 are 0 when undefined; log loss is clipped; the JSON
 * and text writers produce exactly the documented bytes. Exit status 0 = pass. */
#include "metrics.h"
#include "outfile.h"
#include "rng.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static void check_close(const char *what, double got, double want, double tol)
{
    int ok = (isnan(got) && isnan(want)) || fabs(got - want) <= tol;
    if (!ok) {
        printf("FAIL %s: got %.17g, want %.17g\n", what, got, want);
        failures++;
    }
}

static void check_eq(const char *what, size_t got, size_t want)
{
    if (got != want) {
        printf("FAIL %s: got %zu, want %zu\n", what, got, want);
        failures++;
    }
}

/* A hand-worked example: 4 pos, 4 neg. */
static void test_small(void)
{
    const int y[] = {1, 1, 1, 1, 0, 0, 0, 0};
    const double p[] = {0.9, 0.8, 0.4, 0.6, 0.7, 0.3, 0.2, 0.6};
    metrics m;
    metrics_compute(y, p, 8, 0.5, &m);
    /* predicted pos: 0.9 0.8 0.6 | 0.7 0.6 -> tp 3, fn 1, fp 2, tn 2 */
    check_eq("small tp", m.tp, 3);
    check_eq("small fn", m.fn, 1);
    check_eq("small fp", m.fp, 2);
    check_eq("small tn", m.tn, 2);
    check_eq("small n", m.n, 8);
    check_close("small accuracy", m.accuracy, 5.0 / 8, 1e-15);
    check_close("small precision pos", m.precision[1], 3.0 / 5, 1e-15);
    check_close("small recall pos", m.recall[1], 3.0 / 4, 1e-15);
    check_close("small precision neg", m.precision[0], 2.0 / 3, 1e-15);
    check_close("small recall neg", m.recall[0], 2.0 / 4, 1e-15);
    check_close("small f1 pos", m.f1[1], 2 * 0.6 * 0.75 / (0.6 + 0.75), 1e-15);
    check_close("small f1 neg", m.f1[0], 2 * (2.0 / 3) * 0.5 / (2.0 / 3 + 0.5), 1e-15);
    check_close("small macro f1", m.macro_f1, (m.f1[0] + m.f1[1]) / 2, 1e-15);
    /* pairs pos>neg: 0.9:4, 0.8:4, 0.6: >0.3,0.2 and tie with 0.6 -> 2.5, 0.4: 2 -> 12.5/16 */
    check_close("small auc", m.auc, 12.5 / 16, 1e-15);
    double ll = -(log(0.9) + log(0.8) + log(0.4) + log(0.6)
                  + log(0.3) + log(0.7) + log(0.8) + log(0.4)) / 8;
    check_close("small logloss", m.logloss, ll, 1e-12);
    check_close("small threshold", m.threshold, 0.5, 0);

    /* Threshold is inclusive: prob == threshold predicts pos. */
    metrics_compute(y, p, 8, 0.6, &m);
    check_eq("inclusive tp", m.tp, 3);
    check_eq("inclusive fp", m.fp, 2);
}

/* Degenerate inputs: undefined ratios are 0, AUC is NaN with one class, log loss finite. */
static void test_degenerate(void)
{
    const int y[] = {1, 1, 1};
    const double p[] = {0.0, 0.0, 1.0};
    metrics m;
    metrics_compute(y, p, 3, 0.5, &m);
    check_close("one-class auc", m.auc, NAN, 0);
    check_close("one-class naive auc", metrics_auc_naive(y, p, 3), NAN, 0);
    check_close("precision neg undefined", m.precision[0], 0, 0);
    check_close("recall neg undefined", m.recall[0], 0, 0);
    check_close("f1 neg undefined", m.f1[0], 0, 0);
    check_close("precision pos", m.precision[1], 1, 0);
    check_close("recall pos", m.recall[1], 1.0 / 3, 1e-15);
    /* Two confident mistakes: clipped at 1e-15, so -log(1e-15) each. */
    check_close("clipped logloss", m.logloss, (2 * -log(1e-15) + -log1p(-1e-15)) / 3, 1e-9);
    CHECK(isfinite(m.logloss), "logloss not finite");

    /* No positive prediction at all: precision pos undefined -> 0. */
    const int y2[] = {1, 0};
    const double p2[] = {0.1, 0.2};
    metrics_compute(y2, p2, 2, 0.5, &m);
    check_close("no pred pos precision", m.precision[1], 0, 0);
    check_close("no pred pos f1", m.f1[1], 0, 0);
    check_close("reversed auc", m.auc, 0, 0);

    /* All tied: AUC 0.5. */
    const int y3[] = {1, 0, 1, 0, 0};
    const double p3[] = {0.5, 0.5, 0.5, 0.5, 0.5};
    metrics_compute(y3, p3, 5, 0.5, &m);
    check_close("all-tied auc", m.auc, 0.5, 1e-15);

    metrics_compute(NULL, NULL, 0, 0.5, &m);
    check_eq("empty n", m.n, 0);
    check_close("empty auc", m.auc, NAN, 0);
}

/* The sorting AUC equals the pair count on random data with heavy ties. */
static void test_auc_random(void)
{
    rng r;
    rng_seed(&r, 42);
    double worst = 0;
    for (int trial = 0; trial < 300; trial++) {
        size_t n = 1 + rng_below(&r, 400);
        /* Few distinct levels in some trials (many ties), continuous in others. */
        uint32_t levels = trial % 3 == 0 ? 0 : 1 + rng_below(&r, 12);
        int *y = malloc(n * sizeof *y);
        double *p = malloc(n * sizeof *p);
        for (size_t i = 0; i < n; i++) {
            y[i] = rng_below(&r, 3) == 0;
            p[i] = levels ? (double)rng_below(&r, levels) / levels : rng_uniform(&r);
        }
        metrics m;
        metrics_compute(y, p, n, 0.5, &m);
        double want = metrics_auc_naive(y, p, n);
        if (isnan(want) != isnan(m.auc)) {
            printf("FAIL trial %d: auc %g, naive %g\n", trial, m.auc, want);
            failures++;
        } else if (!isnan(want)) {
            double d = fabs(m.auc - want);
            if (d > worst) worst = d;
        }
        /* Confusion counts add up. */
        check_eq("confusion sum", m.tp + m.fp + m.tn + m.fn, n);
        free(y);
        free(p);
    }
    printf("auc vs naive: worst difference %.3g over 300 random trials\n", worst);
    CHECK(worst <= 1e-12, "auc worst difference %.3g > 1e-12", worst);
}


static void check_output(const char *what, int json, const metrics *m, const char *want)
{
    char path[] = "/tmp/unit_metrics.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) { perror("mkstemp"); failures++; return; }
    close(fd);
    imdb_err e;
    outfile *o = outfile_open(path, 0, &e);
    if (!o || (json ? metrics_write_json(m, o, &e) : metrics_write_text(m, o, &e)) < 0
        || outfile_commit(o, &e) < 0) {
        printf("FAIL %s: %s\n", what, e.msg);
        failures++;
        unlink(path);
        return;
    }
    char *got = test_slurp(path, NULL);
    if (!got || strcmp(got, want) != 0) {
        printf("FAIL %s: got\n%s\nwant\n%s\n", what, got ? got : "(null)", want);
        failures++;
    }
    free(got);
    unlink(path);
}

static void test_writers(void)
{
    const int y[] = {1, 1, 0, 0};
    const double p[] = {0.75, 0.25, 0.5, 0.0};
    metrics m;
    metrics_compute(y, p, 4, 0.5, &m);
    char ll[40];
    snprintf(ll, sizeof ll, "%.10g", m.logloss);
    char want[2048];
    snprintf(want, sizeof want,
             "{\n"
             "  \"n\": 4,\n"
             "  \"accuracy\": 0.5,\n"
             "  \"balanced_accuracy\": 0.5,\n"
             "  \"precision_pos\": 0.5,\n"
             "  \"recall_pos\": 0.5,\n"
             "  \"f1_pos\": 0.5,\n"
             "  \"precision_neg\": 0.5,\n"
             "  \"recall_neg\": 0.5,\n"
             "  \"f1_neg\": 0.5,\n"
             "  \"macro_precision\": 0.5,\n"
             "  \"macro_recall\": 0.5,\n"
             "  \"macro_f1\": 0.5,\n"
             "  \"auc\": 0.75,\n"
             "  \"pr_auc_pos\": 0.8333333333,\n"
             "  \"pr_auc_neg\": 0.8333333333,\n"
             "  \"logloss\": %s,\n"
             "  \"confusion\": {\"tp\": 1, \"fp\": 1, \"tn\": 1, \"fn\": 1},\n"
             "  \"threshold\": 0.5\n"
             "}\n", ll);
    check_output("json", 1, &m, want);

    const int y1[] = {0, 0};
    const double p1[] = {0.25, 0.25};
    metrics_compute(y1, p1, 2, 0.5, &m);
    snprintf(ll, sizeof ll, "%.4f", m.logloss);
    snprintf(want, sizeof want,
             "documents  2\n"
             "threshold  0.5\n"
             "accuracy   1.0000\n"
             "balanced   0.5000\n"
             "auc        n/a (one class only)\n"
             "logloss    %s\n"
             "\n"
             "class      precision  recall  f1      pr_auc   support\n"
             "neg        1.0000     1.0000  1.0000  1.0000   2\n"
             "pos        0.0000     0.0000  0.0000  n/a      0\n"
             "macro      0.5000     0.5000  0.5000           2\n"
             "\n"
             "confusion  pred neg  pred pos\n"
             "true neg   2         0\n"
             "true pos   0         0\n", ll);
    check_output("text", 0, &m, want);
    /* NaN AUC is null in JSON (NaN is not a JSON number). */
    snprintf(ll, sizeof ll, "%.10g", m.logloss);
    snprintf(want, sizeof want,
             "{\n"
             "  \"n\": 2,\n"
             "  \"accuracy\": 1,\n"
             "  \"balanced_accuracy\": 0.5,\n"
             "  \"precision_pos\": 0,\n"
             "  \"recall_pos\": 0,\n"
             "  \"f1_pos\": 0,\n"
             "  \"precision_neg\": 1,\n"
             "  \"recall_neg\": 1,\n"
             "  \"f1_neg\": 1,\n"
             "  \"macro_precision\": 0.5,\n"
             "  \"macro_recall\": 0.5,\n"
             "  \"macro_f1\": 0.5,\n"
             "  \"auc\": null,\n"
             "  \"pr_auc_pos\": null,\n"
             "  \"pr_auc_neg\": 1,\n"
             "  \"logloss\": %s,\n"
             "  \"confusion\": {\"tp\": 0, \"fp\": 0, \"tn\": 2, \"fn\": 0},\n"
             "  \"threshold\": 0.5\n"
             "}\n", ll);
    check_output("json one class", 1, &m, want);
}

/* PR AUC and the best threshold against their naive oracles, on random data with ties. */
static void test_oracles(void)
{
    unsigned long long x = 12345;
    double worst = 0;
    for (int trial = 0; trial < 300; trial++) {
        size_t n = 1 + (size_t)(trial % 40);
        int y[40];
        double p[40];
        for (size_t i = 0; i < n; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            y[i] = (int)(x >> 63);
            p[i] = (double)((x >> 20) % 9) / 8;   /* ties on purpose */
        }
        metrics m;
        metrics_compute(y, p, n, 0.5, &m);
        for (int c = 0; c < 2; c++) {
            double a = m.pr_auc[c], b = metrics_pr_auc_naive(y, p, n, c);
            CHECK(isnan(a) == isnan(b), "pr_auc NaN mismatch");
            if (!isnan(a)) worst = fmax(worst, fabs(a - b));
        }
        double ba1, ba2, t1 = metrics_best_threshold(y, p, n, &ba1), t2 = metrics_best_threshold_naive(y, p, n, &ba2);
        CHECK(t1 == t2 && (ba1 == ba2 || (isnan(ba1) && isnan(ba2))), "best threshold differs from the naive one");
        if (!isnan(ba1)) {
            metrics_compute(y, p, n, t1, &m);
            CHECK(fabs(m.balanced_accuracy - ba1) < 1e-12, "best threshold's balanced accuracy");
        }
    }
    printf("pr_auc vs naive: worst difference %g over 300 random trials\n", worst);
    CHECK(worst < 1e-12, "pr_auc differs from the naive oracle");
    /* Separable scores: a threshold between the classes gives balanced accuracy 1. */
    const int ys[] = {0, 0, 1, 1, 1};
    const double ps[] = {0.6, 0.7, 0.8, 0.9, 0.95};
    double ba, t = metrics_best_threshold(ys, ps, 5, &ba);
    CHECK(ba == 1 && t > 0.7 && t <= 0.8, "separable: threshold between the classes");
}

int main(void)
{
    test_oracles();
    test_small();
    test_degenerate();
    test_auc_random();
    test_writers();
    if (failures) return test_status("unit_metrics");
    printf("unit_metrics: all passed\n");
    return 0;
}
