/* loadfail.c — tests' helper for tests/load-nomem.sh: load each model file (clf_load, or
 * clf_load_lazy with --lazy, then clf_verify) and report how that ended, so that a test
 * can fail every malloc of loading in turn (tests/failshim.so) and see a clean error
 * each time.
 *   loadfail [--lazy] MODEL...
 * Exit status 0 (all loaded), 3 (a load reported out of memory, IMDB_EXIT_NOMEM), 1 (any
 * other error); the error on stderr. An exit from inside the library (imdb_xmalloc's
 * status 5) or a crash is what the test looks for. */
#include "clf.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    int lazy = argc > 1 && strcmp(argv[1], "--lazy") == 0, i = 1 + lazy;
    for (; i < argc; i++) {
        imdb_err e = { 0 };
        clf *c = lazy ? clf_load_lazy(argv[i], &e) : clf_load(argv[i], &e);
        if (c && lazy && clf_verify(c, &e) < 0) {
            clf_free(c);
            c = NULL;
        }
        if (!c) {
            fprintf(stderr, "loadfail: status %d: %s\n", e.status, e.msg);
            return e.status == IMDB_EXIT_NOMEM ? 3 : 1;
        }
        clf_free(c);
    }
    return 0;
}
