/* linear_newton.h — nblr's objective solved in the primal by a trust-region Newton method
 * with conjugate gradient (TRON: Lin, Weng and Keerthi, JMLR 2008; LIBLINEAR's tron.cpp),
 * written so that the documents may be spread over ranks (MPI-LIBLINEAR: Zhuang, Chin,
 * Juan and Lin, 2015): every term that sums over documents is reached only through a
 * reduction callback, everything else is replicated, so one process and N ranks run the
 * same code (imdb-train -o solver=tron; under mpirun, linear.c's hook).
 *
 * The objective is linear.h's (linear_fit_docs): over u (nfeat) and u_b
 *   f(u) = 1/2 (|u|^2 + u_b^2) + C sum_i [t_i L(z_i) + (1 - t_i) L(-z_i)],  L(z) = log(1 + e^-z),
 *   z_i = u_b + sum_{f in doc i} (u_f + prior) r_f,
 * r the NB log-count ratios (smoothing alpha; document i counted t_i times positive and
 * 1 - t_i negative), so its optimum is the dual coordinate descent's.
 *
 * Exact across rank counts. A floating-point sum depends on its order, hence on how the
 * documents are split. Here each document's contribution is rounded to a fixed-point
 * grid (an int64 scaled by 2^k) on its own, and only integers are summed, locally and
 * across ranks: integer addition is associative, so the sums, and with them every
 * decision of the solver and the model's bytes, are the same whatever the split and the
 * reduction's order. The grids (k) are chosen from bounds reduced once at the start, so no
 * sum can overflow: the soft targets of the NB counts 2^-32 (hard labels count exactly);
 * sigma(z_i) - t_i in the gradient 2^-min(32, 61 - log2 M) (M the documents); each loss
 * (capped at 2^16) 2^-min(32, 45 - log2 M); in a Hessian-vector product, with v scaled by
 * 1/max|v|, each document's D_i x_i.v 2^-min(40, 61 - log2 A), A a bound of the sum.
 * What is guaranteed: the same bytes for any number of ranks and any split of the same
 * documents (tests/unit_newton.c: 1, 2, 4 and 8 parts); against exact arithmetic, the
 * gradient's data term is off by at most C |r_f| n_f 2^-33 in coordinate f (n_f documents
 * hold f), far below the stopping tolerance. */
#ifndef IMDB_LINEAR_NEWTON_H
#define IMDB_LINEAR_NEWTON_H
#include <stddef.h>
#include <stdint.h>
#include "doccache.h"
#include "util.h"

/* The reduction: sum replaces v (n int64) in place by the sum over every rank of their v,
 * the same on every rank (MPI_Allreduce with MPI_INT64_T and MPI_SUM). Every rank calls it
 * the same number of times with the same n. 0, or -1 with e filled. A NULL comm, or
 * one whose sum is NULL, is one process (rank 0 of 1): the identity. */
typedef struct lnewton_comm {
    int (*sum)(void *ctx, int64_t *v, size_t n, imdb_err *e);
    /* Rank 0's n bytes at buf replace the other ranks' (MPI_Bcast from rank 0); every rank
     * calls it with the same n. 0, or -1 with e filled. NULL (one process): nothing to do.
     * Not used by the solver: linear.c sends rank 0's features to the others with it. */
    int (*bcast)(void *ctx, void *buf, size_t n, imdb_err *e);
    void *ctx;
    int rank, size;
} lnewton_comm;

typedef struct lnewton_set {
    double alpha, C, prior;
    double eps;          /* stop when |grad f| <= eps |grad f(0)| */
    long max_iter;       /* Newton iterations at most */
    /* A checksum of what must agree between ranks (settings, features, cleaning): ranks
     * whose fingerprints differ are refused before training (IMDB_EXIT_DATA). */
    uint64_t fingerprint;
    /* 1: decode the used documents of the cache once and keep them (4 bytes an id, 12 a
     * document), instead of reading the cache's blocks on every pass; the same results. */
    int hold;
    /* threads for the passes over the documents, with hold only (0 or 1: the caller's
     * alone); every thread adds into its own integer sums, so any number gives the same
     * results, byte for byte. */
    int threads;
} lnewton_set;

typedef struct lnewton_stats {
    long iter, cg, fevals;    /* Newton iterations taken, Hessian-vector products, f(u) */
    uint64_t docs;            /* documents over all ranks */
    uint64_t reduces, reduce_bytes;   /* calls of sum and the bytes this rank passed to it */
    double reduce_seconds;    /* wall time in sum (waiting for the other ranks included) */
    double f, gnorm0, gnorm;  /* objective and gradient norms at the start and the end */
    double seconds, cpu_seconds;   /* lnewton_solve's wall time, and the process's CPU time in it */
} lnewton_stats;

typedef struct lnewton lnewton;

/* The local share of a problem: the documents of cache dc whose number i (< m) has
 * use == NULL or use[i] == want, with targets t[i] = P(pos) in [0, 1], sorted distinct
 * features each < nfeat. Counts the NB statistics, reduces them (with the document count,
 * the bounds and the fingerprint check) and computes r. dc, t and use must outlive the
 * solver; comm may be NULL. NULL with e filled: the reduction failed, ranks disagree, a
 * block could not be read, or more than 2^30 documents. */
lnewton *lnewton_new(doccache *dc, size_t m, const double *t, const uint8_t *use, uint8_t want, uint32_t nfeat,
                     const lnewton_set *S, const lnewton_comm *comm, imdb_err *e);
void lnewton_free(lnewton *L);   /* NULL is fine */

uint32_t lnewton_nfeat(const lnewton *L);
const double *lnewton_ratios(const lnewton *L);   /* r (nfeat) */

/* The pieces, on x = (u_0 .. u_{nfeat-1}, u_b) (nfeat + 1), each one reduction; every rank
 * must make the same calls. lnewton_fun: *f = f(x), and remembers each document's z_i.
 * lnewton_grad: g = grad f at the x of the last lnewton_fun, and remembers the Hessian's
 * weights sigma(z_i)(1 - sigma(z_i)). lnewton_hv: Hv = (hessian at the x of the last
 * lnewton_grad) v. 0, or -1 with e filled. */
int lnewton_fun(lnewton *L, const double *x, double *f, imdb_err *e);
int lnewton_grad(lnewton *L, const double *x, double *g, imdb_err *e);
int lnewton_hv(lnewton *L, const double *v, double *hv, imdb_err *e);

/* TRON from x = 0: x (nfeat + 1) receives the solution; st (may be NULL) what it took.
 * lg (may be NULL) hears one verbose line an iteration. 0, or -1 with e filled (a failed
 * reduction or read, or a NaN objective: IMDB_EXIT_INTERNAL). */
int lnewton_solve(lnewton *L, double *x, const imdb_log *lg, lnewton_stats *st, imdb_err *e);

/* nblr's scoring weights of a solution: w[f] = (x_f + prior) r_f, *b = x_b. */
void lnewton_weights(const lnewton *L, const double *x, double *w, double *b);

/* The process's communicator for nblr (NULL: one process, the default). imdb-train sets
 * it once at start when run under MPI; linear.c's trainer reads it (the solver's
 * reductions, which documents a rank keeps). */
void lnewton_set_comm(const lnewton_comm *comm);
const lnewton_comm *lnewton_get_comm(void);
#endif
