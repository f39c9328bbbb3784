/* buf.h — a growable byte buffer for output: imdb-predict's result lines, imdb-serve's
 * answers, imdb-eval's JSON members.
 *
 * Out of memory does not end the program (the public C API formats through this code and
 * must never exit): the first failed allocation marks the buffer failed, every later
 * append is then a no-op, and the caller checks buf_failed once, after formatting, and
 * reports the error. So formatting code needs no check per append.
 *
 * Zero-initialize (buf b = {0}); free with buf_free. A buffer is not thread-safe: one per
 * thread or per chunk of work. The content is always NUL-terminated once anything was
 * appended (p[len] == '\0'), so p can be passed to functions that take C strings. */
#ifndef IMDB_BUF_H
#define IMDB_BUF_H
#include <stddef.h>
#include <string.h>

typedef struct buf {
    char *p;        /* the bytes [0, len), then a NUL; NULL until the first append */
    size_t len;
    size_t cap;     /* allocated bytes (room for len + 1); len once failed */
    int failed;     /* 1 after an allocation failed: appends are ignored */
} buf;

/* Make room for more bytes (and the NUL) beyond len: 0, or -1 when the allocation fails
 * (or len + more overflows), which also marks b failed. -1 at once if b failed before. */
int buf_reserve(buf *b, size_t more);

/* Append n bytes of s (s may be NULL when n is 0). */
static inline void buf_add(buf *b, const void *s, size_t n)
{
    if (b->cap - b->len <= n && buf_reserve(b, n) < 0) return;   /* also: cap == 0 */
    if (n) memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static inline void buf_char(buf *b, char c)
{
    if (b->cap - b->len <= 1 && buf_reserve(b, 1) < 0) return;
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
}

static inline void buf_str(buf *b, const char *s) { buf_add(b, s, strlen(s)); }

/* Append printf-formatted text. */
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* 1 if an allocation failed since the buffer was made (or last buf_clear), else 0. */
static inline int buf_failed(const buf *b) { return b->failed; }

/* Empty the buffer and forget a failure; the memory is kept for reuse. */
static inline void buf_clear(buf *b)
{
    b->len = 0;
    b->failed = 0;
    if (b->p) b->p[0] = '\0';
}

/* Hand the content over: a malloc'd NUL-terminated string of b->len bytes that the
 * caller frees (an empty string if nothing was appended), or NULL if b failed or the
 * empty string cannot be allocated. b is left empty, as zero-initialized. */
char *buf_take(buf *b);

/* Free the memory; b is left as zero-initialized. */
void buf_free(buf *b);
#endif
