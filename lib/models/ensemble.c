/* ensemble.c — the stacked ensemble: training from members' held-out predictions and
 * scoring through the members; see ensemble.h and imdb-model(5). */
#include "ensemble.h"
#include "cli.h"
#include "heldout.h"
#include "logreg.h"
#include "tokio.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLAMP 1e-6
#define CV_FOLDS 5

static double feature(double p)
{
    p = fmin(1 - CLAMP, fmax(CLAMP, p));
    return log(p / (1 - p));
}

static double sigmoid(double z) { return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z)); }

/* ---- clf_ops: an ensemble mapped from a file --------------------------------------- */

typedef struct ens {
    int k;
    double w[ENSEMBLE_MAX_MEMBERS], b;
    clf *m[ENSEMBLE_MAX_MEMBERS];
} ens;

static void ens_free(void *state)
{
    ens *s = state;
    if (!s) return;
    for (int i = 0; i < s->k; i++) clf_free(s->m[i]);
    free(s);
}

/* "ens.w": u32 K, u32 0, K f64 weights, f64 bias. */
static void *ens_load(const modelio *mf, imdb_err *e)
{
    const char *name = modelio_name(mf);
    size_t size;
    const unsigned char *h = modelio_get(mf, "ens.w", &size);
    if (!h || size < 8) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: ensemble model lacks its ens.w section", name);
        return NULL;
    }
    uint32_t k = get_u32le(h);
    if (k < 2 || k > ENSEMBLE_MAX_MEMBERS || size != 8 + 8 * (size_t)k + 8) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: ensemble ens.w section is corrupt", name);
        return NULL;
    }
    ens *s = imdb_xcalloc(1, sizeof *s);
    for (uint32_t i = 0; i <= k; i++) {
        uint64_t bits = get_u64le(h + 8 + 8 * (size_t)i);
        double v;
        memcpy(&v, &bits, 8);
        if (!isfinite(v)) {
            imdb_fail(e, IMDB_EXIT_DATA, "%s: ensemble ens.w section is corrupt", name);
            goto fail;
        }
        if (i < k) s->w[i] = v;
        else s->b = v;
    }
    char *clean = modelio_get_str(mf, "clean"), *want = text_settings_canonical(clean);
    free(clean);
    for (uint32_t i = 0; i < k; i++) {
        char sec[16], mname[4096];
        snprintf(sec, sizeof sec, "member.%u", i);
        snprintf(mname, sizeof mname, "%s:%s", name, sec);
        size_t msize;
        const void *data = modelio_get(mf, sec, &msize);
        if (!data) {
            imdb_fail(e, IMDB_EXIT_DATA, "%s: ensemble of %u lacks section %s", name, k, sec);
            goto fail_clean;
        }
        modelio *mm = modelio_open_mem(data, msize, mname, e);
        if (!mm) goto fail_clean;
        /* Refused before loading, not loaded recursively: a crafted file could nest
         * ensembles deep enough to exhaust the stack. */
        char *mkind = modelio_get_str(mm, "kind");
        int nested = mkind && strcmp(mkind, "ensemble") == 0;
        free(mkind);
        if (nested) {
            imdb_fail(e, IMDB_EXIT_DATA, "%s: an ensemble cannot be a member of an ensemble", mname);
            modelio_close(mm);
            goto fail_clean;
        }
        clf *c = clf_open(mm, e);
        if (!c) goto fail_clean;
        s->m[s->k++] = c;
        char *got = text_settings_canonical(clf_clean(c));
        int same = want && got && strcmp(want, got) == 0;
        free(got);
        if (!same) {
            imdb_fail(e, IMDB_EXIT_DATA, "%s: cleaning settings differ from the ensemble's", mname);
            goto fail_clean;
        }
    }
    free(want);
    return s;
fail_clean:
    free(want);
fail:
    ens_free(s);
    return NULL;
}

static double ens_prob(const void *state, const char *const *toks, size_t ntok)
{
    const ens *s = state;
    double z = s->b;
    for (int i = 0; i < s->k; i++) {
        /* Through the members' ops, not clf_prob (which would end the program on out of
         * memory): a member's NaN is passed on, as feature() would clamp it away. */
        double p;
        if (clf_prob_try(s->m[i], toks, ntok, &p, NULL) < 0) return NAN;   /* errno as the member left it */
        z += s->w[i] * feature(p);
    }
    return sigmoid(z);
}

static int ens_known(const void *state, const char *const *toks, size_t ntok)
{
    const ens *s = state;
    int any = -1;
    for (int i = 0; i < s->k; i++) {
        int k = clf_known(s->m[i], toks, ntok);
        if (k == 0) return 0;
        if (k == 1) any = 1;
    }
    return any;
}

const clf_ops ensemble_clf_ops = {
    .kind = "ensemble",
    .load = ens_load,
    .free = ens_free,
    .prob = ens_prob,
    .explain = NULL,
    .known = ens_known,
};

/* ---- training ------------------------------------------------------------------------ */

typedef struct member {
    const char *path;
    unsigned char *bytes;     /* the whole file, 64-byte aligned */
    size_t size;
    clf *c;
    const void *heldout;      /* section "heldout" inside bytes, or NULL */
    size_t hsize;
    long nheld;               /* records in it */
    size_t ok, seen;          /* accuracy over the stacker's documents */
} member;

/* The whole file, into a 64-byte aligned buffer (so its sections are aligned too). */
static int read_all(member *m, imdb_err *e)
{
    FILE *f = fopen(m->path, "rb");
    if (!f) return imdb_fail(e, IMDB_EXIT_IO, "member %s: %s", m->path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = NULL;
    if (posix_memalign((void **)&buf, 64, cap) != 0) abort();
    for (;;) {
        if (n == cap) {
            unsigned char *nb = NULL;
            if (posix_memalign((void **)&nb, 64, cap * 2) != 0) abort();
            memcpy(nb, buf, n);
            free(buf);
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    int err = ferror(f) ? errno : 0;
    fclose(f);
    if (err) {
        free(buf);
        return imdb_fail(e, IMDB_EXIT_IO, "member %s: read error: %s", m->path, strerror(err));
    }
    m->bytes = buf;
    m->size = n;
    return 0;
}

/* The value of "key = value" in params text, malloc'd, or NULL. */
static char *param(const char *params, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = params; p && *p; ) {
        size_t n = strcspn(p, "\n");
        if (n > kl + 3 && strncmp(p, key, kl) == 0 && strncmp(p + kl, " = ", 3) == 0)
            return imdb_xstrndup(p + kl + 3, n - kl - 3);
        p += n + (p[n] == '\n');
    }
    return NULL;
}

/* 1 if the member was trained on the split ctx->va comes from. */
static int same_split(const member *m, double vf, long seed)
{
    char *mv = param(clf_params(m->c), "valid_fraction"), *ms = param(clf_params(m->c), "seed");
    int ok = 0;
    if (mv && ms) {
        char *end1, *end2;
        double v = strtod(mv, &end1);
        long s = strtol(ms, &end2, 10);
        ok = *end1 == '\0' && *end2 == '\0' && v > 0 && v == vf && s == seed;
    }
    free(mv);
    free(ms);
    return ok;
}

/* Add the stacker's log loss, correct predictions and row count over the rows i with
 * i % folds == fold (fold -1: every row). */
static void stack_eval(const logreg *lr, const float *x, const int *y, size_t n, size_t d,
                       int folds, int fold, double *loss, size_t *ok, size_t *cnt)
{
    for (size_t i = 0; i < n; i++) {
        if (fold >= 0 && (int)(i % (size_t)folds) != fold) continue;
        double z = logreg_logit(lr, x + i * d);
        double t = y[i] ? -z : z;   /* log(1 + exp(t)) */
        *loss += t > 0 ? t + log1p(exp(-t)) : log1p(exp(t));
        *ok += (z >= 0) == (y[i] == 1);
        (*cnt)++;
    }
}

static const char *const ens_keys[] = { "members", "stack_lambda", "member_kinds", NULL };

static int ens_train(train_ctx *ctx, modelio_writer *w, imdb_err *e)
{
    const char *list;
    double lambda, vf;
    conf_string(ctx->cfg, "members", "", &list);
    if (conf_double(ctx->cfg, "stack_lambda", 1.0, 1e-9, 1e9, &lambda, e) < 0 ||
        conf_double(ctx->cfg, "valid_fraction", 0.1, 0, 0.9, &vf, e) < 0)
        return -1;
    member mem[ENSEMBLE_MAX_MEMBERS];
    int k = 0, rc = -1;
    char *copy = imdb_xstrdup(list), *kinds = NULL, *want = NULL;
    const train_docs *d = ctx->docs;
    float *x = NULL;
    int *y = NULL;
    unsigned char *in_va = NULL;
    logreg lr = { 0 };
    memset(mem, 0, sizeof mem);
    for (char *tok = strtok(copy, " \t\n"); tok; tok = strtok(NULL, " \t\n")) {
        if (k == ENSEMBLE_MAX_MEMBERS) {
            imdb_fail(e, IMDB_EXIT_USAGE, "an ensemble has at most %d members", ENSEMBLE_MAX_MEMBERS);
            goto done;
        }
        mem[k++].path = tok;
    }
    if (k < 2) {
        imdb_fail(e, IMDB_EXIT_USAGE, "an ensemble needs at least two members (-m FILE or --member FILE, "
                  "with --kind ensemble); %s", k ? "got one" : "got none");
        goto done;
    }

    /* Load every member the way the ensemble's loader will: from its bytes. */
    size_t klen = 0;
    for (int i = 0; i < k; i++) {
        member *m = &mem[i];
        if (read_all(m, e) < 0) goto done;
        modelio *mf = modelio_open_mem(m->bytes, m->size, m->path, e);
        if (!mf) goto done;
        m->heldout = modelio_get(mf, HELDOUT_SECTION, &m->hsize);
        if (!(m->c = clf_open(mf, e))) goto done;
        if (strcmp(clf_kind(m->c), "ensemble") == 0) {
            imdb_fail(e, IMDB_EXIT_DATA, "member %s is itself an ensemble; give its members instead", m->path);
            goto done;
        }
        if (m->heldout && (m->nheld = heldout_check(m->heldout, m->hsize, m->path, e)) < 0) goto done;
        klen += strlen(clf_kind(m->c)) + 1;
    }

    /* Cleaning: the members like each other, and like the tokens. */
    want = text_settings_canonical(ctx->clean);
    for (int i = 0; i < k; i++) {
        char *a = text_settings_canonical(clf_clean(mem[0].c)), *b = text_settings_canonical(clf_clean(mem[i].c));
        int same = strcmp(a, b) == 0;
        free(a);
        free(b);
        if (!same) {
            imdb_fail(e, IMDB_EXIT_DATA, "members %s and %s were trained on text cleaned with different "
                      "settings (see imdb-predict --info); clean the training data the same way for all",
                      mem[0].path, mem[i].path);
            goto done;
        }
    }
    char *c0 = text_settings_canonical(clf_clean(mem[0].c));
    int same = strcmp(c0, want) == 0;
    free(c0);
    if (!same) {
        imdb_fail(e, IMDB_EXIT_DATA, "member %s was trained on text cleaned with other settings than the "
                  "training tokens given to the ensemble (compare imdb-predict --info with the tokens' "
                  "first line); give the tokens the members were trained on", mem[0].path);
        goto done;
    }

    /* Where each member's held-out predictions come from. */
    in_va = imdb_xcalloc(d->n + 1, 1);
    for (size_t s = 0; s < ctx->nva; s++) in_va[ctx->va[s]] = 1;
    for (int i = 0; i < k; i++) {
        if (mem[i].heldout || same_split(&mem[i], vf, (long)ctx->seed)) continue;
        char *mv = param(clf_params(mem[i].c), "valid_fraction"), *ms = param(clf_params(mem[i].c), "seed");
        imdb_fail(e, IMDB_EXIT_DATA,
                  "member %s has no held-out predictions (no heldout section) and was not trained on the "
                  "ensemble's validation split (its valid_fraction = %s, seed = %s; the ensemble's %g, %llu): "
                  "train it with -o heldout_folds=5, or train it and the ensemble with the same "
                  "--valid-fraction (above 0) and --seed", mem[i].path, mv ? mv : "?", ms ? ms : "?", vf,
                  (unsigned long long)ctx->seed);
        free(mv);
        free(ms);
        goto done;
    }

    /* The stacker's rows: labelled documents with a held-out prediction from every member. */
    x = imdb_xmalloc((d->n + 1) * (size_t)k * sizeof *x);
    y = imdb_xmalloc((d->n + 1) * sizeof *y);
    double *p = imdb_xmalloc((size_t)k * sizeof *p);
    size_t n = 0, npos = 0;
    for (size_t i = 0; i < d->n; i++) {
        int label = d->label[i] == TOKIO_POS, have = 1;
        for (int j = 0; j < k && have; j++) {
            member *m = &mem[j];
            if (m->heldout) {
                int hl;
                have = heldout_find(m->heldout, m->hsize, d->id[i], &p[j], &hl) == 1;
                if (have && hl != label) {
                    imdb_fail(e, IMDB_EXIT_DATA, "member %s holds a held-out prediction for document '%.80s' "
                              "labelled %s, but the training tokens label it %s: were the members trained "
                              "on other data?", m->path, d->id[i], hl ? "pos" : "neg", label ? "pos" : "neg");
                    free(p);
                    goto done;
                }
            } else {
                have = in_va[i];
                if (have) p[j] = clf_prob(m->c, d->tok + d->off[i], d->off[i + 1] - d->off[i]);
            }
        }
        if (!have) continue;
        for (int j = 0; j < k; j++) {
            x[n * (size_t)k + (size_t)j] = (float)feature(p[j]);
            mem[j].ok += (p[j] >= 0.5) == label;
            mem[j].seen++;
        }
        y[n++] = label;
        npos += label;
    }
    free(p);
    if (n < 2 || npos == 0 || npos == n) {
        imdb_fail(e, IMDB_EXIT_DATA, "only %zu labelled documents (%zu pos, %zu neg) have held-out "
                  "predictions from every member; the stacker needs both labels: were the members trained "
                  "on these tokens?", n, npos, n - npos);
        goto done;
    }
    for (int j = 0; j < k && cli_verbose >= 0; j++)
        cli_msg("ensemble: member %d %s (%s): held-out accuracy %.4f (%s)", j, mem[j].path, clf_kind(mem[j].c),
                (double)mem[j].ok / (double)mem[j].seen,
                mem[j].heldout ? "heldout section" : "validation split");

    /* The held-out accuracy of stacking: each of CV_FOLDS stackers predicts the rows it was
     * not fitted on (rows i % CV_FOLDS == f), then the final stacker is fitted on all. */
    double cv_loss = NAN, cv_acc = NAN;
    if (n >= 2 * CV_FOLDS) {
        float *xf = imdb_xmalloc(n * (size_t)k * sizeof *xf);
        int *yf = imdb_xmalloc(n * sizeof *yf);
        double L = 0;
        size_t ok = 0, cnt = 0;
        for (int f = 0; f < CV_FOLDS; f++) {
            size_t m = 0;
            for (size_t i = 0; i < n; i++)
                if ((int)(i % CV_FOLDS) != f) {
                    memcpy(xf + m * (size_t)k, x + i * (size_t)k, (size_t)k * sizeof *x);
                    yf[m++] = y[i];
                }
            logreg fl;
            int fit = logreg_fit(&fl, xf, yf, m, (size_t)k, lambda, e);
            if (fit == 0) stack_eval(&fl, x, y, n, (size_t)k, CV_FOLDS, f, &L, &ok, &cnt);
            logreg_free(&fl);
            if (fit < 0) { free(xf); free(yf); goto done; }
        }
        free(xf);
        free(yf);
        cv_loss = L / (double)cnt;
        cv_acc = (double)ok / (double)cnt;
    }
    if (logreg_fit(&lr, x, y, n, (size_t)k, lambda, e) < 0) goto done;
    double L = 0;
    size_t ok = 0, cnt = 0;
    stack_eval(&lr, x, y, n, (size_t)k, 1, -1, &L, &ok, &cnt);
    if (cli_verbose >= 0) {
        if (!isnan(cv_acc))
            cli_msg("ensemble: stacked held-out accuracy %.4f (%d-fold cross-validation of the stacker "
                    "over %zu documents)", cv_acc, CV_FOLDS, n);
        else
            cli_msg("ensemble: stacked accuracy %.4f over %zu documents (too few to cross-validate)",
                    (double)ok / (double)n, n);
        for (int j = 0; j < k; j++) cli_msg("ensemble: weight of member %d: %.4f", j, lr.w[j]);
        cli_msg("ensemble: bias %.4f", lr.b);
    }
    if (trainlog_epoch(ctx->log, 1, 1, L / (double)n, cv_loss, cv_acc, e) < 0) goto done;

    /* Sections: the stacker, then every member's file. */
    unsigned char *ws = imdb_xcalloc(1, 8 + 8 * (size_t)k + 8);
    put_u32le(ws, (uint32_t)k);
    for (int j = 0; j <= k; j++) {
        double v = j < k ? lr.w[j] : lr.b;
        uint64_t bits;
        memcpy(&bits, &v, 8);
        put_u64le(ws + 8 + 8 * (size_t)j, bits);
    }
    int add = modelio_add(w, "ens.w", ws, 8 + 8 * (size_t)k + 8, e);
    free(ws);
    if (add < 0) goto done;
    for (int j = 0; j < k; j++) {
        char sec[16];
        snprintf(sec, sizeof sec, "member.%d", j % 100);   /* j < ENSEMBLE_MAX_MEMBERS */
        if (modelio_add(w, sec, mem[j].bytes, mem[j].size, e) < 0) goto done;
    }
    /* Recorded in the params section, so that imdb-predict --info shows the kinds. */
    kinds = imdb_xmalloc(klen + 1);
    kinds[0] = '\0';
    for (int j = 0; j < k; j++) {
        if (j) strcat(kinds, " ");
        strcat(kinds, clf_kind(mem[j].c));
    }
    conf_set(ctx->cfg, "member_kinds", kinds);
    rc = 0;
done:
    for (int j = 0; j < k; j++) {
        clf_free(mem[j].c);
        free(mem[j].bytes);
    }
    logreg_free(&lr);
    free(kinds);
    free(want);
    free(in_va);
    free(x);
    free(y);
    free(copy);
    return rc;
}

const trainer ensemble_trainer = {
    .kind = "ensemble",
    .keys = ens_keys,
    .summary = "logistic-regression stack of trained models on their held-out\n"
               "             predictions; settings: members = (model files, or --member FILE\n"
               "             twice or more), stack_lambda = 1 (L2 of the stacker)",
    .train = ens_train,
};
