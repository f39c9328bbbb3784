/* imdb-eval — score a model on labelled token streams: accuracy, per-class and macro
 * precision/recall/F1, confusion matrix, ROC AUC and log loss (metrics.h), as a table or
 * JSON. --min-accuracy makes it a CI gate (exit 3). See imdb-eval(1).
 *
 * Documents are read in batches; the worker threads each take chunks of a batch and fill
 * in P(pos) per document. A probability depends only on its document, and the metrics
 * are computed from the probabilities in stream order, so the output is the same for
 * every --threads. */
#include "cli.h"
#include "clf.h"
#include "metrics.h"
#include "outfile.h"
#include "pool.h"
#include "progress.h"
#include "text.h"
#include "tokio.h"
#include "util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH_DOCS 4096
#define BATCH_BYTES (16u << 20)   /* keeps memory bounded whatever the document sizes */
#define CHUNK_DOCS 32

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
    printf(
"Usage: %s [OPTION]... MODEL [TOKENS]...\n"
"Evaluate MODEL (from imdb-train) on labelled token streams (from imdb-clean) and\n"
"print accuracy, precision, recall, F1, confusion matrix, ROC AUC and log loss.\n"
"With no TOKENS, or when TOKENS is -, read standard input.\n"
"\n"
"  -o, --output=FILE        write the metrics to FILE, atomically (default: stdout)\n"
"      --json               write the metrics as one JSON object\n"
"  -t, --threshold=X        predict pos when P(pos) >= X (default: 0.5)\n"
"      --min-accuracy=X     exit with status 3 when accuracy < X (default: no gate)\n"
"      --errors=FILE        write misclassified documents to FILE as TSV:\n"
"                           ID, true label, P(pos)\n"
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
"Exit status: 0 ok, 1 bad data or model file, 2 usage error, 3 accuracy below\n"
"--min-accuracy, 4 I/O error.\n",
        cli_prog, sysconf(_SC_NPROCESSORS_ONLN));
    exit(IMDB_EXIT_OK);
}

/* One batch of documents copied out of the reader. Texts and ids live in one arena;
 * offsets, not pointers, until the batch is complete (the arena moves as it grows). */
typedef struct batch {
    size_t n;
    int label[BATCH_DOCS];
    size_t text_off[BATCH_DOCS], text_len[BATCH_DOCS], id_off[BATCH_DOCS];
    double prob[BATCH_DOCS];
    imdb_arena arena;
} batch;

typedef struct worker {
    char **toks;
    size_t cap;
} worker;

typedef struct scoring {
    const clf *model;
    batch *b;
    worker *ws;
} scoring;

/* pool_for callback: score documents [chunk * CHUNK_DOCS, ...) on thread `thread`. */
static void score_chunk(void *ctx, int thread, size_t chunk)
{
    scoring *sc = ctx;
    batch *b = sc->b;
    worker *w = &sc->ws[thread];
    size_t end = (chunk + 1) * CHUNK_DOCS < b->n ? (chunk + 1) * CHUNK_DOCS : b->n;
    for (size_t i = chunk * CHUNK_DOCS; i < end; i++) {
        size_t ntok = tokio_split(b->arena.p + b->text_off[i], b->text_len[i], &w->toks, &w->cap);
        b->prob[i] = clf_prob(sc->model, (const char *const *)w->toks, ntok);
    }
}

int main(int argc, char **argv)
{
    cli_init("imdb-eval");
    enum { OPT_JSON = 256, OPT_MIN_ACC, OPT_ERRORS, OPT_STRICT, OPT_HELP, OPT_VERSION };
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, OPT_JSON},
        {"threshold", required_argument, NULL, 't'},
        {"min-accuracy", required_argument, NULL, OPT_MIN_ACC},
        {"errors", required_argument, NULL, OPT_ERRORS},
        {"threads", required_argument, NULL, 'j'},
        {"strict", no_argument, NULL, OPT_STRICT},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    const char *output = "-", *errors_path = NULL;
    int json = 0, strict = 0;
    double threshold = 0.5, min_accuracy = -1;
    long nthreads = sysconf(_SC_NPROCESSORS_ONLN);
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:t:j:qv", opts, NULL)) != -1) {
        switch (c) {
        case 'o': output = optarg; break;
        case OPT_JSON: json = 1; break;
        case 't': threshold = cli_double("--threshold", optarg, 0, 1); break;
        case OPT_MIN_ACC: min_accuracy = cli_double("--min-accuracy", optarg, 0, 1); break;
        case OPT_ERRORS: errors_path = optarg; break;
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
    if (optind >= argc) cli_usage_error("missing MODEL operand");
    const char *model_path = argv[optind++];
    const char *stdin_only[] = {"-"};
    const char *const *inputs = optind < argc ? (const char *const *)argv + optind : stdin_only;
    size_t ninputs = optind < argc ? (size_t)(argc - optind) : 1;

    imdb_err e = {0, ""};
    outfile *out = NULL, *errs = NULL;
    tokio_reader *r = NULL;
    batch *b = xcalloc(1, sizeof *b);
    worker *ws = xcalloc((size_t)nthreads, sizeof *ws);
    int *labels = NULL;
    double *probs = NULL;
    size_t n = 0, cap = 0, unlabelled = 0;
    char *model_clean = NULL;
    progress *prog = NULL;

    clf *model = clf_load(model_path, &e);
    if (!model) goto fail;
    if (cli_verbose > 0)
        cli_msg("%s: %s model loaded in %.3f s", model_path, clf_kind(model), clf_load_seconds(model));
    if (clf_clean(model)) model_clean = text_settings_canonical(clf_clean(model));

    /* Open the outputs first: a bad path fails before the work, not after. */
    if (!(out = outfile_open(output, 0, &e))) goto fail;
    if (errors_path && !(errs = outfile_open(errors_path, 0, &e))) goto fail;

    double t0 = imdb_now();
    prog = progress_new("evaluating", 0, "docs");
    for (size_t f = 0; f < ninputs; f++) {
        if (!(r = tokio_open(inputs[f], &e))) goto fail;
        const char *settings = tokio_settings(r);
        if (settings && model_clean) {
            char *s = text_settings_canonical(settings);
            int differ = strcmp(s, model_clean) != 0;
            free(s);
            if (differ && strict) {
                imdb_fail(&e, IMDB_EXIT_DATA,
                          "%s: cleaned with other settings than the model (stream: %s; model: %s)",
                          tokio_name(r), settings, clf_clean(model));
                goto fail;
            }
            if (differ && cli_verbose >= 0)
                cli_msg("warning: %s: cleaned with other settings than the model (stream: %s; model: %s)",
                        tokio_name(r), settings, clf_clean(model));
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
                size_t i = b->n++;
                b->label[i] = d.label;
                b->text_off[i] = imdb_arena_add(&b->arena, d.text, d.text_len);
                b->text_len[i] = d.text_len;
                b->id_off[i] = errs ? imdb_arena_add(&b->arena, d.id, strlen(d.id)) : 0;
            }
            if (b->n == 0) continue;
            pool_for((int)nthreads, (b->n + CHUNK_DOCS - 1) / CHUNK_DOCS, score_chunk,
                     &(scoring){ model, b, ws });

            if (n + b->n > cap) {
                while (n + b->n > cap) cap = cap ? cap * 2 : 1 << 16;
                labels = xrealloc(labels, cap * sizeof *labels);
                probs = xrealloc(probs, cap * sizeof *probs);
            }
            for (size_t i = 0; i < b->n; i++) {
                labels[n + i] = b->label[i];
                probs[n + i] = b->prob[i];
                int pred = b->prob[i] >= threshold;
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
    if ((json ? metrics_write_json(&m, out, &e) : metrics_write_text(&m, out, &e)) < 0) goto fail;
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
    free(labels);
    free(probs);
    for (long t = 0; t < nthreads; t++) free(ws[t].toks);
    free(ws);
    free(b->arena.p);
    free(b);
    free(model_clean);
    clf_free(model);
    return status;

fail:
    progress_end(prog);
    tokio_close(r);
    outfile_abort(out);
    outfile_abort(errs);
    free(labels);
    free(probs);
    for (long t = 0; t < nthreads; t++) free(ws[t].toks);
    free(ws);
    free(b->arena.p);
    free(b);
    free(model_clean);
    if (model) clf_free(model);
    cli_die(&e);
}
