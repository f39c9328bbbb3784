/* fuzz_embfile.c — the word-vector reader (word2vec text and binary, GloVe's headerless
 * text, gzip): the "N DIM" header checked against the file's size, the text/binary
 * detection from the first record, short and long rows, numbers that do not parse or are
 * not finite, duplicate words; then lookup and nearest neighbours on what was read.
 *
 * Input: one byte of mode, then the file. Mode bit 0: gzip it here; bits 1-2: the
 * dimension wanted (0 any, or 4, 8, 100). */
#include "fuzz.h"
#include "embfile.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    static const int dims[] = {0, 4, 8, 100};
    int mode = data[0];
    data++;
    size--;
    unsigned char *gz = NULL;
    if (mode & 1) data = gz = fuzz_gzip(data, size, &size);
    char path[32];
    int fd = fuzz_path(data, size, path);
    if (fd < 0) goto done;
    imdb_err e;
    embfile *f = embfile_read(path, dims[(mode >> 1) & 3], &e);
    if (f) {
        int dim = embfile_dim(f);
        size_t n = embfile_count(f);
        if (dim < 1) abort();
        for (size_t i = 0; i < n; i++) {
            const float *v = embfile_vector(f, i);
            for (int j = 0; j < dim; j++)
                if (!isfinite(v[j])) abort();   /* the reader refuses non-finite numbers */
            if (embfile_lookup(f, embfile_word(f, i)) == NULL) abort();
        }
        if (n > 0) {
            size_t idx[5];
            float sim[5];
            embfile_nearest(f, embfile_word(f, 0), 5, idx, sim);
        }
        embfile_free(f);
    }
    close(fd);
done:
    free(gz);
    return 0;
}
