/* predlog.h — imdb-serve's prediction log: whole lines appended to a file by a thread of
 * its own, so that a request never waits for the disk.
 *
 * The request threads hand each line to predlog_write, which copies it into a bounded
 * buffer and returns at once; when the buffer is full (the disk is slower than the
 * traffic) the line is dropped and counted. The writer thread swaps the buffer for an
 * empty one and writes the full one with write(2), so a burst of lines costs one system
 * call; it gathers lines for up to 20 ms (less when the buffer is half full) before it
 * writes, so a line reaches the file within about 20 ms of predlog_write. Lines are
 * never split: when a write fails partway (ENOSPC, EFBIG, EIO...), the whole lines that
 * got out are kept, the file is truncated back to the end of the last of them
 * (ftruncate), and the lines after it are counted as failed.
 *
 * The file is opened with O_APPEND. predlog_reopen opens the path again (logrotate
 * renames the file, then signals the server). Once a second the writer checks that the
 * file still has a name (st_nlink > 0): when it was removed (its directory too, say) it
 * opens the path again, and while that fails it writes nowhere and counts the lines as
 * failed, trying again each second. The server goes on answering in every case.
 *
 * The module never prints; errors come back as imdb_err. */
#ifndef IMDB_PREDLOG_H
#define IMDB_PREDLOG_H
#include <stddef.h>
#include <stdint.h>
#include "util.h"

#define PREDLOG_DEFAULT_QUEUE ((size_t)4 << 20)   /* bytes waiting to be written */

typedef struct predlog predlog;

/* Open (create, mode 0640 less the umask) path for appending and start the writer.
 * queue_bytes bounds the lines waiting (0: PREDLOG_DEFAULT_QUEUE); a line longer than
 * that is always dropped. NULL with IMDB_EXIT_IO when the file cannot be opened or the
 * thread started. */
predlog *predlog_open(const char *path, size_t queue_bytes, imdb_err *e);

/* Queue line[0..n), one whole line with its final newline. Never blocks on I/O (only on
 * a mutex held for a memcpy). 0 if queued, -1 if dropped (queue full). Thread-safe. */
int predlog_write(predlog *l, const char *line, size_t n);

/* Open the path again and write there from now on (after what is queued). 0, or -1 with
 * IMDB_EXIT_IO (the previous file is kept then). Call from one thread at a time. */
int predlog_reopen(predlog *l, imdb_err *e);

typedef struct predlog_counts {
    unsigned long long written;        /* lines in the file */
    unsigned long long dropped;        /* lines refused: the queue was full */
    unsigned long long failed;         /* lines whose write failed, or with no file open */
    unsigned long long reopened;       /* successful opens after the first */
    unsigned long long reopen_failed;  /* opens that failed (predlog_reopen or the check) */
    size_t queued;                     /* bytes waiting now */
    int open;                          /* 1 while a file is open */
} predlog_counts;

/* A snapshot of the counters. Thread-safe. */
void predlog_get_counts(predlog *l, predlog_counts *c);

/* XXH64 (seed 0) of p[0..n): the prediction log's text_hash, as `xxhsum -H64` (xxHash's
 * canonical form: %016llx of the value) prints it for a file holding those bytes. About
 * ten times faster than a byte-wise hash on a review (the byte-wise FNV of the shard
 * module cost 3% of imdb-serve's CPU). Thread-safe; p may be NULL when n is 0. */
uint64_t predlog_text_hash(const char *p, size_t n);

/* Write what is queued (waiting at most grace seconds for the disk), stop the writer,
 * close the file and free l. NULL is ignored. */
void predlog_close(predlog *l, double grace);
#endif
