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

/* The kinds that train with class weights, "a, b and c", into buf. */
static const char *weighted_kinds(char *buf, size_t cap)
{
    size_t n = 0, k = 0, at = 0;
    for (const kinds_entry *q = kinds_table; q->name; q++) n += q->train && q->train->class_weights;
    buf[0] = '\0';
    for (const kinds_entry *q = kinds_table; q->name && at < cap; q++) {
        if (!q->train || !q->train->class_weights) continue;
        k++;
        at += (size_t)snprintf(buf + at, cap - at, "%s%s", k == 1 ? "" : k == n ? " and " : ", ", q->name);
    }
    return buf;
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
    /* Class balance settings, and those a kind cannot use: usage errors before any reading. */
    train_balance bal;
    if (train_balance_parse(cfg, &bal, e) < 0) goto done;
    const char *what = bal.want_heldout ? "threshold" : bal.weighted ? "class_weight" : bal.undersample > 0 ?
                       "undersample" : conf_get(cfg, "threshold") ? "threshold" : NULL;
    const kinds_entry *ke = kinds_find(t->kind);
    if (what && (t->writes_output || !ke || !ke->clf)) {
        imdb_fail(e, IMDB_EXIT_USAGE, "setting %s: kind %s learns from text alone and makes no classifier", what,
                  t->kind);
        goto done;
    }
    if (bal.want_heldout && !t->heldout_preds) {
        imdb_fail(e, IMDB_EXIT_USAGE, "setting threshold: kind %s gives no held-out predictions to choose a "
                  "threshold on (threshold = auto works for nblr; or give a number, 0 to 1)", t->kind);
        goto done;
    }
    char kbuf[160];
    if (bal.weighted && !t->class_weights) {
        imdb_fail(e, IMDB_EXIT_USAGE, "setting class_weight: kind %s does not train with class weights "
                  "(class weights train %s; undersample works for every classifier)", t->kind,
                  weighted_kinds(kbuf, sizeof kbuf));
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
    static const char *const stdin_only[] = { "-" };
    if (t->streams) {
        /* The kind reads the streams itself, in bounded memory; the unlabelled ones, which
         * it does not use, are only checked for their cleaning settings. */
        for (size_t i = 0; i < o->nunlabelled; i++) {
            tokio_reader *r = tokio_open(o->unlabelled[i], e);
            if (!r) goto done;
            const char *s = tokio_settings(r);
            int differ = s && clean && strcmp(s, clean) != 0;
            if (s && !clean) clean = imdb_xstrdup(s);
            tokio_close(r);
            if (differ) {
                imdb_fail(e, IMDB_EXIT_DATA, "%s: cleaned with different settings than the vocabulary or the "
                          "other inputs (compare their first lines); clean them all with the same imdb-clean "
                          "options", o->unlabelled[i]);
                goto done;
            }
        }
        const char *ckpt_s = o->checkpoint;
        if (!ckpt_s) {
            size_t l = strlen(o->output) + 6;
            ckpt_default = imdb_xmalloc(l);
            snprintf(ckpt_default, l, "%s.ckpt", o->output);
            ckpt_s = ckpt_default;
        }
        ctx = (train_ctx){ .cfg = cfg, .voc = voc, .clean = NULL, .docs = &docs, .unlab = &unlab,
                           .seed = (uint64_t)seed, .threads = (int)threads, .logger = log,
                           .init_embeddings = o->init_embeddings, .checkpoint = ckpt_s,
                           .checkpoint_every = o->checkpoint_every, .resume = o->resume, .output = o->output,
                           .inputs = nin ? (const char *const *)inputs : stdin_only, .ninputs = nread,
                           .clean_out = &clean, .valid_fraction = valid_fraction, .sort_by_id = o->sort_by_id,
                           .memory = o->memory, .tmpdir = o->tmpdir, .voc_own = &voc, .bal = bal };
        goto job;
    }
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
                       .checkpoint_every = o->checkpoint_every, .resume = o->resume, .output = o->output,
                       .force = o->force };
    train_split(&ctx, valid_fraction);
    ctx.bal = bal;
    if (bal.undersample > 0 || bal.weighted) {
        unsigned char *pos = imdb_xmalloc(docs.n + 1);
        for (size_t i = 0; i < docs.n; i++) pos[i] = docs.label[i] == TOKIO_POS;
        int brc = train_balance_apply(&ctx, pos, e);
        free(pos);
        if (brc < 0) goto done;
    }
    if (!standalone)
        imdb_logf(log, IMDB_LOG_INFO, "%s: %zu documents: %zu for training, %zu for validation", t->kind, docs.n,
                  ctx.ntr, ctx.nva);
job:
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
    if (t->train(&ctx, w, e) < 0) {
        if (e->status == IMDB_EXIT_USAGE) rc = TRAINJOB_USAGE;   /* e.g. too small a --memory */
        goto done;
    }
    if (!clean) train_default_clean(&clean, log);   /* a kind that streams sets it (or not) */
    if (ctx.bal.want_heldout) {
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
