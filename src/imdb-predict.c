/* imdb-predict — classify reviews, one per input line: "LABEL<TAB>P(pos)" (or JSON lines)
 * per line, in order, whatever the bytes of the line. With a terminal on stdin it is an
 * interactive prompt (GNU readline). See imdb-predict(1).
 *
 * Throughput: lines are read in batches (bounded in lines and bytes, so a 10 MB line
 * costs about 10 MB); worker threads take chunks of a batch, clean and tokenize with
 * their own text_cleaner, score with the shared immutable clf and format each chunk's
 * output into the chunk's own buffer; the main thread writes the chunks in order. */
#include "cli.h"
#include "clf.h"
#include "lineio.h"
#include "pool.h"
#include "shard.h"
#include "text.h"
#include "tokio.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <readline/readline.h>
#include <readline/history.h>

#define BATCH_LINES 4096
#define BATCH_BYTES (8u << 20)
#define CHUNK_LINES 64
#define NCHUNKS (BATCH_LINES / CHUNK_LINES)
#define EXPLAIN_DEFAULT 5
#define HISTORY_LINES 1000

static void usage(void) __attribute__((noreturn));
static void usage(void)
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
"  -t, --threshold=X        label pos when P(pos) >= X (default: 0.5)\n"
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

/* ---- settings shared by every worker ---- */

typedef struct opts {
    const clf *model;
    int json, tokens, explain_k, multi_file;
    int id_field;    /* --id-field: text lines are ID<TAB>TEXT */
    int id_out;      /* TSV lines start with the id (--id-field or --shard) */
    shard sh;        /* --shard; sh.n == 0 keeps every line */
    double threshold;
} opts;

/* ---- a growable output buffer ---- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_reserve(sbuf *b, size_t more)
{
    if (b->len + more <= b->cap) return;
    size_t cap = b->cap ? b->cap : 4096;
    while (b->len + more > cap) cap *= 2;
    b->p = imdb_xrealloc(b->p, cap);
    b->cap = cap;
}

static void sb_add(sbuf *b, const char *s, size_t n)
{
    sb_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    sb_reserve(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if it is invalid (overlong forms,
 * surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80) return 1;
    else if (c >= 0xC2 && c <= 0xDF) { len = 2; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; min = 0x10000; }
    else return 0;
    if (n < len) return 0;
    unsigned cp = c & (0x3F >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

/* A JSON string; invalid UTF-8 bytes become U+FFFD so the output is always valid JSON. */
static void sb_json_str(sbuf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    sb_add(b, "\"", 1);
    size_t i = 0;
    while (i < n) {
        unsigned c = u[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            sb_add(b, esc, 2);
            i++;
        } else if (c < 0x20) {
            switch (c) {
            case '\n': sb_add(b, "\\n", 2); break;
            case '\r': sb_add(b, "\\r", 2); break;
            case '\t': sb_add(b, "\\t", 2); break;
            default: sb_printf(b, "\\u%04x", c);
            }
            i++;
        } else {
            size_t l = utf8_len(u + i, n - i);
            if (l == 0) {
                sb_add(b, "\\ufffd", 6);
                i++;
            } else {
                sb_add(b, s + i, l);
                i += l;
            }
        }
    }
    sb_add(b, "\"", 1);
}

/* ---- one prediction, formatted ---- */

/* Where a line came from: its file (index into the operands) and line number, or the
 * token stream's document id. */
typedef struct origin {
    size_t file;
    long lineno;
    const char *id;        /* token streams and --id-field; NULL: the line number */
    size_t id_len;
    const char *filename;
} origin;

/* Appends tokens [c->start, c->start + c->n) joined by spaces. */
static void add_ngram(sbuf *b, const char *const *toks, const clf_contrib *c, int json)
{
    size_t start = b->len;
    for (int k = 0; k < c->n; k++) {
        if (k) sb_add(b, " ", 1);
        sb_str(b, toks[c->start + (size_t)k]);
    }
    if (json) {
        /* Re-emit the joined n-gram as a JSON string. */
        size_t n = b->len - start;
        char *tmp = imdb_xstrndup(b->p + start, n);
        b->len = start;
        sb_json_str(b, tmp, n);
        free(tmp);
    }
}

/* Format one result line (with its newline) into b. */
static void format_result(sbuf *b, const opts *o, const origin *at, double p,
                          const char *const *toks, const clf_contrib *contrib, size_t ncontrib)
{
    const char *label = p >= o->threshold ? "pos" : "neg";
    if (o->json) {
        sb_str(b, "{\"id\":");
        if (at->id) sb_json_str(b, at->id, at->id_len);
        else sb_printf(b, "%ld", at->lineno);
        if (o->multi_file) {
            sb_str(b, ",\"file\":");
            sb_json_str(b, at->filename, strlen(at->filename));
        }
        char num[32];
        size_t nl = imdb_fmt_fixed6(num, p);   /* printf's %.6f, without its cost */
        sb_str(b, ",\"label\":\"");
        sb_str(b, label);
        sb_str(b, "\",\"probability\":");
        sb_add(b, num, nl);
        if (o->explain_k) {
            sb_str(b, ",\"explain\":[");
            for (size_t i = 0; i < ncontrib; i++) {
                sb_str(b, i ? ",{\"ngram\":" : "{\"ngram\":");
                add_ngram(b, toks, &contrib[i], 1);
                sb_printf(b, ",\"weight\":%.6f}", contrib[i].weight);
            }
            sb_str(b, "]");
        }
        sb_str(b, "}\n");
    } else {
        if (o->id_out && at->id) {
            sb_add(b, at->id, at->id_len);
            sb_add(b, "	", 1);
        } else if (o->id_out) {
            sb_printf(b, "%ld	", at->lineno);
        }
        char num[32];
        size_t nl = imdb_fmt_fixed6(num, p);   /* printf's %.6f, without its cost */
        sb_add(b, label, 3);
        sb_add(b, "	", 1);
        sb_add(b, num, nl);
        if (o->explain_k) {
            sb_add(b, "\t", 1);
            for (size_t i = 0; i < ncontrib; i++) {
                if (i) sb_add(b, " ", 1);
                add_ngram(b, toks, &contrib[i], 0);
                sb_printf(b, "(%+.3f)", contrib[i].weight);
            }
        }
        sb_add(b, "\n", 1);
    }
}

/* ---- per-thread state ---- */

typedef struct worker {
    text_cleaner *cleaner;   /* raw text mode */
    char **toks;             /* token mode: tokio_split's array */
    size_t cap;
    clf_contrib *contrib;    /* (explain_k) */
    double busy;             /* CPU seconds spent in predict_chunk (for -v) */
} worker;

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Score one input: raw text (cleaned and tokenized) or a token list (split in place). */
static void predict_one(worker *w, const opts *o, char *text, size_t len, const origin *at,
                        sbuf *out)
{
    const char *const *toks;
    size_t ntok;
    if (o->tokens) {
        ntok = tokio_split(text, len, &w->toks, &w->cap);
        toks = (const char *const *)w->toks;
    } else {
        ntok = text_tokenize(w->cleaner, text, len, &toks);
    }
    double p = clf_prob(o->model, toks, ntok);
    size_t nc = o->explain_k ? clf_explain(o->model, toks, ntok, w->contrib, (size_t)o->explain_k) : 0;
    format_result(out, o, at, p, toks, w->contrib, nc);
}

/* ---- batches ---- */

typedef struct batch {
    size_t n;
    size_t off[BATCH_LINES], len[BATCH_LINES], id_off[BATCH_LINES], id_len[BATCH_LINES];
    long lineno[BATCH_LINES];
    size_t file[BATCH_LINES];
    imdb_arena arena;
    sbuf out[NCHUNKS];
} batch;

typedef struct job {
    worker *ws;
    const opts *o;
    batch *b;
    char *const *files;
} job;

/* pool_for callback: score and format lines [chunk * CHUNK_LINES, ...) into out[chunk]. */
static void predict_chunk(void *ctx, int thread, size_t c)
{
    job *j = ctx;
    batch *b = j->b;
    sbuf *out = &b->out[c];
    double t0 = thread_cpu();
    out->len = 0;
    size_t end = (c + 1) * CHUNK_LINES < b->n ? (c + 1) * CHUNK_LINES : b->n;
    for (size_t i = c * CHUNK_LINES; i < end; i++) {
        int has_id = j->o->tokens || j->o->id_field;
        origin at = {b->file[i], b->lineno[i], has_id ? b->arena.p + b->id_off[i] : NULL,
                     b->id_len[i], j->files[b->file[i]]};
        predict_one(&j->ws[thread], j->o, b->arena.p + b->off[i], b->len[i], &at, out);
    }
    j->ws[thread].busy += thread_cpu() - t0;
}

/* Score and format the batch on nthreads threads, then write it to stdout in order. */
static int run_batch(batch *b, worker *ws, int nthreads, const opts *o, char *const *files,
                     imdb_err *e)
{
    if (b->n == 0) return 0;
    size_t nchunks = (b->n + CHUNK_LINES - 1) / CHUNK_LINES;
    pool_for(nthreads, nchunks, predict_chunk, &(job){ ws, o, b, files });
    for (size_t c = 0; c < nchunks; c++)
        if (fwrite(b->out[c].p, 1, b->out[c].len, stdout) != b->out[c].len) break;
    b->n = 0;
    b->arena.used = 0;
    if (ferror(stdout))
        return imdb_fail(e, IMDB_EXIT_IO, "write error: standard output: %s", strerror(errno));
    return 0;
}

/* Warn (once per stream) when a token stream was cleaned unlike the model's training data. */
static void check_settings(const clf *model, tokio_reader *r)
{
    const char *s = tokio_settings(r), *m = clf_clean(model);
    if (!s || !m || cli_verbose < 0) return;
    char *cs = text_settings_canonical(s), *cm = text_settings_canonical(m);
    if (strcmp(cs, cm) != 0)
        cli_msg("warning: %s: cleaned with other settings than the model (stream: %s; model: %s)",
                tokio_name(r), s, m);
    free(cs);
    free(cm);
}

/* Read every operand into batches and print the predictions. */
static int run_files(char *const *files, size_t nfiles, worker *ws, int nthreads,
                     const opts *o, size_t *count, imdb_err *e)
{
    batch *b = imdb_xcalloc(1, sizeof *b);
    lineio *in = NULL;
    tokio_reader *tr = NULL;
    int rc = -1;
    unsigned long no_tab_warned = 0;
    for (size_t f = 0; f < nfiles; f++) {
        if (o->tokens) {
            if (!(tr = tokio_open(files[f], e))) goto done;
            check_settings(o->model, tr);
        } else if (!(in = lineio_open(files[f], e))) {
            goto done;
        }
        for (;;) {
            char *text;
            size_t len;
            const char *id = NULL;
            size_t id_len = 0;
            long lineno;
            int got;
            if (o->tokens) {
                tokio_doc d;
                got = tokio_next(tr, &d, e);
                text = d.text;
                len = d.text_len;
                id = d.id;
                lineno = d.lineno;
            } else {
                /* Answer what we have before waiting for more input (a pipe or a coprocess). */
                if (b->n && !lineio_ready(in)) {
                    if (run_batch(b, ws, nthreads, o, files, e) < 0) goto done;
                    if (fflush(stdout) != 0) {
                        imdb_fail(e, IMDB_EXIT_IO, "write error: standard output: %s", strerror(errno));
                        goto done;
                    }
                }
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
            if (id && o->tokens) id_len = strlen(id);
            if (o->sh.n && !(id ? shard_keep(&o->sh, id, id_len) : shard_keep_line(&o->sh, lineno)))
                continue;
            size_t i = b->n++;
            b->off[i] = imdb_arena_add(&b->arena, text, len);
            b->len[i] = len;
            b->id_off[i] = id ? imdb_arena_add(&b->arena, id, id_len) : 0;
            b->id_len[i] = id_len;
            b->lineno[i] = lineno;
            b->file[i] = f;
            (*count)++;
            if (b->n == BATCH_LINES || b->arena.used >= BATCH_BYTES)
                if (run_batch(b, ws, nthreads, o, files, e) < 0) goto done;
        }
        lineio_close(in);
        in = NULL;
        tokio_close(tr);
        tr = NULL;
    }
    if (run_batch(b, ws, nthreads, o, files, e) < 0) goto done;
    rc = 0;
done:
    lineio_close(in);
    tokio_close(tr);
    for (int c = 0; c < NCHUNKS; c++) free(b->out[c].p);
    free(b->arena.p);
    free(b);
    return rc;
}

/* ---- the interactive prompt ---- */

static char *history_path(void)
{
    const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char *p = NULL;
    if (state && *state) {
        if (asprintf(&p, "%s/imdb_history", state) < 0) p = NULL;
    } else if (home && *home) {
        if (asprintf(&p, "%s/.imdb_history", home) < 0) p = NULL;
    }
    return p;
}

/* "positive (0.97) [#########-]" style verdicts, one per review typed. History is kept
 * only when stdin is a terminal, so piped test input never touches the user's file. */
static int run_interactive(worker *w, const opts *o, imdb_err *e)
{
    int tty = isatty(STDIN_FILENO);
    char *hist = tty ? history_path() : NULL;
    if (hist) {
        read_history(hist);   /* a missing file is fine */
        stifle_history(HISTORY_LINES);
    }
    if (tty && cli_verbose >= 0)
        fprintf(stderr, "%s: %s model %s; type a review, Ctrl-D to quit\n", cli_prog,
                clf_kind(o->model), clf_path(o->model));
    /* Verdicts go to stdout; when that is a file or pipe, the prompt and the echo of
     * the typed line go to stderr so the terminal still shows them and the output
     * holds only verdicts. */
    if (!isatty(STDOUT_FILENO)) rl_outstream = stderr;
    sbuf out = {0};
    long lineno = 0;
    char *line;
    int rc = 0;
    while ((line = readline("review> ")) != NULL) {
        lineno++;
        size_t len = strlen(line);
        if (hist && len > 0) add_history(line);
        const char *const *toks;
        size_t ntok = text_tokenize(w->cleaner, line, len, &toks);
        double p = clf_prob(o->model, toks, ntok);
        size_t nc = o->explain_k
            ? clf_explain(o->model, toks, ntok, w->contrib, (size_t)o->explain_k) : 0;
        out.len = 0;
        if (o->json) {
            origin at = {.lineno = lineno, .filename = "-"};
            format_result(&out, o, &at, p, toks, w->contrib, nc);
        } else {
            int fill = (int)lround(p * 20);
            sb_printf(&out, "%s (%.2f) [", p >= o->threshold ? "positive" : "negative", p);
            for (int i = 0; i < 20; i++) sb_add(&out, i < fill ? "#" : "-", 1);
            sb_str(&out, "]\n");
            for (size_t i = 0; i < nc; i++) {
                sb_str(&out, "  ");
                add_ngram(&out, toks, &w->contrib[i], 0);
                sb_printf(&out, "  %+.3f\n", w->contrib[i].weight);
            }
        }
        free(line);
        if (fwrite(out.p, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
            rc = imdb_fail(e, IMDB_EXIT_IO, "write error: standard output: %s", strerror(errno));
            break;
        }
    }
    if (!tty) fputc('\n', rl_outstream);   /* end the last prompt's line */
    if (hist) {
        if (write_history(hist) != 0 && cli_verbose > 0)
            cli_msg("cannot save history to %s", hist);
        free(hist);
    }
    free(out.p);
    return rc;
}

int main(int argc, char **argv)
{
    cli_init("imdb-predict");
    enum { OPT_JSON = 256, OPT_TOKENS, OPT_ID_FIELD, OPT_SHARD, OPT_NO_INTERACTIVE, OPT_INFO, OPT_HELP, OPT_VERSION };
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
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    opts o = {.threshold = 0.5};
    int interactive = -1;   /* -1: if stdin is a terminal and there are no operands */
    int info = 0;
    const char *model_path = NULL;
    long nthreads = sysconf(_SC_NPROCESSORS_ONLN);
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":m:t:e::j:iqv", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case OPT_JSON: o.json = 1; break;
        case OPT_TOKENS: o.tokens = 1; break;
        case OPT_ID_FIELD: o.id_field = 1; break;
        case OPT_SHARD: {
            imdb_err se = {0, ""};
            if (shard_parse(optarg, &o.sh, &se) < 0) cli_usage_error("%s", se.msg);
            break;
        }
        case 't': o.threshold = cli_double("--threshold", optarg, 0, 1); break;
        case 'e': o.explain_k = optarg ? (int)cli_long("--explain", optarg, 1, 1000) : EXPLAIN_DEFAULT; break;
        case 'j': nthreads = cli_long("--threads", optarg, 1, 256); break;
        case 'i': interactive = 1; break;
        case OPT_NO_INTERACTIVE: interactive = 0; break;
        case OPT_INFO: info = 1; break;
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
    o.id_out = o.id_field || o.sh.n;
    if (o.tokens) o.id_field = 0;   /* the stream has its own ids */
    if (interactive == -1)
        interactive = optind >= argc && !o.tokens && !o.id_out && isatty(STDIN_FILENO);
    o.multi_file = nfiles > 1;

    imdb_err e = {0, ""};
    worker *ws = imdb_xcalloc((size_t)nthreads, sizeof *ws);
    size_t count = 0;
    clf *model = clf_load(model_path, &e);
    if (!model) goto fail;
    o.model = model;
    if (info) {
        printf("model: %s\nkind: %s\nload_seconds: %.4f\nclean: %s\nparams:\n", model_path,
               clf_kind(model), clf_load_seconds(model), clf_clean(model));
        for (const char *p = clf_params(model); *p; ) {
            size_t n = strcspn(p, "\n");
            printf("  %.*s\n", (int)n, p);
            p += n + (p[n] == '\n');
        }
        clf_free(model);
        free(ws);
        return IMDB_EXIT_OK;
    }
    if (o.explain_k && !clf_can_explain(model)) {
        imdb_fail(&e, IMDB_EXIT_USAGE, "%s: the model (kind %s) cannot explain its predictions (drop --explain)",
                  model_path, clf_kind(model));
        goto fail;
    }
    if (cli_verbose > 0)
        cli_msg("%s: %s model loaded in %.3f s", model_path, clf_kind(model), clf_load_seconds(model));
    for (long t = 0; t < (interactive ? 1 : nthreads); t++) {
        if (!o.tokens && !(ws[t].cleaner = clf_cleaner(model, &e))) goto fail;
        if (o.explain_k) ws[t].contrib = imdb_xcalloc((size_t)o.explain_k, sizeof *ws[t].contrib);
    }

    double t0 = imdb_now();
    if (interactive) {
        if (run_interactive(&ws[0], &o, &e) < 0) goto fail;
    } else {
        static char buf[1 << 16];
        setvbuf(stdout, buf, _IOFBF, sizeof buf);
        double c0 = thread_cpu();
        if (run_files(files, nfiles, ws, (int)nthreads, &o, &count, &e) < 0) goto fail;
        /* The serial stage is what the main thread does outside the workers' chunks:
         * reading and inflating, batching, writing in order. */
        double serial = thread_cpu() - c0 - ws[0].busy, work = serial;
        for (long t = 0; t < nthreads; t++) work += ws[t].busy;
        if (fflush(stdout) != 0) {
            imdb_fail(&e, IMDB_EXIT_IO, "write error: standard output: %s", strerror(errno));
            goto fail;
        }
        double secs = imdb_now() - t0;
        if (cli_verbose > 0)
            cli_msg("%zu reviews in %.3f s (%.0f reviews/s, %ld thread%s)", count, secs,
                    secs > 0 ? (double)count / secs : 0.0, nthreads, nthreads == 1 ? "" : "s");
        if (cli_verbose > 0)
            cli_msg("serial stage (read, batch, write): %.3f s CPU, %.1f%% of %.3f s of CPU work",
                    serial, work > 0 ? 100 * serial / work : 0.0, work);
    }
    for (long t = 0; t < nthreads; t++) {
        if (ws[t].cleaner) text_cleaner_free(ws[t].cleaner);
        free(ws[t].toks);
        free(ws[t].contrib);
    }
    free(ws);
    clf_free(model);
    return IMDB_EXIT_OK;

fail:
    for (long t = 0; t < nthreads; t++) {
        if (ws[t].cleaner) text_cleaner_free(ws[t].cleaner);
        free(ws[t].toks);
        free(ws[t].contrib);
    }
    free(ws);
    if (model) clf_free(model);
    cli_die(&e);
}
