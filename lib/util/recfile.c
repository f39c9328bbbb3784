/* recfile.c — see recfile.h. */
#include "recfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

int recfile_tmp(const char *dir, const char *what, const char *prefix, char **name, imdb_err *e)
{
    size_t l = strlen(dir), cap = l + strlen(what) + strlen(prefix) + 16;
    char *path = imdb_xmalloc(cap);
    const char *sep = l && dir[l - 1] == '/' ? "" : "/";
    int fd = -1;
#ifdef O_TMPFILE
    /* A file without a name from the start, where the file system can. */
    fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    snprintf(path, cap, "%s%s(%s)", dir, sep, what);
#endif
    if (fd < 0) {
        snprintf(path, cap, "%s%s%s.XXXXXX", dir, sep, prefix);
        fd = mkostemp(path, O_CLOEXEC);
        if (fd < 0) {
            imdb_fail(e, IMDB_EXIT_IO, "%s: cannot create a %s: %s", dir, what, strerror(errno));
            free(path);
            return -1;
        }
        /* Unlinked at once: nothing is left behind, whatever way the process ends (but
         * SIGKILL between these two calls). */
        if (unlink(path) < 0) {
            imdb_fail(e, IMDB_EXIT_IO, "%s: cannot remove a %s: %s", path, what, strerror(errno));
            close(fd);
            free(path);
            return -1;
        }
    }
    *name = path;
    return fd;
}

int recfile_write(int fd, const void *p, size_t n, uint64_t off)
{
    const unsigned char *q = p;
    while (n > 0) {
        ssize_t k = pwrite(fd, q, n, (off_t)off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            if (k == 0 || !errno) errno = ENOSPC;
            return -1;
        }
        q += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

int recfile_read(int fd, void *p, size_t n, uint64_t off)
{
    unsigned char *q = p;
    while (n > 0) {
        ssize_t k = pread(fd, q, n, (off_t)off);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return -1;
        if (k == 0) return 0;
        q += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 1;
}

uint32_t recfile_crc32(const void *p, size_t n)
{
    const unsigned char *q = p;
    uLong c = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, q, k);
        q += k;
        n -= k;
    }
    return (uint32_t)c;
}

void recfile_seal(unsigned char *p, size_t n)
{
    put_u32le(p + n, recfile_crc32(p, n));
}

int recfile_sealed(const unsigned char *p, size_t n)
{
    return get_u32le(p + n) == recfile_crc32(p, n);
}

size_t recfile_put_varint(unsigned char *p, uint64_t x)
{
    size_t n = 0;
    while (x >= 0x80) {
        p[n++] = (unsigned char)(x | 0x80);
        x >>= 7;
    }
    p[n++] = (unsigned char)x;
    return n;
}

size_t recfile_varint_bytes(uint64_t x)
{
    size_t n = 1;
    while (x >= 0x80) { x >>= 7; n++; }
    return n;
}

size_t recfile_get_varint(const unsigned char *p, const unsigned char *end, uint64_t *x)
{
    uint64_t v = 0;
    for (size_t i = 0; i < RECFILE_VARINT_MAX && p + i < end; i++) {
        unsigned char b = p[i];
        if (i == RECFILE_VARINT_MAX - 1 && b > 1) return 0;   /* past 64 bits */
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *x = v;
            return i + 1;
        }
    }
    return 0;
}
