/* tar.h — reading a tar archive (ustar, GNU long names, pax path records), gzip-compressed
 * or not, as a stream: no extraction, no seeking. Entries come in archive order. */
#ifndef IMDB_TAR_H
#define IMDB_TAR_H
#include <stddef.h>
#include <stdint.h>
#include "util.h"

typedef struct tar_reader tar_reader;

typedef struct tar_entry {
    const char *name;   /* full path as stored, NUL-terminated, owned by the reader */
    uint64_t size;
    char type;          /* '0' regular file, '5' directory, ... (GNU/pax records consumed) */
} tar_entry;

tar_reader *tar_open(const char *path, imdb_err *e);   /* "-" = stdin */
/* 1: next entry in *ent; 0: end of archive; -1: corrupt or truncated archive (e filled,
 * IMDB_EXIT_DATA, naming the archive and the entry). Skips the unread data of the previous
 * entry. */
int tar_next(tar_reader *t, tar_entry *ent, imdb_err *e);
/* Read the current entry's data into a buffer owned by the reader (valid until the next
 * tar_next/tar_read). Fails on entries larger than max bytes. */
int tar_read(tar_reader *t, const char **data, size_t *len, size_t max, imdb_err *e);
void tar_close(tar_reader *t);
#endif
