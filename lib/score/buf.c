/* buf.c — see buf.h. Plain realloc, never imdb_xrealloc: a failure is recorded, not fatal.
 * A failed buffer claims no room (cap = len), so the inline appends' room check sends
 * every later append here, where it is refused: no extra test on the fast path. */
#include "buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int fail(buf *b)
{
    b->failed = 1;
    b->cap = b->len;   /* the memory stays allocated (free and realloc need no size) */
    return -1;
}

int buf_reserve(buf *b, size_t more)
{
    if (b->failed) return -1;
    if (more >= SIZE_MAX - b->len) return fail(b);   /* len + more + 1 would overflow */
    size_t need = b->len + more + 1;
    if (need <= b->cap) return 0;
    if (need > PTRDIFF_MAX) return fail(b);   /* no object is that big: don't ask malloc */
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap = cap > PTRDIFF_MAX / 2 ? need : 2 * cap;
    char *p = realloc(b->p, cap);
    if (!p) return fail(b);
    b->p = p;
    b->cap = cap;
    return 0;
}

void buf_printf(buf *b, const char *fmt, ...)
{
    if (b->failed) return;
    /* Try in the room there is; grow and format again only if it did not fit. */
    va_list ap;
    size_t room = b->cap - b->len;
    va_start(ap, fmt);
    int n = vsnprintf(room ? b->p + b->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n < 0) {            /* an encoding error: nothing sensible to append */
        if (b->p) b->p[b->len] = '\0';
        return;
    }
    if ((size_t)n < room) {
        b->len += (size_t)n;
        return;
    }
    if (buf_reserve(b, (size_t)n) < 0) {
        if (b->p) b->p[b->len] = '\0';
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *buf_take(buf *b)
{
    char *p = NULL;
    if (!b->failed) p = b->p ? b->p : calloc(1, 1);
    else free(b->p);
    *b = (buf){0};
    return p;
}

void buf_free(buf *b)
{
    free(b->p);
    *b = (buf){0};
}
