/* tokio.c — see tokio.h and imdb-tokens(5). */
#include "tokio.h"
#include "lineio.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER "#imdb-tokens "

struct tokio_reader {
    lineio *in;
    char *settings;
    char *pending;      /* first line if it was not a header */
    size_t pending_len;
    int has_pending;
    long version;       /* of the header; 1 without one */
};

const char *tokio_label_name(int label)
{
    return label == TOKIO_POS ? "pos" : label == TOKIO_NEG ? "neg" : "-";
}

int tokio_parse_label(const char *s, size_t n)
{
    if (n == 3 && memcmp(s, "pos", 3) == 0) return TOKIO_POS;
    if (n == 3 && memcmp(s, "neg", 3) == 0) return TOKIO_NEG;
    if (n == 1 && s[0] == '-') return TOKIO_UNLABELLED;
    return -2;
}

tokio_reader *tokio_open(const char *path, imdb_err *e)
{
    lineio *in = lineio_open(path, e);
    if (!in) return NULL;
    tokio_reader *r = imdb_xcalloc(1, sizeof *r);
    r->in = in;
    r->version = 1;
    char *line;
    size_t len;
    int got = lineio_next(in, &line, &len, e);
    if (got < 0) { tokio_close(r); return NULL; }
    if (got == 0) return r;
    if (len >= sizeof HEADER - 1 && memcmp(line, HEADER, sizeof HEADER - 1) == 0) {
        char *p = line + sizeof HEADER - 1, *end;
        long v = strtol(p, &end, 10);
        if (end == p || (*end != ' ' && *end != '\0')) {
            imdb_fail(e, IMDB_EXIT_DATA, "%s:1: malformed #imdb-tokens header", lineio_name(in));
            tokio_close(r);
            return NULL;
        }
        if (v > TOKIO_VERSION || v < 1) {
            imdb_fail(e, IMDB_EXIT_DATA,
                      "%s:1: token stream format version %ld is not supported (this program reads version %d)",
                      lineio_name(in), v, TOKIO_VERSION);
            tokio_close(r);
            return NULL;
        }
        r->version = v;
        r->settings = imdb_xstrdup(*end ? end + 1 : "");
    } else {
        r->pending = imdb_xstrndup(line, len);
        r->pending_len = len;
        r->has_pending = 1;
    }
    return r;
}

const char *tokio_settings(const tokio_reader *r) { return r->settings; }
const char *tokio_name(const tokio_reader *r) { return lineio_name(r->in); }

int tokio_next(tokio_reader *r, tokio_doc *d, imdb_err *e)
{
    char *line;
    size_t len;
    long lineno;
    for (;;) {
        if (r->has_pending) {
            /* The pending copy stays alive until the next call frees it. */
            r->has_pending = 0;
            line = r->pending;
            len = r->pending_len;
            lineno = 1;
        } else {
            free(r->pending);
            r->pending = NULL;
            int got = lineio_next(r->in, &line, &len, e);
            if (got <= 0) return got;
            lineno = lineio_lineno(r->in);
        }
        if (len == 0) continue;   /* blank lines carry no document */
        break;
    }
    char *t1 = memchr(line, '\t', len);
    char *t2 = t1 ? memchr(t1 + 1, '\t', len - (size_t)(t1 + 1 - line)) : NULL;
    if (!t1) {
        /* "LABEL<TAB>ID" with no tokens is an empty document; no TAB at all is malformed. */
        return imdb_fail(e, IMDB_EXIT_DATA,
                         "%s:%ld: malformed line (expected LABEL<TAB>ID<TAB>TOKENS)", lineio_name(r->in), lineno);
    }
    int label = tokio_parse_label(line, (size_t)(t1 - line)), soft = 0;
    double prob = label == TOKIO_POS ? 1 : label == TOKIO_NEG ? 0 : NAN;
    size_t ll = (size_t)(t1 - line);
    if (label == -2 && ll > 0 && ll <= 40 && (line[0] == '.' || (line[0] >= '0' && line[0] <= '9'))) {
        /* A soft label: digits, '.', an exponent; no sign, hex, "nan" or "inf". */
        char buf[48];
        memcpy(buf, line, ll);
        buf[ll] = '\0';
        int ok = strspn(buf, "0123456789.eE+-") == ll;
        char *end = buf;
        prob = ok ? strtod(buf, &end) : NAN;
        if (!ok || *end != '\0' || !isfinite(prob))
            return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: soft label '%s' is not a number in [0, 1]",
                             lineio_name(r->in), lineno, buf);
        if (prob < 0 || prob > 1)
            return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: soft label '%s' is outside [0, 1]",
                             lineio_name(r->in), lineno, buf);
        if (r->version < 2)
            return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: soft label '%s' in a stream without a version 2 "
                             "header (#imdb-tokens 2 ...; see imdb-tokens(5))", lineio_name(r->in), lineno, buf);
        label = prob >= 0.5 ? TOKIO_POS : TOKIO_NEG;
        soft = 1;
    }
    if (label == -2) {
        int n = (int)(t1 - line) > 40 ? 40 : (int)(t1 - line);
        return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: unknown label '%.*s' (expected pos, neg, - or "
                         "a soft label in [0, 1])", lineio_name(r->in), lineno, n, line);
    }
    *t1 = '\0';
    d->label = label;
    d->soft = soft;
    d->prob = prob;
    d->id = t1 + 1;
    d->lineno = lineno;
    if (t2) {
        *t2 = '\0';
        d->text = t2 + 1;
        d->text_len = len - (size_t)(t2 + 1 - line);
    } else {
        d->text = line + len;
        d->text_len = 0;
    }
    if (memchr(d->text, '\0', d->text_len))
        return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: NUL byte in token stream", lineio_name(r->in), lineno);
    return 1;
}

void tokio_close(tokio_reader *r)
{
    if (!r) return;
    lineio_close(r->in);
    free(r->settings);
    free(r->pending);
    free(r);
}

size_t tokio_split(char *text, size_t len, char ***toks, size_t *cap)
{
    size_t n = 0;
    char *p = text, *end = text + len;
    while (p < end) {
        while (p < end && *p == ' ') p++;
        if (p >= end) break;
        char *q = memchr(p, ' ', (size_t)(end - p));
        if (!q) q = end;
        if (n == *cap) {
            *cap = *cap ? *cap * 2 : 256;
            *toks = imdb_xrealloc(*toks, *cap * sizeof **toks);
        }
        (*toks)[n++] = p;
        *q = '\0';
        p = q + 1;
    }
    return n;
}

int tokio_write_header(outfile *o, const char *settings, imdb_err *e)
{
    return outfile_printf(o, e, HEADER "1 %s\n", settings ? settings : "");
}

int tokio_write_header_soft(outfile *o, const char *settings, imdb_err *e)
{
    return outfile_printf(o, e, HEADER "2 %s\n", settings ? settings : "");
}

/* LABEL TAB ID TAB: the id's TABs and line ends become spaces. */
static int write_head(outfile *o, const char *ln, const char *id, imdb_err *e)
{
    if (outfile_write(o, ln, strlen(ln), e) < 0 || outfile_write(o, "\t", 1, e) < 0) return -1;
    for (const char *p = id; *p; ) {
        size_t k = strcspn(p, "\t\n\r");
        if (k && outfile_write(o, p, k, e) < 0) return -1;
        p += k;
        if (*p) {
            if (outfile_write(o, " ", 1, e) < 0) return -1;
            p++;
        }
    }
    return outfile_write(o, "\t", 1, e);
}

int tokio_write_doc(outfile *o, int label, const char *id, const char *const *toks, size_t ntok,
                    imdb_err *e)
{
    if (write_head(o, tokio_label_name(label), id, e) < 0) return -1;
    for (size_t i = 0; i < ntok; i++) {
        if (i && outfile_write(o, " ", 1, e) < 0) return -1;
        if (outfile_write(o, toks[i], strlen(toks[i]), e) < 0) return -1;
    }
    return outfile_write(o, "\n", 1, e);
}

int tokio_write_doc_soft(outfile *o, double prob, const char *id, const char *text, size_t len,
                         imdb_err *e)
{
    char ln[32];
    snprintf(ln, sizeof ln, "%.6f", prob < 0 ? 0.0 : prob > 1 ? 1.0 : prob);
    if (write_head(o, ln, id, e) < 0) return -1;
    if (len && outfile_write(o, text, len, e) < 0) return -1;
    return outfile_write(o, "\n", 1, e);
}
