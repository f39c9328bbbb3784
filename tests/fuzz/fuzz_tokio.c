/* fuzz_tokio.c — the token stream reader, imdb-tokens(5): lineio (gzip detection, line
 * splitting, NUL bytes, CR handling, the line-length cap), tokio's header and document
 * lines, tokio_split, and the cleaning settings of the header (text_settings_parse and
 * _canonical, which every tool runs on a stream's header).
 *
 * Input: one byte of mode, then the stream. Mode bit 0: gzip the stream here first, so
 * plain inputs found by the fuzzer also run through zlib (gzip inputs in the corpus cover
 * damaged gzip). Bit 1: cap lines at 64 bytes (lineio_set_max_line's error path). */
#include "fuzz.h"
#include "lineio.h"
#include "text.h"
#include "tokio.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void read_lines(const char *path, int small)
{
    imdb_err e;
    lineio *r = lineio_open(path, &e);
    if (!r) return;
    if (small) lineio_set_max_line(r, 64);
    char *line;
    size_t len;
    while (lineio_next(r, &line, &len, &e) > 0)
        if (line[len] != '\0') abort();   /* the contract: NUL-terminated */
    lineio_close(r);
}

static void read_tokens(const char *path)
{
    imdb_err e;
    tokio_reader *r = tokio_open(path, &e);
    if (!r) return;
    const char *set = tokio_settings(r);
    if (set) {
        text_settings s;
        if (text_settings_parse(&s, set, &e) == 0) {
            char *f = text_settings_format(&s);
            /* format o parse o format is the identity */
            text_settings t;
            if (text_settings_parse(&t, f, &e) != 0) abort();
            char *g = text_settings_format(&t);
            if (strcmp(f, g) != 0) abort();
            free(g);
            free(f);
            text_settings_free(&t);
        }
        text_settings_free(&s);
        free(text_settings_canonical(set));
    }
    tokio_doc d;
    char **toks = NULL;
    size_t cap = 0;
    while (tokio_next(r, &d, &e) > 0) {
        if (d.label != TOKIO_POS && d.label != TOKIO_NEG && d.label != TOKIO_UNLABELLED) abort();
        size_t n = tokio_split(d.text, d.text_len, &toks, &cap);
        for (size_t i = 0; i < n; i++)
            if (!toks[i][0] || strpbrk(toks[i], " ")) abort();
    }
    free(toks);
    tokio_close(r);
}

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
    if (fd >= 0) {
        read_lines(path, mode & 2);
        read_tokens(path);
        close(fd);
    }
    free(gz);
    return 0;
}
