/* json.c — see json.h. The string loop copies runs of bytes that need no escape in one
 * append: imdb-predict writes every explained n-gram through it. */
#include "json.h"
#include "utf8.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* 1 for the bytes a style escapes (besides '"' and '\\'): controls, and DEL in JSON_EVAL. */
static inline int needs_escape(unsigned c, json_style st)
{
    return c < 0x20 || c == '"' || c == '\\' || (c == 0x7f && st == JSON_EVAL);
}

static void put_escape(buf *b, unsigned c, json_style st)
{
    static const char lower[] = "0123456789abcdef", upper[] = "0123456789ABCDEF";
    const char *short_form = NULL;
    if (c == '"') short_form = "\\\"";
    else if (c == '\\') short_form = "\\\\";
    else if (st != JSON_EVAL) {
        if (c == '\n') short_form = "\\n";
        else if (c == '\r') short_form = "\\r";
        else if (c == '\t') short_form = "\\t";
        else if (st == JSON_SERVE && c == '\b') short_form = "\\b";
        else if (st == JSON_SERVE && c == '\f') short_form = "\\f";
    }
    if (short_form) {
        buf_add(b, short_form, 2);
        return;
    }
    const char *hex = st == JSON_SERVE ? upper : lower;
    char u[6] = {'\\', 'u', '0', '0', hex[c >> 4 & 15], hex[c & 15]};
    buf_add(b, u, 6);
}

void json_str_part(buf *b, const char *s, size_t n, json_style st)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0;   /* start of the bytes not yet written */
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        if (c < 0x80) {
            if (!needs_escape(c, st)) {
                i++;
                continue;
            }
            buf_add(b, s + run, i - run);
            put_escape(b, c, st);
            run = ++i;
            continue;
        }
        size_t l = utf8_seq(u + i, n - i, NULL);
        if (l) {
            i += l;
            continue;
        }
        buf_add(b, s + run, i - run);
        buf_add(b, "\\ufffd", 6);
        run = ++i;
    }
    buf_add(b, s + run, n - run);
}

void json_str(buf *b, const char *s, size_t n, json_style st)
{
    buf_char(b, '"');
    json_str_part(b, s, n, st);
    buf_char(b, '"');
}

void json_cstr(buf *b, const char *s, json_style st)
{
    if (s) json_str(b, s, strlen(s), st);
    else buf_add(b, "null", 4);
}

/* jansson's jsonp_dtostr with precision 15: "%.15g", ".0" when there is neither a '.'
 * nor an 'e', then the exponent without '+' and leading zeros. */
static size_t fmt_jansson_real(char *out, size_t size, double x)
{
    int n = snprintf(out, size, "%.15g", x);
    if (n < 0 || (size_t)n >= size - 3) return 0;
    size_t len = (size_t)n;
    if (!strchr(out, '.') && !strchr(out, 'e')) {
        memcpy(out + len, ".0", 3);
        len += 2;
    }
    char *start = strchr(out, 'e');
    if (start) {
        start++;
        char *end = start + 1;
        if (*start == '-') start++;
        while (*end == '0') end++;
        if (end != start) {
            memmove(start, end, len - (size_t)(end - out) + 1);
            len -= (size_t)(end - start);
        }
    }
    return len;
}

void json_num(buf *b, double x, json_style st)
{
    if (!isfinite(x)) {
        buf_add(b, "null", 4);
        return;
    }
    char num[64];
    size_t n;
    if (st == JSON_SERVE) {
        n = fmt_jansson_real(num, sizeof num, round(x * 1e6) / 1e6);
    } else if (fabs(x) < 1e15) {
        n = imdb_fmt_fixed6(num, x);   /* printf's %.6f, without its cost */
    } else {
        buf_printf(b, "%.6f", x);      /* too long for imdb_fmt_fixed6's 32 bytes */
        return;
    }
    buf_add(b, num, n);
}

void json_int(buf *b, long long v)
{
    char num[32];
    int n = snprintf(num, sizeof num, "%lld", v);
    buf_add(b, num, (size_t)n);
}

void json_bool(buf *b, int v)
{
    if (v) buf_add(b, "true", 4);
    else buf_add(b, "false", 5);
}
