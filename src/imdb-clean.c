/* imdb-clean — raw reviews in, token stream (imdb-tokens(5)) out. See imdb-clean(1).
 *
 * Reads each INPUT in turn through rawin_ (aclImdb tarball or directory, CSV, TSV, text
 * lines; tables by column through table_ when a column or label option is given),
 * keeps the documents of its --shard and --split-by-hash part (shard_), cleans and tokenizes every document with text_ and writes it with tokio_. The
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
"  -f, --format=FMT    auto, tar, dir, csv, tsv, lines or jsonl (default: auto,\n"
"                      by name: a directory is an extracted aclImdb; *.tar.gz,\n"
"                      *.tgz, *.tar the aclImdb tarball; *.csv[.gz] CSV with a\n"
"                      review,sentiment header; *.tsv[.gz] LABEL<TAB>TEXT, or\n"
"                      LABEL<TAB>ID<TAB>TEXT after a first line\n"
"                      label<TAB>id<TAB>text; *.jsonl[.gz], *.ndjson[.gz] JSON\n"
"                      lines, one object a line; anything else one review a line)\n"
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
"      --split-by-hash=PARTS  split the input into named parts by weight, e.g.\n"
"                      fit=80,valid=10,test=10, by a hash of each document's id\n"
"                      (of its text when it has no id), and keep the one --part\n"
"                      names: the parts are disjoint, cover the input and never\n"
"                      change (default: no split)\n"
"      --part=NAME     the part of --split-by-hash to keep\n"
"\n"
"Tables by column (CSV and TSV with a header naming the columns, JSON lines):\n"
"      --text-column=NAME   the column of the text (default: text, else review)\n"
"      --label-column=NAME  the column of the label (default: label, else\n"
"                      sentiment, else every row unlabelled)\n"
"      --id-column=NAME     the column of the id (default: id, else the line\n"
"                      number)\n"
"      --labels=MAP    which values are which label: CLASS=VALUE,...;... with\n"
"                      CLASS pos, neg or - (unlabelled), e.g.\n"
"                      'pos=1,yes,positive;neg=0,no' (default:\n"
"                      'pos=positive,pos,1;neg=negative,neg,0;-=-'; ASCII case and\n"
"                      spaces ignored, numbers by value)\n"
"      --rating-threshold=POS_MIN:NEG_MAX  a numeric label column: >= POS_MIN pos,\n"
"                      <= NEG_MAX neg, the rows between dropped and counted\n"
"                      (IMDB's own rule: 7:4)\n"
"      --drop-unknown  drop and count rows whose label the map does not know\n"
"                      (default: an error)\n"
"                      Any of these options reads CSV, TSV and JSON lines input as\n"
"                      a table; JSON lines are always read so.\n"
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
"Exit status: 0 ok, 1 bad input data (malformed CSV or JSON, unknown label, a\n"
"missing column, a row with another number of fields than the header, TSV line\n"
"without TAB or with an empty ID, truncated archive), 2 usage error, 4 I/O\n"
"error (missing file, write error).\n",
        cli_prog, TEXT_DEFAULT_PATTERN);
    exit(IMDB_EXIT_OK);
}

/* zlib level 1 deflates the token stream at ~100 MB/s to about 44% of its size; level 6
 * saves another 7% at five times the cost and would dominate the run time. */
#define GZIP_LEVEL 1

enum { OPT_MOVIE_SPLIT = 200, OPT_PATTERN = 256, OPT_NO_HTML, OPT_NO_NFKC, OPT_NO_CASEFOLD, OPT_SHARD, OPT_HELP, OPT_VERSION,
       OPT_TEXT_COL, OPT_LABEL_COL, OPT_ID_COL, OPT_LABELS, OPT_RATING, OPT_DROP_UNKNOWN,
       OPT_SPLIT_HASH, OPT_PART };

/* What the label rule dropped from one input, on stderr (unless -q). */
static void report_dropped(const char *input, const table_stats *st, const char *rating)
{
    if (cli_verbose < 0) return;
    if (st->dropped_between) {
        const char *colon = strchr(rating, ':');
        cli_msg("%s: dropped %lu row%s rated above %s and below %.*s (--rating-threshold %s)",
                input, st->dropped_between, st->dropped_between == 1 ? "" : "s", colon + 1,
                (int)(colon - rating), rating, rating);
    }
    if (st->dropped_unknown)
        cli_msg("%s: dropped %lu row%s with an unknown label (--drop-unknown; the first on line "
                "%ld: '%s')", input, st->dropped_unknown, st->dropped_unknown == 1 ? "" : "s",
                st->first_unknown_line, st->first_unknown);
}

int main(int argc, char **argv)
{
    cli_init("imdb-clean");
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"split", required_argument, NULL, 's'},
        {"shard", required_argument, NULL, OPT_SHARD},
        {"movie-split", required_argument, NULL, OPT_MOVIE_SPLIT},
        {"split-by-hash", required_argument, NULL, OPT_SPLIT_HASH},
        {"part", required_argument, NULL, OPT_PART},
        {"text-column", required_argument, NULL, OPT_TEXT_COL},
        {"label-column", required_argument, NULL, OPT_LABEL_COL},
        {"id-column", required_argument, NULL, OPT_ID_COL},
        {"labels", required_argument, NULL, OPT_LABELS},
        {"rating-threshold", required_argument, NULL, OPT_RATING},
        {"drop-unknown", no_argument, NULL, OPT_DROP_UNKNOWN},
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
    shard_split sp;
    memset(&sp, 0, sizeof sp);
    const char *split_spec = NULL, *part = NULL, *labels_spec = NULL, *rating_spec = NULL;
    table_spec tspec = {NULL, NULL, NULL, NULL, 0};
    int by_column = 0;   /* a table option was given */
    imdb_err e = {0, ""};
    text_settings ts;
    text_settings_default(&ts);
    int c;
    while ((c = getopt_long(argc, argv, ":f:s:o:zqv", opts, NULL)) != -1) {
        switch (c) {
        case 'f': {
            int f = rawin_parse_format(optarg);
            if (f < 0)
                cli_usage_error("invalid format '%s' (expected auto, tar, dir, csv, tsv, lines or jsonl)",
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
        case OPT_SPLIT_HASH: split_spec = optarg; break;
        case OPT_PART: part = optarg; break;
        case OPT_TEXT_COL: tspec.text_col = optarg; by_column = 1; break;
        case OPT_LABEL_COL: tspec.label_col = optarg; by_column = 1; break;
        case OPT_ID_COL: tspec.id_col = optarg; by_column = 1; break;
        case OPT_LABELS: labels_spec = optarg; by_column = 1; break;
        case OPT_RATING: rating_spec = optarg; by_column = 1; break;
        case OPT_DROP_UNKNOWN: tspec.drop_unknown = 1; by_column = 1; break;
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
    if (split_spec && !part) cli_usage_error("--split-by-hash needs --part NAME: the part to keep");
    if (part && !split_spec) cli_usage_error("--part needs --split-by-hash");
    if (split_spec && shard_split_parse(split_spec, part, &sp, &e) < 0)
        cli_usage_error("--split-by-hash: %s", e.msg);
    if (labels_spec && rating_spec) cli_usage_error("--labels and --rating-threshold exclude each other");
    table_labels *rule = NULL;
    if (labels_spec && !(rule = table_labels_map(labels_spec, &e))) cli_usage_error("--labels: %s", e.msg);
    if (rating_spec && !(rule = table_labels_rating(rating_spec, &e)))
        cli_usage_error("--rating-threshold: %s", e.msg);
    tspec.labels = rule;
    const table_spec *spec = by_column ? &tspec : NULL;
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
        rawin *probe = rawin_open_table(inputs[i], fmt, split, spec, &e);
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
    unsigned long ndocs = 0, nlab[3] = {0, 0, 0}, ndropped = 0;
    unsigned long long nbytes = 0, ntoks = 0;
    double t0 = imdb_now();
    for (int i = 0; i < ninputs; i++) {
        in = held[i] ? held[i] : rawin_open_table(inputs[i], fmt, split, spec, &e);
        held[i] = NULL;
        if (!in) goto fail;
        rawin_doc d;
        int rc;
        while ((rc = rawin_next(in, &d, &e)) > 0) {
            if (!shard_keep(&sh, d.id, strlen(d.id))) continue;
            if (sp.nparts && !(d.has_id ? shard_split_keep(&sp, d.id, strlen(d.id))
                                        : shard_split_keep(&sp, d.text, d.len)))
                continue;
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
        table_stats st;
        if (rawin_table_stats(in, &st)) {
            report_dropped(strcmp(inputs[i], "-") == 0 ? "(standard input)" : inputs[i], &st,
                           rating_spec);
            ndropped += st.dropped_between + st.dropped_unknown;
        }
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
        if (spec) cli_msg("%lu row%s dropped by the label rule", ndropped, ndropped == 1 ? "" : "s");
    }
    free(settings);
    movies_free(mv);
    table_labels_free(rule);
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
    table_labels_free(rule);
    text_cleaner_free(tc);
    text_settings_free(&ts);
    cli_die(&e);
}
