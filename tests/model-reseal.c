/* model-reseal.c — tests' helper: recompute the checksums of a model file edited in place
 * (modelio_reseal), so that a test reaches the checks behind them.
 *   model-reseal [--outer] FILE   --outer: not those of the model files nested in it
 * Exit status 0, or 1 if FILE cannot be read or written. */
#include "modelio.h"
#include "testutil.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    int nested = 1;
    if (argc == 3 && strcmp(argv[1], "--outer") == 0) { nested = 0; argv++; argc--; }
    if (argc != 2) {
        fprintf(stderr, "usage: model-reseal [--outer] FILE\n");
        return 2;
    }
    size_t n;
    char *b = test_slurp(argv[1], &n);
    modelio_reseal((unsigned char *)b, n, nested);
    FILE *f = fopen(argv[1], "wb");
    int ok = f && fwrite(b, 1, n, f) == n;
    if (f && fclose(f) != 0) ok = 0;
    free(b);
    if (!ok) {
        fprintf(stderr, "model-reseal: cannot write %s\n", argv[1]);
        return 1;
    }
    return 0;
}
