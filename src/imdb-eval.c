/* imdb-eval — score a model on labelled token streams: accuracy, per-class and macro
 * precision/recall/F1, confusion matrix, ROC AUC and log loss (metrics.h), as a table or
 * JSON. --min-accuracy makes it a CI gate (exit 3); --by-category adds the accuracy of
 * each group of documents named by the ID prefix ("negation/3" is in "negation"), for
 * behavioural test sets like data/behaviour.tsv. See imdb-eval(1).
 *
 * Documents are read in batches; the score module (score.h) fills in P(pos) per document
 * on the worker threads. A probability depends only on its document, and the metrics
 * are computed from the probabilities in stream order, so the output is the same for
 * every --threads. */
#include "buf.h"
#include "cli.h"
#include "clf.h"
#include "json.h"
#include "metrics.h"
#include "outfile.h"
#include "progress.h"
#include "score.h"
#include "text.h"
#include "tokio.h"
#include "util.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH_DOCS 4096
#define BATCH_BYTES (16u << 20)   /* keeps memory bounded whatever the document sizes */

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
    printf(
"Usage: %s [OPTION]... -m MODEL [TOKENS]...\n"
"  or:  %s [OPTION]... MODEL [TOKENS]...\n"
"Evaluate MODEL (from imdb-train) on labelled token streams (from imdb-clean) and\n"
"print accuracy, precision, recall, F1, confusion matrix, ROC AUC and log loss.\n"
"With no TOKENS, or when TOKENS is -, read standard input.\n"
"\n"
"  -m, --model=FILE         the model file (without -m: the first operand)\n"
"  -o, --output=FILE        write the metrics to FILE, atomically (default: stdout)\n"
"      --json               write the metrics as one JSON object\n"
"  -t, --threshold=X        predict pos when P(pos) >= X (default: 0.5, or the\n"
"                           threshold the model stores: imdb-train -o threshold)\n"
"      --min-accuracy=X     exit with status 3 when accuracy < X (default: no gate)\n"
"      --min-metric=NAME=X  exit with status 3 when metric NAME (a JSON key, e.g.\n"
"                           balanced_accuracy, f1_neg, pr_auc_neg) < X, or for\n"
"                           logloss when > X; repeatable (default: no gate)\n"
"      --errors=FILE        write misclassified documents to FILE as TSV:\n"
"                           ID, true label, P(pos)\n"
"      --by-category        also report n, accuracy and errors per category: the\n"
"                           ID up to its last '/' (- if none), sorted by name\n"
"  -j, --threads=N          worker threads (default: number of cores, %ld here);\n"
"                           results do not depend on N\n"
"      --strict             refuse streams cleaned with other settings than the model\n"
"                           (default: warn)\n"
"  -q, --quiet              no warnings or progress\n"
"  -v, --verbose            report model load time and throughput\n"
"      --help               display this help and exit\n"
"      --version            output version information and exit\n"
"\n"
"Unlabelled documents (label -) are skipped with a warning.\n"
"Exit status: 0 ok, 1 bad data or model file, 2 usage error, 3 a metric below\n"
"--min-accuracy or --min-metric, 4 I/O error.\n",
        cli_prog, cli_prog, sysconf(_SC_NPROCESSORS_ONLN));
    exit(IMDB_EXIT_OK);
}

/* One batch of documents copied out of the reader. Texts and ids live in one arena;
 * offsets, not pointers, until the batch is complete (the arena moves as it grows). */
typedef struct batch {
    size_t n;
    int label[BATCH_DOCS];
    size_t text_off[BATCH_DOCS], text_len[BATCH_DOCS], id_off[BATCH_DOCS];
    double prob[BATCH_DOCS];
    char *text[BATCH_DOCS];   /* into the arena, once the batch is complete */
    imdb_arena arena;
} batch;

/* ------------------------------------------------------------ --by-category */

/* Documents grouped by category: the document ID up to its last '/', so aclImdb's
 * "test/pos/12_8" is in "test/pos" and "negation/3" in "negation"; an ID without '/',
 * or with its only '/' in front, is in "-". Names live in one arena (addressed by
 * offset, it moves as it grows); an open-addressing table of entry indices + 1 finds
 * them. Documents are added in stream order after scoring, and the report sorts by
 * name, so the output does not depend on --threads. */
typedef struct category {
    size_t name_off, name_len, n, correct;
} category;

typedef struct categories {
    imdb_arena names;
    category *v;
    size_t nv, capv;
    size_t *slot;
    size_t nslot;   /* a power of two, at least twice nv */
} categories;

static size_t hash_name(const char *s, size_t n)   /* FNV-1a */
{
    uint64_t h = 14695981039346656037u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211u;
    return (size_t)(h ^ h >> 32);
}

static void categories_add(categories *c, const char *id, int correct)
{
    const char *slash = strrchr(id, '/'), *name = "-";
    size_t len = 1;
    if (slash && slash > id) {
        name = id;
        len = (size_t)(slash - id);
    }
    if (2 * (c->nv + 1) > c->nslot) {
        size_t ns = c->nslot ? 2 * c->nslot : 64;
        size_t *slot = imdb_xcalloc(ns, sizeof *slot);
        for (size_t k = 0; k < c->nv; k++) {
            size_t h = hash_name(c->names.p + c->v[k].name_off, c->v[k].name_len) & (ns - 1);
            while (slot[h]) h = (h + 1) & (ns - 1);
            slot[h] = k + 1;
        }
        free(c->slot);
        c->slot = slot;
        c->nslot = ns;
    }
    size_t h = hash_name(name, len) & (c->nslot - 1);
    for (; c->slot[h]; h = (h + 1) & (c->nslot - 1)) {
        category *k = &c->v[c->slot[h] - 1];
        if (k->name_len == len && memcmp(c->names.p + k->name_off, name, len) == 0) {
            k->n++;
            k->correct += correct != 0;
            return;
        }
    }
    if (c->nv == c->capv) {
        c->capv = c->capv ? 2 * c->capv : 64;
        c->v = imdb_xrealloc(c->v, c->capv * sizeof *c->v);
    }
    c->v[c->nv] = (category){imdb_arena_add(&c->names, name, len), len, 1, correct != 0};
    c->slot[h] = ++c->nv;
}

static void categories_free(categories *c)
{
    free(c->names.p);
    free(c->v);
    free(c->slot);
}

static const char *cat_names;   /* for cmp_category: qsort has no context argument */

static int cmp_category(const void *a, const void *b)
{
    return strcmp(cat_names + ((const category *)a)->name_off,
                  cat_names + ((const category *)b)->name_off);
}

static void categories_sort(categories *c)
{
    cat_names = c->names.p;
    if (c->nv > 1) qsort(c->v, c->nv, sizeof *c->v, cmp_category);
}

/* After the metrics table: a blank line, then "category n accuracy errors". */
static int categories_write_text(const categories *c, outfile *o, imdb_err *e)
{
    int w = 8;   /* strlen("category") */
    for (size_t k = 0; k < c->nv; k++)
        if (c->v[k].name_len > (size_t)w) w = c->v[k].name_len > 200 ? 200 : (int)c->v[k].name_len;
    if (outfile_printf(o, e, "\n%-*s  %-6s  %-8s  %s\n", w, "category", "n", "accuracy",
                       "errors") < 0)
        return -1;
    for (size_t k = 0; k < c->nv; k++) {
        const category *g = &c->v[k];
        if (outfile_printf(o, e, "%-*s  %-6zu  %-8.4f  %zu\n", w, c->names.p + g->name_off,
                           g->n, (double)g->correct / (double)g->n, g->n - g->correct) < 0)
            return -1;
    }
    return 0;
}

/* The "categories" member of the JSON object, in the form metrics_write_json_with takes
 * (malloc'd; NULL when out of memory). Names are IDs, raw bytes from the input: the JSON
 * writer makes them valid JSON. */
static char *categories_json(const categories *c)
{
    buf b = {0};
    buf_str(&b, "  \"categories\": {");
    for (size_t k = 0; k < c->nv; k++) {
        const category *g = &c->v[k];
        buf_str(&b, k ? ",\n    " : "\n    ");
        json_str(&b, c->names.p + g->name_off, g->name_len, JSON_EVAL);
        buf_printf(&b, ": {\"n\": %zu, \"accuracy\": %.10g}", g->n,
                   (double)g->correct / (double)g->n);
    }
    buf_str(&b, c->nv ? "\n  }" : "}");
    return buf_take(&b);
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    cli_init("imdb-eval");
    enum { OPT_JSON = 256, OPT_MIN_ACC, OPT_MIN_METRIC, OPT_ERRORS, OPT_BY_CATEGORY, OPT_STRICT, OPT_HELP,
           OPT_VERSION };
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'},
        {"output", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, OPT_JSON},
        {"threshold", required_argument, NULL, 't'},
        {"min-accuracy", required_argument, NULL, OPT_MIN_ACC},
        {"min-metric", required_argument, NULL, OPT_MIN_METRIC},
        {"errors", required_argument, NULL, OPT_ERRORS},
        {"by-category", no_argument, NULL, OPT_BY_CATEGORY},
        {"threads", required_argument, NULL, 'j'},
        {"strict", no_argument, NULL, OPT_STRICT},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    const char *output = "-", *errors_path = NULL, *model_path = NULL;
    int json = 0, strict = 0, by_category = 0;
    double threshold = -1, min_accuracy = -1;
    /* --min-metric NAME=X, in the order given */
    enum { MAX_GATES = 32 };
    char gate_name[MAX_GATES][32];
    double gate_min[MAX_GATES];
    int ngates = 0;
    long nthreads = sysconf(_SC_NPROCESSORS_ONLN);
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":m:o:t:j:qv", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'o': output = optarg; break;
        case OPT_JSON: json = 1; break;
        case 't': threshold = cli_double("--threshold", optarg, 0, 1); break;
        case OPT_MIN_ACC: min_accuracy = cli_double("--min-accuracy", optarg, 0, 1); break;
        case OPT_MIN_METRIC: {
            const char *eq = strchr(optarg, '=');
            metrics zero = {0};
            double v;
            size_t len = eq ? (size_t)(eq - optarg) : 0;
            if (!eq || len == 0 || len >= sizeof gate_name[0])
                cli_usage_error("--min-metric: '%s' is not NAME=X (e.g. balanced_accuracy=0.9)", optarg);
            if (ngates == MAX_GATES) cli_usage_error("--min-metric: at most %d gates", MAX_GATES);
            memcpy(gate_name[ngates], optarg, len);
            gate_name[ngates][len] = '\0';
            if (metrics_get(&zero, gate_name[ngates], &v) < 0)
                cli_usage_error("--min-metric: unknown metric '%s' (one of: %s)", gate_name[ngates], metrics_names);
            gate_min[ngates++] = cli_double("--min-metric", eq + 1, 0, 1e9);
            break;
        }
        case OPT_ERRORS: errors_path = optarg; break;
        case OPT_BY_CATEGORY: by_category = 1; break;
        case 'j': nthreads = cli_long("--threads", optarg, 1, 256); break;
        case OPT_STRICT: strict = 1; break;
        case 'q': cli_verbose = -1; break;
        case 'v': cli_verbose++; break;
        case OPT_HELP: usage();
        case OPT_VERSION: cli_version();
        default: cli_bad_option(argv, c);
        }
    }
    if (nthreads < 1) nthreads = 1;
    if (!model_path) {   /* the old form: the model is the first operand */
        if (optind >= argc) cli_usage_error("missing model: use -m MODEL");
        model_path = argv[optind++];
    }
    const char *stdin_only[] = {"-"};
    const char *const *inputs = optind < argc ? (const char *const *)argv + optind : stdin_only;
    size_t ninputs = optind < argc ? (size_t)(argc - optind) : 1;

    imdb_err e = {0, ""};
    outfile *out = NULL, *errs = NULL;
    tokio_reader *r = NULL;
    batch *b = imdb_xcalloc(1, sizeof *b);
    score_pool *pool = NULL;
    int *labels = NULL;
    double *probs = NULL;
    size_t n = 0, cap = 0, unlabelled = 0;
    char *cat_json = NULL;
    progress *prog = NULL;
    categories cats = {{NULL, 0, 0}, NULL, 0, 0, NULL, 0};

    clf *model = clf_load(model_path, &e);
    if (!model) goto fail;
    if (cli_verbose > 0)
        cli_msg("%s: %s model loaded in %.3f s", model_path, clf_kind(model), clf_load_seconds(model));
    if (threshold < 0) threshold = clf_threshold(model);   /* an explicit --threshold wins */
    if (!(pool = score_pool_new(model, SCORE_TOKENS, 0, (int)nthreads, &e))) goto fail;

    /* Open the outputs first: a bad path fails before the work, not after. */
    if (!(out = outfile_open(output, 0, &e))) goto fail;
    if (errors_path && !(errs = outfile_open(errors_path, 0, &e))) goto fail;

    double t0 = imdb_now();
    prog = progress_new("evaluating", 0, "docs");
    for (size_t f = 0; f < ninputs; f++) {
        if (!(r = tokio_open(inputs[f], &e))) goto fail;
        const char *settings = tokio_settings(r);
        imdb_err w;
        if (text_settings_check(tokio_name(r), settings, clf_clean(model), &w) < 0) {
            if (strict) {
                e = w;
                goto fail;
            }
            if (cli_verbose >= 0) cli_msg("warning: %s", w.msg);
        } else if (!settings && cli_verbose > 0) {
            cli_msg("%s: no #imdb-tokens header: cannot check the cleaning settings", tokio_name(r));
        }

        int more = 1;
        while (more) {
            /* Fill a batch. */
            b->n = 0;
            b->arena.used = 0;
            while (b->n < BATCH_DOCS && b->arena.used < BATCH_BYTES) {
                tokio_doc d;
                int got = tokio_next(r, &d, &e);
                if (got < 0) goto fail;
                if (got == 0) { more = 0; break; }
                if (d.label == TOKIO_UNLABELLED) { unlabelled++; continue; }
                if (d.soft) {
                    imdb_fail(&e, IMDB_EXIT_DATA, "%s:%ld: soft label (P(pos) = %g): evaluation needs "
                              "pos/neg labels", tokio_name(r), d.lineno, d.prob);
                    goto fail;
                }
                size_t i = b->n++;
                b->label[i] = d.label;
                b->text_off[i] = imdb_arena_add(&b->arena, d.text, d.text_len);
                b->text_len[i] = d.text_len;
                b->id_off[i] = errs || by_category
                    ? imdb_arena_add(&b->arena, d.id, strlen(d.id)) : 0;
            }
            if (b->n == 0) continue;
            for (size_t i = 0; i < b->n; i++) b->text[i] = b->arena.p + b->text_off[i];
            score_probs_tokens(pool, b->text, b->text_len, b->n, b->prob);

            if (n + b->n > cap) {
                while (n + b->n > cap) cap = cap ? cap * 2 : 1 << 16;
                labels = imdb_xrealloc(labels, cap * sizeof *labels);
                probs = imdb_xrealloc(probs, cap * sizeof *probs);
            }
            for (size_t i = 0; i < b->n; i++) {
                labels[n + i] = b->label[i];
                probs[n + i] = b->prob[i];
                int pred = b->prob[i] >= threshold;
                if (by_category)
                    categories_add(&cats, b->arena.p + b->id_off[i], pred == b->label[i]);
                if (errs && pred != b->label[i]
                    && outfile_printf(errs, &e, "%s\t%s\t%.6f\n", b->arena.p + b->id_off[i],
                                      tokio_label_name(b->label[i]), b->prob[i]) < 0)
                    goto fail;
            }
            n += b->n;
            progress_update(prog, n);
        }
        tokio_close(r);
        r = NULL;
    }
    progress_end(prog);
    prog = NULL;
    double secs = imdb_now() - t0;

    if (unlabelled && cli_verbose >= 0)
        cli_msg("warning: skipped %zu unlabelled document%s", unlabelled, unlabelled == 1 ? "" : "s");
    if (n == 0) {
        imdb_fail(&e, IMDB_EXIT_DATA, "%s: no labelled documents to evaluate",
                  ninputs == 1 ? (strcmp(inputs[0], "-") ? inputs[0] : "(standard input)") : "input");
        goto fail;
    }
    if (cli_verbose > 0)
        cli_msg("%zu documents in %.3f s (%.0f docs/s, %ld thread%s)", n, secs,
                secs > 0 ? (double)n / secs : 0.0, nthreads, nthreads == 1 ? "" : "s");

    metrics m;
    metrics_compute(labels, probs, n, threshold, &m);
    if (by_category) {
        categories_sort(&cats);
        if (json && !(cat_json = categories_json(&cats))) {
            imdb_fail(&e, IMDB_EXIT_INTERNAL, "out of memory");
            goto fail;
        }
    }
    if (json ? metrics_write_json_with(&m, cat_json, out, &e) < 0
             : metrics_write_text(&m, out, &e) < 0)
        goto fail;
    if (by_category && !json && categories_write_text(&cats, out, &e) < 0) goto fail;
    int rc = outfile_commit(out, &e);
    out = NULL;
    if (rc < 0) goto fail;
    if (errs) {
        rc = outfile_commit(errs, &e);
        errs = NULL;
        if (rc < 0) goto fail;
    }

    int status = IMDB_EXIT_OK;
    if (min_accuracy >= 0) {
        if (m.accuracy < min_accuracy) {
            cli_msg("accuracy %.4f is below the required minimum %.4f (--min-accuracy)",
                    m.accuracy, min_accuracy);
            status = IMDB_EXIT_GATE;
        } else if (cli_verbose > 0) {
            cli_msg("accuracy %.4f >= %.4f: gate passed", m.accuracy, min_accuracy);
        }
    }
    for (int g = 0; g < ngates; g++) {
        double v;
        metrics_get(&m, gate_name[g], &v);
        int lower = metrics_lower_is_better(gate_name[g]);
        if (!(lower ? v <= gate_min[g] : v >= gate_min[g])) {   /* NaN (one class) fails */
            cli_msg("%s %.4f is %s the required %s %.4f (--min-metric)", gate_name[g], v,
                    lower ? "above" : "below", lower ? "maximum" : "minimum", gate_min[g]);
            status = IMDB_EXIT_GATE;
        } else if (cli_verbose > 0) {
            cli_msg("%s %.4f %s %.4f: gate passed", gate_name[g], v, lower ? "<=" : ">=", gate_min[g]);
        }
    }
    free(labels);
    free(probs);
    score_pool_free(pool);
    free(b->arena.p);
    free(b);
    free(cat_json);
    categories_free(&cats);
    clf_free(model);
    return status;

fail:
    progress_end(prog);
    tokio_close(r);
    outfile_abort(out);
    outfile_abort(errs);
    free(labels);
    free(probs);
    score_pool_free(pool);
    free(b->arena.p);
    free(b);
    free(cat_json);
    categories_free(&cats);
    if (model) clf_free(model);
    cli_die(&e);
}
