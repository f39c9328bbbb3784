/* lineio.h — reading lines from a gzip or plain file (zlib detects which), or stdin.
 *
 * Lines may hold any bytes, NUL included; the returned length is authoritative. The
 * trailing "\n" and a "\r" before it are removed. A line longer than max_line bytes is an
 * error (memory stays bounded); the default cap is 256 MiB. A truncated or corrupt gzip
 * stream is an error naming the file, never a silent short read. */
#ifndef IMDB_LINEIO_H
#define IMDB_LINEIO_H
#include <stddef.h>
#include "util.h"

typedef struct lineio lineio;

/* path "-" means stdin. Returns NULL with e filled (IMDB_EXIT_IO) if it cannot be opened. */
lineio *lineio_open(const char *path, imdb_err *e);
void lineio_set_max_line(lineio *r, size_t max_line);
/* 1: *line (NUL-terminated, owned by r, valid until the next call) and *len set;
 * 0: end of input; -1: error (e filled, with "NAME:LINE: ..."). */
int lineio_next(lineio *r, char **line, size_t *len, imdb_err *e);
/* 1 if lineio_next can return without waiting for input: a whole line is buffered or
 * the input has ended. A filter that batches its work flushes its output when this is 0,
 * so a coprocess sending one line at a time gets each answer at once. */
int lineio_ready(const lineio *r);
long lineio_lineno(const lineio *r);     /* number of the line last returned, from 1 */
const char *lineio_name(const lineio *r); /* the path, or "(standard input)" */
/* Read the whole rest of the input into one malloc'd buffer (for binary readers). */
int lineio_slurp(lineio *r, char **buf, size_t *len, imdb_err *e);
void lineio_close(lineio *r);
#endif
