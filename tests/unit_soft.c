/* unit_soft.c — soft labels (issue 15): the imdb-tokens(5) version 2 label field, the
 * soft settings of imdb-train (train_docs_soften), and nblr's dual coordinate descent on
 * soft targets against a naive double-precision reference of its primal objective: at the
 * solver's answer the objective's gradient is zero, the objective is below every nearby
 * point, and hard targets give the same model whether they come as labels or as 1/0. */
#include "linear.h"
#include "rng.h"
#include "tokio.h"
#include "train.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ---- the token stream ---- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) { printf("FAIL: cannot write %s\n", path); exit(1); }
}

/* Reads every document of text; returns the status of the first failing tokio_next (or 0)
 * and the error message in msg. */
static int read_all(const char *text, double *probs, int *soft, int *n, char *msg)
{
    const char *path = "unit_soft.tmp.tok";
    write_file(path, text);
    imdb_err e = { 0 };
    tokio_reader *r = tokio_open(path, &e);
    int got = 0;
    *n = 0;
    msg[0] = '\0';
    if (!r) { snprintf(msg, 1024, "%s", e.msg); remove(path); return -1; }
    tokio_doc d;
    while ((got = tokio_next(r, &d, &e)) > 0) {
        probs[*n] = d.prob;
        soft[*n] = d.soft;
        (*n)++;
    }
    if (got < 0) snprintf(msg, 1024, "%s", e.msg);
    tokio_close(r);
    remove(path);
    return got;
}

static void test_format(void)
{
    double p[8];
    int soft[8], n;
    char msg[1024];
    int rc = read_all("#imdb-tokens 2 html=1\n0.25\ta\tx y\npos\tb\tz\n1\tc\t\n-\td\tw\n.5e0\te\tv\n",
                      p, soft, &n, msg);
    CHECK(rc == 0 && n == 5, "version 2 stream: rc %d, %d documents (%s)", rc, n, msg);
    if (rc == 0 && n == 5) {
        CHECK(p[0] == 0.25 && soft[0] == 1, "0.25 read as %g soft %d", p[0], soft[0]);
        CHECK(p[1] == 1 && soft[1] == 0, "pos read as %g soft %d", p[1], soft[1]);
        CHECK(p[2] == 1 && soft[2] == 1, "1 read as %g soft %d", p[2], soft[2]);
        CHECK(isnan(p[3]) && soft[3] == 0, "- read as %g soft %d", p[3], soft[3]);
        CHECK(p[4] == 0.5 && soft[4] == 1, ".5e0 read as %g", p[4]);
    }
    /* Version 1 (and no header) still reads hard labels, and refuses soft ones. */
    rc = read_all("#imdb-tokens 1 html=1\nneg\ta\tx\n", p, soft, &n, msg);
    CHECK(rc == 0 && n == 1 && p[0] == 0, "version 1 stream: rc %d (%s)", rc, msg);
    rc = read_all("#imdb-tokens 1 html=1\nneg\ta\tx\n0.7\tb\ty\n", p, soft, &n, msg);
    CHECK(rc < 0 && strstr(msg, ":3: soft label '0.7' in a stream without a version 2 header"),
          "soft label in version 1: %s", msg);
    rc = read_all("0.7\tb\ty\n", p, soft, &n, msg);
    CHECK(rc < 0 && strstr(msg, ":1: soft label '0.7' in a stream without a version 2"), "no header: %s", msg);
    rc = read_all("#imdb-tokens 3 html=1\nneg\ta\tx\n", p, soft, &n, msg);
    CHECK(rc < 0 && strstr(msg, "version 3 is not supported"), "version 3: %s", msg);
    static const char *const bad[] = { "1.5", "1e3", "0.5x", "nan", "inf", "-0.1", "+0.5", "0x1p-1", "1..2" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char text[128];
        snprintf(text, sizeof text, "#imdb-tokens 2 html=1\npos\ta\tx\n%s\tb\ty\n", bad[i]);
        rc = read_all(text, p, soft, &n, msg);
        CHECK(rc < 0 && strstr(msg, ":3: ") && (strstr(msg, "outside [0, 1]") || strstr(msg, "not a number")
                                                || strstr(msg, "unknown label")),
              "bad soft label '%s': rc %d, %s", bad[i], rc, msg);
    }
}

/* ---- train_docs_soften ---- */

static void test_soften(void)
{
    write_file("unit_soft.tmp.tok", "#imdb-tokens 2 html=1\npos\ta\tx\n0.9\tb\ty y\n0.55\tc\tz\n0.2\td\tw v\n"
                                    "neg\te\tu\n");
    train_docs d = { 0 };
    char *clean = NULL;
    imdb_err e = { 0 };
    int rc = train_docs_read(&d, "unit_soft.tmp.tok", 1, &clean, &e);
    CHECK(rc == 0 && d.n == 5 && d.nsoft == 3, "read: rc %d n %zu nsoft %zu (%s)", rc, d.n, d.nsoft, e.msg);
    CHECK(d.soft_at && strcmp(d.soft_at, "unit_soft.tmp.tok:3") == 0, "first soft label at %s", d.soft_at);
    size_t dropped = train_docs_soften(&d, 2, 0.6, 0);
    CHECK(dropped == 1 && d.n == 4 && d.nsoft == 2, "soften: dropped %zu n %zu nsoft %zu", dropped, d.n, d.nsoft);
    /* 0.9 at temperature 2: s(log(9) / 2) = 3/4. */
    CHECK(d.n == 4 && fabsf(d.target[1] - 0.75f) < 1e-6f && d.target[0] == 1 && d.target[3] == 0,
          "targets %g %g %g %g", d.target[0], d.target[1], d.target[2], d.target[3]);
    CHECK(d.n == 4 && strcmp(d.id[2], "d") == 0 && d.off[3] - d.off[2] == 2 && strcmp(d.tok[d.off[2]], "w") == 0
          && strcmp(d.tok[d.off[4] - 1], "u") == 0, "documents after the dropped one moved with their tokens");
    dropped = train_docs_soften(&d, 1, 0, 1);
    CHECK(dropped == 0 && d.nsoft == 0 && d.target[1] == 1 && d.target[2] == 0, "soft_hard: %g %g",
          d.target[1], d.target[2]);
    train_docs_free(&d);
    free(clean);
    remove("unit_soft.tmp.tok");
}

/* ---- nblr's solver against its objective ---- */

#define ND 60
#define NF 25

#include "nbproblem.h"

static double softplus(double z) { return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)); }

/* The primal objective of linear_fit_docs at (u, ub), and its gradient into gu, *gb. */
static double objective(const problem *P, const double *u, double ub, double *gu, double *gb)
{
    double L = 0.5 * ub * ub;
    for (int f = 0; f < NF; f++) L += 0.5 * u[f] * u[f];
    if (gu) { for (int f = 0; f < NF; f++) gu[f] = u[f]; *gb = ub; }
    for (int i = 0; i < ND; i++) {
        double z = ub;
        for (size_t q = P->off[i]; q < P->off[i + 1]; q++) z += (u[P->idx[q]] + P->prior) * P->r[P->idx[q]];
        L += P->c * (P->t[i] * softplus(-z) + (1 - P->t[i]) * softplus(z));
        double dz = P->c * (1 / (1 + exp(-z)) - P->t[i]);
        if (gu) {
            for (size_t q = P->off[i]; q < P->off[i + 1]; q++) gu[P->idx[q]] += dz * P->r[P->idx[q]];
            *gb += dz;
        }
    }
    return L;
}

static void test_solver(int soft)
{
    rng g;
    rng_seed(&g, soft ? 11 : 12);
    problem P;
    make_problem(&P, &g, soft, 10, 0.5, 0);
    double w[NF], b;
    linear_fit_docs(ND, P.off, P.idx, P.t, NF, P.alpha, P.c, P.prior, 5000, 1e-10, 1, w, &b);
    double u[NF], gu[NF], gb;
    for (int f = 0; f < NF; f++) u[f] = w[f] / P.r[f] - P.prior;   /* r_f != 0 in these problems */
    double L = objective(&P, u, b, gu, &gb), worst = fabs(gb);
    for (int f = 0; f < NF; f++) worst = fmax(worst, fabs(gu[f]));
    printf("%s targets: objective %.9f, worst |gradient| %.3g (tolerance 1e-5)\n", soft ? "soft" : "hard", L, worst);
    CHECK(worst < 1e-5, "%s: gradient of the objective at the solver's answer %.3g", soft ? "soft" : "hard", worst);
    /* Every nearby point is worse (finite differences in each coordinate, both ways). */
    double h = 1e-3;
    int below = 0;
    for (int f = 0; f <= NF; f++)
        for (int s = -1; s <= 1; s += 2) {
            double ub = b;
            if (f < NF) u[f] += s * h; else ub += s * h;
            if (objective(&P, u, ub, NULL, NULL) < L) below++;
            if (f < NF) u[f] -= s * h;
        }
    CHECK(below == 0, "%s: %d nearby points have a lower objective", soft ? "soft" : "hard", below);
    /* One pass (nblr.conf's epochs = 1) lowers the objective from the start (u = 0). */
    double w1[NF], b1, u1[NF], z0[NF] = { 0 };
    linear_fit_docs(ND, P.off, P.idx, P.t, NF, P.alpha, P.c, P.prior, 1, 0, 1, w1, &b1);
    for (int f = 0; f < NF; f++) u1[f] = w1[f] / P.r[f] - P.prior;
    double L1 = objective(&P, u1, b1, NULL, NULL), L0 = objective(&P, z0, 0, NULL, NULL);
    CHECK(L1 < L0 && L1 >= L - 1e-9, "%s: one pass %.6f, start %.6f, optimum %.6f", soft ? "soft" : "hard", L1, L0, L);
}

int main(void)
{
    test_format();
    test_soften();
    test_solver(0);
    test_solver(1);
    return test_status("unit_soft");
}
