/* linear_newton.c — TRON on nblr's primal objective with fixed-point reductions; see
 * linear_newton.h. */
#include "linear_newton.h"
#include "pool.h"

#include <math.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#define LOSS_CAP 65536.0   /* 2^16: a document's loss is capped there (a bound for the grid) */
#define MAX_DOCS ((uint64_t)1 << 30)

struct lnewton {
    doccache *dc;
    size_t m;
    const double *t;
    const uint8_t *use;
    uint8_t want;
    uint32_t nfeat;
    lnewton_set S;
    const lnewton_comm *comm;
    double *r;          /* (nfeat) NB ratios */
    double *off;        /* (m) prior * sum of r over document i */
    double *z, *dw;     /* (m) z_i at the last fun, sigma(1 - sigma) at the last grad */
    /* (nfeat + 1) scratch: x_f r_f (or v_f r_f / s) beside the first thread's sum of a
     * Hessian-vector product, so the sum's update finds its line in the cache the read of
     * x_f r_f brought in (one miss a feature occurrence instead of two). */
    struct xa { double x; int64_t a; } *xa;
    int64_t *acc;       /* (nfeat + 1) the fixed-point sums */
    int64_t **tacc;     /* (S.threads - 1) x (nfeat + 1): the other threads' sums */
    int sh_g, sh_l, sh_h;
    lnewton_stats st;
    /* S.hold: the used documents decoded once (num, off, feat), one span for every pass */
    uint32_t *hnum, *hfeat;
    size_t *hoff, hn;
    int held;
};

/* The documents of a pass, span by span: the cache's blocks, or the one held span. */
static size_t nspans(const lnewton *L) { return L->held ? 1 : doccache_blocks(L->dc); }

static int get_span(lnewton *L, size_t b, doccache_block *B, imdb_err *e)
{
    if (!L->held) return doccache_read(L->dc, b, B, e);
    *B = (doccache_block){ .n = L->hn, .num = L->hnum, .off = L->hoff, .feat = L->hfeat };
    return 0;
}

static inline int used(const lnewton *L, uint32_t num) { return !L->use || L->use[num] == L->want; }

/* x rounded to the grid 2^-sh: an integer (|x 2^sh| < 2^62 by the callers' bounds). */
static inline int64_t fx(double x, int sh) { return (int64_t)llrint(ldexp(x, sh)); }

static int ceil_log2(uint64_t v)
{
    int k = 0;
    while (k < 63 && ((uint64_t)1 << k) < v) k++;
    return k;
}

static int reduce(lnewton *L, int64_t *v, size_t n, imdb_err *e)
{
    L->st.reduces++;
    L->st.reduce_bytes += n * sizeof *v;
    if (!L->comm || !L->comm->sum) return 0;
    double t0 = imdb_now();
    int rc = L->comm->sum(L->comm->ctx, v, n, e);
    L->st.reduce_seconds += imdb_now() - t0;
    return rc;
}

static double sigmoid(double z) { return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z)); }
static double softplus(double z) { return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)); }

static void *xcalloc(size_t n, size_t s) { return imdb_xcalloc(n ? n : 1, s); }

lnewton *lnewton_new(doccache *dc, size_t m, const double *t, const uint8_t *use, uint8_t want, uint32_t nfeat,
                     const lnewton_set *S, const lnewton_comm *comm, imdb_err *e)
{
    lnewton *L = xcalloc(1, sizeof *L);
    *L = (lnewton){ .dc = dc, .m = m, .t = t, .use = use, .want = want, .nfeat = nfeat, .S = *S, .comm = comm };
    if (comm && !comm->sum) L->comm = NULL;
    size_t n = (size_t)nfeat + 1;
    L->r = xcalloc(nfeat, sizeof *L->r);
    L->off = xcalloc(m, sizeof *L->off);
    L->z = xcalloc(m, sizeof *L->z);
    L->dw = xcalloc(m, sizeof *L->dw);
    L->xa = xcalloc(n, sizeof *L->xa);
    L->acc = xcalloc(n, sizeof *L->acc);
    if (L->S.threads < 1) L->S.threads = 1;
    if (L->S.threads > 1 && S->hold) {
        L->tacc = xcalloc((size_t)L->S.threads - 1, sizeof *L->tacc);
        for (int t = 0; t < L->S.threads - 1; t++) L->tacc[t] = xcalloc(n, sizeof *L->tacc[t]);
    } else L->S.threads = 1;
    /* First the fingerprint and nfeat in 16-bit parts: all ranks agree iff on each rank
     * its part times the ranks is the sum (were the sum N x_k on every rank k, every x_k
     * would be the mean). Checked before anything else is reduced: ranks with another
     * nfeat would reduce vectors of other lengths. */
    int64_t chk[6], mine[6];
    for (int k = 0; k < 4; k++) chk[k] = (int64_t)(S->fingerprint >> (16 * k) & 0xffff);
    chk[4] = nfeat & 0xffff;
    chk[5] = nfeat >> 16;
    memcpy(mine, chk, sizeof chk);
    int64_t *cnt = NULL;
    if (reduce(L, chk, 6, e) < 0) goto fail;
    int size = L->comm ? L->comm->size : 1;
    for (int k = 0; k < 6; k++)
        if (chk[k] != mine[k] * size) {
            imdb_fail(e, IMDB_EXIT_DATA, "the ranks' settings, vocabularies or cleaning settings differ (%d ranks: "
                      "every rank must run the same command line on the same vocabulary)", size);
            goto fail;
        }
    /* Then P (nfeat), N (nfeat) and the documents. */
    size_t nr = 2 * (size_t)nfeat + 1;
    cnt = xcalloc(nr, sizeof *cnt);
    int64_t one = (int64_t)1 << 32;
    size_t hcap = 0, fcap = 0;
    if (S->hold) L->hoff = xcalloc(1, sizeof *L->hoff);
    doccache_block B;
    for (size_t b = 0; b < doccache_blocks(dc); b++) {
        if (doccache_read(dc, b, &B, e) < 0) goto fail;
        for (size_t j = 0; j < B.n; j++) {
            uint32_t i = B.num[j];
            if (!used(L, i)) continue;
            double ti = t[i] < 0 ? 0 : t[i] > 1 ? 1 : t[i];
            int64_t q = fx(ti, 32);
            for (size_t p = B.off[j]; p < B.off[j + 1]; p++) {
                cnt[B.feat[p]] += q;
                cnt[nfeat + B.feat[p]] += one - q;
            }
            cnt[2 * (size_t)nfeat]++;
            if (S->hold) {
                size_t k = B.off[j + 1] - B.off[j];
                if (L->hn == hcap) {
                    hcap = hcap ? 2 * hcap : 1024;
                    L->hnum = imdb_xrealloc(L->hnum, hcap * sizeof *L->hnum);
                    L->hoff = imdb_xrealloc(L->hoff, (hcap + 1) * sizeof *L->hoff);
                }
                if (L->hoff[L->hn] + k > fcap) {
                    while (L->hoff[L->hn] + k > fcap) fcap = fcap ? 2 * fcap : 65536;
                    L->hfeat = imdb_xrealloc(L->hfeat, fcap * sizeof *L->hfeat);
                }
                memcpy(L->hfeat + L->hoff[L->hn], B.feat + B.off[j], k * sizeof *B.feat);
                L->hnum[L->hn] = i;
                L->hoff[L->hn + 1] = L->hoff[L->hn] + k;
                L->hn++;
            }
        }
    }
    L->held = S->hold;
    if (reduce(L, cnt, nr, e) < 0) goto fail;
    uint64_t M = (uint64_t)cnt[2 * (size_t)nfeat];
    L->st.docs = M;
    if (M == 0) {   /* a rank may hold none (a small input over many ranks), not all */
        imdb_fail(e, IMDB_EXIT_DATA, "no labelled training documents (%d rank%s)", L->comm ? L->comm->size : 1,
                  L->comm && L->comm->size > 1 ? "s" : "");
        goto fail;
    }
    if (M > MAX_DOCS) {
        imdb_fail(e, IMDB_EXIT_DATA, "%llu training documents: the Newton solver takes at most 2^30",
                  (unsigned long long)M);
        goto fail;
    }
    double sp = 0, sn = 0, a = S->alpha;
    for (uint32_t f = 0; f < nfeat; f++) {
        sp += a + ldexp((double)cnt[f], -32);
        sn += a + ldexp((double)cnt[nfeat + f], -32);
    }
    for (uint32_t f = 0; f < nfeat; f++)
        L->r[f] = log((a + ldexp((double)cnt[f], -32)) / sp) - log((a + ldexp((double)cnt[nfeat + f], -32)) / sn);
    /* The prior's offsets and the bound of a Hessian-vector product's sums:
     * |sigma(1 - sigma) x_i.v| <= (1 + sum |r_f|) / 4 when max |v| = 1. */
    int64_t A = 0;
    for (size_t b = 0; b < nspans(L); b++) {
        if (get_span(L, b, &B, e) < 0) goto fail;
        for (size_t j = 0; j < B.n; j++) {
            uint32_t i = B.num[j];
            if (!used(L, i)) continue;
            double o = 0, ar = 1;
            for (size_t p = B.off[j]; p < B.off[j + 1]; p++) {
                o += S->prior * L->r[B.feat[p]];
                ar += fabs(L->r[B.feat[p]]);
            }
            L->off[i] = o;
            A += (int64_t)ceil(ar * 0.25 * 1.001) + 1;
        }
    }
    if (reduce(L, &A, 1, e) < 0) goto fail;
    int lm = ceil_log2(M + 1), la = ceil_log2((uint64_t)A + 1);
    L->sh_g = 61 - lm < 32 ? 61 - lm : 32;
    L->sh_l = 45 - lm < 32 ? 45 - lm : 32;
    L->sh_h = 61 - la < 40 ? 61 - la : 40;
    if (L->sh_l < 8 || L->sh_h < 8) {
        imdb_fail(e, IMDB_EXIT_DATA, "the Newton solver's fixed-point grid is too coarse for this data");
        goto fail;
    }
    free(cnt);
    return L;
fail:
    free(cnt);
    lnewton_free(L);
    return NULL;
}

void lnewton_free(lnewton *L)
{
    if (!L) return;
    free(L->r); free(L->off); free(L->z); free(L->dw); free(L->xa); free(L->acc);
    free(L->hnum); free(L->hoff); free(L->hfeat);
    if (L->tacc)
        for (int t = 0; t < L->S.threads - 1; t++) free(L->tacc[t]);
    free(L->tacc);
    free(L);
}

uint32_t lnewton_nfeat(const lnewton *L) { return L->nfeat; }
const double *lnewton_ratios(const lnewton *L) { return L->r; }

/* ---- the passes over the documents: fun, grad, hv; on S.threads threads ---- */

enum { PASS_FUN, PASS_GRAD, PASS_HV };
#define PASS_CHUNK 256   /* documents a chunk of a threaded pass */

/* Documents j0 .. j1 of span B: their z_i and loss (fun), their sigma(z_i) - t_i (grad) or
 * D_i x_i.v (hv) added into acc; one thread's share. xb: the bias term (x_b or v_b / s). */
static void pass_docs(lnewton *L, int kind, double xb, const doccache_block *B, size_t j0, size_t j1,
                      int64_t *acc, int64_t *loss, int *bad)
{
    uint32_t nf = L->nfeat;
    struct xa *xa = L->xa;
    for (size_t j = j0; j < j1; j++) {
        uint32_t i = B->num[j];
        if (!used(L, i)) continue;
        const uint32_t *fp = B->feat + B->off[j], *fe = B->feat + B->off[j + 1];
        if (kind == PASS_FUN) {
            double z = xb + L->off[i];
            for (const uint32_t *p = fp; p < fe; p++) z += xa[*p].x;
            L->z[i] = z;
            double ti = L->t[i];
            double li = ti == 1 ? softplus(-z) : ti == 0 ? softplus(z) : ti * softplus(-z) + (1 - ti) * softplus(z);
            if (!(li <= LOSS_CAP)) li = isnan(li) ? li : LOSS_CAP;
            if (isnan(li)) {
                *bad = 1;
                continue;
            }
            *loss += fx(li, L->sh_l);
        } else {
            int64_t q;
            if (kind == PASS_GRAD) {
                double s = sigmoid(L->z[i]);
                L->dw[i] = s * (1 - s);
                q = fx(s - L->t[i], L->sh_g);
            } else {
                double xv = xb;
                for (const uint32_t *p = fp; p < fe; p++) xv += xa[*p].x;
                q = fx(L->dw[i] * xv, L->sh_h);
                if (!acc) {   /* the first thread of hv: beside x */
                    for (const uint32_t *p = fp; p < fe; p++) xa[*p].a += q;
                    xa[nf].a += q;
                    continue;
                }
            }
            for (const uint32_t *p = fp; p < fe; p++) acc[*p] += q;
            acc[nf] += q;
        }
    }
}

typedef struct pass {
    lnewton *L;
    int kind;
    double xb;
    const doccache_block *B;
    int64_t **acc, *loss;
    int *bad;
} pass;

static void pass_chunk(void *ctx, int thread, size_t chunk)
{
    pass *P = ctx;
    size_t j0 = chunk * PASS_CHUNK, j1 = j0 + PASS_CHUNK < P->B->n ? j0 + PASS_CHUNK : P->B->n;
    pass_docs(P->L, P->kind, P->xb, P->B, j0, j1, P->acc[thread], &P->loss[thread], &P->bad[thread]);
}

/* Adding the threads' sums into acc[0], by ranges of features. */
static void merge_chunk(void *ctx, int thread, size_t chunk)
{
    (void)thread;
    pass *P = ctx;
    size_t n = (size_t)P->L->nfeat + 1, k0 = chunk << 16, k1 = k0 + ((size_t)1 << 16) < n ? k0 + ((size_t)1 << 16) : n;
    int64_t *a = P->acc[0];
    for (int t = 1; t < P->L->S.threads; t++) {
        const int64_t *b = P->acc[t];
        for (size_t k = k0; k < k1; k++) a[k] += b[k];
    }
}

/* One pass: with acc (grad, hv) zeroed here and filled with this rank's sums; *loss (fun).
 * Threads take chunks of documents in any order, each adding into its own sums, which
 * are added up at the end: integers, so the result is the same for any number of threads.
 * Threaded only when the documents are held (the cache's blocks are read in turn). */
static int run_pass(lnewton *L, int kind, double xb, int64_t *acc, int64_t *loss, imdb_err *e)
{
    int T = L->held && L->S.threads > 1 ? L->S.threads : 1;
    size_t n = (size_t)L->nfeat + 1;
    int64_t *accs[T], losses[T];
    int bads[T], beside = kind == PASS_HV;   /* hv: the first thread's sums in L->xa, zeroed by lnewton_hv */
    for (int t = 0; t < T; t++) {
        accs[t] = t == 0 ? (beside ? NULL : acc) : L->tacc[t - 1];
        losses[t] = 0;
        bads[t] = 0;
        if (kind != PASS_FUN && accs[t]) memset(accs[t], 0, n * sizeof *acc);
    }
    pass P = { .L = L, .kind = kind, .xb = xb, .acc = accs, .loss = losses, .bad = bads };
    doccache_block B;
    for (size_t b = 0; b < nspans(L); b++) {
        if (get_span(L, b, &B, e) < 0) return -1;
        P.B = &B;
        if (T > 1) pool_for(T, (B.n + PASS_CHUNK - 1) / PASS_CHUNK, pass_chunk, &P);
        else pass_docs(L, kind, xb, &B, 0, B.n, accs[0], &losses[0], &bads[0]);
    }
    if (beside)
        for (size_t k = 0; k < n; k++) acc[k] = L->xa[k].a;
    accs[0] = acc;
    if (T > 1 && kind != PASS_FUN) pool_for(T, (n + 0xffff) >> 16, merge_chunk, &P);
    int64_t l = 0;
    int bad = 0;
    for (int t = 0; t < T; t++) {
        l += losses[t];
        bad |= bads[t];
    }
    if (bad) return imdb_fail(e, IMDB_EXIT_INTERNAL, "nblr (Newton): the loss became NaN");
    if (loss) *loss = l;
    return 0;
}

int lnewton_fun(lnewton *L, const double *x, double *f, imdb_err *e)
{
    uint32_t nf = L->nfeat;
    for (uint32_t k = 0; k < nf; k++) L->xa[k].x = x[k] * L->r[k];
    int64_t loss = 0;
    if (run_pass(L, PASS_FUN, x[nf], NULL, &loss, e) < 0) return -1;
    if (reduce(L, &loss, 1, e) < 0) return -1;
    double reg = 0;
    for (uint32_t k = 0; k <= nf; k++) reg += x[k] * x[k];
    *f = 0.5 * reg + L->S.C * ldexp((double)loss, -L->sh_l);
    L->st.fevals++;
    return 0;
}

int lnewton_grad(lnewton *L, const double *x, double *g, imdb_err *e)
{
    uint32_t nf = L->nfeat;
    int64_t *acc = L->acc;
    if (run_pass(L, PASS_GRAD, 0, acc, NULL, e) < 0) return -1;
    if (reduce(L, acc, (size_t)nf + 1, e) < 0) return -1;
    /* (double)acc * 2^-sh is ldexp's value (a power of two, no underflow), without the call. */
    const double sc = ldexp(1, -L->sh_g), C = L->S.C;
    for (uint32_t k = 0; k < nf; k++) g[k] = x[k] + C * L->r[k] * ((double)acc[k] * sc);
    g[nf] = x[nf] + C * ((double)acc[nf] * sc);
    return 0;
}

int lnewton_hv(lnewton *L, const double *v, double *hv, imdb_err *e)
{
    uint32_t nf = L->nfeat;
    double s = 0;
    for (uint32_t k = 0; k <= nf; k++) {
        double a = fabs(v[k]);
        if (a > s) s = a;   /* fmax without the call (no NaN here: v is finite) */
    }
    int64_t *acc = L->acc;
    /* v / s has max |.| = 1, so the grid's bound holds; a zero v still takes part in the
     * reduction (every rank makes the same calls). */
    double inv = s > 0 ? 1 / s : 0;
    for (uint32_t k = 0; k < nf; k++) L->xa[k] = (struct xa){ v[k] * inv * L->r[k], 0 };
    L->xa[nf].a = 0;
    if (run_pass(L, PASS_HV, v[nf] * inv, acc, NULL, e) < 0) return -1;
    if (reduce(L, acc, (size_t)nf + 1, e) < 0) return -1;
    const double cs = L->S.C * s, sc = ldexp(1, -L->sh_h);
    for (uint32_t k = 0; k < nf; k++) hv[k] = v[k] + cs * L->r[k] * ((double)acc[k] * sc);
    hv[nf] = v[nf] + cs * ((double)acc[nf] * sc);
    L->st.cg++;
    return 0;
}

/* ---- TRON (tron.cpp's classic trust region; every rank holds the same vectors) ---- */

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t k = 0; k < n; k++) s += a[k] * b[k];
    return s;
}

static void axpy(double a, const double *x, double *y, size_t n)
{
    for (size_t k = 0; k < n; k++) y[k] += a * x[k];
}

/* Conjugate gradient on H s = -g within |s| <= delta: s, and the residual r = -g - H s.
 * Returns the iterations, or -1. */
static long trcg(lnewton *L, double delta, const double *g, double *s, double *r, double *d, double *Hd,
                 imdb_err *e)
{
    size_t n = (size_t)L->nfeat + 1;
    for (size_t k = 0; k < n; k++) {
        s[k] = 0;
        r[k] = -g[k];
        d[k] = r[k];
    }
    double cgtol = 0.1 * sqrt(dot(g, g, n)), rTr = dot(r, r, n);
    long it = 0;
    while (sqrt(rTr) > cgtol) {
        if (lnewton_hv(L, d, Hd, e) < 0) return -1;
        it++;
        double dHd = dot(d, Hd, n);
        if (!(dHd > 0)) break;   /* H is positive definite (I + ...): only on underflow */
        double alpha = rTr / dHd;
        axpy(alpha, d, s, n);
        if (sqrt(dot(s, s, n)) > delta) {
            /* Back to the boundary of the region along d. */
            axpy(-alpha, d, s, n);
            double std = dot(s, d, n), sts = dot(s, s, n), dtd = dot(d, d, n), dsq = delta * delta;
            double rad = sqrt(std * std + dtd * (dsq - sts));
            alpha = std >= 0 ? (dsq - sts) / (std + rad) : (rad - std) / dtd;
            axpy(alpha, d, s, n);
            axpy(-alpha, Hd, r, n);
            break;
        }
        axpy(-alpha, Hd, r, n);
        double rnew = dot(r, r, n), beta = rnew / rTr;
        for (size_t k = 0; k < n; k++) d[k] = r[k] + beta * d[k];
        rTr = rnew;
    }
    return it;
}

int lnewton_solve(lnewton *L, double *x, const imdb_log *lg, lnewton_stats *st, imdb_err *e)
{
    const double eta0 = 1e-4, eta1 = 0.25, eta2 = 0.75, sigma1 = 0.25, sigma2 = 0.5, sigma3 = 4;
    size_t n = (size_t)L->nfeat + 1;
    double t0 = imdb_now();
    clock_t c0 = clock();
    double *g = xcalloc(n, sizeof *g), *s = xcalloc(n, sizeof *s), *r = xcalloc(n, sizeof *r);
    double *d = xcalloc(n, sizeof *d), *Hd = xcalloc(n, sizeof *Hd), *xn = xcalloc(n, sizeof *xn);
    int rc = -1;
    long iter = 1;
    memset(x, 0, n * sizeof *x);
    double f, fnew;
    if (lnewton_fun(L, x, &f, e) < 0 || lnewton_grad(L, x, g, e) < 0) goto done;
    double gnorm = sqrt(dot(g, g, n)), gnorm0 = gnorm, delta = gnorm;
    L->st.gnorm0 = gnorm0;
    int search = gnorm > L->S.eps * gnorm0;
    while (iter <= L->S.max_iter && search) {
        long cg = trcg(L, delta, g, s, r, d, Hd, e);
        if (cg < 0) goto done;
        memcpy(xn, x, n * sizeof *x);
        axpy(1, s, xn, n);
        double gs = dot(g, s, n), prered = -0.5 * (gs - dot(s, r, n));
        if (lnewton_fun(L, xn, &fnew, e) < 0) goto done;
        double actred = f - fnew, snorm = sqrt(dot(s, s, n)), alpha;
        if (iter == 1) delta = fmin(delta, snorm);
        alpha = fnew - f - gs <= 0 ? sigma3 : fmax(sigma1, -0.5 * (gs / (fnew - f - gs)));
        if (actred < eta0 * prered) delta = fmin(fmax(alpha, sigma1) * snorm, sigma2 * delta);
        else if (actred < eta1 * prered) delta = fmax(sigma1 * delta, fmin(alpha * snorm, sigma2 * delta));
        else if (actred < eta2 * prered) delta = fmax(sigma1 * delta, fmin(alpha * snorm, sigma3 * delta));
        else delta = fmax(delta, fmin(alpha * snorm, sigma3 * delta));
        imdb_logf(lg, IMDB_LOG_VERBOSE, "nblr newton: iter %ld: f %.9g |g| %.3g cg %ld actred %.3g prered %.3g "
                  "delta %.3g", iter, fnew, gnorm, cg, actred, prered, delta);
        if (actred > eta0 * prered) {
            iter++;
            memcpy(x, xn, n * sizeof *x);
            f = fnew;
            if (lnewton_grad(L, x, g, e) < 0) goto done;
            gnorm = sqrt(dot(g, g, n));
            if (gnorm <= L->S.eps * gnorm0) break;
        }
        /* A rejected step leaves its z_i in L->z: harmless, the next grad follows the
         * next lnewton_fun, and Hv uses the weights of x's grad. */
        if (fabs(actred) <= 0 && prered <= 0) break;
        if (fabs(actred) <= 1e-12 * fabs(f) && fabs(prered) <= 1e-12 * fabs(f)) break;
    }
    L->st.iter = iter - 1;
    L->st.f = f;
    L->st.gnorm = gnorm;
    rc = 0;
done:
    L->st.seconds = imdb_now() - t0;
    L->st.cpu_seconds = (double)(clock() - c0) / CLOCKS_PER_SEC;
    if (st) *st = L->st;
    free(g); free(s); free(r); free(d); free(Hd); free(xn);
    return rc;
}

void lnewton_weights(const lnewton *L, const double *x, double *w, double *b)
{
    for (uint32_t k = 0; k < L->nfeat; k++) w[k] = (x[k] + L->S.prior) * L->r[k];
    *b = x[L->nfeat];
}

static const lnewton_comm *the_comm;
void lnewton_set_comm(const lnewton_comm *comm) { the_comm = comm; }
const lnewton_comm *lnewton_get_comm(void) { return the_comm; }
