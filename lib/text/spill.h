/* spill.h — sorted runs of vocabulary entries on disk, for counting in bounded memory
 * (vocab_set_memory): the table is sorted and written out as a run when it reaches its
 * budget, and runs are merged back k ways (the way sort(1) spills and merges).
 *
 * A run is a temporary file without a name (O_TMPFILE; else created, then removed at
 * once and kept open), so it disappears whatever way the process ends, SIGKILL included,
 * and never needs cleaning up. Its format is private to one process, but checked as if it were not:
 *
 *   header   "IMDBVRUN", u32 version (1), u32 order (SPILL_BY_TEXT or SPILL_BY_RANK),
 *            u32 maxn, u32 block size, u32 0, u32 CRC-32 of the 28 bytes before
 *   blocks   u32 payload bytes P, u32 entries E (>= 1), P bytes of entries, u32 CRC-32
 *            of the 8 header bytes and the payload
 *   end      u32 8, u32 0, u64 total entries, u32 CRC-32
 *
 * all little-endian. An entry is: varint length L >= 1, L bytes of n-gram text, varint
 * count >= 1, varint df in [1, count], varint first, varint last (first <= last; the
 * file numbers of a merge, 0 when counting). Entries are strictly increasing: by bytes
 * (SPILL_BY_TEXT), or by count descending, df descending, bytes (SPILL_BY_RANK, the
 * order of imdb-vocab(5)). A block holds at most SPILL_BLOCK payload bytes unless a
 * single entry is larger. The reader refuses a run that is truncated, has a bad CRC, a
 * field out of range, entries out of order or another version: such a file can only come
 * from a bad disk, bad memory or a bug, and reading on would give a wrong vocabulary. */
#ifndef IMDB_SPILL_H
#define IMDB_SPILL_H
#include <stddef.h>
#include <stdint.h>
#include "util.h"

#define SPILL_VERSION 1
#define SPILL_BLOCK (32 * 1024)
enum { SPILL_BY_TEXT = 1, SPILL_BY_RANK = 2 };

/* Memory of one reader or writer (its block buffer and state), for budgets. */
#define SPILL_BUFFER_BYTES (SPILL_BLOCK + 256)

typedef struct spill_entry {
    const char *text;    /* not NUL-terminated; owned by the reader, valid until its next call */
    size_t len;
    uint64_t count, df;
    uint32_t first, last;
} spill_entry;

/* The order of a run: <0, 0, >0 like memcmp. */
int spill_cmp(int order, const spill_entry *a, const spill_entry *b);

typedef struct spill_run spill_run;      /* a finished run: an open file and its size */
typedef struct spill_writer spill_writer;
typedef struct spill_reader spill_reader;

/* A new run in directory dir (created, then unlinked: only the descriptor holds it).
 * NULL with e filled (IMDB_EXIT_IO) if the file cannot be made. */
spill_writer *spill_create(const char *dir, int order, int maxn, imdb_err *e);
/* The same on an open descriptor of a regular file (tests: a named file to damage);
 * fd is owned from here on. name is for messages. */
spill_writer *spill_create_fd(int fd, const char *name, int order, int maxn);
/* Append an entry; entries must come in the run's order (not checked here: the reader
 * checks). -1 with e (IMDB_EXIT_IO: a full disk) on a write error. */
int spill_put(spill_writer *w, const spill_entry *en, imdb_err *e);
/* Write the end and make the run readable; frees w in every case. NULL on error. */
spill_run *spill_finish(spill_writer *w, imdb_err *e);
void spill_abort(spill_writer *w);   /* discard; NULL is fine */

/* A run from an open descriptor (tests: a run file written by spill_create_fd); fd is
 * owned from here on. */
spill_run *spill_run_fd(int fd, const char *name);
uint64_t spill_run_entries(const spill_run *r);   /* as written; 0 for spill_run_fd */
uint64_t spill_run_bytes(const spill_run *r);
void spill_run_free(spill_run *r);   /* closes the file (frees its space); NULL is fine */

/* Read a run from its start; maxn and order must match the header (else IMDB_EXIT_IO,
 * since runs are made by this process). */
spill_reader *spill_open(spill_run *r, int order, int maxn, imdb_err *e);
/* 1 with *en filled, 0 at the end (after checking the end record), -1 with e filled:
 * IMDB_EXIT_IO for read errors and damaged runs. */
int spill_next(spill_reader *rd, spill_entry *en, imdb_err *e);
void spill_close(spill_reader *rd);   /* the run stays open; NULL is fine */
#endif
