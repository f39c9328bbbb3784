/* outfile.h — buffered output that is either complete or absent.
 *
 * A named file is written to a temporary "NAME.tmp-XXXXXX" in the same directory, then
 * flushed, fsynced and renamed over NAME by outfile_commit; outfile_abort (or any write
 * error) removes the temporary, so a failed run never leaves a half-written file; so does
 * SIGINT, SIGTERM, SIGHUP or SIGXFSZ (a file size limit) whose action was the default
 * (the process still dies of it; SIGKILL cannot be caught and leaves the temporary), and
 * running out of memory (xmalloc). "-"
 * (or NULL) writes to stdout, which cannot be atomic; nor can an existing device, FIFO
 * or socket (/dev/null, /dev/full, a named pipe), which is opened and written in place
 * (a rename would replace the device). gzip: -1 chooses by the ".gz"
 * suffix of the name (stdout: plain), 0 plain, 1..9 gzip level. */
#ifndef IMDB_OUTFILE_H
#define IMDB_OUTFILE_H
#include <stddef.h>
#include "util.h"

typedef struct outfile outfile;

outfile *outfile_open(const char *path, int gzip, imdb_err *e);
/* Fail (IMDB_EXIT_USAGE) instead of writing binary data to a terminal. */
int outfile_refuse_tty(outfile *o, imdb_err *e);
int outfile_write(outfile *o, const void *buf, size_t n, imdb_err *e);
int outfile_puts(outfile *o, const char *s, imdb_err *e);
int outfile_printf(outfile *o, imdb_err *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *outfile_name(const outfile *o);  /* the final path, or "(standard output)" */
/* Flush, fsync, rename; frees o in every case. 0 on success, -1 with e filled. */
int outfile_commit(outfile *o, imdb_err *e);
/* Discard: remove the temporary file; frees o. NULL is fine. */
void outfile_abort(outfile *o);
#endif
