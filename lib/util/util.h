/* util.h — errors, allocation and exit statuses shared by libimdb and the tools.
 *
 * Library functions never print and never exit: they return -1 (or NULL) and fill an
 * imdb_err with a status (one of IMDB_EXIT_*) and a one-line message that already names
 * the file and line where that makes sense ("train.tok.gz:1042: unknown label 'foo'").
 * The executables print "PROGRAM: MESSAGE" and exit with err.status.
 * Out of memory is the one case that aborts, in xmalloc and friends. */
#ifndef IMDB_UTIL_H
#define IMDB_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Exit statuses, the same for every tool (documented in each man page). */
enum {
    IMDB_EXIT_OK = 0,
    IMDB_EXIT_DATA = 1,   /* malformed or inconsistent input data or model file */
    IMDB_EXIT_USAGE = 2,  /* bad command line or settings */
    IMDB_EXIT_GATE = 3,   /* imdb-eval: accuracy below --min-accuracy */
    IMDB_EXIT_IO = 4,     /* cannot open, read or write a file (missing, full disk) */
    IMDB_EXIT_INTERNAL = 5 /* a bug or resource limit (NaN loss etc.) */
};

typedef struct imdb_err {
    int status;        /* IMDB_EXIT_* */
    char msg[1024];    /* one line, no trailing newline, no program name */
} imdb_err;

/* Fill e (if not NULL) and return -1, so callers can write `return imdb_fail(...)`. */
int imdb_fail(imdb_err *e, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Allocation that ends the program on out of memory: a message, then exit status
 * IMDB_EXIT_INTERNAL, after calling the hook set by imdb_on_oom (outfile's: remove the
 * temporaries of unfinished outputs; it must not allocate). */
void imdb_on_oom(void (*fn)(void));
void *imdb_xmalloc(size_t n);
/* What imdb_xmalloc does when malloc fails: the message, the hook, _exit(5). For the
 * wrappers that keep the tools' "out of memory ends the program" contract over library
 * functions that report it (text_tokenize over text_tokenize_try, clf_prob over
 * clf_prob_try); the public API (lib/api) never calls it. */
void imdb_oom_exit(size_t n) __attribute__((noreturn));
void *imdb_xcalloc(size_t n, size_t size);
void *imdb_xrealloc(void *p, size_t n);
char *imdb_xstrdup(const char *s);
char *imdb_xstrndup(const char *s, size_t n);

/* A growing byte arena: strings appended NUL-terminated, addressed by offset (the
 * buffer moves as it grows). Zero-initialize; free(a->p) when done. */
typedef struct imdb_arena {
    char *p;
    size_t used, cap;
} imdb_arena;
/* Append n bytes of s and a NUL; returns the offset of the copy. */
size_t imdb_arena_add(imdb_arena *a, const char *s, size_t n);

/* Little-endian helpers for binary formats (model files, checkpoints). */
static inline void put_u32le(unsigned char *p, uint32_t v)
{ p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24); }
static inline uint32_t get_u32le(const unsigned char *p)
{ return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static inline void put_u64le(unsigned char *p, uint64_t v)
{ put_u32le(p, (uint32_t)v); put_u32le(p + 4, (uint32_t)(v >> 32)); }
static inline uint64_t get_u64le(const unsigned char *p)
{ return (uint64_t)get_u32le(p) | (uint64_t)get_u32le(p + 4) << 32; }

/* x formatted as printf's "%.6f" (the same bytes) into out (32 bytes), NUL-terminated;
 * returns the length. Values in [0, 1] take an exact integer path (imdb-predict prints
 * one per review, and printf's conversion cost more than a review's features). */
size_t imdb_fmt_fixed6(char *out, double x);

/* Monotonic wall clock in seconds. */
double imdb_now(void);

#endif
