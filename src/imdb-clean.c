/* imdb-clean — raw reviews in, token stream (imdb-tokens(5)) out. See imdb-clean(1).
 *
 * Reads each INPUT in turn through rawin_ (aclImdb tarball or directory, CSV, TSV, text
 * lines), cleans and tokenizes every document with text_ and writes it with tokio_. The
 * output is complete or absent: -o goes through outfile_, which renames a finished
 * temporary file into place and removes it on any error. */
#include "cli.h"
#include "movies.h"
#include "outfile.h"
#include "progress.h"
#include "rawin.h"
#include "shard.h"
#include "text.h"
#include "tokio.h"
#include "util.h"

#include <getopt.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
    printf(
"Usage: %s [OPTION]... [INPUT]...\n"
"Clean raw movie reviews and write them as a token stream, one document a\n"
"line: LABEL<TAB>ID<TAB>tok tok tok (see imdb-tokens(5)), after a header line\n"
"that records the cleaning settings. Several INPUTs are concatenated. With no\n"
"INPUT, or when INPUT is -, read standard input (as text lines unless --format\n"
"says otherwise).\n"
"\n"
"Input:\n"
"  -f, --format=FMT    auto, tar, dir, csv, tsv or lines (default: auto, by\n"
"                      name: a directory is an extracted aclImdb; *.tar.gz,\n"
"                      *.tgz, *.tar the aclImdb tarball; *.csv[.gz] CSV with a\n"
"                      review,sentiment header; *.tsv[.gz] LABEL<TAB>TEXT, or\n"
"                      LABEL<TAB>ID<TAB>TEXT after a first line\n"
"                      label<TAB>id<TAB>text; anything else one review a line)\n"
"  -s, --split=SPLIT   aclImdb only: train (train/pos, train/neg), test\n"
"                      (test/pos, test/neg) or unsup (train/unsup)\n"
"                      (default: all five directories)\n"
"      --shard=K/N     keep only shard K of N (0 <= K < N): the documents whose\n"
"                      id hashes to K mod N (see imdb-clean(1)); N workers with\n"
"                      K = 0 .. N-1 keep disjoint parts whose union is the whole\n"
"                      (default: keep every document)\n"
"      --movie-split=PART[:F]  aclImdb train or test only: keep the reviews of\n"
"                      part PART (valid or fit) of a split by movie that puts\n"
"                      the fraction F of the movies (default: 0.2) in valid, by\n"
"                      a hash of the movie's IMDb id (SPLIT/urls_pos.txt and\n"
"                      urls_neg.txt): no movie has reviews on both sides\n"
"\n"
"Cleaning:\n"
"      --pattern=RE    PCRE2 pattern whose matches are the tokens, applied\n"
"                      after case folding (default, one line:\n"
"                      %s)\n"
"      --no-html       keep HTML tags and entities as text (default: strip\n"
"                      tags, decode entities)\n"
"      --no-nfkc       skip Unicode NFKC normalization (default: NFKC)\n"
"      --no-casefold   keep letter case (default: Unicode case folding)\n"
"\n"
"Output:\n"
"  -o, --output=FILE   write to FILE, atomically; gzip if FILE ends in .gz\n"
"                      (default: standard output, plain)\n"
"  -z, --gzip[=LEVEL]  gzip the output whatever its name, at LEVEL 1 (fastest)\n"
"                      to 9 (smallest) (default: 1, also for *.gz names)\n"
"  -q, --quiet         no progress bar\n"
"  -v, --verbose       report documents, tokens, speed, invalid UTF-8 replaced\n"
"      --help          display this help and exit\n"
"      --version       output version information and exit\n"
"\n"
"Exit status: 0 ok, 1 bad input data (malformed CSV, unknown label, TSV line\n"
"without TAB or with an empty ID, truncated archive), 2 usage error, 4 I/O\n"
"error (missing file, write error).\n",
        cli_prog, TEXT_DEFAULT_PATTERN);
    exit(IMDB_EXIT_OK);
}

/* zlib level 1 deflates the token stream at ~100 MB/s to about 44% of its size; level 6
 * saves another 7% at five times the cost and would dominate the run time. */
#define GZIP_LEVEL 1

enum { OPT_MOVIE_SPLIT = 200, OPT_PATTERN = 256, OPT_NO_HTML, OPT_NO_NFKC, OPT_NO_CASEFOLD, OPT_SHARD, OPT_HELP, OPT_VERSION };

int main(int argc, char **argv)
{
    cli_init("imdb-clean");
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"split", required_argument, NULL, 's'},
        {"shard", required_argument, NULL, OPT_SHARD},
        {"movie-split", required_argument, NULL, OPT_MOVIE_SPLIT},
        {"output", required_argument, NULL, 'o'},
        {"gzip", optional_argument, NULL, 'z'},
        {"pattern", required_argument, NULL, OPT_PATTERN},
        {"no-html", no_argument, NULL, OPT_NO_HTML},
        {"no-nfkc", no_argument, NULL, OPT_NO_NFKC},
        {"no-casefold", no_argument, NULL, OPT_NO_CASEFOLD},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    rawin_format fmt = RAWIN_AUTO;
    const char *split = NULL, *output = "-";
    int movie_part = -1;          /* --movie-split: 1 valid, 0 fit */
    double movie_fraction = 0.2;
    int gzip = -1;
    shard sh = {0, 0};
    imdb_err e = {0, ""};
    text_settings ts;
    text_settings_default(&ts);
    int c;
    while ((c = getopt_long(argc, argv, ":f:s:o:zqv", opts, NULL)) != -1) {
        switch (c) {
        case 'f': {
            int f = rawin_parse_format(optarg);
            if (f < 0)
                cli_usage_error("invalid format '%s' (expected auto, tar, dir, csv, tsv or lines)",
                                optarg);
            fmt = (rawin_format)f;
            break;
        }
        case 's':
            if (strcmp(optarg, "train") && strcmp(optarg, "test") && strcmp(optarg, "unsup"))
                cli_usage_error("invalid split '%s' (expected train, test or unsup)", optarg);
            split = optarg;
            break;
        case OPT_MOVIE_SPLIT: {
            const char *colon = strchr(optarg, ':');
            size_t pl = colon ? (size_t)(colon - optarg) : strlen(optarg);
            if (pl == 5 && strncmp(optarg, "valid", 5) == 0) movie_part = 1;
            else if (pl == 3 && strncmp(optarg, "fit", 3) == 0) movie_part = 0;
            else cli_usage_error("invalid --movie-split '%s' (expected valid or fit, then optionally :FRACTION)", optarg);
            if (colon) movie_fraction = cli_double("--movie-split", colon + 1, 0, 1);
            break;
        }
        case 'o': output = optarg; break;
        case OPT_SHARD:
            if (shard_parse(optarg, &sh, &e) < 0) cli_usage_error("%s", e.msg);
            break;
        case 'z': gzip = optarg ? (int)cli_long("--gzip", optarg, 1, 9) : GZIP_LEVEL; break;
        case OPT_PATTERN:
            if (!*optarg) cli_usage_error("the token pattern must not be empty");
            free(ts.pattern);
            ts.pattern = imdb_xstrdup(optarg);
            break;
        case OPT_NO_HTML: ts.html = 0; break;
        case OPT_NO_NFKC: ts.nfkc = 0; break;
        case OPT_NO_CASEFOLD: ts.casefold = 0; break;
        case 'q': cli_verbose = -1; break;
        case 'v': if (cli_verbose >= 0) cli_verbose++; break;
        case OPT_HELP: usage();
        case OPT_VERSION: cli_version();
        default: cli_bad_option(argv, c);
        }
    }
    static char *const stdin_only[] = {"-"};
    char *const *inputs = optind < argc ? argv + optind : stdin_only;
    int ninputs = optind < argc ? argc - optind : 1;

    text_cleaner *tc = text_cleaner_new(&ts, &e);
    if (!tc) {
        if (e.status == IMDB_EXIT_USAGE) cli_usage_error("%s", e.msg);
        cli_die(&e);
    }
    /* Open every input once before any work: a typo in the last operand, or --split on
     * a CSV, should not cost a pass over the tarball or leave a partial stdout. Inputs
     * that cannot be opened twice (standard input, a pipe, a FIFO: a second open would
     * lose what the first read, and a writer meeting no reader in between dies of
     * SIGPIPE) stay open for the pass itself. */
    rawin **held = imdb_xcalloc((size_t)ninputs, sizeof *held);
    for (int i = 0; i < ninputs; i++) {
        rawin *probe = rawin_open(inputs[i], fmt, split, &e);
        if (!probe) {
            for (int j = 0; j < i; j++) rawin_close(held[j]);
            free(held);
            text_cleaner_free(tc);
            text_settings_free(&ts);
            if (e.status == IMDB_EXIT_USAGE) cli_usage_error("%s", e.msg);
            cli_die(&e);
        }
        struct stat st;
        if (strcmp(inputs[i], "-") == 0 || stat(inputs[i], &st) < 0 ||
            !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
            held[i] = probe;
        else
            rawin_close(probe);
    }

    movies *mv = NULL;
    if (movie_part >= 0) {
        if (!split || strcmp(split, "unsup") == 0) cli_usage_error("--movie-split needs --split train or --split test");
        if (ninputs != 1) cli_usage_error("--movie-split reads one aclImdb input");
        if (!(mv = movies_load(inputs[0], split, &e))) {
            text_cleaner_free(tc);
            text_settings_free(&ts);
            cli_die(&e);
        }
    }

    if (gzip < 0 && strlen(output) > 3 && strcmp(output + strlen(output) - 3, ".gz") == 0)
        gzip = GZIP_LEVEL;
    outfile *out = outfile_open(output, gzip < 0 ? 0 : gzip, &e);
    rawin *in = NULL;
    progress *pg = NULL;
    char *settings = NULL;
    if (!out) goto fail;
    settings = text_settings_format(&ts);
    if (tokio_write_header(out, settings, &e) < 0) goto fail;

    pg = progress_new("cleaning", 0, "docs");
    unsigned long ndocs = 0, nlab[3] = {0, 0, 0};
    unsigned long long nbytes = 0, ntoks = 0;
    double t0 = imdb_now();
    for (int i = 0; i < ninputs; i++) {
        in = held[i] ? held[i] : rawin_open(inputs[i], fmt, split, &e);
        held[i] = NULL;
        if (!in) goto fail;
        rawin_doc d;
        int rc;
        while ((rc = rawin_next(in, &d, &e)) > 0) {
            if (!shard_keep(&sh, d.id, strlen(d.id))) continue;
            if (mv) {
                const char *movie = movies_of(mv, d.id);
                if (!movie) {
                    imdb_fail(&e, IMDB_EXIT_DATA, "%s: review %s has no line in %s/urls_%s.txt", inputs[i], d.id,
                              split, d.label == TOKIO_POS ? "pos" : "neg");
                    goto fail;
                }
                if (movies_valid(movie, movie_fraction) != movie_part) continue;
            }
            const char *const *toks;
            size_t n = text_tokenize(tc, d.text, d.len, &toks);
            if (tokio_write_doc(out, d.label, d.id, toks, n, &e) < 0) goto fail;
            ndocs++;
            nlab[d.label + 1]++;
            nbytes += d.len;
            ntoks += n;
            progress_update(pg, ndocs);
        }
        if (rc < 0) goto fail;
        rawin_close(in);
        in = NULL;
    }
    progress_end(pg);
    pg = NULL;
    if (outfile_commit(out, &e) < 0) {
        out = NULL;
        goto fail;
    }
    out = NULL;
    free(held);
    if (cli_verbose > 0) {
        double dt = imdb_now() - t0;
        unsigned long bad, nul;
        text_stats(tc, &bad, &nul);
        cli_msg("%lu documents (%lu pos, %lu neg, %lu unlabelled), %llu tokens, %llu bytes "
                "in %.2f s (%.1f MB/s)", ndocs, nlab[TOKIO_POS + 1], nlab[TOKIO_NEG + 1],
                nlab[TOKIO_UNLABELLED + 1], ntoks, nbytes, dt,
                dt > 0 ? (double)nbytes / 1e6 / dt : 0.0);
        cli_msg("%lu invalid UTF-8 sequence%s replaced by U+FFFD, %lu NUL byte%s", bad,
                bad == 1 ? "" : "s", nul, nul == 1 ? "" : "s");
    }
    free(settings);
    movies_free(mv);
    text_cleaner_free(tc);
    text_settings_free(&ts);
    return IMDB_EXIT_OK;

fail:
    progress_end(pg);
    rawin_close(in);
    for (int i = 0; i < ninputs; i++) rawin_close(held[i]);
    free(held);
    outfile_abort(out);
    free(settings);
    movies_free(mv);
    text_cleaner_free(tc);
    text_settings_free(&ts);
    cli_die(&e);
}
