/* modelio.h — the model file container, imdb-model(5).
 *
 * Format 2 (written since issue 21):
 *   offset 0   magic "IMDBMODL" (8 bytes)
 *          8   u32 format version (2)
 *         12   u32 number of sections N
 *         16   u32 chunk size C (a power of two, 64 to 2^30; the writer uses MODELIO_CHUNK)
 *         20   u32 0
 *         24   N directory entries: name (16 bytes, NUL-padded), u64 offset, u64 size
 *   24 + 32N   the chunk CRCs: for each section in directory order, one u32 CRC-32 (zlib)
 *              per C bytes of its data (the last chunk may be shorter; none if empty)
 *     then     u32 CRC-32 of every byte before it (the head)
 *              then the section data, each section starting at a multiple of 64
 * Format 1 (read, no longer written): the directory at offset 16, no chunk CRCs, and a
 * u32 CRC-32 of every byte before it at end - 4.
 * All integers little-endian. Every model has sections "kind" (e.g. "nblr"), "params"
 * (effective settings, conf_format text) and "clean" (text_settings_format); the rest
 * belong to the model kind.
 *
 * Checks. Opening checks the magic, the version (newer is refused), that every section
 * lies inside the file, and the head's CRC (format 1: the whole file's CRC). Then either
 * every chunk at once (modelio_open, modelio_open_mem: nothing is used unchecked, as
 * before format 2), or, with MODELIO_LAZY, each chunk on its first use: modelio_get and
 * modelio_find check a whole section when asked for it, and a kind's big table
 * (modelio_get_lazy) is checked chunk by chunk as lookups reach it, so a model opens in
 * microseconds and a corrupt byte is still refused before it is used. A kind may add its
 * own check of each chunk's contents (indices in range, finite weights) that runs right
 * after the chunk's CRC. modelio_verify checks everything, whatever was checked before.
 *
 * Threads: a modelio is shared by the threads that score with its kind; the check state
 * of the chunks is atomic, so any number of threads may reach an unchecked chunk at once
 * (each may check it; all get the same answer). Registering a lazy section
 * (modelio_get_lazy) happens while loading, before the modelio is shared. */
#ifndef IMDB_MODELIO_H
#define IMDB_MODELIO_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "util.h"

#define MODELIO_VERSION 2
#define MODELIO_CHUNK 65536
/* modelio_open_flags: check each section or chunk on first use, not all at open. */
#define MODELIO_LAZY 1

typedef struct modelio_writer modelio_writer;
/* Writes atomically through outfile; refuses a terminal. "-" = stdout. */
modelio_writer *modelio_create(const char *path, imdb_err *e);
/* Data is copied into the writer (or written at commit). name <= 15 bytes, unique. */
int modelio_add(modelio_writer *w, const char *name, const void *data, size_t size, imdb_err *e);
int modelio_add_str(modelio_writer *w, const char *name, const char *s, imdb_err *e);
/* As modelio_add, but the writer takes data (malloc'd, size bytes) instead of a copy: it
 * frees it at commit or abort, and at once when the call fails. For big sections, so the
 * trainer does not hold them twice. */
int modelio_add_owned(modelio_writer *w, const char *name, void *data, size_t size, imdb_err *e);
/* As modelio_add_owned, for a section in a file: its data are the size bytes of fd from
 * offset 0, read twice at commit (the chunk CRCs, then the copy); the writer owns fd (it
 * closes it at commit or abort, and at once when the call fails). fdname names it in
 * messages (IMDB_EXIT_IO on a read error or a file that ends early). For a big section
 * the caller would otherwise hold in memory until the end, e.g. nblr's n-gram text. */
int modelio_add_file(modelio_writer *w, const char *name, int fd, const char *fdname, size_t size, imdb_err *e);
int modelio_commit(modelio_writer *w, imdb_err *e);   /* frees w */
void modelio_abort(modelio_writer *w);                 /* frees w, removes temp */

typedef struct modelio modelio;
/* Errors: IMDB_EXIT_IO (cannot open/read), IMDB_EXIT_NOMEM (out of memory),
 * IMDB_EXIT_DATA ("not an imdb model file", "truncated", "CRC mismatch [in section S]",
 * "format version N is not supported"). Every chunk of every section is checked here. */
modelio *modelio_open(const char *path, imdb_err *e);
/* The same checks on size bytes at data, named name in messages (an ensemble's member,
 * "ens.model:member.0"). data is not copied and must outlive the modelio, unless it is
 * not 64-byte aligned: then it is copied, so that sections stay aligned. */
modelio *modelio_open_mem(const void *data, size_t size, const char *name, imdb_err *e);
/* The same with flags: 0 or MODELIO_LAZY (only the head is checked here; see above). */
modelio *modelio_open_flags(const char *path, int flags, imdb_err *e);
modelio *modelio_open_mem_flags(const void *data, size_t size, const char *name, int flags, imdb_err *e);
int modelio_flags(const modelio *m);
/* The file's format version (1 or 2). */
int modelio_version(const modelio *m);

/* Section data (64-byte aligned in the mapping) and its size, its CRCs checked (at the
 * first call, in a lazy modelio); NULL if absent or corrupt. */
const void *modelio_get(const modelio *m, const char *name, size_t *size);
/* The same with the reason: 1 found (*data, *size set), 0 absent, -1 corrupt (e filled:
 * IMDB_EXIT_DATA, the message names the section). */
int modelio_find(const modelio *m, const char *name, const void **data, size_t *size, imdb_err *e);
/* A text section copied into a NUL-terminated malloc'd string; NULL if absent or corrupt
 * (ends the program on out of memory, as imdb_xmalloc). */
char *modelio_get_str(const modelio *m, const char *name);
/* The same without exiting: 1 (*out malloc'd), 0 absent (*out NULL), -1 corrupt or out of
 * memory (IMDB_EXIT_NOMEM) with e filled. */
int modelio_find_str(const modelio *m, const char *name, char **out, imdb_err *e);

/* ---- sections checked chunk by chunk ----
 * check(ctx, p, off, n, e): the kind's check of the n bytes at p, which are bytes
 * [off, off + n) of the section (one chunk; off a multiple of the chunk size, at least
 * 64). 0 if good, else -1 with e (which may be NULL) filled with what is wrong. Called
 * about once per chunk (racing threads may each call it; modelio_verify calls it again),
 * from any thread; ctx must stay valid until modelio_close or until the check is taken
 * back (modelio_get_lazy with check NULL). */
typedef int (*modelio_check_fn)(const void *ctx, const unsigned char *p, size_t off, size_t n,
                                imdb_err *e);
typedef struct modelio_lazy {
    /* Private; modelio_need reads state and shift. */
    _Atomic unsigned char *state;   /* per chunk: MODELIO_GOOD once usable */
    _Atomic size_t *ngood;          /* chunks in state MODELIO_GOOD */
    size_t nchunk;                  /* chunks of the section */
    unsigned shift;                 /* log2 of the chunk size */
    const modelio *m;
    int sec;
    modelio_check_fn check;
    const void *ctx;
} modelio_lazy;
#define MODELIO_GOOD 2
/* The section name as modelio_get, but its bytes are not checked here: *lz (when lz is
 * not NULL) is the handle through which the caller checks each chunk before reading it
 * (modelio_need), with check run on each chunk after its CRC; check NULL takes back an
 * earlier one. In a modelio opened without MODELIO_LAZY the CRCs were checked at open,
 * and check runs on first use as well. NULL if absent. */
const void *modelio_get_lazy(const modelio *m, const char *name, size_t *size, modelio_check_fn check,
                             const void *ctx, const modelio_lazy **lz);
int modelio_need_slow(const modelio_lazy *lz, size_t off);
/* Before reading byte off of a lazy section (and the rest of its chunk): 0 once the
 * chunk is checked and good, -1 if it is corrupt (modelio_verify tells why). Costs one
 * atomic load once the chunk is checked. */
static inline int modelio_need(const modelio_lazy *lz, size_t off)
{
    if (atomic_load_explicit(&lz->state[off >> lz->shift], memory_order_acquire) == MODELIO_GOOD) return 0;
    return modelio_need_slow(lz, off);
}
/* 1 once every chunk of the section is checked and good (then no modelio_need can fail
 * or cost anything: a caller may take a path without them), else 0. One atomic load. */
static inline int modelio_all_good(const modelio_lazy *lz)
{
    return atomic_load_explicit(lz->ngood, memory_order_acquire) == lz->nchunk;
}
/* Every chunk of every section checked now, whatever was checked before (format 1: the
 * whole file's CRC again), and the kinds' checks of their lazy sections: 0, or -1 with
 * e filled (IMDB_EXIT_DATA, naming the first bad section). Thread-safe. */
int modelio_verify(const modelio *m, imdb_err *e);
/* The checks not done yet (chunks never used in a lazy modelio, kinds' checks not run
 * yet): what a lazy open followed by this costs is what a full open costs. 0 or -1. */
int modelio_check_rest(const modelio *m, imdb_err *e);

const char *modelio_name(const modelio *m);
void modelio_close(modelio *m);
/* zlib's crc32(crc, data, n) for any n, faster (carry-less multiplication) where the CPU
 * has it; the same value. */
uint32_t modelio_crc32(uint32_t crc, const void *data, size_t n);
/* For tests and fuzzing: recompute every CRC of the model file at p (n bytes, format 1 or
 * 2), and first those of the model files nested in its sections (an ensemble's members,
 * depth-limited) if nested, so that an edited file passes the checksums and reaches the
 * other checks. Leaves alone what it cannot parse. */
void modelio_reseal(unsigned char *p, size_t n, int nested);
#endif
