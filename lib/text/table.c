/* table.c — labelled tables by column; see table.h for the rules.
 *
 * CSV records are cut as RFC 4180 says, the way rawin.c's reader of the review,sentiment
 * CSV does, but every field keeps the line and byte column where it starts, so that an
 * error can point at the cell. rawin.c keeps its own reader: its messages are part of
 * its tests and of scripts written against it, and they do not carry columns.
 * TSV follows the IANA text/tab-separated-values registration: no quoting at all, a TAB
 * always separates (pandas' quoting=3 reads such files the same way). JSON lines go
 * through jsonl.h, one object a line. */
#include "table.h"
#include "jsonl.h"
#include "lineio.h"
#include "tokio.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------- label rules */

struct table_labels {
    int rating;            /* 1: pos_min/neg_max; 0: the map */
    double pos_min, neg_max;
    size_t n;
    char **vals;           /* trimmed values */
    int *cls;              /* their classes */
    int *isnum;            /* value is a decimal number ... */
    double *num;           /* ... of this value */
    char *spec;            /* as given, for messages */
};

static int is_space(char c) { return c == ' ' || c == '\t'; }

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && is_space(**s)) (*s)++, (*n)--;
    while (*n > 0 && is_space((*s)[*n - 1])) (*n)--;
}

/* A decimal number (optional sign, digits with an optional fraction, optional exponent;
 * no hex, inf or nan) after trimming spaces: 1 and *v, else 0. */
static int parse_num(const char *s, size_t n, double *v)
{
    trim(&s, &n);
    if (n == 0 || n > 63) return 0;
    size_t i = 0, digits = 0;
    if (s[i] == '+' || s[i] == '-') i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++, digits++;
    }
    if (digits == 0) return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t ed = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++, ed++;
        if (ed == 0) return 0;
    }
    if (i != n) return 0;
    char buf[64];
    memcpy(buf, s, n);
    buf[n] = '\0';
    double x = strtod(buf, NULL);
    if (!isfinite(x)) return 0;
    *v = x;
    return 1;
}

static const char *class_name(int cls)
{
    return cls == TOKIO_POS ? "pos" : cls == TOKIO_NEG ? "neg" : "-";
}

void table_labels_free(table_labels *l)
{
    if (!l) return;
    for (size_t i = 0; i < l->n; i++) free(l->vals[i]);
    free(l->vals);
    free(l->cls);
    free(l->isnum);
    free(l->num);
    free(l->spec);
    free(l);
}

/* Which value of the map the cell s[0..n) is: its index, or -1. */
static long map_find(const table_labels *l, const char *s, size_t n)
{
    trim(&s, &n);
    double x;
    int num = parse_num(s, n, &x);
    for (size_t i = 0; i < l->n; i++) {
        if (strlen(l->vals[i]) == n && strncasecmp(l->vals[i], s, n) == 0) return (long)i;
        if (num && l->isnum[i] && l->num[i] == x) return (long)i;
    }
    return -1;
}

table_labels *table_labels_map(const char *spec, imdb_err *e)
{
    table_labels *l = imdb_xcalloc(1, sizeof *l);
    l->spec = imdb_xstrdup(spec);
    const char *p = spec;
    const char *why = NULL;
    char bad[64] = "", why2[96];
    size_t cap = 0;
    for (;;) {
        const char *end = strchr(p, ';');
        size_t glen = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', glen);
        if (!eq) {
            why = "a group without '='";
            goto fail;
        }
        const char *c = p;
        size_t cn = (size_t)(eq - p);
        trim(&c, &cn);
        int cls;
        if (cn == 3 && memcmp(c, "pos", 3) == 0) cls = TOKIO_POS;
        else if (cn == 3 && memcmp(c, "neg", 3) == 0) cls = TOKIO_NEG;
        else if (cn == 1 && c[0] == '-') cls = TOKIO_UNLABELLED;
        else {
            snprintf(bad, sizeof bad, "%.*s", (int)(cn > 40 ? 40 : cn), c);
            why = "a class that is not pos, neg or -";
            goto fail;
        }
        const char *v = eq + 1, *gend = p + glen;
        for (;;) {
            const char *comma = memchr(v, ',', (size_t)(gend - v));
            const char *vend = comma ? comma : gend;
            const char *t = v;
            size_t tn = (size_t)(vend - v);
            trim(&t, &tn);
            if (tn == 0) {
                why = "an empty value";
                goto fail;
            }
            long k = map_find(l, t, tn);
            if (k >= 0 && l->cls[k] != cls) {
                snprintf(why2, sizeof why2, "'%.*s' is given for %s and for %s",
                         (int)(tn > 30 ? 30 : tn), t, class_name(l->cls[k]), class_name(cls));
                why = why2;
                goto fail;
            }
            if (k < 0) {
                if (l->n == cap) {
                    cap = cap ? 2 * cap : 8;
                    l->vals = imdb_xrealloc(l->vals, cap * sizeof *l->vals);
                    l->cls = imdb_xrealloc(l->cls, cap * sizeof *l->cls);
                    l->isnum = imdb_xrealloc(l->isnum, cap * sizeof *l->isnum);
                    l->num = imdb_xrealloc(l->num, cap * sizeof *l->num);
                }
                l->vals[l->n] = imdb_xstrndup(t, tn);
                l->cls[l->n] = cls;
                l->num[l->n] = 0;
                l->isnum[l->n] = parse_num(t, tn, &l->num[l->n]);
                l->n++;
            }
            if (!comma) break;
            v = comma + 1;
        }
        if (!end) break;
        p = end + 1;
    }
    return l;
fail:
    imdb_fail(e, IMDB_EXIT_USAGE, "invalid label map '%s': %s%s%s%s (expected "
              "CLASS=VALUE,VALUE...;CLASS=... with CLASS pos, neg or -, e.g. "
              "'pos=1,yes,positive;neg=0,no')", spec, why, bad[0] ? " ('" : "", bad,
              bad[0] ? "')" : "");
    table_labels_free(l);
    return NULL;
}

table_labels *table_labels_default(void)
{
    return table_labels_map("pos=positive,pos,1;neg=negative,neg,0;-=-", NULL);
}

table_labels *table_labels_rating(const char *spec, imdb_err *e)
{
    const char *colon = strchr(spec, ':');
    double pmin, nmax;
    if (!colon || !parse_num(spec, (size_t)(colon - spec), &pmin) ||
        !parse_num(colon + 1, strlen(colon + 1), &nmax)) {
        imdb_fail(e, IMDB_EXIT_USAGE, "invalid rating threshold '%s' (expected POS_MIN:NEG_MAX, "
                  "two numbers, e.g. 7:4: 7 and above pos, 4 and below neg)", spec);
        return NULL;
    }
    if (!(nmax < pmin)) {
        imdb_fail(e, IMDB_EXIT_USAGE, "invalid rating threshold '%s': NEG_MAX (%g) must be below "
                  "POS_MIN (%g)", spec, nmax, pmin);
        return NULL;
    }
    table_labels *l = imdb_xcalloc(1, sizeof *l);
    l->rating = 1;
    l->pos_min = pmin;
    l->neg_max = nmax;
    l->spec = imdb_xstrdup(spec);
    return l;
}

/* The class of cell s[0..n): 1 and *cls; 0 unknown; 2 a rating between the thresholds. */
static int labels_apply(const table_labels *l, const char *s, size_t n, int *cls)
{
    if (l->rating) {
        double x;
        if (!parse_num(s, n, &x)) return 0;
        if (x >= l->pos_min) *cls = TOKIO_POS;
        else if (x <= l->neg_max) *cls = TOKIO_NEG;
        else return 2;
        return 1;
    }
    long k = map_find(l, s, n);
    if (k < 0) return 0;
    *cls = l->cls[k];
    return 1;
}

/* ---------------------------------------------------------------- the reader */

enum { ROLE_TEXT, ROLE_LABEL, ROLE_ID, NROLES };
static const char *const role_opt[NROLES] = {"--text-column", "--label-column", "--id-column"};
static const char *const role_default[NROLES][2] = {
    {"text", "review"}, {"label", "sentiment"}, {"id", NULL}};

typedef struct field {
    size_t off, len;   /* in rec; rec[off + len] is a NUL */
    long line;
    size_t col;
} field;

struct table {
    table_format fmt;
    lineio *in;
    char *name;
    char *given[NROLES];          /* names given by the caller, or NULL */
    const table_labels *lab;
    table_labels *own_lab;        /* the default rule, when none was given */
    int drop_unknown;
    int need_label;               /* a column or a rule was given: rows need a label */
    /* CSV, TSV */
    int col[NROLES];              /* field index of each role, -1: none */
    const char *colname[NROLES];  /* its name, for messages (points into hdr) */
    char *hdr;                    /* the header's cells, copied */
    size_t ncols;
    long hdrline;
    char *rec;
    size_t reclen, reccap;
    field *f;
    size_t nf, fcap;
    long recline, endline;
    size_t endcol;
    /* JSON lines */
    jsonl *js;
    const char *jname[NROLES][2]; /* candidate names of each role */
    const char *jnames[2 * NROLES];
    jsonl_value jv[2 * NROLES];
    int jidx[NROLES][2];          /* index into jnames, -1: none */
    size_t njn;
    char *idbuf;
    size_t idcap;
    table_stats st;
};

/* A byte for messages: printable ASCII as is, anything else as a space. */
static void show(char *out, size_t cap, const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 4 < cap; i++)
        out[k++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i];
    if (n > 0 && k + 4 >= cap && k < n) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
}

static void rec_put(table *t, const char *s, size_t n)
{
    if (t->reclen + n + 1 > t->reccap) {
        size_t cap = t->reccap ? t->reccap : 4096;
        while (cap < t->reclen + n + 1) cap *= 2;
        t->rec = imdb_xrealloc(t->rec, cap);
        t->reccap = cap;
    }
    memcpy(t->rec + t->reclen, s, n);
    t->reclen += n;
}

static void field_start(table *t, long line, size_t col)
{
    if (t->nf == t->fcap) {
        t->fcap = t->fcap ? 2 * t->fcap : 16;
        t->f = imdb_xrealloc(t->f, t->fcap * sizeof *t->f);
    }
    t->f[t->nf] = (field){t->reclen, 0, line, col};
    t->nf++;
}

static void field_end(table *t)
{
    field *f = &t->f[t->nf - 1];
    f->len = t->reclen - f->off;
    rec_put(t, "", 1);
}

/* The next non-blank line, a BOM opening the file removed. 1, 0 at the end, -1. */
static int next_line(table *t, char **line, size_t *len, imdb_err *e)
{
    int rc;
    do {
        rc = lineio_next(t->in, line, len, e);
        if (rc <= 0) return rc;
        if (lineio_lineno(t->in) == 1 && *len >= 3 && memcmp(*line, "\xEF\xBB\xBF", 3) == 0) {
            *line += 3;
            *len -= 3;
        }
    } while (*len == 0);
    return 1;
}

static int csv_record(table *t, imdb_err *e)
{
    char *line;
    size_t len;
    int rc = next_line(t, &line, &len, e);
    if (rc <= 0) return rc;
    long ln = lineio_lineno(t->in);
    t->recline = ln;
    t->reclen = t->nf = 0;
    size_t i = 0;
    field_start(t, ln, 1);
    for (;;) {
        if (i < len && line[i] == '"') {   /* quoted: may span lines */
            long qline = ln;
            size_t qcol = i + 1;
            i++;
            for (;;) {
                const char *q = memchr(line + i, '"', len - i);
                if (!q) {
                    rec_put(t, line + i, len - i);
                    rec_put(t, "\n", 1);
                    if (t->reclen > TABLE_MAX_RECORD)
                        return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld:%zu: quoted field longer than "
                                         "%zu MiB (the quote opened here: is it closed?)",
                                         t->name, qline, qcol, TABLE_MAX_RECORD >> 20);
                    rc = lineio_next(t->in, &line, &len, e);
                    if (rc < 0) return -1;
                    if (rc == 0)
                        return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld:%zu: unterminated quoted field "
                                         "(the quote opened here is still open at the end, "
                                         "line %ld)", t->name, qline, qcol, ln);
                    ln = lineio_lineno(t->in);
                    i = 0;
                    continue;
                }
                size_t k = (size_t)(q - line);
                rec_put(t, line + i, k - i);
                if (k + 1 < len && line[k + 1] == '"') {
                    rec_put(t, "\"", 1);
                    i = k + 2;
                    continue;
                }
                i = k + 1;
                break;
            }
            if (i < len && line[i] != ',') {
                char b[8];
                show(b, sizeof b, line + i, 1);
                return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld:%zu: malformed CSV: '%s' after a "
                                 "closing quote (a '\"' inside a quoted field must be doubled)",
                                 t->name, ln, i + 1, b);
            }
        } else {
            size_t k = i;
            while (k < len && line[k] != ',' && line[k] != '"') k++;
            if (k < len && line[k] == '"')
                return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld:%zu: malformed CSV: '\"' inside an "
                                 "unquoted field (quote the field and double the '\"')",
                                 t->name, ln, k + 1);
            rec_put(t, line + i, k - i);
            i = k;
        }
        field_end(t);
        if (i >= len) break;
        i++;   /* the ',' */
        field_start(t, ln, i + 1);
    }
    t->endline = ln;
    t->endcol = len + 1;
    return 1;
}

static int tsv_record(table *t, imdb_err *e)
{
    char *line;
    size_t len;
    int rc = next_line(t, &line, &len, e);
    if (rc <= 0) return rc;
    long ln = lineio_lineno(t->in);
    t->recline = t->endline = ln;
    t->endcol = len + 1;
    t->reclen = t->nf = 0;
    size_t i = 0;
    for (;;) {
        const char *tab = memchr(line + i, '\t', len - i);
        size_t k = tab ? (size_t)(tab - line) : len;
        field_start(t, ln, i + 1);
        rec_put(t, line + i, k - i);
        field_end(t);
        if (!tab) break;
        i = k + 1;
    }
    return 1;
}

static int record(table *t, imdb_err *e)
{
    return t->fmt == TABLE_CSV ? csv_record(t, e) : tsv_record(t, e);
}

/* The header's cells as "a,b,c" for messages. */
static void header_list(const table *t, char *out, size_t cap)
{
    size_t k = 0;
    out[0] = '\0';
    for (size_t i = 0; i < t->ncols && k + 8 < cap; i++) {
        const char *s = t->hdr + t->f[i].off;
        if (i) out[k++] = ',';
        show(out + k, cap - k, s, strlen(s));
        k += strlen(out + k);
    }
}

/* The header field named name: 1 and *idx; 0 none; -1 found twice (e filled). */
static int find_col(table *t, const char *name, int *idx, imdb_err *e)
{
    for (int pass = 0; pass < 2; pass++) {
        int found = -1;
        for (size_t i = 0; i < t->ncols; i++) {
            const char *s = t->hdr + t->f[i].off;
            size_t n = t->f[i].len;
            trim(&s, &n);
            if (strlen(name) != n) continue;
            if (pass == 0 ? memcmp(s, name, n) != 0 : strncasecmp(s, name, n) != 0) continue;
            if (found >= 0)
                return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: column '%s' appears twice in the "
                                 "header (fields %d and %zu)", t->name, t->hdrline, name,
                                 found + 1, i + 1);
            found = (int)i;
        }
        if (found >= 0) {
            *idx = found;
            return 1;
        }
    }
    return 0;
}

static int read_header(table *t, imdb_err *e)
{
    int rc = record(t, e);
    if (rc < 0) return -1;
    if (rc == 0)
        return imdb_fail(e, IMDB_EXIT_DATA, "%s: empty file (expected a header line naming the "
                         "columns)", t->name);
    t->hdrline = t->recline;
    t->ncols = t->nf;
    t->hdr = imdb_xmalloc(t->reclen + 1);
    memcpy(t->hdr, t->rec, t->reclen);
    t->hdr[t->reclen] = '\0';
    char list[200];
    for (int r = 0; r < NROLES; r++) {
        t->col[r] = -1;
        int idx = -1;
        if (t->given[r]) {
            rc = find_col(t, t->given[r], &idx, e);
            if (rc < 0) return -1;
            if (rc == 0) {
                header_list(t, list, sizeof list);
                return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: no column '%s' (%s) in the header: "
                                 "%s", t->name, t->hdrline, t->given[r], role_opt[r], list);
            }
        } else {
            for (int k = 0; k < 2 && role_default[r][k] && idx < 0; k++) {
                rc = find_col(t, role_default[r][k], &idx, e);
                if (rc < 0) return -1;
            }
            if (idx < 0 && r == ROLE_TEXT) {
                header_list(t, list, sizeof list);
                return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: no column 'text' or 'review' in the "
                                 "header (name the text's column with --text-column): %s",
                                 t->name, t->hdrline, list);
            }
            if (idx < 0 && r == ROLE_LABEL && t->need_label) {
                header_list(t, list, sizeof list);
                return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: no column 'label' or 'sentiment' in "
                                 "the header for the label rule (name the label's column with "
                                 "--label-column): %s", t->name, t->hdrline, list);
            }
        }
        t->col[r] = idx;
        if (idx >= 0) t->colname[r] = t->hdr + t->f[idx].off;
    }
    return 0;
}

table *table_open(const char *path, const char *name, table_format fmt, const table_spec *spec,
                  imdb_err *e)
{
    table *t = imdb_xcalloc(1, sizeof *t);
    t->fmt = fmt;
    t->in = lineio_open(path, e);
    if (!t->in) {
        free(t);
        return NULL;
    }
    t->name = imdb_xstrdup(name ? name : lineio_name(t->in));
    const char *given[NROLES] = {spec->text_col, spec->label_col, spec->id_col};
    for (int r = 0; r < NROLES; r++) t->given[r] = given[r] ? imdb_xstrdup(given[r]) : NULL;
    t->lab = spec->labels;
    if (!t->lab) t->lab = t->own_lab = table_labels_default();
    t->drop_unknown = spec->drop_unknown;
    t->need_label = spec->label_col || spec->labels;
    if (fmt == TABLE_JSONL) {
        t->js = jsonl_new();
        for (int r = 0; r < NROLES; r++)
            for (int k = 0; k < 2; k++) {
                const char *nm = t->given[r] ? (k == 0 ? t->given[r] : NULL) : role_default[r][k];
                t->jidx[r][k] = -1;
                if (!nm) continue;
                t->jidx[r][k] = (int)t->njn;
                t->jnames[t->njn++] = nm;
            }
        return t;
    }
    if (read_header(t, e) < 0) {
        table_close(t);
        return NULL;
    }
    return t;
}

void table_close(table *t)
{
    if (!t) return;
    lineio_close(t->in);
    jsonl_free(t->js);
    table_labels_free(t->own_lab);
    for (int r = 0; r < NROLES; r++) free(t->given[r]);
    free(t->hdr);
    free(t->rec);
    free(t->f);
    free(t->idbuf);
    free(t->name);
    free(t);
}

void table_stats_get(const table *t, table_stats *st) { *st = t->st; }

/* What the label rule expects, for messages. */
static void expected(const table *t, char *out, size_t cap)
{
    if (t->lab->rating)
        snprintf(out, cap, "not a number, for --rating-threshold %s", t->lab->spec);
    else if (t->own_lab)
        snprintf(out, cap, "the labels are pos=positive,pos,1;neg=negative,neg,0;-=-: give "
                 "others with --labels");
    else
        snprintf(out, cap, "the label map is '%s'", t->lab->spec);
}

/* The label of a row from its cell: 1 placed (*cls), 0 dropped, -1 error. */
static int place(table *t, const char *s, size_t n, const char *colname, long line, size_t col,
                 int *cls, imdb_err *e)
{
    int rc = labels_apply(t->lab, s, n, cls);
    if (rc == 1) return 1;
    if (rc == 2) {
        t->st.dropped_between++;
        return 0;
    }
    char v[44];
    show(v, sizeof v, s, n);
    if (t->drop_unknown) {
        if (t->st.dropped_unknown++ == 0) {
            t->st.first_unknown_line = line;
            snprintf(t->st.first_unknown, sizeof t->st.first_unknown, "%s", v);
        }
        return 0;
    }
    char exp[200];
    expected(t, exp, sizeof exp);
    return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld:%zu: unknown label '%s' in column '%s' (%s; "
                     "--drop-unknown drops such rows)", t->name, line, col, v, colname, exp);
}

static void set_id(table *t, const char *s, size_t n)
{
    if (n + 1 > t->idcap) {
        t->idcap = n + 64;
        t->idbuf = imdb_xrealloc(t->idbuf, t->idcap);
    }
    for (size_t i = 0; i < n; i++) t->idbuf[i] = s[i] ? s[i] : ' ';
    t->idbuf[n] = '\0';
}

static void set_id_num(table *t, long n)
{
    char buf[32];
    int k = snprintf(buf, sizeof buf, "%ld", n);
    set_id(t, buf, (size_t)k);
}

static int next_fields(table *t, table_row *row, imdb_err *e)
{
    for (;;) {
        int rc = record(t, e);
        if (rc <= 0) return rc;
        if (t->nf != t->ncols) {
            int few = t->nf < t->ncols;
            return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld:%zu: %zu field%s, but the header (line "
                             "%ld) has %zu%s", t->name, few ? t->endline : t->f[t->ncols].line,
                             few ? t->endcol : t->f[t->ncols].col, t->nf, t->nf == 1 ? "" : "s",
                             t->hdrline, t->ncols,
                             few ? "" : " (the first extra field starts here)");
        }
        int label = TOKIO_UNLABELLED;
        if (t->col[ROLE_LABEL] >= 0) {
            const field *f = &t->f[t->col[ROLE_LABEL]];
            rc = place(t, t->rec + f->off, f->len, t->colname[ROLE_LABEL], f->line, f->col, &label,
                       e);
            if (rc < 0) return -1;
            if (rc == 0) continue;
        }
        if (t->col[ROLE_ID] >= 0) {
            const field *f = &t->f[t->col[ROLE_ID]];
            if (f->len == 0)
                return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld:%zu: empty id in column '%s'",
                                 t->name, f->line, f->col, t->colname[ROLE_ID]);
            set_id(t, t->rec + f->off, f->len);
            row->has_id = 1;
        } else {
            set_id_num(t, t->recline);
            row->has_id = 0;
        }
        const field *f = &t->f[t->col[ROLE_TEXT]];
        row->label = label;
        row->id = t->idbuf;
        row->text = t->rec + f->off;
        row->len = f->len;
        row->line = t->recline;
        t->st.rows++;
        return 1;
    }
}

/* The value of role r in the last parsed object, and the name it was found under. */
static const jsonl_value *jrole(const table *t, int r, const char **name)
{
    for (int k = 0; k < 2; k++) {
        int i = t->jidx[r][k];
        if (i >= 0 && t->jv[i].type != JSONL_ABSENT) {
            *name = t->jnames[i];
            return &t->jv[i];
        }
    }
    return NULL;
}

static int next_json(table *t, table_row *row, imdb_err *e)
{
    for (;;) {
        char *line;
        size_t len, col = 0;
        int rc = next_line(t, &line, &len, e);
        if (rc <= 0) return rc;
        long ln = lineio_lineno(t->in);
        rc = jsonl_parse(t->js, line, len, t->jnames, t->njn, t->jv, &col, e);
        if (rc < 0) {
            char msg[sizeof e->msg];
            snprintf(msg, sizeof msg, "%s", e->msg);
            return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld:%zu: %s", t->name, ln, col, msg);
        }
        if (rc == 0) continue;
        const jsonl_value *v[NROLES];
        const char *nm[NROLES] = {NULL, NULL, NULL};
        for (int r = 0; r < NROLES; r++) {
            v[r] = jrole(t, r, &nm[r]);
            if (v[r] && v[r]->type == JSONL_NESTED)
                return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld:%zu: member \"%s\" (%s) holds an "
                                 "object or an array (a column must be a string, a number, "
                                 "true, false or null)", t->name, ln, v[r]->col, nm[r],
                                 role_opt[r]);
        }
        if (!v[ROLE_TEXT]) {
            if (t->given[ROLE_TEXT])
                return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: no member \"%s\" (--text-column) in "
                                 "the object", t->name, ln, t->given[ROLE_TEXT]);
            return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: no member \"text\" or \"review\" in the "
                             "object (name the text's member with --text-column)", t->name, ln);
        }
        if (!v[ROLE_ID] && t->given[ROLE_ID])
            return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: no member \"%s\" (--id-column) in the "
                             "object", t->name, ln, t->given[ROLE_ID]);
        int label = TOKIO_UNLABELLED;
        if (v[ROLE_LABEL]) {
            rc = place(t, v[ROLE_LABEL]->text, v[ROLE_LABEL]->len, nm[ROLE_LABEL], ln,
                       v[ROLE_LABEL]->col, &label, e);
            if (rc < 0) return -1;
            if (rc == 0) continue;
        } else if (t->need_label) {
            if (t->drop_unknown) {
                if (t->st.dropped_unknown++ == 0) {
                    t->st.first_unknown_line = ln;
                    snprintf(t->st.first_unknown, sizeof t->st.first_unknown, "(no member)");
                }
                continue;
            }
            if (t->given[ROLE_LABEL])
                return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: no member \"%s\" (--label-column) in "
                                 "the object (--drop-unknown drops such rows)", t->name, ln,
                                 t->given[ROLE_LABEL]);
            return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: no member \"label\" or \"sentiment\" in "
                             "the object for the label rule (name the label's member with "
                             "--label-column; --drop-unknown drops such rows)", t->name, ln);
        }
        if (v[ROLE_ID]) {
            if (v[ROLE_ID]->len == 0)
                return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld:%zu: empty id in member \"%s\"",
                                 t->name, ln, v[ROLE_ID]->col, nm[ROLE_ID]);
            set_id(t, v[ROLE_ID]->text, v[ROLE_ID]->len);
            row->has_id = 1;
        } else {
            set_id_num(t, ln);
            row->has_id = 0;
        }
        row->label = label;
        row->id = t->idbuf;
        row->text = v[ROLE_TEXT]->text;
        row->len = v[ROLE_TEXT]->len;
        row->line = ln;
        t->st.rows++;
        return 1;
    }
}

int table_next(table *t, table_row *row, imdb_err *e)
{
    return t->fmt == TABLE_JSONL ? next_json(t, row, e) : next_fields(t, row, e);
}
