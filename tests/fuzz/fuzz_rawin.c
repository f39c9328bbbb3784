/* fuzz_rawin.c — the raw review readers: CSV (RFC 4180 quoting, embedded newlines, the
 * review,sentiment header), TSV (2 and 3 columns, labels), text lines, and the aclImdb
 * tarball through tar_ (ustar, GNU long names, pax records, base-256 sizes, truncation)
 * with its path matching (train/pos/ID.txt); also tar_ on its own, reading every entry.
 *
 * Input: one byte of mode, then the file. Mode % 5: 0 CSV, 1 TSV, 2 lines, 3 aclImdb
 * tarball (split chosen by mode / 5 % 4: all, train, test, unsup), 4 tar_ alone.
 * Tar inputs may be gzip or plain (tar_ detects which). */
#include "fuzz.h"
#include "rawin.h"
#include "tar.h"
#include "tokio.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void read_raw(const char *path, rawin_format fmt, const char *split)
{
    imdb_err e;
    rawin *r = rawin_open(path, fmt, split, &e);
    if (!r) return;
    rawin_doc d;
    while (rawin_next(r, &d, &e) > 0) {
        if (d.label != TOKIO_POS && d.label != TOKIO_NEG && d.label != TOKIO_UNLABELLED) abort();
        if (!d.id || !d.id[0]) abort();
        if (d.len) {
            volatile char first = d.text[0], last = d.text[d.len - 1];   /* in bounds */
            (void)first;
            (void)last;
        }
    }
    rawin_close(r);
}

static void read_tar(const char *path)
{
    imdb_err e;
    tar_reader *t = tar_open(path, &e);
    if (!t) return;
    tar_entry ent;
    int i = 0;
    while (tar_next(t, &ent, &e) > 0) {
        const char *data;
        size_t len;
        if (i++ % 2 == 0 && tar_read(t, &data, &len, 1 << 16, &e) == 0 && len != ent.size) abort();
    }
    tar_close(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    static const char *const splits[] = {NULL, "train", "test", "unsup"};
    int mode = data[0];
    char path[32];
    int fd = fuzz_path(data + 1, size - 1, path);
    if (fd < 0) return 0;
    switch (mode % 5) {
    case 0: read_raw(path, RAWIN_CSV, NULL); break;
    case 1: read_raw(path, RAWIN_TSV, NULL); break;
    case 2: read_raw(path, RAWIN_LINES, NULL); break;
    case 3: read_raw(path, RAWIN_ACLIMDB_TAR, splits[mode / 5 % 4]); break;
    default: read_tar(path); break;
    }
    close(fd);
    return 0;
}
