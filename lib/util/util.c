/* util.c — see util.h. */
#include "util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

int imdb_fail(imdb_err *e, int status, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        e->status = status;
    }
    return -1;
}

static void (*oom_hook)(void);

void imdb_on_oom(void (*fn)(void)) { oom_hook = fn; }

/* The one place out of memory ends the program: a message, the temporaries of unfinished
 * outputs removed (outfile's hook), and exit status IMDB_EXIT_INTERNAL. _exit, not exit:
 * atexit handlers could need the memory there is none of. */
void imdb_oom_exit(size_t n)
{
    fprintf(stderr, "imdb: out of memory (allocating %zu bytes)\n", n);
    if (oom_hook) oom_hook();
    _exit(IMDB_EXIT_INTERNAL);
}

void *imdb_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) imdb_oom_exit(n);
    return p;
}

void *imdb_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) imdb_oom_exit(n * size);
    return p;
}

void *imdb_xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) imdb_oom_exit(n);
    return p;
}

char *imdb_xstrdup(const char *s) { return imdb_xstrndup(s, strlen(s)); }

char *imdb_xstrndup(const char *s, size_t n)
{
    char *p = imdb_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

size_t imdb_arena_add(imdb_arena *a, const char *s, size_t n)
{
    if (a->used + n + 1 > a->cap) {
        while (a->used + n + 1 > a->cap) a->cap = a->cap ? a->cap * 2 : (size_t)1 << 20;
        a->p = imdb_xrealloc(a->p, a->cap);
    }
    size_t off = a->used;
    memcpy(a->p + off, s, n);
    a->p[off + n] = '\0';
    a->used += n + 1;
    return off;
}

double imdb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* x = m * 2^-s exactly (frexp, 53-bit m); x * 10^6 = m * 10^6 / 2^s, with m * 10^6 < 2^73,
 * so one 128-bit division by a power of two gives the integer part and the remainder,
 * which is compared with one half exactly: ties go to the even neighbour, as glibc's
 * printf does in the default rounding mode. */
size_t imdb_fmt_fixed6(char *out, double x)
{
#ifdef __SIZEOF_INT128__
    if (x >= 0 && x <= 1 && !signbit(x)) {
        uint64_t q = 0;
        if (x > 0) {
            int ex;
            double f = frexp(x, &ex);                      /* x = f * 2^ex, f in [0.5, 1) */
            uint64_t m = (uint64_t)ldexp(f, 53);           /* exact */
            int sh = 53 - ex;                              /* x = m * 2^-sh, sh >= 52 */
            if (sh < 127) {
                unsigned __int128 n = (unsigned __int128)m * 1000000u;
                unsigned __int128 ip = n >> sh, rem = n - (ip << sh), half = (unsigned __int128)1 << (sh - 1);
                q = (uint64_t)ip;
                if (rem > half || (rem == half && (q & 1))) q++;
            }
        }
        uint64_t ipart = q / 1000000u, frac = q % 1000000u;
        char *o = out;
        *o++ = (char)('0' + ipart);
        *o++ = '.';
        for (int d = 5; d >= 0; d--) {
            o[d] = (char)('0' + frac % 10);
            frac /= 10;
        }
        o[6] = '\0';
        return 8;
    }
#endif
    return (size_t)snprintf(out, 32, "%.6f", x);
}
