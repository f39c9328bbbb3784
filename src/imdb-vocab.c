/* imdb-vocab — count tokens and n-grams of token streams into a vocabulary, or merge
 * vocabularies counted on separate shards (map-reduce). See imdb-vocab(1) and (5).
 *
 * The cleaning settings of every input are checked to be the same (a vocabulary mixing
 * differently cleaned text would silently mismatch at prediction time) and recorded in
 * the #clean line. Pruning happens only when writing, so shards should be counted
 * without it; a merged shard that looks pruned draws a warning. */
#include "cli.h"
#include "outfile.h"
#include "progress.h"
#include "text.h"
#include "tokio.h"
#include "util.h"
#include "vocab.h"

#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
    printf(
"Usage: %s [OPTION]... [FILE]...\n"
"Count the tokens and n-grams of token streams (from imdb-clean) into a vocabulary:\n"
"one line per n-gram with its count and document frequency, most frequent first.\n"
"With --merge, sum vocabularies counted separately instead.\n"
"With no FILE, or when FILE is -, read standard input. gzip input is detected.\n"
"\n"
"  -n, --ngrams=N        count 1- to N-grams, N from 1 to %d (default: 3)\n"
"  -m, --min-count=N     keep n-grams counted at least N times (default: 1)\n"
"  -d, --min-df=N        keep n-grams found in at least N documents (default: 1)\n"
"  -s, --max-size=N      keep at most the N first n-grams in order (default: 0,\n"
"                        no limit)\n"
"  -M, --merge           FILEs are vocabularies (from imdb-vocab) to sum, not\n"
"                        token streams\n"
"  -S, --memory=SIZE     count in about SIZE bytes of memory (suffix K, M, G or\n"
"                        T: powers of 1024), spilling sorted partial counts to\n"
"                        --tmpdir and merging them (default: no limit); at\n"
"                        least %zuK\n"
"  -T, --tmpdir=DIR      directory for the spill files (default: $TMPDIR, else\n"
"                        /tmp)\n"
"  -o, --output=FILE     write to FILE, atomically; gzip if FILE ends in .gz\n"
"                        (default: standard output)\n"
"      --gzip-level=N    gzip level of a .gz output, 1 (fast) to 9 (small)\n"
"                        (default: 1)\n"
"  -q, --quiet           no warnings or progress\n"
"  -v, --verbose         report counts and timing\n"
"      --help            display this help and exit\n"
"      --version         output version information and exit\n"
"\n"
"Order: count descending, then document frequency descending, then bytes.\n"
"Shards to be merged should be counted without --min-count, --min-df and\n"
"--max-size: prune when merging (counts below a threshold on every shard can\n"
"add up to more than it).\n"
"Exit status: 0 ok, 1 bad or inconsistent input, 2 usage error, 4 I/O error,\n"
"5 internal error.\n",
        cli_prog, VOCAB_MAX_NGRAMS, (vocab_memory_min() + 1023) >> 10);
    exit(IMDB_EXIT_OK);
}

static int settings_mismatch(imdb_err *e, const char *name, const char *mine, const char *first_name,
                             const char *first)
{
    return imdb_fail(e, IMDB_EXIT_DATA,
                     "%s: cleaned with other settings than %s (%.300s; %s has %.300s): "
                     "use inputs cleaned with the same imdb-clean options",
                     name, first_name, mine ? mine : "no #imdb-tokens header", first_name,
                     first ? first : "no #imdb-tokens header");
}

static const char *display_name(const char *path)
{
    return strcmp(path, "-") == 0 ? "(standard input)" : path;
}

/* Count token streams into v; 0 or -1 with e filled. */
static int count_streams(vocab *v, const char *const *inputs, size_t ninputs, imdb_err *e)
{
    tokio_reader *r = NULL;
    char **toks = NULL, *first = NULL, *first_name = NULL;
    size_t cap = 0;
    int rc = -1;
    progress *prog = progress_new("counting", 0, "docs");
    for (size_t f = 0; f < ninputs; f++) {
        if (!(r = tokio_open(inputs[f], e))) goto fail;
        char *settings = text_settings_canonical(tokio_settings(r));
        if (f == 0) {
            first = settings;
            first_name = imdb_xstrdup(tokio_name(r));
            vocab_set_clean(v, first);
        } else {
            int same = text_settings_same(settings, first);
            if (!same) settings_mismatch(e, tokio_name(r), settings, first_name, first);
            free(settings);
            if (!same) goto fail;
        }
        uint64_t docs0 = vocab_docs(v), tokens0 = vocab_tokens(v);
        tokio_doc d;
        int got;
        while ((got = tokio_next(r, &d, e)) > 0) {
            size_t ntok = tokio_split(d.text, d.text_len, &toks, &cap);
            vocab_add_doc(v, (const char *const *)toks, ntok);
            if (vocab_status(v, e) < 0) {
                if (e->status == IMDB_EXIT_IO) goto fail;   /* spilling: not the input's fault */
                char msg[sizeof e->msg];
                snprintf(msg, sizeof msg, "%s:%ld: %s", tokio_name(r), d.lineno, e->msg);
                memcpy(e->msg, msg, sizeof msg);
                goto fail;
            }
            progress_update(prog, vocab_docs(v));
        }
        if (got < 0) goto fail;
        if (cli_verbose > 0) {
            progress_end(prog);
            prog = NULL;
            cli_msg("%s: %llu documents, %llu tokens", tokio_name(r),
                    (unsigned long long)(vocab_docs(v) - docs0),
                    (unsigned long long)(vocab_tokens(v) - tokens0));
            prog = progress_new("counting", 0, "docs");
        }
        tokio_close(r);
        r = NULL;
    }
    rc = 0;
fail:
    progress_end(prog);
    tokio_close(r);
    free(toks);
    free(first);
    free(first_name);
    return rc;
}

/* A vocabulary is unpruned iff its unigram counts add up to its token total. */
static void warn_if_pruned(const char *name, uint64_t unigrams, uint64_t tokens)
{
    if (unigrams != tokens && cli_verbose >= 0)
        cli_msg("warning: %s looks pruned (its unigrams count %llu of %llu tokens): merged counts "
                "are lower bounds; count shards without --min-count/--max-size and prune when "
                "merging", name, (unsigned long long)unigrams, (unsigned long long)tokens);
}

/* Read and sum vocabularies into sum, made by vocab_new(0): each file is added line by
 * line (vocab_read_merge), so memory stays that of the sum, or within its budget.
 * 0 or -1 with e filled. */
static int merge_files(vocab *sum, int ngrams, const char *const *inputs, size_t ninputs,
                       imdb_err *e)
{
    for (size_t f = 0; f < ninputs; f++) {
        const char *name = display_name(inputs[f]);
        vocab_info info;
        if (vocab_read_merge(sum, inputs[f], &info, e) < 0) return -1;
        if (f == 0 && ngrams && vocab_maxn(sum) != ngrams)
            return imdb_fail(e, IMDB_EXIT_DATA, "%s: vocabulary of ngrams=%d, but --ngrams=%d",
                             name, vocab_maxn(sum), ngrams);
        warn_if_pruned(name, info.unigrams, info.tokens);
        if (cli_verbose > 0)
            cli_msg("%s: %zu n-grams, %llu documents, %llu tokens", name, info.entries,
                    (unsigned long long)info.docs, (unsigned long long)info.tokens);
    }
    return 0;
}

/* --memory SIZE (cli_size): at least min bytes, else a usage error saying how much is
 * needed. */
static size_t parse_memory(const char *arg, size_t min)
{
    size_t bytes = cli_size("--memory", arg, 0);
    if (bytes < min)
        cli_usage_error("--memory %s is too small: imdb-vocab needs at least %zu bytes "
                        "(--memory %zuK) for its merge buffers and a minimal table",
                        arg, min, (min + 1023) >> 10);
    return bytes;
}

int main(int argc, char **argv)
{
    cli_init("imdb-vocab");
    enum { OPT_GZIP_LEVEL = 256, OPT_HELP, OPT_VERSION };
    static const struct option opts[] = {
        {"ngrams", required_argument, NULL, 'n'},
        {"min-count", required_argument, NULL, 'm'},
        {"min-df", required_argument, NULL, 'd'},
        {"max-size", required_argument, NULL, 's'},
        {"merge", no_argument, NULL, 'M'},
        {"memory", required_argument, NULL, 'S'},
        {"tmpdir", required_argument, NULL, 'T'},
        {"output", required_argument, NULL, 'o'},
        {"gzip-level", required_argument, NULL, OPT_GZIP_LEVEL},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    const char *output = "-", *tmpdir = getenv("TMPDIR");
    size_t memory = 0;
    int ngrams = 0, merge = 0;
    long min_count = 1, min_df = 1, max_size = 0, gzip_level = 1;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":n:m:d:s:MS:T:o:qv", opts, NULL)) != -1) {
        switch (c) {
        case 'n': ngrams = (int)cli_long("--ngrams", optarg, 1, VOCAB_MAX_NGRAMS); break;
        case 'm': min_count = cli_long("--min-count", optarg, 1, LONG_MAX); break;
        case 'd': min_df = cli_long("--min-df", optarg, 1, LONG_MAX); break;
        case 's': max_size = cli_long("--max-size", optarg, 0, LONG_MAX); break;
        case 'M': merge = 1; break;
        case 'S': memory = parse_memory(optarg, vocab_memory_min()); break;
        case 'T': tmpdir = optarg; break;
        case 'o': output = optarg; break;
        case OPT_GZIP_LEVEL: gzip_level = cli_long("--gzip-level", optarg, 1, 9); break;
        case 'q': cli_verbose = -1; break;
        case 'v': cli_verbose++; break;
        case OPT_HELP: usage();
        case OPT_VERSION: cli_version();
        default: cli_bad_option(argv, c);
        }
    }
    const char *stdin_only[] = {"-"};
    const char *const *inputs = optind < argc ? (const char *const *)argv + optind : stdin_only;
    size_t ninputs = optind < argc ? (size_t)(argc - optind) : 1;

    imdb_err e = {0, ""};
    vocab *v = NULL;
    /* Open the output first: a bad path fails before the work, not after. */
    size_t olen = strlen(output);
    int gz = olen > 3 && strcmp(output + olen - 3, ".gz") == 0 ? (int)gzip_level : 0;
    outfile *out = outfile_open(output, gz, &e);
    if (!out) goto fail;

    double t0 = imdb_now();
    v = vocab_new(merge ? 0 : ngrams ? ngrams : 3);
    if (memory && vocab_set_memory(v, memory, tmpdir, &e) < 0) goto fail;
    if (merge) {
        if (merge_files(v, ngrams, inputs, ninputs, &e) < 0) goto fail;
    } else {
        if (count_streams(v, inputs, ninputs, &e) < 0) goto fail;
    }
    double t1 = imdb_now();
    vocab_stats st;
    if (vocab_finish_write(v, (uint64_t)min_count, (uint64_t)min_df, (size_t)max_size, out, &st,
                           &e) < 0)
        goto fail;
    double t2 = imdb_now();
    int rc = outfile_commit(out, &e);
    out = NULL;
    if (rc < 0) goto fail;
    if (cli_verbose > 0) {
        cli_msg("%llu documents, %llu tokens, %llu distinct n-grams, %llu kept; "
                "%s %.2f s, sort and write %.2f s, commit %.2f s",
                (unsigned long long)vocab_docs(v), (unsigned long long)vocab_tokens(v),
                (unsigned long long)st.distinct, (unsigned long long)st.kept,
                merge ? "merge" : "count", t1 - t0, t2 - t1, imdb_now() - t2);
        if (memory)
            cli_msg("memory %zu bytes: %llu spills, %.1f MB written to spill files in %s",
                    memory, (unsigned long long)st.spills, st.spilled_bytes / 1e6,
                    tmpdir && *tmpdir ? tmpdir : "/tmp");
    }
    vocab_free(v);
    return IMDB_EXIT_OK;

fail:
    outfile_abort(out);
    vocab_free(v);
    cli_die(&e);
}
