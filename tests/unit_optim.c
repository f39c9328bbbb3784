/* unit_optim.c — optimizers, clipping, schedules and the non-finite check: Adam and SGD
 * with momentum converge on an ill-conditioned quadratic; the first Adam step and
 * AdamW's decay match their formulas; lazy (row-sparse) Adam equals dense Adam when
 * every row is touched and leaves untouched rows alone, bit for bit; clipping scales
 * to the bound; schedules hit their end points; and a small logistic regression built
 * from layers.h learns a separable problem. Exits 1 on any failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "layers.h"
#include "optim.h"
#include "params.h"
#include "rng.h"
#include "testutil.h"


/* f(x) = 1/2 sum a_i (x_i - c_i)^2 with a_i from 0.1 to 10. Returns max |x - c|. */
static double quadratic(const optim_cfg *cfg, float lr, int steps)
{
    enum { N = 40 };
    float x[N], g[N], a[N], c[N];
    rng r;
    rng_seed(&r, 5);
    for (int i = 0; i < N; i++) {
        a[i] = (float)(0.1 * pow(100.0, (double)i / (N - 1)));
        c[i] = (float)(4.0 * rng_uniform(&r) - 2.0);
        x[i] = 0.0f;
    }
    optim o;
    optim_init(&o, cfg, N);
    for (int s = 0; s < steps; s++) {
        for (int i = 0; i < N; i++) g[i] = a[i] * (x[i] - c[i]);
        optim_step(&o, x, g, lr, NULL, 0);
    }
    optim_free(&o);
    double worst = 0.0;
    for (int i = 0; i < N; i++) worst = fmax(worst, fabs(x[i] - c[i]));
    return worst;
}

static void test_convergence(void)
{
    optim_cfg cfg;
    optim_cfg_default(&cfg, OPTIM_ADAM);
    double e = quadratic(&cfg, 0.01f, 3000);
    printf("  adam on a quadratic (condition 100), 3000 steps: max |x - x*| = %.2e\n", e);
    test_expect(e < 1e-3, "adam converges on a quadratic");
    optim_cfg_default(&cfg, OPTIM_SGD);
    cfg.momentum = 0.9f;
    e = quadratic(&cfg, 0.05f, 3000);
    printf("  sgd momentum 0.9 on the same, 3000 steps: max |x - x*| = %.2e\n", e);
    test_expect(e < 1e-3, "sgd with momentum converges on a quadratic");
    cfg.momentum = 0.0f;
    e = quadratic(&cfg, 0.1f, 3000);
    printf("  plain sgd on the same, 3000 steps: max |x - x*| = %.2e\n", e);
    test_expect(e < 1e-3, "plain sgd converges on a quadratic");
}

static void test_formulas(void)
{
    optim_cfg cfg;
    optim_cfg_default(&cfg, OPTIM_ADAM);
    float p[3] = {1.0f, -2.0f, 0.5f}, g[3] = {0.3f, -4.0f, 0.0f};
    optim o;
    optim_init(&o, &cfg, 3);
    optim_step(&o, p, g, 0.1f, NULL, 0);
    /* First step: m/(1-b1) = g, v/(1-b2) = g^2, so the update is lr g / (|g| + eps). */
    int ok = fabs(p[0] - (1.0 - 0.1 * 0.3 / (0.3 + 1e-8))) < 1e-6
             && fabs(p[1] - (-2.0 + 0.1 * 4.0 / (4.0 + 1e-8))) < 1e-6 && p[2] == 0.5f && o.t == 1;
    test_expect(ok, "adam: first step is lr * g / (|g| + eps)");
    optim_free(&o);

    cfg.weight_decay = 0.01f;
    cfg.decoupled = 1;
    float q[2] = {3.0f, -1.0f}, z[2] = {0.0f, 0.0f};
    optim_init(&o, &cfg, 2);
    for (int s = 0; s < 10; s++) optim_step(&o, q, z, 0.5f, NULL, 0);
    ok = fabs(q[0] - 3.0 * pow(1.0 - 0.5 * 0.01, 10)) < 1e-5 && fabs(q[1] + pow(1.0 - 0.005, 10)) < 1e-5;
    test_expect(ok, "adamw: zero gradient decays weights by (1 - lr wd) per step");
    optim_free(&o);

    optim_cfg_default(&cfg, OPTIM_SGD);
    cfg.weight_decay = 0.1f;
    float w[1] = {2.0f}, gw[1] = {1.0f};
    optim_init(&o, &cfg, 1);
    optim_step(&o, w, gw, 0.5f, NULL, 0);
    test_expect(fabs(w[0] - (2.0 - 0.5 * (1.0 + 0.1 * 2.0))) < 1e-6, "sgd: L2 weight decay adds wd * w to the gradient");
    optim_free(&o);
}

/* Block: a dense tensor [0,10), a sparse (6,4) table at 16, a dense vector after it. */
static void test_sparse(void)
{
    params p;
    params_init(&p);
    params_add(&p, "w", 2, 5);
    int e = params_add(&p, "emb", 6, 4);
    params_add(&p, "b", 1, 3);
    params_alloc(&p);
    size_t n = p.total;
    float *pa = params_mirror(&p), *pb = params_mirror(&p), *g = params_mirror(&p), *gd = params_mirror(&p);
    rng r;
    rng_seed(&r, 11);
    params_uniform(pa, n, 1.0f, &r);
    memcpy(pb, pa, n * sizeof *pa);
    rowset rs;
    rowset_init(&rs, 6);
    optim_sparse sp = {p.t[e].offset, 6, 4, &rs};
    optim_cfg cfg;
    optim_cfg_default(&cfg, OPTIM_ADAM);
    cfg.weight_decay = 0.01f;
    optim lazy, dense;
    optim_init(&lazy, &cfg, n);
    optim_init(&dense, &cfg, n);

    /* Every row touched every step: lazy == dense, bit for bit. */
    int same = 1;
    for (int s = 0; s < 5; s++) {
        optim_zero_grad(g, n, &sp, 1);
        memset(gd, 0, n * sizeof *gd);
        for (uint32_t row = 0; row < 6; row++) rowset_add(&rs, (row * 5) % 6);
        for (size_t i = 0; i < n; i++) gd[i] = g[i] = (float)(2.0 * rng_uniform(&r) - 1.0);
        /* Rows are summed in touch order, so the norms agree up to rounding only. */
        double n1 = optim_grad_norm(g, n, &sp, 1), n2 = optim_grad_norm(gd, n, NULL, 0);
        same &= fabs(n1 - n2) <= 1e-14 * n2;
        optim_step(&lazy, pa, g, 0.05f, &sp, 1);
        optim_step(&dense, pb, gd, 0.05f, NULL, 0);
    }
    same &= !memcmp(pa, pb, n * sizeof *pa) && !memcmp(lazy.m, dense.m, n * sizeof *pa)
            && !memcmp(lazy.v, dense.v, n * sizeof *pa);
    test_expect(same, "lazy adam with every row touched equals dense adam");

    /* Touch rows 1 and 4 only: other rows keep weights and moments exactly; the garbage
     * left in the untouched rows of the gradient is never read. */
    optim_zero_grad(g, n, &sp, 1);
    float *before = malloc(n * sizeof *before), *mbefore = malloc(n * sizeof *mbefore);
    memcpy(before, pa, n * sizeof *pa);
    memcpy(mbefore, lazy.m, n * sizeof *pa);
    float *emb = g + p.t[e].offset;
    for (int i = 0; i < 24; i++) emb[i] = 1e30f;    /* as if left over */
    rowset_add(&rs, 4);
    rowset_add(&rs, 1);
    for (int i = 0; i < 4; i++) { emb[4 + i] = 0.5f; emb[16 + i] = -0.5f; }
    for (size_t i = 0; i < 10; i++) g[i] = 0.1f;
    double norm = optim_grad_norm(g, n, &sp, 1);
    test_expect(fabs(norm - sqrt(10 * 0.01 + 8 * 0.25)) < 1e-6, "grad norm counts touched rows only");
    optim_step(&lazy, pa, g, 0.05f, &sp, 1);
    int kept = 1, moved = 1;
    for (int row = 0; row < 6; row++)
        for (int i = 0; i < 4; i++) {
            size_t at = p.t[e].offset + (size_t)row * 4 + i;
            if (row == 1 || row == 4) moved &= pa[at] != before[at];
            else kept &= pa[at] == before[at] && lazy.m[at] == mbefore[at];
        }
    test_expect(kept && moved, "lazy adam updates touched rows only");
    optim_zero_grad(g, n, &sp, 1);
    int zeroed = rs.n == 0;
    for (int i = 0; i < 4; i++) zeroed &= emb[4 + i] == 0.0f && emb[16 + i] == 0.0f && emb[i] == 1e30f;
    for (size_t i = 0; i < 10; i++) zeroed &= g[i] == 0.0f;
    test_expect(zeroed, "zero_grad clears dense ranges and touched rows, empties the set");
    free(before); free(mbefore);
    optim_free(&lazy); optim_free(&dense);
    rowset_free(&rs);
    free(pa); free(pb); free(g); free(gd);
    params_free(&p);
}

static void test_clip_nonfinite(void)
{
    float g[4] = {3.0f, 0.0f, 0.0f, 4.0f};
    double n = optim_clip(g, 4, 1.0, NULL, 0);
    test_expect(n == 5.0 && fabsf(g[0] - 0.6f) < 1e-7f && fabsf(g[3] - 0.8f) < 1e-7f, "clip: norm 5 scaled to 1");
    n = optim_clip(g, 4, 10.0, NULL, 0);
    test_expect(fabs(n - 1.0) < 1e-6 && fabsf(g[0] - 0.6f) < 1e-7f, "clip: below the bound, unchanged");
    size_t where = 99;
    int clean = optim_nonfinite(g, 4, &where) == 0 && where == 99;
    g[2] = NAN;
    int nan = optim_nonfinite(g, 4, &where) && where == 2;
    g[2] = 0.0f;
    g[1] = -INFINITY;
    int inf = optim_nonfinite(g, 4, NULL) != 0;
    test_expect(clean && nan && inf, "nonfinite: finds NaN and Inf, passes finite");
}

static void test_schedules(void)
{
    optim_sched s = {LR_CONSTANT, 0.1, 0.001, 10, 110};
    int ok = fabs(optim_lr(&s, 0) - 0.01) < 1e-12 && fabs(optim_lr(&s, 9) - 0.1) < 1e-12
             && optim_lr(&s, 50) == 0.1 && optim_lr(&s, 500) == 0.1;
    test_expect(ok, "schedule: warmup then constant");
    s.kind = LR_LINEAR;
    ok = fabs(optim_lr(&s, 10) - 0.1) < 1e-12 && fabs(optim_lr(&s, 60) - 0.0505) < 1e-12
         && fabs(optim_lr(&s, 110) - 0.001) < 1e-12 && fabs(optim_lr(&s, 1000) - 0.001) < 1e-12;
    test_expect(ok, "schedule: linear decay to lr_min");
    s.kind = LR_COSINE;
    ok = fabs(optim_lr(&s, 10) - 0.1) < 1e-12 && fabs(optim_lr(&s, 60) - 0.0505) < 1e-12
         && fabs(optim_lr(&s, 110) - 0.001) < 1e-12 && optim_lr(&s, 30) > 0.0505 + 0.0495 * 0.5;
    test_expect(ok, "schedule: cosine decay to lr_min");
    s.warmup = 0;
    s.total = 0;
    test_expect(optim_lr(&s, 0) == 0.001, "schedule: a run of 0 steps sits at lr_min");
    ok = optim_sched_parse("cosine") == LR_COSINE && optim_sched_parse("linear") == LR_LINEAR
         && optim_sched_parse("constant") == LR_CONSTANT && optim_sched_parse("step") == -1
         && !strcmp(optim_sched_name(LR_LINEAR), "linear") && optim_kind_parse("adam") == OPTIM_ADAM
         && optim_kind_parse("sgd") == OPTIM_SGD && optim_kind_parse("rmsprop") == -1
         && !strcmp(optim_kind_name(OPTIM_ADAM), "adam");
    test_expect(ok, "names of schedules and optimizers parse both ways");
}

/* Logistic regression on a separable problem, from the layers and the optimizer. */
static double train_logreg(uint64_t seed, float *w_out)
{
    enum { N = 256, C = 6, BS = 32 };
    rng r;
    rng_seed(&r, seed);
    float x[N * C], y[N], wtrue[C];
    for (int k = 0; k < C; k++) wtrue[k] = (float)(2.0 * rng_uniform(&r) - 1.0);
    for (int i = 0; i < N; i++) {
        double s = 0.0;
        for (int k = 0; k < C; k++) { x[i * C + k] = rng_normal(&r); s += x[i * C + k] * wtrue[k]; }
        y[i] = s > 0.0 ? 1.0f : 0.0f;
    }
    params p;
    params_init(&p);
    int iw = params_add(&p, "w", 1, C), ib = params_add(&p, "b", 1, 1);
    params_alloc(&p);
    float *g = params_mirror(&p), z[BS], dz[BS];
    optim_cfg cfg;
    optim_cfg_default(&cfg, OPTIM_ADAM);
    optim o;
    optim_init(&o, &cfg, p.total);
    optim_sched sch = {LR_COSINE, 0.1, 0.0, 20, 400};
    for (long step = 0; step < 400; step++) {
        int at = (int)(step % (N / BS)) * BS;
        memset(g, 0, p.total * sizeof *g);
        memset(dz, 0, sizeof dz);
        layer_dense_forward(z, x + at * C, params_at(&p, p.data, iw), params_at(&p, p.data, ib), BS, C, 1);
        layer_bce_forward_backward(dz, z, y + at, BS, BS);
        layer_dense_backward(NULL, params_at(&p, g, iw), params_at(&p, g, ib), dz, x + at * C,
                       params_at(&p, p.data, iw), BS, C, 1);
        optim_clip(g, p.total, 5.0, NULL, 0);
        optim_step(&o, p.data, g, (float)optim_lr(&sch, step), NULL, 0);
    }
    float zall[N];
    layer_dense_forward(zall, x, params_at(&p, p.data, iw), params_at(&p, p.data, ib), N, C, 1);
    int correct = 0;
    for (int i = 0; i < N; i++) correct += (zall[i] > 0.0f) == (y[i] > 0.5f);
    memcpy(w_out, params_at(&p, p.data, iw), C * sizeof *w_out);
    w_out[C] = *params_at(&p, p.data, ib);
    optim_free(&o);
    free(g);
    params_free(&p);
    return (double)correct / N;
}

static void test_training(void)
{
    float w1[7], w2[7];   /* C + 1 */
    double acc = train_logreg(3, w1);
    train_logreg(3, w2);
    printf("  logistic regression (dense + bce + adam + cosine): training accuracy %.3f\n", acc);
    test_expect(acc >= 0.97, "a separable problem is learned");
    test_expect(!memcmp(w1, w2, sizeof w1), "same seed, same weights");
}

int main(void)
{
    printf("optim\n");
    test_convergence();
    test_formulas();
    test_sparse();
    test_clip_nonfinite();
    test_schedules();
    test_training();
    return test_status("unit_optim");
}
