/* trainjob.c — see trainjob.h. Every message and every failure comes in the order
 * imdb-train(1) has always given them: the checks on the settings first, then reading,
 * then training. */
#include "trainjob.h"
#include "kinds.h"
#include "linear.h"
#include "metrics.h"
#include "modelio.h"
#include "text.h"
#include "tokio.h"
#include "train.h"
#include "trainlog.h"
#include "vocab.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const generic_keys[] = { "model", "valid_fraction", "seed", "threads",
                                             "soft_temperature", "soft_min_confidence", "soft_hard",
                                             "class_weight", "undersample", "threshold", NULL };

static int known(const conf *cfg, const trainer *t, imdb_err *e)
{
    size_t n = 0;
    const char *all[128];
    for (int i = 0; generic_keys[i]; i++) all[n++] = generic_keys[i];
    for (int i = 0; t->keys[i] && n < 127; i++) all[n++] = t->keys[i];
    all[n] = NULL;
    return conf_check_known(cfg, all, e);
}

/* --files-from FILE: append its lines (paths, one a line; empty lines skipped) to *v. */
static int read_list(const char *path, char ***v, size_t *n, imdb_err *e)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) return imdb_fail(e, IMDB_EXIT_IO, "%s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (len == 0) continue;
        *v = imdb_xrealloc(*v, (*n + 1) * sizeof **v);
        (*v)[(*n)++] = imdb_xstrdup(line);
    }
    int bad = ferror(f);
    free(line);
    if (f != stdin) fclose(f);
    if (bad) return imdb_fail(e, IMDB_EXIT_IO, "%s: read error", path);
    return 0;
}

/* class_weight = balanced | pos:W,neg:W (either order; a class left out weighs 1):
 * w[0] neg, w[1] pos. balanced: n / (2 n_k) over the training part, as scikit-learn's. */
static int class_weights(const char *v, const train_ctx *ctx, double w[2], imdb_err *e)
{
    if (strcmp(v, "balanced") == 0) {
        size_t npos = 0;
        for (size_t s = 0; s < ctx->ntr; s++) npos += ctx->docs->label[ctx->tr[s]] == TOKIO_POS;
        size_t nneg = ctx->ntr - npos;
        if (!npos || !nneg)
            return imdb_fail(e, IMDB_EXIT_DATA, "class_weight = balanced: the training part has no %s documents",
                             npos ? "neg" : "pos");
        w[0] = (double)ctx->ntr / (2.0 * (double)nneg);
        w[1] = (double)ctx->ntr / (2.0 * (double)npos);
        return 0;
    }
    w[0] = w[1] = 1;
    int seen[2] = { 0, 0 };
    for (const char *p = v; *p;) {
        int k = strncmp(p, "pos:", 4) == 0 ? 1 : strncmp(p, "neg:", 4) == 0 ? 0 : -1;
        char *end;
        double x = k < 0 ? NAN : strtod(p + 4, &end);
        if (k < 0 || seen[k] || end == p + 4 || !(x > 0 && x <= 1e6) || (*end && *end != ','))
            return imdb_fail(e, IMDB_EXIT_USAGE, "setting class_weight: '%s' is not 'balanced' or weights "
                             "like 'pos:1,neg:5.25' (each above 0, at most 1e6, once)", v);
        seen[k] = 1;
        w[k] = x;
        p = *end ? end + 1 : end;
    }
    return 0;
}

static double balanced_at(const int *label, const double *prob, size_t n, double t)
{
    metrics m;
    metrics_compute(label, prob, n, t, &m);
    return m.balanced_accuracy;
}

/* The settings: config file < command-line options < -o KEY=VALUE. */
static int settings(const trainjob_opts *o, conf *cfg, imdb_err *e)
{
    if (o->config && conf_read_file(cfg, o->config, e) < 0) return -1;
    if (o->options) {
        char *text = conf_format(o->options), *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            char *eq = strstr(line, " = ");
            if (eq) { *eq = '\0'; conf_set(cfg, line, eq + 3); }
        }
        free(text);
    }
    for (size_t i = 0; i < o->nsets; i++)
        if (conf_set_arg(cfg, o->sets[i], e) < 0) return TRAINJOB_USAGE;
    return 0;
}

int trainjob_run(const trainjob_opts *o, const imdb_log *log, imdb_err *e)
{
    if (o->average) return linear_average(o->inputs, o->ninputs, o->output, e);
    int rc = -1;
    conf *cfg = conf_new();
    vocab *voc = NULL;
    char *clean = NULL, *ckpt_default = NULL, *params = NULL, **inputs = NULL;
    size_t nin = 0;
    train_docs docs = { 0 }, unlab = { 0 };
    train_ctx ctx = { 0 };
    modelio_writer *w = NULL;

    if ((rc = settings(o, cfg, e)) < 0) goto done;
    rc = TRAINJOB_USAGE;
    const char *kind;
    conf_string(cfg, "model", "nblr", &kind);
    const trainer *t = train_find(kind);
    if (!t) {
        imdb_fail(e, IMDB_EXIT_USAGE, "unknown model kind '%s'", kind);
        goto done;
    }
    if (o->first_member && strcmp(t->kind, "ensemble") != 0) {
        if (access(o->first_member, F_OK) != 0)
            imdb_fail(e, IMDB_EXIT_USAGE, "unknown model kind '%s'", o->first_member);   /* -m KIND, misspelt */
        else
            imdb_fail(e, IMDB_EXIT_USAGE, "%s: a model file to combine (-m FILE, --member FILE) needs --kind "
                      "ensemble; it is no model kind either (see --help)", o->first_member);
        goto done;
    }
    if (known(cfg, t, e) < 0) goto done;
    /* Class balance settings a kind cannot use: usage errors before any reading. */
    const char *cw0 = conf_get(cfg, "class_weight"), *thr0 = conf_get(cfg, "threshold");
    if (thr0 && strcmp(thr0, "auto") == 0 && (t->writes_output || !t->heldout_preds)) {
        imdb_fail(e, IMDB_EXIT_USAGE, "setting threshold: kind %s gives no held-out predictions to choose a "
                  "threshold on (threshold = auto works for nblr; or give a number, 0 to 1)", t->kind);
        goto done;
    }
    if (cw0 && (t->writes_output || !t->class_weights)) {
        imdb_fail(e, IMDB_EXIT_USAGE, "setting class_weight: kind %s does not train with class weights "
                  "(class weights train nblr; undersample works for every kind)", t->kind);
        goto done;
    }
    double valid_fraction, soft_t, soft_conf;
    long seed, threads, soft_hard;
    if (conf_double(cfg, "valid_fraction", 0.1, 0, 0.9, &valid_fraction, e) < 0 ||
        conf_long(cfg, "seed", 1, 0, 0x7fffffffL, &seed, e) < 0 ||
        conf_long(cfg, "threads", 1, 1, 256, &threads, e) < 0)
        goto done;
    rc = -1;

    if (o->vocab && !(voc = vocab_read(o->vocab, e))) goto done;
    clean = voc && vocab_clean(voc) ? imdb_xstrdup(vocab_clean(voc)) : NULL;

    /* Kinds that write their own output (word2vec) learn from text alone: they keep every
     * document, need no labelled ones, and do not wait on stdin when --unlabelled is given. */
    int standalone = t->writes_output;
    for (size_t i = 0; i < o->ninputs; i++) {
        inputs = imdb_xrealloc(inputs, (nin + 1) * sizeof *inputs);
        inputs[nin++] = imdb_xstrdup(o->inputs[i]);
    }
    for (size_t i = 0; i < o->nlists; i++)
        if (read_list(o->lists[i], &inputs, &nin, e) < 0) goto done;
    size_t nread = nin ? nin : standalone && o->nunlabelled ? 0 : o->nlists ? 0 : 1;
    for (size_t i = 0; i < nread; i++) {
        const char *path = nin ? inputs[i] : "-";
        if (train_docs_read(&docs, path, standalone ? -1 : 1, &clean, e) < 0) goto done;
    }
    if (o->sort_by_id) train_docs_sort_by_id(&docs);
    /* The soft settings are read (and so recorded in the model) only when there are soft
     * labels, so a model of hard labels is the same, byte for byte, as before they existed. */
    if (docs.nsoft) {
        if (conf_double(cfg, "soft_temperature", 1, 0.01, 100, &soft_t, e) < 0 ||
            conf_double(cfg, "soft_min_confidence", 0, 0, 1, &soft_conf, e) < 0 ||
            conf_long(cfg, "soft_hard", 0, 0, 1, &soft_hard, e) < 0) {
            rc = TRAINJOB_USAGE;
            goto done;
        }
        size_t nsoft = docs.nsoft, dropped = train_docs_soften(&docs, soft_t, soft_conf, (int)soft_hard);
        imdb_logf(log, IMDB_LOG_INFO, "%zu documents with soft labels: %zu kept, %zu below soft_min_confidence %g%s",
                  nsoft, nsoft - dropped, dropped, soft_conf, soft_hard ? ", rounded to pos/neg" : "");
        if (docs.nsoft && !t->soft_labels && !standalone) {
            imdb_fail(e, IMDB_EXIT_DATA, "%s: soft label: kind %s learns from pos/neg labels only "
                      "(soft labels train nblr, mlp, cnn, lstm and bilstm; or set soft_hard = 1)",
                      docs.soft_at, t->kind);
            goto done;
        }
    }
    if (docs.n == 0 && !standalone) {
        imdb_fail(e, IMDB_EXIT_DATA, "no labelled documents in the input");
        goto done;
    }
    if (!clean) {
        text_settings ts;
        text_settings_default(&ts);
        clean = text_settings_format(&ts);
        text_settings_free(&ts);
        imdb_logf(log, IMDB_LOG_INFO, "warning: the input has no #imdb-tokens header; assuming default cleaning");
    }

    for (size_t i = 0; i < o->nunlabelled; i++)
        if (train_docs_read(&unlab, o->unlabelled[i], -1, &clean, e) < 0) goto done;
    const char *ckpt = o->checkpoint;
    if (!ckpt) {
        size_t l = strlen(o->output) + 6;
        ckpt_default = imdb_xmalloc(l);
        snprintf(ckpt_default, l, "%s.ckpt", o->output);
        ckpt = ckpt_default;
    }
    ctx = (train_ctx){ .cfg = cfg, .voc = voc, .clean = clean, .docs = &docs, .unlab = &unlab,
                       .seed = (uint64_t)seed, .threads = (int)threads, .logger = log,
                       .init_embeddings = o->init_embeddings, .checkpoint = ckpt,
                       .checkpoint_every = o->checkpoint_every, .resume = o->resume, .output = o->output };
    train_split(&ctx, valid_fraction);
    /* Class balance (imdb-train(1)): read, and so recorded in the model, only when set, so
     * a model trained without them is the same, byte for byte, as before they existed. */
    const char *cw = conf_get(cfg, "class_weight"), *thr = conf_get(cfg, "threshold");
    double fixed_threshold = -1;
    if (thr && strcmp(thr, "auto") != 0) {
        if (conf_double(cfg, "threshold", 0.5, 0, 1, &fixed_threshold, e) < 0) { rc = TRAINJOB_USAGE; goto done; }
    }
    if (conf_get(cfg, "undersample")) {
        double ratio;
        if (conf_double(cfg, "undersample", 1, 1, 1e6, &ratio, e) < 0) { rc = TRAINJOB_USAGE; goto done; }
        size_t dropped = train_undersample(&ctx, ratio);
        imdb_logf(log, IMDB_LOG_INFO, "undersample %g: %zu documents of the larger class left out of the training part",
                  ratio, dropped);
    }
    if (cw) {
        if (class_weights(cw, &ctx, ctx.class_w, e) < 0) {
            if (e->status == IMDB_EXIT_USAGE) rc = TRAINJOB_USAGE;
            goto done;
        }
        ctx.weighted = 1;
        imdb_logf(log, IMDB_LOG_INFO, "class weights: pos %g, neg %g", ctx.class_w[1], ctx.class_w[0]);
    }
    ctx.want_heldout = thr && fixed_threshold < 0;
    if (!standalone)
        imdb_logf(log, IMDB_LOG_INFO, "%s: %zu documents: %zu for training, %zu for validation", t->kind, docs.n,
                  ctx.ntr, ctx.nva);
    if (!standalone && !(w = modelio_create(o->output, e))) goto done;
    /* --runs-dir: an MLflow run named after the output file, in the experiment the caller
     * names (imdb-train: MLFLOW_EXPERIMENT_NAME, as MLflow's own clients read it). */
    char *given = conf_format(cfg);
    const char *slash = strrchr(o->output, '/');
    trainlog_run run = { .dir = o->runs_dir, .experiment = o->experiment,
                         .name = strcmp(o->output, "-") == 0 ? t->kind : slash ? slash + 1 : o->output,
                         .kind = t->kind, .params = given, .source = o->prog };
    ctx.log = trainlog_new(o->curves, &run, log, e);
    free(given);
    if (!ctx.log) goto done;
    if (t->train(&ctx, w, e) < 0) goto done;
    if (ctx.want_heldout) {
        double ba, th = metrics_best_threshold(ctx.heldout_label, ctx.heldout_prob, ctx.nheldout, &ba);
        if (isnan(ba)) {
            imdb_fail(e, IMDB_EXIT_DATA, "threshold = auto: the %zu held-out predictions do not have both classes",
                      ctx.nheldout);
            goto done;
        }
        char v[32];
        snprintf(v, sizeof v, "%.6g", th);
        conf_set(cfg, "threshold", v);
        imdb_logf(log, IMDB_LOG_INFO, "threshold = auto: %s (balanced accuracy %.4f on %zu held-out predictions; "
                  "at 0.5: %.4f)", v, ba, ctx.nheldout, balanced_at(ctx.heldout_label, ctx.heldout_prob, ctx.nheldout, 0.5));
    }
    params = conf_format(cfg);
    if (w && (modelio_add_str(w, "kind", t->kind, e) < 0 || modelio_add_str(w, "params", params, e) < 0 ||
              modelio_add_str(w, "clean", clean, e) < 0))
        goto done;
    int committed = w ? modelio_commit(w, e) : 0;
    w = NULL;   /* modelio_commit freed it */
    if (committed < 0) goto done;
    /* After the commit: the run keeps a copy of the finished model. */
    trainlog *l = ctx.log;
    ctx.log = NULL;   /* trainlog_finish frees it, also on error */
    if (trainlog_finish(l, params, o->output, e) < 0) goto done;
    rc = 0;
done:
    trainlog_abort(ctx.log);
    modelio_abort(w);
    free(params);
    free(clean);
    free(ctx.tr);
    free(ctx.va);
    free(ctx.heldout_prob);
    free(ctx.heldout_label);
    for (size_t i = 0; i < nin; i++) free(inputs[i]);
    free(inputs);
    train_docs_free(&docs);
    train_docs_free(&unlab);
    free(ckpt_default);
    vocab_free(voc);
    conf_free(cfg);
    return rc;
}
