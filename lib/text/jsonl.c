/* jsonl.c — JSON objects one per line, members picked by name; see jsonl.h. The grammar
 * is RFC 8259's (objects, arrays, strings, numbers, true, false, null); the scanner is a
 * loop over the bytes with an explicit stack for the nested values it skips, so no input
 * can exhaust the C stack, and every read is checked against the line's length.
 *
 * The scratch buffer is sized before the scan to the line's length plus one NUL per
 * wanted member: a decoded string is never longer than its escaped form (\uXXXX, six
 * bytes, gives at most three; a surrogate pair, twelve, gives four), so it never moves
 * while value pointers into it are handed out. */
#include "jsonl.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jsonl {
    char *vbuf;       /* decoded values, back to back, NUL-terminated */
    size_t vcap, vlen;
    char *kbuf;       /* the member name being compared */
    size_t kcap;
    char stack[JSONL_MAX_DEPTH];
};

typedef struct parser {
    const char *s;
    size_t n, i;
    size_t *errcol;
    imdb_err *e;
    jsonl *j;
} parser;

jsonl *jsonl_new(void) { return imdb_xcalloc(1, sizeof(jsonl)); }

void jsonl_free(jsonl *j)
{
    if (!j) return;
    free(j->vbuf);
    free(j->kbuf);
    free(j);
}

static int perr(parser *p, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(parser *p, size_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    *p->errcol = at + 1;
    return imdb_fail(p->e, IMDB_EXIT_DATA, "%s", msg);
}

/* What is at p->s[at], for messages: 'x', byte 0xNN, or the end of the line. */
static const char *what(const parser *p, size_t at, char buf[24])
{
    if (at >= p->n) return "the end of the line";
    unsigned char c = (unsigned char)p->s[at];
    if (c > 0x20 && c < 0x7f) snprintf(buf, 24, "'%c'", c);
    else snprintf(buf, 24, "byte 0x%02x", c);
    return buf;
}

static void ws(parser *p)
{
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\r' ||
                           p->s[p->i] == '\n'))
        p->i++;
}

static int hex4(const char *s, unsigned *v)
{
    unsigned x = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        x <<= 4;
        if (c >= '0' && c <= '9') x |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') x |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') x |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *v = x;
    return 0;
}

/* The string starting at the '"' at p->i, decoded into out (when not NULL; room for
 * its escaped length) with its length in *olen; p->i ends after the closing quote. */
static int string(parser *p, char *out, size_t *olen)
{
    const char *s = p->s;
    size_t n = p->n, start = p->i, i = p->i + 1, k = 0;
    for (;;) {
        if (i >= n) return perr(p, start, "unterminated string (the quote opened here)");
        char c = s[i];
        if (c == '"') {
            i++;
            break;
        }
        if (c != '\\') {
            size_t j = i;
            while (j < n && s[j] != '"' && s[j] != '\\') j++;
            if (out) memcpy(out + k, s + i, j - i);
            k += j - i;
            i = j;
            continue;
        }
        if (i + 1 >= n) return perr(p, start, "unterminated string (the quote opened here)");
        char x = s[i + 1], ch;
        switch (x) {
        case '"': ch = '"'; break;
        case '\\': ch = '\\'; break;
        case '/': ch = '/'; break;
        case 'b': ch = '\b'; break;
        case 'f': ch = '\f'; break;
        case 'n': ch = '\n'; break;
        case 'r': ch = '\r'; break;
        case 't': ch = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (i + 6 > n || hex4(s + i + 2, &cp) < 0)
                return perr(p, i, "invalid \\u escape (expected 4 hex digits)");
            i += 6;
            if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 <= n && s[i] == '\\' && s[i + 1] == 'u' &&
                hex4(s + i + 2, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            } else if (cp >= 0xD800 && cp <= 0xDFFF) {
                cp = 0xFFFD;   /* a lone surrogate encodes no character */
            }
            char u[4];
            size_t m = utf8_put(u, cp);
            if (out) memcpy(out + k, u, m);
            k += m;
            continue;
        }
        default: {
            char b[24];
            return perr(p, i, "invalid escape: backslash before %s in a string", what(p, i + 1, b));
        }
        }
        if (out) out[k] = ch;
        k++;
        i += 2;
    }
    p->i = i;
    *olen = k;
    return 0;
}

static int isdig(char c) { return c >= '0' && c <= '9'; }

/* A number at p->i (RFC 8259's grammar); p->i ends after it. */
static int number(parser *p)
{
    const char *s = p->s;
    size_t n = p->n, i = p->i;
    if (i < n && s[i] == '-') i++;
    if (i < n && s[i] == '0') i++;
    else if (i < n && s[i] >= '1' && s[i] <= '9') while (i < n && isdig(s[i])) i++;
    else return perr(p, p->i, "invalid number");
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || !isdig(s[i])) return perr(p, p->i, "invalid number (no digit after '.')");
        while (i < n && isdig(s[i])) i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= n || !isdig(s[i])) return perr(p, p->i, "invalid number (no digit in the exponent)");
        while (i < n && isdig(s[i])) i++;
    }
    p->i = i;
    return 0;
}

/* true, false or null at p->i: its length, or 0. */
static size_t literal(const parser *p)
{
    static const char *const lits[] = {"true", "false", "null"};
    for (int k = 0; k < 3; k++) {
        size_t m = strlen(lits[k]);
        if (p->n - p->i >= m && memcmp(p->s + p->i, lits[k], m) == 0) return m;
    }
    return 0;
}

/* A scalar (string, number, literal) at p->i, skipped. */
static int skip_scalar(parser *p)
{
    char c = p->i < p->n ? p->s[p->i] : 0;
    size_t len, m;
    if (p->i < p->n && c == '"') return string(p, NULL, &len);
    if (p->i < p->n && (c == '-' || isdig(c))) return number(p);
    if ((m = literal(p)) > 0) {
        p->i += m;
        return 0;
    }
    char b[24];
    return perr(p, p->i, "expected a value, found %s", what(p, p->i, b));
}

/* A member name and its ':' inside an object being skipped, at p->i. */
static int skip_name(parser *p)
{
    char b[24];
    size_t len;
    if (p->i >= p->n || p->s[p->i] != '"')
        return perr(p, p->i, "expected a member name (a string), found %s", what(p, p->i, b));
    if (string(p, NULL, &len) < 0) return -1;
    ws(p);
    if (p->i >= p->n || p->s[p->i] != ':')
        return perr(p, p->i, "expected ':' after a member name, found %s", what(p, p->i, b));
    p->i++;
    ws(p);
    return 0;
}

/* The object or array at p->i, skipped without recursion. */
static int skip_nested(parser *p)
{
    char *stack = p->j->stack;
    size_t depth = 0;
    char b[24];
    for (;;) {
        ws(p);
        char c = p->i < p->n ? p->s[p->i] : 0;
        if (p->i < p->n && (c == '{' || c == '[')) {
            if (depth == JSONL_MAX_DEPTH)
                return perr(p, p->i, "values nested deeper than %d levels", JSONL_MAX_DEPTH);
            stack[depth++] = c;
            p->i++;
            ws(p);
            char close = c == '{' ? '}' : ']';
            if (p->i < p->n && p->s[p->i] == close) {
                p->i++;
                depth--;
            } else {
                if (c == '{' && skip_name(p) < 0) return -1;
                continue;   /* the first element or member value */
            }
        } else if (skip_scalar(p) < 0) {
            return -1;
        }
        /* After a value: a ',' and the next one, or the close of the container. */
        for (;;) {
            if (depth == 0) return 0;
            ws(p);
            char top = stack[depth - 1], close = top == '{' ? '}' : ']';
            if (p->i < p->n && p->s[p->i] == ',') {
                p->i++;
                ws(p);
                if (top == '{' && skip_name(p) < 0) return -1;
                break;
            }
            if (p->i < p->n && p->s[p->i] == close) {
                p->i++;
                depth--;
                continue;
            }
            return perr(p, p->i, "expected ',' or '%c', found %s", close, what(p, p->i, b));
        }
    }
}

/* The value of a wanted member at p->i, into the scratch buffer and *v. */
static int take_value(parser *p, jsonl_value *v)
{
    jsonl *j = p->j;
    size_t start = p->i, len;
    char c = p->i < p->n ? p->s[p->i] : 0;
    v->col = start + 1;
    v->text = NULL;
    v->len = 0;
    if (p->i < p->n && (c == '{' || c == '[')) {
        v->type = JSONL_NESTED;
        return skip_nested(p);
    }
    char *out = j->vbuf + j->vlen;
    if (p->i < p->n && c == '"') {
        if (string(p, out, &len) < 0) return -1;
        v->type = JSONL_STRING;
    } else {
        if (skip_scalar(p) < 0) return -1;
        len = p->i - start;
        memcpy(out, p->s + start, len);
        v->type = c == '-' || isdig(c) ? JSONL_NUMBER : JSONL_LITERAL;
    }
    out[len] = '\0';
    j->vlen += len + 1;
    v->text = out;
    v->len = len;
    return 0;
}

int jsonl_parse(jsonl *j, const char *s, size_t n, const char *const *names, size_t nnames,
                jsonl_value *vals, size_t *errcol, imdb_err *e)
{
    parser p = {s, n, 0, errcol, e, j};
    char b[24];
    ws(&p);
    if (p.i == n) return 0;
    if (n + nnames + 16 > j->vcap) {
        j->vcap = n + nnames + 16;
        free(j->vbuf);
        j->vbuf = imdb_xmalloc(j->vcap);
    }
    if (n + 1 > j->kcap) {
        j->kcap = n + 1;
        free(j->kbuf);
        j->kbuf = imdb_xmalloc(j->kcap);
    }
    j->vlen = 0;
    for (size_t k = 0; k < nnames; k++) vals[k] = (jsonl_value){JSONL_ABSENT, NULL, 0, 0};
    if (s[p.i] != '{')
        return perr(&p, p.i, "expected a JSON object ('{'), found %s", what(&p, p.i, b));
    p.i++;
    ws(&p);
    if (p.i < n && s[p.i] == '}') {
        p.i++;
    } else {
        for (;;) {
            ws(&p);
            size_t at = p.i, klen;
            if (p.i >= n || s[p.i] != '"')
                return perr(&p, p.i, "expected a member name (a string), found %s",
                            what(&p, p.i, b));
            if (string(&p, j->kbuf, &klen) < 0) return -1;
            ws(&p);
            if (p.i >= n || s[p.i] != ':')
                return perr(&p, p.i, "expected ':' after a member name, found %s",
                            what(&p, p.i, b));
            p.i++;
            ws(&p);
            jsonl_value *first = NULL;
            for (size_t k = 0; k < nnames; k++) {
                if (strlen(names[k]) != klen || memcmp(names[k], j->kbuf, klen) != 0) continue;
                if (vals[k].type != JSONL_ABSENT)
                    return perr(&p, at, "member \"%s\" appears twice in the object", names[k]);
                if (!first) {
                    if (take_value(&p, &vals[k]) < 0) return -1;
                    first = &vals[k];
                } else {
                    vals[k] = *first;
                }
            }
            if (!first) {
                char c = p.i < n ? s[p.i] : 0;
                if (p.i < n && (c == '{' || c == '[')) {
                    if (skip_nested(&p) < 0) return -1;
                } else if (skip_scalar(&p) < 0) {
                    return -1;
                }
            }
            ws(&p);
            if (p.i < n && s[p.i] == ',') {
                p.i++;
                continue;
            }
            if (p.i < n && s[p.i] == '}') {
                p.i++;
                break;
            }
            return perr(&p, p.i, "expected ',' or '}' after a member, found %s", what(&p, p.i, b));
        }
    }
    ws(&p);
    if (p.i < n)
        return perr(&p, p.i, "%s after the end of the object", what(&p, p.i, b));
    return 1;
}
