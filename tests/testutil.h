/* tests/testutil.h — helpers the unit tests share (header only; each test is one program). */
#ifndef IMDB_TESTUTIL_H
#define IMDB_TESTUTIL_H
#include <stdio.h>
#include <stdlib.h>

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
#endif
