/* predict-prompt.c — see predict-prompt.h. History is kept only when stdin is a
 * terminal, so piped test input never touches the user's file. */
#include "predict-prompt.h"
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readline/readline.h>
#include <readline/history.h>

#define HISTORY_LINES 1000

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

/* "positive (0.97) [#########-]", then "  NGRAM  +W.WWW" per n-gram. */
static void verdict(buf *out, const score_format *f, const score_result *r)
{
    int fill = (int)lround(r->prob * 20);
    buf_printf(out, "%s (%.2f) [", r->prob >= f->threshold ? "positive" : "negative", r->prob);
    for (int i = 0; i < 20; i++) buf_char(out, i < fill ? '#' : '-');
    buf_str(out, "]\n");
    for (size_t i = 0; i < r->ncontrib; i++) {
        buf_str(out, "  ");
        score_format_ngram(out, r->toks, &r->contrib[i], 0, JSON_PREDICT);
        buf_printf(out, "  %+.3f\n", r->contrib[i].weight);
    }
}

int prompt_run(const clf *model, scorer *s, const score_format *f, int k, imdb_err *e)
{
    int tty = isatty(STDIN_FILENO);
    char *hist = tty ? history_path() : NULL;
    if (hist) {
        read_history(hist);   /* a missing file is fine */
        stifle_history(HISTORY_LINES);
    }
    if (tty && cli_verbose >= 0)
        fprintf(stderr, "%s: %s model %s; type a review, Ctrl-D to quit\n", cli_prog,
                clf_kind(model), clf_path(model));
    /* Verdicts go to stdout; when that is a file or pipe, the prompt and the echo of
     * the typed line go to stderr so the terminal still shows them and the output
     * holds only verdicts. */
    if (!isatty(STDOUT_FILENO)) rl_outstream = stderr;
    buf out = {0};
    long lineno = 0;
    char *line;
    int rc = 0;
    while ((line = readline("review> ")) != NULL) {
        lineno++;
        size_t len = strlen(line);
        if (hist && len > 0) add_history(line);
        score_result r;
        scorer_text(s, line, len, f->explain ? k : 0, &r);
        if (isnan(r.prob)) {
            free(line);
            rc = score_damaged(model, e);
            break;
        }
        buf_clear(&out);
        if (f->json) {
            score_format_result(&out, f, &(score_origin){.num = lineno}, &r);
            buf_char(&out, '\n');
        } else {
            verdict(&out, f, &r);
        }
        free(line);
        if (buf_failed(&out)) {
            rc = imdb_fail(e, IMDB_EXIT_INTERNAL, "out of memory");
            break;
        }
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
    buf_free(&out);
    return rc;
}
