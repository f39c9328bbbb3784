/* imdb-relabel — a teacher's predictions as soft labels: reads token streams, scores each
 * document with MODEL and writes the same documents with P(pos) as their label, an
 * imdb-tokens(5) version 2 stream that imdb-train learns from (knowledge distillation:
 * Hinton et al. 2015, "Distilling the Knowledge in a Neural Network"). See
 * imdb-relabel(1).
 *
 * The teacher must have been trained on text cleaned like the stream (else its n-grams
 * would silently not match), so a stream whose header differs is refused without
 * --force. A dvcos teacher (or an ensemble holding one) scores a document from the vector
 * it learned for it when its pool held the document's text; --require-learned makes
 * that a requirement, so a distillation run cannot quietly fall back to inferred
 * vectors. Documents are scored in batches on --threads threads and written in input
 * order, so the output does not depend on the thread count. */
#include "cli.h"
#include "clf.h"
#include "outfile.h"
#include "pool.h"
#include "tokio.h"
#include "util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH 4096
#define CHUNK 64

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
    printf(
"Usage: %s [OPTION]... MODEL [TOKENS]...\n"
"Score every document of the token streams TOKENS (from imdb-clean) with MODEL (the\n"
"teacher, from imdb-train) and write them, in order, with the teacher's P(pos) as a\n"
"soft label: a token stream of format version 2 (imdb-tokens(5)) for imdb-train.\n"
"With no TOKENS, or when TOKENS is -, read standard input.\n"
"\n"
"  -o, --output=FILE      write to FILE, atomically; gzip if FILE ends in .gz\n"
"                         (default: standard output)\n"
"  -k, --keep-labels      keep pos/neg labels; relabel only unlabelled (-) documents\n"
"      --require-learned  fail unless the teacher scores every relabelled document\n"
"                         from a vector it learned for that text (a dvcos teacher,\n"
"                         or an ensemble with one, whose pool held the stream)\n"
"      --force            accept streams cleaned differently from the teacher\n"
"  -j, --threads=N        worker threads (default: 1); the output is the same for\n"
"                         every N\n"
"  -q, --quiet            no warnings or summary\n"
"  -v, --verbose          say more\n"
"      --help             display this help and exit\n"
"      --version          output version information and exit\n"
"\n"
"Exit status: 0 ok, 1 bad input, model or a document without a learned vector\n"
"(--require-learned), 2 usage error, 4 I/O error.\n",
        cli_prog);
    exit(IMDB_EXIT_OK);
}

typedef struct batch {
    size_t n;
    char *text[BATCH], *id[BATCH];
    size_t len[BATCH];
    long lineno[BATCH];
    int label[BATCH];
    double prob[BATCH];
    int known[BATCH];
} batch;

typedef struct job {
    const clf *model;
    batch *b;
    int keep;
    char **scratch[256];     /* per thread: a copy of the text, split in place */
    size_t scap[256];
    char **toks[256];
    size_t tcap[256];
} job;

static void score_chunk(void *ctx, int thread, size_t c)
{
    job *j = ctx;
    batch *b = j->b;
    size_t end = (c + 1) * CHUNK < b->n ? (c + 1) * CHUNK : b->n;
    for (size_t i = c * CHUNK; i < end; i++) {
        if (j->keep && b->label[i] != TOKIO_UNLABELLED) { b->known[i] = -2; continue; }
        /* tokio_split writes NULs into its input; the batch keeps the text for writing. */
        if (b->len[i] + 1 > j->scap[thread]) {
            j->scap[thread] = b->len[i] + 1;
            *j->scratch[thread] = imdb_xrealloc(*j->scratch[thread], j->scap[thread]);
        }
        char *copy = *j->scratch[thread];
        memcpy(copy, b->text[i], b->len[i] + 1);
        size_t n = tokio_split(copy, b->len[i], &j->toks[thread], &j->tcap[thread]);
        const char *const *t = (const char *const *)j->toks[thread];
        b->prob[i] = clf_prob(j->model, t, n);
        b->known[i] = clf_known(j->model, t, n);
    }
}

int main(int argc, char **argv)
{
    cli_init("imdb-relabel");
    enum { OPT_REQUIRE = 256, OPT_FORCE, OPT_HELP, OPT_VERSION };
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"keep-labels", no_argument, NULL, 'k'},
        {"require-learned", no_argument, NULL, OPT_REQUIRE},
        {"force", no_argument, NULL, OPT_FORCE},
        {"threads", required_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0}
    };
    const char *output = "-";
    int keep = 0, require = 0, force = 0, threads = 1, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:kj:qv", opts, NULL)) != -1) {
        switch (c) {
        case 'o': output = optarg; break;
        case 'k': keep = 1; break;
        case OPT_REQUIRE: require = 1; break;
        case OPT_FORCE: force = 1; break;
        case 'j': threads = (int)cli_long("--threads", optarg, 1, 256); break;
        case 'q': cli_verbose = -1; break;
        case 'v': cli_verbose++; break;
        case OPT_HELP: usage();
        case OPT_VERSION: cli_version();
        default: cli_bad_option(argv, c);
        }
    }
    if (optind >= argc) cli_usage_error("no model file given");
    const char *model_path = argv[optind++];
    const char *stdin_only[] = {"-"};
    const char *const *inputs = optind < argc ? (const char *const *)argv + optind : stdin_only;
    size_t ninputs = optind < argc ? (size_t)(argc - optind) : 1;

    imdb_err e = {0, ""};
    clf *model = NULL;
    outfile *out = NULL;
    tokio_reader *r = NULL;
    batch *b = imdb_xcalloc(1, sizeof *b);
    job j = { .b = b, .keep = keep };
    char *scratch[256] = { 0 };
    for (int t = 0; t < threads; t++) j.scratch[t] = &scratch[t];
    size_t ndocs = 0, nrel = 0, nknown = 0, ninfer = 0;
    char *header = NULL;
    if (!(model = clf_load(model_path, &e))) goto fail;
    j.model = model;
    size_t olen = strlen(output);
    if (!(out = outfile_open(output, olen > 3 && strcmp(output + olen - 3, ".gz") == 0 ? 1 : 0, &e))) goto fail;
    if (strcmp(output, "-") == 0 && isatty(STDOUT_FILENO) && cli_verbose >= 0)
        cli_msg("warning: writing a token stream to a terminal");

    for (size_t f = 0; f < ninputs; f++) {
        if (!(r = tokio_open(inputs[f], &e))) goto fail;
        const char *s = tokio_settings(r);
        if (!s) {
            if (!force) {
                imdb_fail(&e, IMDB_EXIT_DATA, "%s: no #imdb-tokens header, so its cleaning cannot be "
                          "checked against the teacher's; --force to relabel it anyway", tokio_name(r));
                goto fail;
            }
        } else if (!text_settings_same(s, clf_clean(model)) && !force) {
            imdb_fail(&e, IMDB_EXIT_DATA, "%s: cleaned with different settings than the teacher %s was "
                      "trained on (compare the stream's first line with imdb-predict --info); clean it "
                      "the same way, or --force", tokio_name(r), model_path);
            goto fail;
        }
        /* One header for the output: the teacher's settings (those of the first stream with
         * --force), version 2. */
        if (!header) {
            header = imdb_xstrdup(s && force ? s : clf_clean(model));
            if (tokio_write_header_soft(out, header, &e) < 0) goto fail;
        }
        int more = 1;
        while (more) {
            for (size_t i = 0; i < b->n; i++) { free(b->text[i]); free(b->id[i]); }
            b->n = 0;
            tokio_doc d;
            while (b->n < BATCH) {
                int got = tokio_next(r, &d, &e);
                if (got < 0) goto fail;
                if (got == 0) { more = 0; break; }
                size_t i = b->n++;
                b->text[i] = imdb_xstrndup(d.text, d.text_len);
                b->len[i] = d.text_len;
                b->id[i] = imdb_xstrdup(d.id);
                b->lineno[i] = d.lineno;
                b->label[i] = d.soft ? -3 : d.label;   /* -3: an earlier soft label, relabelled */
            }
            pool_for(threads, (b->n + CHUNK - 1) / CHUNK, score_chunk, &j);
            for (size_t i = 0; i < b->n; i++) {
                ndocs++;
                if (b->known[i] == -2) {
                    if (tokio_write_doc_soft(out, b->label[i] == TOKIO_POS ? 1 : 0, b->id[i], b->text[i],
                                             b->len[i], &e) < 0)
                        goto fail;
                    continue;
                }
                nrel++;
                nknown += b->known[i] == 1;
                ninfer += b->known[i] == 0;
                if (require && b->known[i] != 1) {
                    imdb_fail(&e, IMDB_EXIT_DATA, "%s:%ld: document %s has no learned vector in the teacher "
                              "(it would be inferred%s); --require-learned needs a teacher whose pool "
                              "held this stream's text", tokio_name(r), b->lineno[i], b->id[i],
                              b->known[i] < 0 ? ": the teacher keeps no document vectors" : "");
                    goto fail;
                }
                if (tokio_write_doc_soft(out, b->prob[i], b->id[i], b->text[i], b->len[i], &e) < 0) goto fail;
            }
        }
        tokio_close(r);
        r = NULL;
    }
    if (!header && tokio_write_header_soft(out, clf_clean(model), &e) < 0) goto fail;
    int rc = outfile_commit(out, &e);
    out = NULL;
    if (rc < 0) goto fail;
    if (cli_verbose >= 0)
        cli_msg("%zu documents, %zu relabelled: %zu from learned document vectors, %zu inferred",
                ndocs, nrel, nknown, ninfer);
    for (size_t i = 0; i < b->n; i++) { free(b->text[i]); free(b->id[i]); }
    for (int t = 0; t < threads; t++) { free(scratch[t]); free(j.toks[t]); }
    free(b);
    free(header);
    clf_free(model);
    return IMDB_EXIT_OK;

fail:
    tokio_close(r);
    outfile_abort(out);
    for (size_t i = 0; i < b->n; i++) { free(b->text[i]); free(b->id[i]); }
    for (int t = 0; t < threads; t++) { free(scratch[t]); free(j.toks[t]); }
    free(b);
    free(header);
    clf_free(model);
    cli_die(&e);
}
