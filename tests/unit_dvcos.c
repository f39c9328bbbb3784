/* unit_dvcos.c — dvcos_pair, the kernel of dvcos training and inference, against central
 * finite differences of the pair loss computed in double precision:
 *
 *   L(h, v) = -log s(z),   z = (label ? 1 : -1) * scale * cos(h, v)
 *   dL/dx_i ~ (L(x_i + eps) - L(x_i - eps)) / (2 eps),   eps = 1e-6, all in double.
 *
 * After one call, gh must have grown by -lr dL/dh and (update_v = 1) v must have moved by
 * -lr dL/dv, both gradients taken at the v before the call; the return value is cos(h, v)
 * and *loss has grown by L. gh is pre-filled with random values to check that the call
 * adds. Both labels, scales 1, 6 and 30, dims that exercise the blocks of 8 and the
 * scalar tail (1, 7, 8, 13, 100). Tolerance on each entry: |a - n| <= ATOL * max|n| +
 * RTOL |n| + FLOOR (float arithmetic, and for v a difference of two floats, against an
 * O(eps^2)-accurate double reference). FLOOR = 8 FLT_EPSILON lr scale (1/|h| + 1/|v|) is
 * float rounding of the two terms of each entry, which cancel when cos is near +-1 (dim 1)
 * and of (1 - p) in float when p is near 1 (scale 30): tiny in absolute terms. Also: update_v = 0 leaves v alone, update_v = 2
 * puts v back to unit length, a zero v changes nothing and returns 0, extreme scores give
 * finite losses, and the same inputs give the same bits.
 *
 * Then the loader (dvcos_clf_ops) on a hand-made model of two targets, laid out as
 * imdb-model(5) says: a document whose token sequence has a key in dv.dkeys gets its
 * stored vector (exact probability), others an inferred one (deterministic, towards the
 * targets they contain); impossible headers, sections of the wrong size and
 * out-of-range ids are refused with IMDB_EXIT_DATA. Prints the worst difference per case
 * and exits 1 on any failure. */
#include "dvcos.h"
#include "feat.h"
#include "modelio.h"
#include "rng.h"
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EPS 1e-6
#define ATOL 1e-4
#define RTOL 1e-3

static rng R;

static double dnorm(const double *x, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i] * x[i];
    return sqrt(s);
}

static double dcos(const double *h, const double *v, int n)
{
    double d = 0;
    for (int i = 0; i < n; i++) d += h[i] * v[i];
    return d / (dnorm(h, n) * dnorm(v, n));
}

/* -log s(z), stable for large |z|. */
static double pair_loss(const double *h, const double *v, int n, double scale, int label)
{
    double z = (label ? 1 : -1) * scale * dcos(h, v, n);
    return z > 0 ? log1p(exp(-z)) : -z + log1p(exp(z));
}

/* -lr * dL/dx by central differences, x being h or v (perturbed in place). */
static void numeric(double *x, double *h, double *v, int n, double scale, int label, double lr, double *out)
{
    for (int i = 0; i < n; i++) {
        double x0 = x[i];
        x[i] = x0 + EPS;
        double lp = pair_loss(h, v, n, scale, label);
        x[i] = x0 - EPS;
        double lm = pair_loss(h, v, n, scale, label);
        x[i] = x0;
        out[i] = -lr * (lp - lm) / (2 * EPS);
    }
}

/* Compare ana (after - before) with num; print the worst difference. */
static void compare(const char *what, const float *after, const float *before, const double *num, int n,
                    double floor)
{
    double big = 0, worst_abs = 0, worst_rel = 0, worst_use = 0;
    for (int i = 0; i < n; i++) big = fmax(big, fabs(num[i]));
    int bad = 0;
    for (int i = 0; i < n; i++) {
        double ana = (double)after[i] - (double)before[i];
        double e = fabs(ana - num[i]), tol = ATOL * big + RTOL * fabs(num[i]) + floor;
        if (!(e <= tol)) {
            if (!bad) fprintf(stderr, "  %s[%d]: analytic %.9g numeric %.9g\n", what, i, ana, num[i]);
            bad = 1;
        }
        if (e > worst_abs || e != e) worst_abs = e;
        if (fabs(num[i]) > 1e-3 * big && e / fabs(num[i]) > worst_rel) worst_rel = e / fabs(num[i]);
        if (e / tol > worst_use || e != e) worst_use = e / tol;
    }
    printf("  %-34s worst |diff| %.2e  worst rel %.2e  (%3.0f%% of tol)  %s\n", what, worst_abs, worst_rel,
           100 * worst_use, bad ? "FAIL" : "ok");
    failures += bad;
}

static float *frand(int n, double a)
{
    float *x = malloc((size_t)(n ? n : 1) * sizeof *x);
    for (int i = 0; i < n; i++) x[i] = (float)((2 * rng_uniform(&R) - 1) * a);
    return x;
}

static double *dcopy(const float *x, int n)
{
    double *y = malloc((size_t)(n ? n : 1) * sizeof *y);
    for (int i = 0; i < n; i++) y[i] = x[i];
    return y;
}

static float *fcopy(const float *x, int n)
{
    float *y = malloc((size_t)(n ? n : 1) * sizeof *y);
    memcpy(y, x, (size_t)n * sizeof *y);
    return y;
}

/* One case: gradients for h and v, the returned cos, the loss. */
static void test_pair(int dim, float scale, int label)
{
    const float lr = 0.1f;
    float *h = frand(dim, 1), *v = frand(dim, 1), *gh = frand(dim, 0.5);
    float *v0 = fcopy(v, dim), *gh0 = fcopy(gh, dim);
    double *hd = dcopy(h, dim), *vd = dcopy(v, dim);
    double *nh = malloc((size_t)dim * sizeof *nh), *nv = malloc((size_t)dim * sizeof *nv);
    /* Both at the v before the update: the kernel scores the pair once. */
    numeric(hd, hd, vd, dim, scale, label, lr, nh);
    numeric(vd, hd, vd, dim, scale, label, lr, nv);
    double want_cos = dcos(hd, vd, dim), want_loss = pair_loss(hd, vd, dim, scale, label);
    float loss = 0.25f;
    double c = dvcos_pair(h, (float)dnorm(hd, dim), v, dim, scale, label, lr, gh, 1, &loss);

    char what[80];
    double floor = 8 * FLT_EPSILON * lr * scale * (1 / dnorm(hd, dim) + 1 / dnorm(vd, dim));
    snprintf(what, sizeof what, "dim %3d scale %2g label %d  gh", dim, scale, label);
    compare(what, gh, gh0, nh, dim, floor);
    snprintf(what, sizeof what, "dim %3d scale %2g label %d  v", dim, scale, label);
    compare(what, v, v0, nv, dim, floor);
    int ok = fabs(c - want_cos) <= 1e-5 && fabs((double)loss - 0.25 - want_loss) <= 1e-5 * (1 + want_loss);
    if (!ok)
        fprintf(stderr, "  cos %.9g (want %.9g), loss added %.9g (want %.9g)\n", c, want_cos, loss - 0.25,
                want_loss);
    snprintf(what, sizeof what, "dim %3d scale %2g label %d: cos and loss added to *loss", dim, scale, label);
    test_expect(ok, what);

    /* update_v = 0: the same gh, v untouched; loss NULL is allowed. */
    float *gh2 = fcopy(gh0, dim), *v2 = fcopy(v0, dim);
    double c2 = dvcos_pair(h, (float)dnorm(hd, dim), v2, dim, scale, label, lr, gh2, 0, NULL);
    ok = c2 == c && memcmp(v2, v0, (size_t)dim * sizeof *v2) == 0;
    for (int i = 0; i < dim; i++) ok &= fabsf(gh2[i] - gh[i]) <= 1e-6f * (1 + fabsf(gh[i]));
    snprintf(what, sizeof what, "dim %3d scale %2g label %d: update_v 0 leaves v alone", dim, scale, label);
    test_expect(ok, what);

    /* update_v = 2: the update of update_v = 1, then back to unit length. */
    float *gh3 = fcopy(gh0, dim), *v3 = fcopy(v0, dim);
    dvcos_pair(h, (float)dnorm(hd, dim), v3, dim, scale, label, lr, gh3, 2, NULL);
    double l1 = 0, l3 = 0;
    for (int i = 0; i < dim; i++) { l1 += (double)v[i] * v[i]; l3 += (double)v3[i] * v3[i]; }
    ok = fabs(sqrt(l3) - 1) <= 1e-5;
    for (int i = 0; i < dim; i++) ok &= fabs(v3[i] - v[i] / sqrt(l1)) <= 1e-5 && gh3[i] == gh[i];
    snprintf(what, sizeof what, "dim %3d scale %2g label %d: update_v 2 gives a unit v", dim, scale, label);
    test_expect(ok, what);

    free(h); free(v); free(gh); free(v0); free(gh0); free(hd); free(vd); free(nh); free(nv);
    free(gh2); free(v2); free(gh3); free(v3);
}

/* A zero target vector: no update at all, cos 0. */
static void test_zero_v(int dim)
{
    float *h = frand(dim, 1), *gh = frand(dim, 1), *v = calloc((size_t)dim, sizeof *v);
    float *gh0 = fcopy(gh, dim);
    double hn = 0;
    for (int i = 0; i < dim; i++) hn += (double)h[i] * h[i];
    float loss = 1.5f;
    double c = dvcos_pair(h, (float)sqrt(hn), v, dim, 6, 1, 0.1f, gh, 1, &loss);
    int ok = c == 0 && loss == 1.5f && memcmp(gh, gh0, (size_t)dim * sizeof *gh) == 0;
    for (int i = 0; i < dim; i++) ok &= v[i] == 0;
    char what[80];
    snprintf(what, sizeof what, "dim %3d: zero v returns 0 and changes nothing", dim);
    test_expect(ok, what);
    free(h); free(gh); free(v); free(gh0);
}

/* h and v (anti)parallel at scale 100: |z| = 100, the loss stays finite (about 100 or
 * about 0) and so does the step. */
static void test_extreme(void)
{
    enum { D = 13 };
    float h[D], v[D], gh[D] = { 0 };
    int ok = 1;
    for (int sign = -1; sign <= 1; sign += 2)
        for (int label = 0; label <= 1; label++) {
            double hn = 0;
            for (int i = 0; i < D; i++) { h[i] = (float)(i + 1); v[i] = (float)(sign * 3 * (i + 1)); hn += h[i] * h[i]; }
            float loss = 0;
            dvcos_pair(h, (float)sqrt(hn), v, D, 100, label, 0.1f, gh, 1, &loss);
            double want = (label ? 1 : -1) * sign > 0 ? 0 : 100;
            ok &= isfinite(loss) && fabs(loss - want) < 1e-3;
            for (int i = 0; i < D; i++) ok &= isfinite(gh[i]) && isfinite(v[i]);
        }
    test_expect(ok, "scale 100, |cos| = 1: finite loss (0 or 100) and step");
}

/* The same inputs give the same bits (fixed-order sums). */
static void test_repeat(void)
{
    const int dim = 100;
    float *h = frand(dim, 1), *v = frand(dim, 1);
    float *va = fcopy(v, dim), *vb = fcopy(v, dim), *ga = calloc(dim, sizeof *ga), *gb = calloc(dim, sizeof *gb);
    float la = 0, lb = 0, hn = 0;
    for (int i = 0; i < dim; i++) hn += h[i] * h[i];
    hn = sqrtf(hn);
    double ca = dvcos_pair(h, hn, va, dim, 6, 1, 0.05f, ga, 1, &la);
    double cb = dvcos_pair(h, hn, vb, dim, 6, 1, 0.05f, gb, 1, &lb);
    test_expect(ca == cb && la == lb && memcmp(va, vb, dim * sizeof *va) == 0 && memcmp(ga, gb, dim * sizeof *ga) == 0,
           "the same inputs give the same bits");
    free(h); free(v); free(va); free(vb); free(ga); free(gb);
}


/* ---- The loader, on hand-made models ---- */

enum { MD = 4, MV = 2 };

typedef struct mk {
    unsigned char hdr[64];
    size_t hdr_size;
    feat_table keys;
    int8_t q[MV * MD];
    float qs[MV];
    uint32_t alias[2 * MV];   /* {cut, alias} */
    double head[MD + 1];
    uint64_t dkey;
    float dvec[MD];
    int no_head;              /* leave dv.head out */
} mk;

/* The key of a token sequence, as imdb-model(5) gives it. */
static uint64_t seq_key(const char *const *t, size_t n)
{
    uint64_t h = feat_hash_token("", 0) ^ (uint64_t)n;
    for (size_t i = 0; i < n; i++) h = feat_chain(h, feat_hash_token(t[i], strlen(t[i])));
    return h ? h : 1;
}

static const char *const seen[] = { "good", "film" };

/* A valid model: unigrams "good" (target 0, along +x) and "bad" (target 1, along -x),
 * a head that reads +x as positive, and the learned vector of "good film". */
static void mk_init(mk *m)
{
    memset(m, 0, sizeof *m);
    m->hdr_size = 64;
    feat_table_init(&m->keys, MV);
    feat_table_put(&m->keys, feat_hash_token("good", 4), 0);
    feat_table_put(&m->keys, feat_hash_token("bad", 3), 1);
    put_u32le(m->hdr, MD);             /* dim */
    put_u32le(m->hdr + 4, 1);          /* ngrams */
    put_u32le(m->hdr + 8, 1);          /* negative */
    put_u32le(m->hdr + 12, 20);        /* infer_epochs */
    put_u32le(m->hdr + 16, 1);         /* normalize */
    float scale = 6, lr = 0.1f;
    memcpy(m->hdr + 20, &scale, 4);
    memcpy(m->hdr + 24, &lr, 4);
    put_u32le(m->hdr + 28, 1);         /* unit */
    put_u64le(m->hdr + 32, MV);
    put_u64le(m->hdr + 40, 3);         /* seed */
    put_u64le(m->hdr + 48, 1);         /* ndocs */
    put_u64le(m->hdr + 56, m->keys.cap);
    m->q[0] = 127;
    m->q[MD] = -127;
    m->qs[0] = m->qs[1] = 1.0f / 127;
    for (int t = 0; t < MV; t++) { m->alias[2 * t] = UINT32_MAX; m->alias[2 * t + 1] = (uint32_t)t; }
    m->head[0] = 5;
    m->head[MD] = 0.25;
    m->dkey = seq_key(seen, 2);
    m->dvec[0] = -2;
    m->dvec[1] = 1;
}

/* Write m to path and load it; NULL and e filled on refusal. */
static void *mk_load(const mk *m, const char *path, modelio **mf, imdb_err *e)
{
    *mf = NULL;
    modelio_writer *w = modelio_create(path, e);
    if (!w) return NULL;
    uint64_t ndocs = get_u64le(m->hdr + 48);
    if (modelio_add(w, "dv.hdr", m->hdr, m->hdr_size, e) < 0 ||
        modelio_add(w, "dv.keys", m->keys.keys, m->keys.cap * 8, e) < 0 ||
        modelio_add(w, "dv.vals", m->keys.vals, m->keys.cap * 4, e) < 0 ||
        modelio_add(w, "dv.q", m->q, sizeof m->q, e) < 0 || modelio_add(w, "dv.qs", m->qs, sizeof m->qs, e) < 0 ||
        modelio_add(w, "dv.alias", m->alias, sizeof m->alias, e) < 0 ||
        (!m->no_head && modelio_add(w, "dv.head", m->head, sizeof m->head, e) < 0) ||
        modelio_add(w, "dv.dkeys", &m->dkey, ndocs ? 8 : 0, e) < 0 ||
        modelio_add(w, "dv.dvec", m->dvec, ndocs ? sizeof m->dvec : 0, e) < 0) {
        modelio_abort(w);
        return NULL;
    }
    if (test_model_commit(w, "dvcos", "", "", e) < 0 || !(*mf = modelio_open(path, e))) return NULL;
    return dvcos_clf_ops.load(*mf, e);
}

/* A corrupted model is refused with IMDB_EXIT_DATA and a message containing msg. */
static void refused(const mk *m, const char *path, const char *what, const char *msg)
{
    imdb_err e = { 0 };
    modelio *mf;
    void *st = mk_load(m, path, &mf, &e);
    int ok = !st && e.status == IMDB_EXIT_DATA && strstr(e.msg, msg);
    if (!ok) fprintf(stderr, "  %s: status %d, message \"%s\"\n", what, e.status, e.msg);
    char line[120];
    snprintf(line, sizeof line, "refused: %s", what);
    test_expect(ok, line);
    if (st) dvcos_clf_ops.free(st);
    if (mf) modelio_close(mf);
}

static void test_loader(void)
{
    char path[] = "/tmp/unit_dvcos.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) { test_expect(0, "mkstemp"); return; }
    close(fd);
    mk m;
    mk_init(&m);
    imdb_err e = { 0 };
    modelio *mf;
    void *st = mk_load(&m, path, &mf, &e);
    test_expect(st != NULL, "a hand-made model loads");
    if (!st) {
        fprintf(stderr, "  %s\n", e.msg);
        if (mf) modelio_close(mf);
        feat_table_free(&m.keys);
        unlink(path);
        return;
    }
    /* Transductive: the stored vector, normalized, through the head. */
    double p = dvcos_clf_ops.prob(st, seen, 2), want = 1 / (1 + exp(-(0.25 + 5 * (-2 / sqrt(5.0)))));
    printf("    P(pos | good film) = %.9f, expected %.9f\n", p, want);
    test_expect(fabs(p - want) < 1e-6, "a known token sequence gets its stored vector");
    /* Inductive: inferred towards the targets it holds, the same every time. */
    const char *const good[] = { "good" }, *const bad[] = { "bad" }, *const film[] = { "film", "film" };
    const char *const good2[] = { "film", "good" };
    double pg = dvcos_clf_ops.prob(st, good, 1), pb = dvcos_clf_ops.prob(st, bad, 1);
    double pg2 = dvcos_clf_ops.prob(st, good2, 2), pn = dvcos_clf_ops.prob(st, film, 2);
    double pe = dvcos_clf_ops.prob(st, NULL, 0);
    printf("    inferred: P(good) %.6f  P(bad) %.6f  P(film good) %.6f  P(film film) %.6f  P() %.6f\n", pg, pb,
           pg2, pn, pe);
    test_expect(pg > 0.9 && pb < 0.1, "inferred vectors move towards their targets");
    test_expect(pg == pg2, "unknown tokens are skipped: P(film good) = P(good)");
    test_expect(pn == pe && pn > 0 && pn < 1, "no known n-gram: the starting vector, finite");
    test_expect(dvcos_clf_ops.prob(st, good, 1) == pg && dvcos_clf_ops.prob(st, bad, 1) == pb,
           "inference is deterministic");
    dvcos_clf_ops.free(st);
    modelio_close(mf);

    /* The loader's checks. */
    mk b;
    b = m; b.hdr_size = 63;                 refused(&b, path, "dv.hdr of 63 bytes", "header missing or of the wrong size");
    b = m; put_u32le(b.hdr, 0);             refused(&b, path, "dim 0", "impossible values");
    b = m; put_u32le(b.hdr + 4, 9);         refused(&b, path, "ngrams 9", "impossible values");
    b = m; put_u32le(b.hdr + 12, 0);        refused(&b, path, "infer_epochs 0", "impossible values");
    b = m; put_u32le(b.hdr + 28, 2);        refused(&b, path, "unit 2", "impossible values");
    float nan = NAN, neg = -1;
    b = m; memcpy(b.hdr + 20, &nan, 4);     refused(&b, path, "scale NaN", "impossible values");
    b = m; memcpy(b.hdr + 24, &neg, 4);     refused(&b, path, "infer_lr -1", "impossible values");
    b = m; put_u64le(b.hdr + 32, 0);        refused(&b, path, "V 0", "impossible values");
    b = m; put_u64le(b.hdr + 56, 3);        refused(&b, path, "table capacity 3", "impossible values");
    b = m; put_u64le(b.hdr + 56, 1);        refused(&b, path, "table capacity below V", "impossible values");
    b = m; put_u64le(b.hdr + 56, UINT64_C(1) << 62); refused(&b, path, "table capacity 2^62", "impossible values");
    b = m; put_u64le(b.hdr + 48, UINT64_C(1) << 32);
    refused(&b, path, "ndocs 2^32, one stored", "section dv.dkeys is of the wrong size");
    b = m; put_u32le(b.hdr, 8);             refused(&b, path, "dim 8, sections of dim 4", "is of the wrong size");
    b = m; b.no_head = 1;                   refused(&b, path, "no dv.head", "section dv.head is missing");
    b = m; b.alias[3] = 2;                  refused(&b, path, "alias 2 of 2 targets", "out-of-range ids");
    b = m; b.alias[3] = UINT32_MAX;         refused(&b, path, "alias -1", "out-of-range ids");
    /* A table value out of range: the tables are copied so m's stay intact. */
    b = m;
    int32_t *vals = malloc(m.keys.cap * sizeof *vals);
    memcpy(vals, m.keys.vals, m.keys.cap * sizeof *vals);
    for (uint64_t i = 0; i < m.keys.cap; i++)
        if (m.keys.keys[i]) { vals[i] = MV; break; }
    b.keys.vals = vals;
    refused(&b, path, "n-gram table id 2 of 2 targets", "out-of-range ids");
    free(vals);
    feat_table_free(&m.keys);
    unlink(path);
}

int main(void)
{
    rng_seed(&R, 20190728);
    printf("dvcos_pair against finite differences of -log s(+-scale cos(h, v))\n");
    static const int dims[] = { 1, 7, 8, 13, 100 };
    static const float scales[] = { 1, 6, 30 };
    for (size_t d = 0; d < sizeof dims / sizeof *dims; d++)
        for (size_t s = 0; s < sizeof scales / sizeof *scales; s++)
            for (int label = 0; label <= 1; label++) test_pair(dims[d], scales[s], label);
    test_zero_v(1);
    test_zero_v(13);
    test_extreme();
    test_repeat();
    printf("dvcos model loader\n");
    test_loader();
    return test_status("unit_dvcos");
}
