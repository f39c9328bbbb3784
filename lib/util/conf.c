/* conf.c — see conf.h.
 *
 * A config is a small list of key/value pairs in the order they were first set (a few
 * dozen keys at most, so a linear search is the right tool). Each pair remembers where
 * its value came from ("train.conf:3", or nothing for -o and defaults) so a bad value is
 * reported where the user can fix it.
 *
 * File syntax: one "key = value" per line; blank lines and lines whose first non-blank
 * character is '#' are ignored. Spaces around the key and the value are trimmed. A '#'
 * later on a line is part of the value (values may be regular expressions). Keys are
 * letters, digits, '_', '-' and '.'. */
#include "conf.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pair {
    char *key;
    char *value;
    char *where;    /* "FILE:LINE" or NULL */
} pair;

struct conf {
    pair *p;
    size_t n, cap;
};

conf *conf_new(void) { return imdb_xcalloc(1, sizeof(conf)); }

void conf_free(conf *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->p[i].key);
        free(c->p[i].value);
        free(c->p[i].where);
    }
    free(c->p);
    free(c);
}

static pair *find(const conf *c, const char *key)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->p[i].key, key) == 0) return &c->p[i];
    return NULL;
}

static void set_where(conf *c, const char *key, const char *value, const char *where)
{
    pair *q = find(c, key);
    if (!q) {
        if (c->n == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 16;
            c->p = imdb_xrealloc(c->p, c->cap * sizeof *c->p);
        }
        q = &c->p[c->n++];
        q->key = imdb_xstrdup(key);
        q->value = NULL;
        q->where = NULL;
    }
    /* value and where may point into q itself (recording an effective value back):
     * copy before freeing. */
    char *v = imdb_xstrdup(value), *w = where ? imdb_xstrdup(where) : NULL;
    free(q->value);
    q->value = v;
    free(q->where);
    q->where = w;
}

void conf_set(conf *c, const char *key, const char *value) { set_where(c, key, value, NULL); }

const char *conf_get(const conf *c, const char *key)
{
    pair *q = find(c, key);
    return q ? q->value : NULL;
}

static int key_ok(const char *s, size_t n)
{
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-' || ch == '.'))
            return 0;
    }
    return 1;
}

static int is_blank(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }

/* Split "key = value" (in place: s is modified). 0 on success. */
static int split(char *s, char **key, char **value)
{
    char *eq = strchr(s, '=');
    if (!eq) return -1;
    char *k = s, *ke = eq, *v = eq + 1, *ve = v + strlen(v);
    while (k < ke && is_blank(*k)) k++;
    while (ke > k && is_blank(ke[-1])) ke--;
    while (v < ve && is_blank(*v)) v++;
    while (ve > v && is_blank(ve[-1])) ve--;
    if (!key_ok(k, (size_t)(ke - k))) return -1;
    *ke = '\0';
    *ve = '\0';
    *key = k;
    *value = v;
    return 0;
}

int conf_read_file(conf *c, const char *path, imdb_err *e)
{
    int is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "(standard input)" : path;
    FILE *f = is_stdin ? stdin : fopen(path, "r");
    if (!f) return imdb_fail(e, IMDB_EXIT_IO, "%s: %s", name, strerror(errno));
    char *line = NULL, *where = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int rc = -1;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (memchr(line, '\0', (size_t)len)) {
            imdb_fail(e, IMDB_EXIT_USAGE, "%s:%ld: NUL byte in config file", name, lineno);
            goto fail;
        }
        char *p = line;
        while (is_blank(*p)) p++;
        if (*p == '\0' || *p == '#') continue;
        char *key, *value;
        if (split(p, &key, &value) < 0) {
            imdb_fail(e, IMDB_EXIT_USAGE, "%s:%ld: expected 'key = value'", name, lineno);
            goto fail;
        }
        free(where);
        size_t wn = strlen(name) + 24;
        where = imdb_xmalloc(wn);
        snprintf(where, wn, "%s:%ld", name, lineno);
        set_where(c, key, value, where);
    }
    if (ferror(f)) {
        imdb_fail(e, IMDB_EXIT_IO, "%s: read error: %s", name, strerror(errno));
        goto fail;
    }
    rc = 0;
fail:
    free(line);
    free(where);
    if (!is_stdin) fclose(f);
    return rc;
}

int conf_set_arg(conf *c, const char *key_eq_value, imdb_err *e)
{
    char *s = imdb_xstrdup(key_eq_value), *key, *value;
    int rc = strpbrk(key_eq_value, "\n\r") ? -1 : split(s, &key, &value);
    if (rc < 0)
        imdb_fail(e, IMDB_EXIT_USAGE, "bad setting '%s' (expected KEY=VALUE)", key_eq_value);
    else
        conf_set(c, key, value);
    free(s);
    return rc;
}

/* "FILE:LINE: setting KEY: " or "setting KEY: ". */
static int bad_value(const pair *q, imdb_err *e, const char *what)
{
    return imdb_fail(e, IMDB_EXIT_USAGE, "%s%ssetting %s: %s", q->where ? q->where : "",
                     q->where ? ": " : "", q->key, what);
}

/* The shortest "%.*g" form that reads back as exactly x. */
static void format_double(char *buf, size_t n, double x)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) return;
    }
}

int conf_double(conf *c, const char *key, double def, double lo, double hi, double *out,
                  imdb_err *e)
{
    double x = def;
    pair *q = find(c, key);
    char msg[400];
    if (q) {
        char *end;
        errno = 0;
        x = strtod(q->value, &end);
        if (end == q->value || *end != '\0' || !isfinite(x) || errno == ERANGE) {
            snprintf(msg, sizeof msg, "'%.200s' is not a number", q->value);
            return bad_value(q, e, msg);
        }
        if (x < lo || x > hi) {
            snprintf(msg, sizeof msg, "%.200s is out of range [%g, %g]", q->value, lo, hi);
            return bad_value(q, e, msg);
        }
    }
    char buf[40];
    format_double(buf, sizeof buf, x);
    set_where(c, key, buf, q ? q->where : NULL);
    *out = x;
    return 0;
}

int conf_long(conf *c, const char *key, long def, long lo, long hi, long *out, imdb_err *e)
{
    long x = def;
    pair *q = find(c, key);
    char msg[400];
    if (q) {
        char *end;
        errno = 0;
        x = strtol(q->value, &end, 10);
        if (end == q->value || *end != '\0') {
            snprintf(msg, sizeof msg, "'%.200s' is not an integer", q->value);
            return bad_value(q, e, msg);
        }
        if (errno == ERANGE || x < lo || x > hi) {
            snprintf(msg, sizeof msg, "%.200s is out of range [%ld, %ld]", q->value, lo, hi);
            return bad_value(q, e, msg);
        }
    }
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", x);
    set_where(c, key, buf, q ? q->where : NULL);
    *out = x;
    return 0;
}

int conf_string(conf *c, const char *key, const char *def, const char **out)
{
    pair *q = find(c, key);
    if (!q && def) {
        conf_set(c, key, def);
        q = find(c, key);
    }
    *out = q ? q->value : NULL;
    return 0;
}

/* Levenshtein distance, capped (keys are short). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    if (na > 63 || nb > 63) return 64;
    size_t row[64];
    for (size_t j = 0; j <= nb; j++) row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

int conf_check_known(const conf *c, const char *const *known, imdb_err *e)
{
    for (size_t i = 0; i < c->n; i++) {
        const pair *q = &c->p[i];
        const char *best = NULL;
        size_t bestd = 3;   /* suggest only close matches */
        size_t k;
        for (k = 0; known[k]; k++) {
            if (strcmp(known[k], q->key) == 0) break;
            size_t d = edit_distance(known[k], q->key);
            if (d < bestd) {
                bestd = d;
                best = known[k];
            }
        }
        if (known[k]) continue;
        if (best)
            return imdb_fail(e, IMDB_EXIT_USAGE, "%s%sunknown setting '%s' (did you mean '%s'?)",
                             q->where ? q->where : "", q->where ? ": " : "", q->key, best);
        return imdb_fail(e, IMDB_EXIT_USAGE, "%s%sunknown setting '%s'", q->where ? q->where : "",
                         q->where ? ": " : "", q->key);
    }
    return 0;
}

static int cmp_pair(const void *a, const void *b)
{
    return strcmp((*(const pair *const *)a)->key, (*(const pair *const *)b)->key);
}

char *conf_format(const conf *c)
{
    const pair **s = imdb_xmalloc((c->n ? c->n : 1) * sizeof *s);
    size_t len = 1;
    for (size_t i = 0; i < c->n; i++) {
        s[i] = &c->p[i];
        len += strlen(c->p[i].key) + strlen(c->p[i].value) + 4;
    }
    qsort(s, c->n, sizeof *s, cmp_pair);   /* keys are unique: the order is total */
    char *out = imdb_xmalloc(len), *p = out;
    for (size_t i = 0; i < c->n; i++)
        p += sprintf(p, "%s = %s\n", s[i]->key, s[i]->value);
    *p = '\0';
    free(s);
    return out;
}
