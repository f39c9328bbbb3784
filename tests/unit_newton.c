/* unit_newton.c — nblr's Newton solver (linear_newton.h) against a naive double-precision
 * reference of its objective: the objective, gradient and Hessian-vector product agree
 * with the reference and with finite differences; the converged objective is the dual
 * coordinate descent's (linear_fit_docs); the data split into 1, 2, 4 and 8 parts (ranks
 * simulated by threads, the reduction summing in a fixed order) gives the same bytes; ranks
 * whose fingerprints differ are refused. Hard and soft targets. */
#include "linear.h"
#include "linear_newton.h"
#include "rng.h"
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ND 300
#define NF 40

#include "nbproblem.h"

static double softplus(double z) { return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)); }
static double sigm(double z) { return 1 / (1 + exp(-z)); }

static double zof(const problem *P, int i, const double *x)
{
    double z = x[NF];
    for (size_t q = P->off[i]; q < P->off[i + 1]; q++) z += (x[P->idx[q]] + P->prior) * P->r[P->idx[q]];
    return z;
}

/* The naive objective at x = (u, u_b), its gradient (g) and Hessian times v (hv). */
static double naive(const problem *P, const double *x, double *g, const double *v, double *hv)
{
    double L = 0;
    for (int f = 0; f <= NF; f++) L += 0.5 * x[f] * x[f];
    if (g) for (int f = 0; f <= NF; f++) g[f] = x[f];
    if (hv) for (int f = 0; f <= NF; f++) hv[f] = v[f];
    for (int i = 0; i < ND; i++) {
        double z = zof(P, i, x), s = sigm(z);
        L += P->c * (P->t[i] * softplus(-z) + (1 - P->t[i]) * softplus(z));
        double xv = hv ? v[NF] : 0;
        if (hv) for (size_t q = P->off[i]; q < P->off[i + 1]; q++) xv += P->r[P->idx[q]] * v[P->idx[q]];
        for (size_t q = P->off[i]; q < P->off[i + 1]; q++) {
            if (g) g[P->idx[q]] += P->c * (s - P->t[i]) * P->r[P->idx[q]];
            if (hv) hv[P->idx[q]] += P->c * s * (1 - s) * xv * P->r[P->idx[q]];
        }
        if (g) g[NF] += P->c * (s - P->t[i]);
        if (hv) hv[NF] += P->c * s * (1 - s) * xv;
    }
    return L;
}

/* The documents i with part(i) == k of K in a memory cache, in their order. */
static doccache *cache_of(const problem *P, int k, int K)
{
    imdb_err e = { 0 };
    doccache_writer *w = doccache_create(NULL, 64, NF, 0, &e);
    for (int i = 0; i < ND; i++)
        if ((i * 7 + 3) % K == k) doccache_add(w, (uint32_t)i, (float)P->t[i], P->idx + P->off[i], P->off[i + 1] - P->off[i], &e);
    return doccache_finish(w, &e);
}

static lnewton_set settings(const problem *P, double eps)
{
    return (lnewton_set){ .alpha = P->alpha, .C = P->c, .prior = P->prior, .eps = eps, .max_iter = 100 };
}

static void test_pieces(int soft)
{
    const char *what = soft ? "soft" : "hard";
    rng g;
    rng_seed(&g, soft ? 21 : 22);
    problem P;
    make_problem(&P, &g, soft, 15, 0.4, 1024);
    doccache *dc = cache_of(&P, 0, 1);
    imdb_err e = { 0 };
    lnewton_set S = settings(&P, 1e-6);
    lnewton *L = lnewton_new(dc, ND, P.t, NULL, 0, NF, &S, NULL, &e);
    CHECK(L != NULL, "%s: lnewton_new: %s", what, e.msg);
    if (!L) return;
    double worst = 0;
    for (int f = 0; f < NF; f++) worst = fmax(worst, fabs(lnewton_ratios(L)[f] - P.r[f]));
    CHECK(worst <= 1e-12, "%s: NB ratios differ from the naive ones by %.3g", what, worst);

    double x[NF + 1], v[NF + 1], g1[NF + 1], g0[NF + 1], hv[NF + 1], hv0[NF + 1], xp[NF + 1], gp[NF + 1],
        gm[NF + 1], f, fp, fm;
    for (int k = 0; k <= NF; k++) {
        x[k] = 0.5 * (rng_uniform(&g) - 0.5);
        v[k] = rng_uniform(&g) - 0.5;
    }
    /* Against the naive reference (tolerances: the fixed-point grids, 2^-32 a document). */
    double f0 = naive(&P, x, g0, v, hv0);
    lnewton_fun(L, x, &f, &e);
    lnewton_grad(L, x, g1, &e);
    lnewton_hv(L, v, hv, &e);
    double dg = 0, dh = 0;
    for (int k = 0; k <= NF; k++) {
        dg = fmax(dg, fabs(g1[k] - g0[k]));
        dh = fmax(dh, fabs(hv[k] - hv0[k]));
    }
    printf("%s: |f - naive| %.3g, max |grad - naive| %.3g, max |Hv - naive| %.3g (tolerance 1e-8)\n", what,
           fabs(f - f0), dg, dh);
    CHECK(fabs(f - f0) <= 1e-8 && dg <= 1e-8 && dh <= 1e-8, "%s: objective, gradient or Hv off the naive reference",
          what);
    /* Against central differences: the gradient of lnewton_fun (whose fixed-point loss
     * moves by up to C ND 2^-33, so h is large), of the naive objective (h small), the
     * Hessian of lnewton_grad. */
    double h = 1e-3, wg = 0, wn = 0, wh = 0, hn = 1e-6;
    for (int k = 0; k <= NF; k++) {
        memcpy(xp, x, sizeof x);
        xp[k] = x[k] + h;
        lnewton_fun(L, xp, &fp, &e);
        xp[k] = x[k] - h;
        lnewton_fun(L, xp, &fm, &e);
        wg = fmax(wg, fabs((fp - fm) / (2 * h) - g1[k]));
        xp[k] = x[k] + hn;
        fp = naive(&P, xp, NULL, NULL, NULL);
        xp[k] = x[k] - hn;
        fm = naive(&P, xp, NULL, NULL, NULL);
        wn = fmax(wn, fabs((fp - fm) / (2 * hn) - g1[k]));
    }
    h = 1e-4;
    lnewton_fun(L, x, &f, &e);
    lnewton_grad(L, x, g1, &e);
    for (int k = 0; k <= NF; k++) xp[k] = x[k] + h * v[k];
    lnewton_fun(L, xp, &fp, &e);
    lnewton_grad(L, xp, gp, &e);
    for (int k = 0; k <= NF; k++) xp[k] = x[k] - h * v[k];
    lnewton_fun(L, xp, &fm, &e);
    lnewton_grad(L, xp, gm, &e);
    for (int k = 0; k <= NF; k++) wh = fmax(wh, fabs((gp[k] - gm[k]) / (2 * h) - hv[k]));
    printf("%s: worst |finite difference - grad| %.3g (of the naive objective %.3g, tolerance 1e-7), "
           "|finite difference - Hv| %.3g (tolerance 1e-5)\n", what, wg, wn, wh);
    CHECK(wg <= 1e-5, "%s: gradient off its finite differences by %.3g", what, wg);
    CHECK(wn <= 1e-7, "%s: gradient off the naive objective's finite differences by %.3g", what, wn);
    CHECK(wh <= 1e-5, "%s: Hessian-vector product off its finite differences by %.3g", what, wh);

    /* The converged objective against the dual coordinate descent's (5000 epochs). */
    double sol[NF + 1], w[NF], b, wd[NF], bd, u[NF + 1];
    lnewton_stats st;
    S = settings(&P, 1e-9);
    lnewton_free(L);
    L = lnewton_new(dc, ND, P.t, NULL, 0, NF, &S, NULL, &e);
    int rc = lnewton_solve(L, sol, NULL, &st, &e);
    lnewton_weights(L, sol, w, &b);
    linear_fit_docs(ND, P.off, P.idx, P.t, NF, P.alpha, P.c, P.prior, 5000, 1e-12, 1, wd, &bd);
    for (int k = 0; k < NF; k++) u[k] = wd[k] / P.r[k] - P.prior;
    u[NF] = bd;
    double ft = naive(&P, sol, NULL, NULL, NULL), fd = naive(&P, u, NULL, NULL, NULL), dw = fabs(b - bd);
    for (int k = 0; k < NF; k++) dw = fmax(dw, fabs(w[k] - wd[k]));
    printf("%s: tron %ld iterations, %ld Hv, objective %.12f (its own %.12f); dual %.12f; relative difference %.3g "
           "(tolerance 1e-10); max weight difference %.3g\n", what, st.iter, st.cg, ft, st.f, fd,
           fabs(ft - fd) / fd, dw);
    CHECK(rc == 0 && fabs(ft - fd) <= 1e-10 * fd, "%s: converged objectives %.12f (tron) and %.12f (dual)", what, ft, fd);
    CHECK(fabs(st.f - ft) <= 1e-8, "%s: the solver's objective %.12f, the naive one %.12f", what, st.f, ft);
    CHECK(dw <= 1e-4, "%s: weights differ by %.3g", what, dw);
    lnewton_free(L);
    doccache_close(dc);
}

/* ---- simulated ranks: one thread each, the reduction through shared slots ---- */

#define KMAX 8

typedef struct sim {
    pthread_barrier_t bar;
    int K;
    int64_t *slot[KMAX];
} sim;

typedef struct simrank {
    sim *S;
    const problem *P;
    uint64_t fingerprint;
    lnewton_comm comm;
    int rank, rc, status;
    double w[NF], b;
    lnewton_stats st;
} simrank;

static int sim_sum(void *ctx, int64_t *v, size_t n, imdb_err *e)
{
    (void)e;
    simrank *R = ctx;
    sim *S = R->S;
    S->slot[R->rank] = v;
    pthread_barrier_wait(&S->bar);
    int64_t *out = calloc(n, sizeof *out);
    for (int k = 0; k < S->K; k++)   /* rank order: any order gives the same integers */
        for (size_t j = 0; j < n; j++) out[j] += S->slot[k][j];
    pthread_barrier_wait(&S->bar);   /* every rank has read every slot */
    memcpy(v, out, n * sizeof *v);
    free(out);
    return 0;
}

static void *sim_rank(void *arg)
{
    simrank *R = arg;
    doccache *dc = cache_of(R->P, R->rank, R->S->K);
    imdb_err e = { 0 };
    lnewton_set S = settings(R->P, 1e-7);
    S.fingerprint = R->fingerprint;
    S.hold = R->rank % 2;   /* held and block-read documents on the same problem */
    S.threads = 2;          /* the held ones on 2 threads */
    R->comm = (lnewton_comm){ .sum = sim_sum, .ctx = R, .rank = R->rank, .size = R->S->K };
    lnewton *L = lnewton_new(dc, ND, R->P->t, NULL, 0, NF, &S, &R->comm, &e);
    double x[NF + 1];
    R->rc = L ? lnewton_solve(L, x, NULL, &R->st, &e) : -1;
    R->status = e.status;
    if (R->rc == 0) lnewton_weights(L, x, R->w, &R->b);
    lnewton_free(L);
    doccache_close(dc);
    return NULL;
}

/* Ranks 0..K-1 on their parts; rank k's fingerprint fp[k] (NULL: all 0). R[KMAX] out. */
static void run_ranks(const problem *P, int K, const uint64_t *fp, simrank *R)
{
    sim S = { .K = K };
    pthread_barrier_init(&S.bar, NULL, (unsigned)K);
    pthread_t th[KMAX];
    for (int k = 0; k < K; k++) {
        R[k] = (simrank){ .S = &S, .P = P, .fingerprint = fp ? fp[k] : 0, .rank = k };
        pthread_create(&th[k], NULL, sim_rank, &R[k]);
    }
    for (int k = 0; k < K; k++) pthread_join(th[k], NULL);
    pthread_barrier_destroy(&S.bar);
}

static void test_split(int soft)
{
    const char *what = soft ? "soft" : "hard";
    rng g;
    rng_seed(&g, soft ? 31 : 32);
    problem P;
    make_problem(&P, &g, soft, 15, 0.4, 1024);
    /* One process without a communicator: the reference bytes. */
    doccache *dc = cache_of(&P, 0, 1);
    imdb_err e = { 0 };
    lnewton_set S = settings(&P, 1e-7);
    S.hold = 1;
    lnewton *L = lnewton_new(dc, ND, P.t, NULL, 0, NF, &S, NULL, &e);
    double x[NF + 1], w0[NF], b0;
    lnewton_stats st0;
    lnewton_solve(L, x, NULL, &st0, &e);
    lnewton_weights(L, x, w0, &b0);
    lnewton_free(L);
    doccache_close(dc);
    static simrank R[KMAX];
    for (int K = 1; K <= KMAX; K *= 2) {
        run_ranks(&P, K, NULL, R);
        int same = 1;
        for (int k = 0; k < K; k++)
            same &= R[k].rc == 0 && memcmp(R[k].w, w0, sizeof w0) == 0 && memcmp(&R[k].b, &b0, sizeof b0) == 0 &&
                    R[k].st.iter == st0.iter && R[k].st.cg == st0.cg && R[k].st.docs == ND;
        printf("%s: %d rank%s: %ld iterations, %ld Hv, objective %.12f, %llu bytes reduced by rank 0: %s\n", what, K,
               K > 1 ? "s" : "", R[0].st.iter, R[0].st.cg, R[0].st.f, (unsigned long long)R[0].st.reduce_bytes,
               same ? "the same bytes" : "DIFFERENT");
        CHECK(same, "%s: %d ranks give other weights than one process", what, K);
    }
    /* One process with 2 and 3 threads in its passes: the same bytes. */
    for (int T = 2; T <= 3; T++) {
        dc = cache_of(&P, 0, 1);
        S.threads = T;
        L = lnewton_new(dc, ND, P.t, NULL, 0, NF, &S, NULL, &e);
        double xt[NF + 1], wt[NF], bt = 0;
        lnewton_stats stt = { 0 };
        int rc = L ? lnewton_solve(L, xt, NULL, &stt, &e) : -1;
        if (rc == 0) lnewton_weights(L, xt, wt, &bt);
        CHECK(rc == 0 && memcmp(wt, w0, sizeof w0) == 0 && memcmp(&bt, &b0, sizeof b0) == 0 && stt.cg == st0.cg,
              "%s: %d threads give other weights than one", what, T);
        lnewton_free(L);
        doccache_close(dc);
    }
    S.threads = 0;
    /* One rank with another fingerprint: every rank refuses (IMDB_EXIT_DATA). */
    uint64_t fp[4] = { 7, 7, 7, 8 };
    run_ranks(&P, 4, fp, R);
    int refused = 1;
    for (int k = 0; k < 4; k++) refused &= R[k].rc < 0 && R[k].status == IMDB_EXIT_DATA;
    CHECK(refused, "%s: ranks with different fingerprints were not all refused", what);
    uint64_t fq[2] = { 0x10000, 0x20000 };   /* differ only above the lowest 16 bits */
    run_ranks(&P, 2, fq, R);
    CHECK(R[0].rc < 0 && R[1].rc < 0, "%s: fingerprints differing in bits 16.. were accepted", what);
}

int main(void)
{
    test_pieces(0);
    test_pieces(1);
    test_split(0);
    test_split(1);
    return test_status("unit_newton");
}
