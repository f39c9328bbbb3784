/* tests/testutil.h — helpers the unit tests share (header only; each test is one program):
 * the failure count and CHECK, the listed form test_expect, the exit status, reading a
 * whole file, and finishing a small model file made by hand.
 *
 * A test fails through its exit status (test_status): every failed check is counted in
 * `failures` and said on stdout, and the test goes on, so one run shows every failure. */
#ifndef IMDB_TESTUTIL_H
#define IMDB_TESTUTIL_H
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "modelio.h"
#include "util.h"

/* Failed checks so far. Tests may add to it (failures += bad) for checks of their own. */
static int failures;

/* Count a failure and print "FAIL FILE:LINE: MESSAGE" on stdout. */
static void test_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4), unused));
static void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    failures++;
    printf("FAIL %s:%d: ", file, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/* CHECK(cond, format, ...): a failure, with the printf-style message, when cond is false. */
#define CHECK(cond, ...) do { if (!(cond)) test_fail(__FILE__, __LINE__, __VA_ARGS__); } while (0)

/* The listed form, for tests that print every check: "  WHAT  ok" or "  WHAT  FAIL"
 * (counted). */
static inline void test_expect(int ok, const char *what)
{
    printf("  %-60s %s\n", what, ok ? "ok" : "FAIL");
    if (!ok) failures++;
}

/* The exit status of the test: 0 without failures, else 1 after "NAME: N failure(s)". */
static inline int test_status(const char *name)
{
    if (failures) printf("%s: %d failure%s\n", name, failures, failures == 1 ? "" : "s");
    fflush(stdout);
    return failures ? 1 : 0;
}

/* The whole file at path in one malloc'd buffer with a '\0' after its last byte, its size
 * in *n (when n is not NULL). A file that cannot be read fails the test: "FAIL: cannot
 * read PATH" on stdout and exit status 1. The caller frees the buffer. */
static inline char *test_slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    char *b = NULL;
    size_t cap = 0, len = 0, k = 0;
    if (f) {
        do {
            if (len + 65536 > cap) {
                char *nb = realloc(b, cap = 2 * cap + 65536);
                if (!nb) break;
                b = nb;
            }
            k = fread(b + len, 1, cap - len - 1, f);
            len += k;
        } while (k > 0);
    }
    if (!f || !b || k > 0 || ferror(f)) {
        printf("FAIL: cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    b[len] = '\0';
    if (n) *n = len;
    return b;
}

/* Finish a small model file made by hand: after its kind's own sections, add the three
 * every model file has ("kind", "params", "clean", in the order imdb-train writes them)
 * and commit w. Returns 0; -1 with e filled, w then removed and freed too. */
static inline int test_model_commit(modelio_writer *w, const char *kind, const char *params, const char *clean,
                                    imdb_err *e)
{
    if (modelio_add_str(w, "kind", kind, e) < 0 || modelio_add_str(w, "params", params, e) < 0 ||
        modelio_add_str(w, "clean", clean, e) < 0) {
        modelio_abort(w);
        return -1;
    }
    return modelio_commit(w, e);
}
#endif
