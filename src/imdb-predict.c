/* imdb-predict — classify reviews, one per input line: "LABEL<TAB>P(pos)" (or JSON lines)
 * per line, in order, whatever the bytes of the line; with a terminal on stdin, an
 * interactive prompt (predict-prompt.c). See imdb-predict(1). This file reads the input
 * (lines or token streams, --id-field, --shard) into batches, bounded in lines and bytes;
 * the score module (score.h) scores and formats them in order on the worker threads. */
#include "cli.h"
#include "clf.h"
#include "lineio.h"
#include "predict-prompt.h"
#include "score.h"
#include "shard.h"
#include "text.h"
#include "tokio.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXPLAIN_DEFAULT 5

__attribute__((noreturn)) static void usage(void)
{
    printf(
"Usage: %s [OPTION]... -m MODEL [FILE]...\n"
"  or:  %s [OPTION]... MODEL [FILE]...\n"
"Classify reviews with MODEL (from imdb-train), one review per line of FILE\n"
"(gzip or plain), and print one line per input line, in order:\n"
"LABEL<TAB>PROBABILITY, where LABEL is pos or neg and PROBABILITY is P(pos)\n"
"with six decimals. With no FILE, or when FILE is -, read standard input;\n"
"when standard input is a terminal and there is no FILE, run an interactive prompt.\n"
"\n"
"  -m, --model=FILE         the model file (without -m: the first operand)\n"
"      --json               print JSON lines: {\"id\":..,\"label\":..,\"probability\":..}\n"
"      --tokens             read token streams (imdb-clean output) instead of text;\n"
"                           the id is the document id from the stream\n"
"      --id-field           each line is ID<TAB>TEXT; print ID<TAB>LABEL<TAB>P (with\n"
"                           --tokens: print the stream's document id first)\n"
"      --shard=K/N          score only shard K of N (0 <= K < N), chosen by a hash\n"
"                           of the id (of the line number without --id-field), as\n"
"                           imdb-clean --shard does; lines start with their id\n"
"  -t, --threshold=X        label pos when P(pos) >= X (default: 0.5, or the\n"
"                           threshold the model stores: imdb-train -o threshold)\n"
"  -e, --explain[=K]        add the K n-grams that weighed most (default K: %d)\n"
"  -j, --threads=N          worker threads (default: number of cores, %ld here);\n"
"                           the output order is the input order for every N\n"
"  -i, --interactive        run the interactive prompt even if stdin is no terminal\n"
"      --no-interactive     never run the interactive prompt\n"
"      --info               print what the model file holds (kind, cleaning and\n"
"                           training settings) and exit\n"
"  -q, --quiet              no warnings\n"
"  -v, --verbose            report model load time, throughput and the serial\n"
"                           stage's share of the CPU time\n"
"      --help               display this help and exit\n"
"      --version            output version information and exit\n"
"\n"
"Exit status: 0 ok, 1 bad data or model file, 2 usage error, 4 I/O error.\n",
        cli_prog, cli_prog, EXPLAIN_DEFAULT, sysconf(_SC_NPROCESSORS_ONLN));
    exit(IMDB_EXIT_OK);
}

typedef struct opts {
    const clf *model;
    int tokens, explain_k, multi_file;
    int id_field;    /* --id-field: text lines are ID<TAB>TEXT */
    shard sh;        /* --shard; sh.n == 0 keeps every line */
    score_format fmt;
} opts;

static int write_error(imdb_err *e)
{
    return imdb_fail(e, IMDB_EXIT_IO, "write error: standard output: %s", strerror(errno));
}

/* Score and format the batch on the pool's threads, then write it to stdout in order. */
static int run_batch(score_batch *b, score_pool *pool, const opts *o, imdb_err *e)
{
    if (score_batch_count(b) == 0) return 0;
    if (score_batch_run(b, pool, &o->fmt, o->explain_k, e) < 0) return -1;
    size_t n;
    const buf *out = score_batch_output(b, &n);
    for (size_t c = 0; c < n; c++)
        if (fwrite(out[c].p, 1, out[c].len, stdout) != out[c].len) break;
    return ferror(stdout) ? write_error(e) : 0;
}

/* Read every operand into batches and print the predictions. */
static int run_files(char *const *files, size_t nfiles, score_pool *pool, const opts *o,
                     size_t *count, imdb_err *e)
{
    score_batch *b = score_batch_new(e);
    lineio *in = NULL;
    tokio_reader *tr = NULL;
    int rc = -1;
    unsigned long no_tab_warned = 0;
    if (!b) return -1;
    for (size_t f = 0; f < nfiles; f++) {
        if (o->tokens) {
            if (!(tr = tokio_open(files[f], e))) goto done;
            /* Warn (once per stream) when it was cleaned unlike the model's training data. */
            imdb_err w;
            if (text_settings_check(tokio_name(tr), tokio_settings(tr), clf_clean(o->model), &w) < 0
                && cli_verbose >= 0)
                cli_msg("warning: %s", w.msg);
        } else if (!(in = lineio_open(files[f], e))) {
            goto done;
        }
        for (;;) {
            char *text;
            size_t len, id_len = 0;
            const char *id = NULL;
            long lineno;
            int got;
            if (o->tokens) {
                tokio_doc d;
                if ((got = tokio_next(tr, &d, e)) > 0) {
                    text = d.text, len = d.text_len, lineno = d.lineno;
                    id = d.id, id_len = strlen(d.id);
                }
            } else {
                /* Answer what we have before waiting for more input (a pipe or a coprocess). */
                if (score_batch_count(b) && !lineio_ready(in) &&
                    (run_batch(b, pool, o, e) < 0 || (fflush(stdout) != 0 && write_error(e) < 0)))
                    goto done;
                got = lineio_next(in, &text, &len, e);
                lineno = lineio_lineno(in);
                /* A byte order mark is an encoding signature, not part of the review. */
                if (got > 0 && lineno == 1 && len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
                    text += 3;
                    len -= 3;
                }
                /* --id-field: the id is what precedes the first TAB; a line without one
                 * keeps its place with an empty id (one output line per input line). */
                if (got > 0 && o->id_field) {
                    char *tab = memchr(text, '\t', len);
                    id = text;
                    id_len = tab ? (size_t)(tab - text) : 0;
                    if (tab) {
                        len -= id_len + 1;
                        text = tab + 1;
                    } else if (!no_tab_warned++ && cli_verbose >= 0) {
                        cli_msg("warning: %s:%ld: no TAB after an id (--id-field): the id is "
                                "empty and the whole line is the text", lineio_name(in), lineno);
                    }
                }
            }
            if (got < 0) goto done;
            if (got == 0) break;
            if (o->sh.n && !(id ? shard_keep(&o->sh, id, id_len) : shard_keep_line(&o->sh, lineno)))
                continue;
            if (score_batch_add(b, text, len, id, id_len, lineno, o->multi_file ? files[f] : NULL, e) < 0)
                goto done;
            (*count)++;
            if (score_batch_full(b) && run_batch(b, pool, o, e) < 0) goto done;
        }
        lineio_close(in), tokio_close(tr);
        in = NULL, tr = NULL;
    }
    if (run_batch(b, pool, o, e) < 0) goto done;
    rc = 0;
done:
    lineio_close(in);
    tokio_close(tr);
    score_batch_free(b);
    return rc;
}

int main(int argc, char **argv)
{
    cli_init("imdb-predict");
    enum { OPT_JSON = 256, OPT_TOKENS, OPT_ID_FIELD, OPT_SHARD, OPT_NO_INTERACTIVE, OPT_INFO, OPT_VERIFY, OPT_HELP, OPT_VERSION };
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},
        {"json", no_argument, NULL, OPT_JSON},
        {"tokens", no_argument, NULL, OPT_TOKENS},
        {"id-field", no_argument, NULL, OPT_ID_FIELD},
        {"shard", required_argument, NULL, OPT_SHARD},
        {"threshold", required_argument, NULL, 't'},
        {"explain", optional_argument, NULL, 'e'},
        {"threads", required_argument, NULL, 'j'},
        {"interactive", no_argument, NULL, 'i'},
        {"no-interactive", no_argument, NULL, OPT_NO_INTERACTIVE},
        {"info", no_argument, NULL, OPT_INFO},
        {"verify", no_argument, NULL, OPT_VERIFY},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    opts o = {.fmt = {.style = JSON_PREDICT, .threshold = -1}};   /* -1: the model's */
    int interactive = -1;   /* -1: if stdin is a terminal and there are no operands */
    int info = 0, verify = 0;
    const char *model_path = NULL;
    long nthreads = sysconf(_SC_NPROCESSORS_ONLN);
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":m:t:e::j:iqv", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case OPT_JSON: o.fmt.json = 1; break;
        case OPT_TOKENS: o.tokens = 1; break;
        case OPT_ID_FIELD: o.id_field = 1; break;
        case OPT_SHARD: {
            imdb_err se = {0, ""};
            if (shard_parse(optarg, &o.sh, &se) < 0) cli_usage_error("%s", se.msg);
            break;
        }
        case 't': o.fmt.threshold = cli_double("--threshold", optarg, 0, 1); break;
        case 'e': o.explain_k = optarg ? (int)cli_long("--explain", optarg, 1, 1000) : EXPLAIN_DEFAULT; break;
        case 'j': nthreads = cli_long("--threads", optarg, 1, 256); break;
        case 'i': interactive = 1; break;
        case OPT_NO_INTERACTIVE: interactive = 0; break;
        case OPT_INFO: info = 1; break;
        case OPT_VERIFY: verify = 1; break;
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
    static char dash[] = "-";
    static char *stdin_only[] = {dash};
    char *const *files = optind < argc ? argv + optind : stdin_only;
    size_t nfiles = optind < argc ? (size_t)(argc - optind) : 1;
    if (interactive == 1 && optind < argc) cli_usage_error("--interactive reads standard input: no FILE operands");
    if (interactive == 1 && o.tokens) cli_usage_error("--interactive reads text, not --tokens");
    if (interactive == 1 && (o.id_field || o.sh.n))
        cli_usage_error("--interactive reads one review a line: no --id-field or --shard");
    o.fmt.id_out = o.id_field || o.sh.n;   /* TSV lines start with the id */
    o.fmt.explain = o.explain_k > 0;
    if (o.tokens) o.id_field = 0;   /* the stream has its own ids */
    if (interactive == -1)
        interactive = optind >= argc && !o.tokens && !o.fmt.id_out && isatty(STDIN_FILENO);
    o.multi_file = nfiles > 1;

    imdb_err e = {0, ""};
    score_pool *pool = NULL;
    size_t count = 0;
    /* Lazily: the head and small sections checked now, the big tables chunk by chunk as
     * reviews reach them (a cold start costs what one review costs); a NaN result is a
     * corrupt chunk, which score_damaged reports. */
    clf *model = clf_load_lazy(model_path, &e);
    if (!model) goto fail;
    o.model = model;
    if (o.fmt.threshold < 0) o.fmt.threshold = clf_threshold(model);   /* an explicit --threshold wins */
    if (verify) {
        if (clf_verify(model, &e) < 0) goto fail;
        printf("%s: ok\n", model_path);
        if (fflush(stdout) != 0 && write_error(&e) < 0) goto fail;
        clf_free(model);
        return IMDB_EXIT_OK;
    }
    if (info) {
        printf("model: %s\nkind: %s\nload_seconds: %.4f\nclean: %s\nparams:\n", model_path,
               clf_kind(model), clf_load_seconds(model), clf_clean(model));
        for (const char *p = clf_params(model); *p; ) {
            size_t n = strcspn(p, "\n");
            printf("  %.*s\n", (int)n, p);
            p += n + (p[n] == '\n');
        }
        clf_free(model);
        return IMDB_EXIT_OK;
    }
    if (o.explain_k && !clf_can_explain(model)) {
        imdb_fail(&e, IMDB_EXIT_USAGE, "%s: the model (kind %s) cannot explain its predictions (drop --explain)",
                  model_path, clf_kind(model));
        goto fail;
    }
    if (cli_verbose > 0)
        cli_msg("%s: %s model loaded in %.3f s", model_path, clf_kind(model), clf_load_seconds(model));
    if (!(pool = score_pool_new(model, o.tokens ? SCORE_TOKENS : SCORE_TEXT, o.explain_k,
                                interactive ? 1 : (int)nthreads, &e)))
        goto fail;

    double t0 = imdb_now();
    if (interactive) {
        if (prompt_run(model, score_pool_scorer(pool, 0), &o.fmt, o.explain_k, &e) < 0) goto fail;
    } else {
        static char obuf[1 << 16];
        setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
        double c0 = score_thread_cpu();
        if (run_files(files, nfiles, pool, &o, &count, &e) < 0) goto fail;
        /* The serial stage is what the main thread does outside the workers' chunks:
         * reading and inflating, batching, writing in order. */
        double serial = score_thread_cpu() - c0 - score_pool_busy(pool, 0);
        double work = serial + score_pool_busy(pool, -1);
        if (fflush(stdout) != 0 && write_error(&e) < 0) goto fail;
        double secs = imdb_now() - t0;
        if (cli_verbose > 0) {
            cli_msg("%zu reviews in %.3f s (%.0f reviews/s, %ld thread%s)", count, secs,
                    secs > 0 ? (double)count / secs : 0.0, nthreads, nthreads == 1 ? "" : "s");
            cli_msg("serial stage (read, batch, write): %.3f s CPU, %.1f%% of %.3f s of CPU work",
                    serial, work > 0 ? 100 * serial / work : 0.0, work);
        }
    }
    score_pool_free(pool);
    clf_free(model);
    return IMDB_EXIT_OK;

fail:
    score_pool_free(pool);
    if (model) clf_free(model);
    cli_die(&e);
}
