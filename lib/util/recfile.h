/* recfile.h — what the library's private scratch files have in common: the vocabulary's
 * spill runs (lib/text/spill.c) and nblr's document cache (lib/models/doccache.c). Each
 * is a temporary file without a name, written and read back at explicit offsets, made of
 * records with a CRC-32 (zlib's) and fields in little-endian or varint form. Their
 * formats stay theirs (spill.h, doccache.h); this module holds the pieces both spell the
 * same way, so that a fix to one (EINTR, a short write, a CRC over more than 4 GiB) is a
 * fix to both.
 *
 * A varint is LEB128 as in protocol buffers: seven bits a byte, low bits first, the top
 * bit set on every byte but the last; a uint64_t takes 1 to RECFILE_VARINT_MAX bytes.
 *
 * The library never prints or exits: recfile_tmp reports in imdb_err; the plain I/O
 * calls return -1 with errno set, for the caller to word the message (it knows what the
 * file is). */
#ifndef IMDB_RECFILE_H
#define IMDB_RECFILE_H
#include <stddef.h>
#include <stdint.h>
#include "util.h"

#define RECFILE_VARINT_MAX 10

/* A new empty file in directory dir, opened O_RDWR | O_CLOEXEC, mode 0600, that has no
 * name: O_TMPFILE where the file system can, else created by mkostemp as
 * "DIR/PREFIX.XXXXXX" and unlinked at once. Only the descriptor holds it, so it
 * disappears whatever way the process ends (SIGKILL included, but between the two calls
 * of the fallback). Returns the descriptor, with *name set to a string for messages
 * ("DIR/(WHAT)" or the path it had; the caller frees it); or -1 with e filled
 * (IMDB_EXIT_IO): "DIR: cannot create a WHAT: REASON" or "PATH: cannot remove a WHAT:
 * REASON", *name untouched. what names the file in messages, e.g. "spill file". */
int recfile_tmp(const char *dir, const char *what, const char *prefix, char **name, imdb_err *e);

/* Write the n bytes at p at file offset off (pwrite; retried on EINTR and short writes).
 * 0, or -1 with errno set (ENOSPC when the device takes no more bytes). The file offset
 * of fd does not move. */
int recfile_write(int fd, const void *p, size_t n, uint64_t off);
/* Read n bytes at file offset off into p (pread; retried on EINTR and short reads).
 * 1 when all n were read, 0 when the file ends first (p then holds what there was),
 * -1 with errno set on a read error. */
int recfile_read(int fd, void *p, size_t n, uint64_t off);

/* The CRC-32 (zlib's crc32, ISO-HDLC) of the n bytes at p, for any n (zlib takes at most
 * 4 GiB a call). */
uint32_t recfile_crc32(const void *p, size_t n);
/* A record sealed with its CRC: p[n..n+4) := recfile_crc32(p, n), little-endian (p has
 * room for n + 4 bytes). recfile_sealed says whether p[0..n+4) is such a record. */
void recfile_seal(unsigned char *p, size_t n);
int recfile_sealed(const unsigned char *p, size_t n);

/* Write x as a varint at p (room for RECFILE_VARINT_MAX bytes); the bytes written. */
size_t recfile_put_varint(unsigned char *p, uint64_t x);
/* The bytes recfile_put_varint writes for x. */
size_t recfile_varint_bytes(uint64_t x);
/* A varint from p[0..end) into *x: the bytes it takes, or 0 (*x untouched) when it runs
 * past end or does not fit 64 bits. */
size_t recfile_get_varint(const unsigned char *p, const unsigned char *end, uint64_t *x);

/* The same for a varint of at most 32 bits, in at most 5 bytes: 0 when it runs past end,
 * is longer or is above UINT32_MAX. Inline: the document cache decodes one per feature
 * on every pass over its data. */
static inline size_t recfile_get_varint32(const unsigned char *p, const unsigned char *end, uint32_t *x)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 5 && p + i < end; i++) {
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            if (v > UINT32_MAX) return 0;
            *x = (uint32_t)v;
            return i + 1;
        }
    }
    return 0;
}
#endif
