/* fuzz_vocab.c — the vocabulary reader, imdb-vocab(5): the header line (version, ngrams,
 * docs, tokens), the optional #clean line, NGRAM<TAB>COUNT<TAB>DF lines (numbers, the
 * n-gram's order against ngrams, duplicate entries), gzip or plain; then
 * vocab_read_merge of the same file into a vocabulary of its order (the streaming merge
 * of imdb-vocab --merge and imdb-train).
 *
 * Input: one byte of mode (bit 0: gzip the file here), then the file. */
#include "fuzz.h"
#include "vocab.h"

#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int mode = data[0];
    data++;
    size--;
    unsigned char *gz = NULL;
    if (mode & 1) data = gz = fuzz_gzip(data, size, &size);
    char path[32];
    int fd = fuzz_path(data, size, path);
    if (fd < 0) goto done;
    imdb_err e;
    vocab *v = vocab_read(path, &e);
    if (v) {
        for (size_t i = 0; i < vocab_size(v); i++)
            if (vocab_order(v, i) < 1 || vocab_order(v, i) > vocab_maxn(v)) abort();
        vocab *w = vocab_new(vocab_maxn(v));
        vocab_set_clean(w, vocab_clean(v));
        vocab_info info;
        vocab_read_merge(w, path, &info, &e);
        vocab_free(w);
        vocab_free(v);
    }
    close(fd);
done:
    free(gz);
    return 0;
}
