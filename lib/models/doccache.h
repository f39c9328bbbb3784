/* doccache.h — a compact binary cache of documents' feature lists, read back block by
 * block: the data path of nblr's bounded-memory trainer (linear.c), after LIBLINEAR's
 * block minimization for data larger than memory (Yu, Hsieh, Chang and Lin, KDD 2010).
 *
 * A cache holds documents in the order they were added, in blocks of a fixed number of
 * documents (the last block may be shorter). It lives in a temporary file without a name
 * (O_TMPFILE, else created and unlinked at once: nothing is left behind, whatever way the
 * process ends), or wholly in memory. Blocks of a file cache are kept in memory ("resident")
 * up to a byte budget; the others are read back with pread on each use. Both give the same
 * bytes, so what a trainer computes never depends on the budget.
 *
 *   header  40 bytes: "IMDBDCCH", u32 version (1), u32 documents per block B, u32 nfeat,
 *           u32 blocks, u64 documents, u32 0, u32 CRC-32 of the 36 bytes before
 *   blocks  24-byte header: "DCBK", u32 documents (B, or 1..B for the last), u32 payload
 *           bytes P, u32 CRC-32 of the payload, u32 block number, u32 CRC-32 of these 20
 *           bytes; then P bytes of records
 *   record  varint num (the caller's document number), u32 target (binary32 bits),
 *           varint count K, K varints: the first feature id, then the differences between
 *           successive ids (>= 1: ids strictly increase, each < nfeat)
 *
 * all little-endian. The header is written last (the file starts with zeros until the
 * cache is finished). A reader refuses a cache that is truncated, has trailing bytes, a
 * bad CRC, a field out of range or another version: such a file comes from a bad disk,
 * bad memory or a bug, and training on would give a wrong model. The library never prints
 * or exits: errors come back in imdb_err (IMDB_EXIT_IO for write errors, e.g. a full
 * disk; IMDB_EXIT_DATA for a damaged cache). */
#ifndef IMDB_DOCCACHE_H
#define IMDB_DOCCACHE_H
#include <stddef.h>
#include <stdint.h>
#include "util.h"

#define DOCCACHE_VERSION 1
#define DOCCACHE_HEADER 40
#define DOCCACHE_BLOCK_HEADER 24

typedef struct doccache_writer doccache_writer;
typedef struct doccache doccache;

/* A new cache of blocks of block_docs (>= 1) documents whose feature ids are < nfeat:
 * in a temporary file in directory dir, or in memory when dir is NULL. resident: bytes
 * of finished blocks to keep in memory as they are written (ignored in memory). NULL
 * with e filled (IMDB_EXIT_IO) when the file cannot be made. */
doccache_writer *doccache_create(const char *dir, uint32_t block_docs, uint32_t nfeat, size_t resident,
                                 imdb_err *e);
/* The same on an open descriptor of an empty regular file (tests: a named file to damage);
 * fd is owned from here on, name is for messages. */
doccache_writer *doccache_create_fd(int fd, const char *name, uint32_t block_docs, uint32_t nfeat,
                                    size_t resident);
/* Append a document: feat (nf) sorted strictly increasing, each < nfeat (checked: an
 * IMDB_EXIT_INTERNAL error otherwise). -1 with e (IMDB_EXIT_IO) on a write error. */
int doccache_add(doccache_writer *w, uint32_t num, float target, const uint32_t *feat, size_t nf,
                 imdb_err *e);
/* Append a document whose count and ids are already encoded as in a record (enc, len
 * bytes: varint K and K varints), e.g. doccache_block.enc of another cache, checked by
 * its reader. */
int doccache_add_encoded(doccache_writer *w, uint32_t num, float target, const unsigned char *enc,
                         size_t len, imdb_err *e);
/* The bytes of the encoded count and ids of feat (nf), as doccache_add writes them. */
size_t doccache_encoded_bytes(const uint32_t *feat, size_t nf);
/* Write the last block and the header; frees w in every case and returns the cache,
 * ready to read (its resident blocks kept), or NULL with e filled. */
doccache *doccache_finish(doccache_writer *w, imdb_err *e);
void doccache_abort(doccache_writer *w);   /* discard (the file goes with it); NULL is fine */

/* Read a cache from an open descriptor, from its start (tests: a file written by
 * doccache_create_fd, then damaged): every header is checked now, every payload's CRC
 * when the block is read (or when it is made resident, up to resident bytes). fd is
 * owned from here on. NULL with e filled (IMDB_EXIT_DATA when damaged). */
doccache *doccache_open_fd(int fd, const char *name, size_t resident, imdb_err *e);
/* Keep up to resident bytes of blocks in memory from now on (the first blocks that fit,
 * checked as they are loaded), dropping those kept before. -1 with e on a damaged block. */
int doccache_set_resident(doccache *c, size_t resident, imdb_err *e);
void doccache_close(doccache *c);   /* NULL is fine; a file cache's file goes with it */

uint64_t doccache_docs(const doccache *c);
size_t doccache_blocks(const doccache *c);
uint32_t doccache_block_docs(const doccache *c);
uint64_t doccache_bytes(const doccache *c);          /* the whole cache, headers included */
uint64_t doccache_resident_bytes(const doccache *c); /* of it, kept in memory */
uint64_t doccache_features(const doccache *c);       /* feature ids over all documents */
size_t doccache_max_payload(const doccache *c);      /* the largest block's payload */
/* Bytes a reader needs at most for one block of this cache (its buffers): payload plus
 * the decoded arrays. */
size_t doccache_block_memory(const doccache *c);

/* One decoded block: documents j < n with number num[j], target target[j] and sorted
 * feature ids feat[off[j] .. off[j+1]); enc + enc_off[j] .. enc + enc_end[j] are the
 * encoded count and ids of record j (for doccache_add_encoded). Owned by the cache, valid
 * until its next doccache_read. */
typedef struct doccache_block {
    size_t n;
    const uint32_t *num;
    const float *target;
    const size_t *off;
    const uint32_t *feat;
    const unsigned char *enc;
    const size_t *enc_off, *enc_end;
} doccache_block;

/* Decode block b (< doccache_blocks). 0, or -1 with e: IMDB_EXIT_IO for a read error,
 * IMDB_EXIT_DATA for a damaged block (a bad CRC, a record out of range). */
int doccache_read(doccache *c, size_t b, doccache_block *out, imdb_err *e);

/* Naive reference reader, the test oracle: decodes a whole cache file image (size bytes)
 * byte by byte with none of the reader's code. On success returns the number of documents
 * and sets malloc'd arrays *num, *target (docs), *off (docs + 1) and *feat (off[docs]);
 * -1 if anything is wrong with the image. */
long doccache_read_naive(const unsigned char *img, size_t size, uint32_t **num, float **target, size_t **off,
                         uint32_t **feat);
#endif
