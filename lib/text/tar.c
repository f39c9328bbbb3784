/* tar.c — a streaming tar reader over zlib; see tar.h.
 *
 * Follows the POSIX ustar format (pax, IEEE Std 1003.1 "pax Interchange Format"), with
 * the two common extensions for long names: GNU 'L' records (the next entry's name is the
 * record's data) and pax 'x' extended headers (the "path" and "size" keywords override
 * the next entry's header). Sizes may be octal or GNU base-256. gzread reads gzip and
 * plain archives alike, so there is no seeking: skipping an entry means reading it.
 *
 * Truncation is always an error: a short header, short entry data, a gzip stream that
 * stops early, or an archive without its end-of-archive zero block. */
#include "tar.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define BLOCK 512
/* GNU long names and pax headers larger than this are taken as corruption. */
#define META_MAX (1u << 20)

struct tar_reader {
    gzFile gz;
    char *path;            /* for messages */
    char *name;            /* current entry name */
    char *next_name;       /* from a GNU 'L' or pax 'x' record, for the next entry */
    uint64_t next_size;
    int have_next_size;
    uint64_t remain;       /* unread data bytes of the current entry */
    uint64_t pad;          /* padding after them */
    char *buf;             /* tar_read's buffer */
    size_t cap;
    int done;              /* end-of-archive block seen */
    int in_data;           /* reading entry data (for messages) */
};

/* Describe where we are for messages: "in entry 'X'" or "at the start". */
static const char *where(const tar_reader *t)
{
    return t->name ? t->name : "";
}

/* A read came up short or failed: say why, and where (t->in_data: inside the current
 * entry's data; else between entries). */
static int fail_short(tar_reader *t, imdb_err *e)
{
    int errnum = Z_OK;
    const char *msg = gzerror(t->gz, &errnum);
    const char *colon = strstr(msg, ": ");   /* drop zlib's "<fd:3>: " prefix */
    if (colon) msg = colon + 2;
    char at[400] = "";
    if (t->name)
        snprintf(at, sizeof at, " %s entry '%.300s'", t->in_data ? "in" : "after", t->name);
    if (errnum == Z_ERRNO)
        return imdb_fail(e, IMDB_EXIT_IO, "%s: %s", t->path, strerror(errno));
    if (errnum == Z_MEM_ERROR)   /* not the archive's fault (tests/fault-inject.sh) */
        return imdb_fail(e, IMDB_EXIT_INTERNAL, "%s: out of memory decompressing", t->path);
    if (errnum != Z_OK && errnum != Z_STREAM_END && errnum != Z_BUF_ERROR)
        return imdb_fail(e, IMDB_EXIT_DATA, "%s: corrupt gzip data (%s)%s", t->path, msg, at);
    if (t->done)
        return imdb_fail(e, IMDB_EXIT_DATA, "%s: truncated gzip stream (after the "
                         "end-of-archive block)", t->path);
    if (!t->name)
        return imdb_fail(e, IMDB_EXIT_DATA, "%s: not a tar archive, or corrupt: shorter than "
                         "one tar header", t->path);
    return imdb_fail(e, IMDB_EXIT_DATA, "%s: truncated archive%s", t->path, at);
}

/* Read exactly n bytes; a short read or a gzip error is an error. */
static int read_full(tar_reader *t, void *buf, size_t n, imdb_err *e)
{
    char *p = buf;
    while (n > 0) {
        unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
        int got = gzread(t->gz, p, chunk);
        if (got <= 0) return fail_short(t, e);
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

/* Discard n bytes. */
static int skip(tar_reader *t, uint64_t n, imdb_err *e)
{
    char tmp[16384];
    while (n > 0) {
        size_t chunk = n > sizeof tmp ? sizeof tmp : (size_t)n;
        if (read_full(t, tmp, chunk, e) < 0) return -1;
        n -= chunk;
    }
    return 0;
}

tar_reader *tar_open(const char *path, imdb_err *e)
{
    int is_stdin = strcmp(path, "-") == 0;
    int fd = is_stdin ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        imdb_fail(e, IMDB_EXIT_IO, "%s: %s", is_stdin ? "(standard input)" : path,
                  strerror(errno));
        return NULL;
    }
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        close(fd);
        imdb_fail(e, IMDB_EXIT_IO, "%s: cannot open: out of memory", path);
        return NULL;
    }
    gzbuffer(gz, 256 * 1024);
    tar_reader *t = imdb_xcalloc(1, sizeof *t);
    t->gz = gz;
    t->path = imdb_xstrdup(is_stdin ? "(standard input)" : path);
    return t;
}

void tar_close(tar_reader *t)
{
    if (!t) return;
    gzclose(t->gz);
    free(t->path);
    free(t->name);
    free(t->next_name);
    free(t->buf);
    free(t);
}

/* A numeric header field: octal digits (leading spaces/NULs allowed, ended by space or
 * NUL), or GNU base-256 when the top bit of the first byte is set. */
static int parse_num(const unsigned char *f, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (f[0] & 0x80) {
        if (f[0] & 0x40) return -1;           /* negative */
        v = f[0] & 0x3F;
        for (size_t i = 1; i < n; i++) {
            if (v >> 56) return -1;
            v = v << 8 | f[i];
        }
        *out = v;
        return 0;
    }
    size_t i = 0;
    while (i < n && (f[i] == ' ' || f[i] == '\0')) i++;
    if (i == n) {
        *out = 0;
        return 0;
    }
    size_t start = i;
    while (i < n && f[i] >= '0' && f[i] <= '7') {
        if (v >> 60) return -1;
        v = v * 8 + (uint64_t)(f[i] - '0');
        i++;
    }
    if (i == start) return -1;
    while (i < n && (f[i] == ' ' || f[i] == '\0')) i++;
    if (i != n) return -1;
    *out = v;
    return 0;
}

/* The checksum is the sum of the header bytes with the checksum field taken as spaces;
 * some old writers summed signed chars, so accept either. */
static int checksum_ok(const unsigned char *h)
{
    uint64_t want;
    if (parse_num(h + 148, 8, &want) < 0) return 0;
    unsigned long us = 0;
    long ss = 0;
    for (int i = 0; i < BLOCK; i++) us += h[i];
    for (int i = 148; i < 156; i++) us -= h[i];
    us += 8 * ' ';
    if (want == us) return 1;
    for (int i = 0; i < BLOCK; i++) ss += (signed char)h[i];
    for (int i = 148; i < 156; i++) ss -= (signed char)h[i];
    ss += 8 * ' ';
    return (long)want == ss;
}

/* Read the data of a GNU 'L' or pax record into a malloc'd NUL-terminated buffer. */
static char *read_meta(tar_reader *t, uint64_t size, imdb_err *e)
{
    if (size > META_MAX) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s: corrupt archive: %llu-byte extended header record "
                  "(after entry '%s')", t->path, (unsigned long long)size, where(t));
        return NULL;
    }
    char *m = imdb_xmalloc((size_t)size + 1);
    if (read_full(t, m, (size_t)size, e) < 0 || skip(t, (BLOCK - size % BLOCK) % BLOCK, e) < 0) {
        free(m);
        return NULL;
    }
    m[size] = '\0';
    return m;
}

/* pax records "LEN KEY=VALUE\n": take path and size for the next entry. */
static int parse_pax(tar_reader *t, const char *m, size_t n, imdb_err *e)
{
    size_t i = 0;
    while (i < n) {
        if (m[i] == '\0') break;        /* padding */
        size_t len = 0, j = i;
        while (j < n && m[j] >= '0' && m[j] <= '9' && len < META_MAX) len = len * 10 + (size_t)(m[j++] - '0');
        if (j == i || j >= n || m[j] != ' ' || len <= j - i + 1 || len > n - i || m[i + len - 1] != '\n')
            return imdb_fail(e, IMDB_EXIT_DATA, "%s: corrupt pax header (after entry '%s')",
                             t->path, where(t));
        const char *kv = m + j + 1, *end = m + i + len - 1;
        const char *eq = memchr(kv, '=', (size_t)(end - kv));
        if (!eq)
            return imdb_fail(e, IMDB_EXIT_DATA, "%s: corrupt pax header (after entry '%s')",
                             t->path, where(t));
        size_t klen = (size_t)(eq - kv);
        if (klen == 4 && memcmp(kv, "path", 4) == 0) {
            free(t->next_name);
            t->next_name = imdb_xstrndup(eq + 1, (size_t)(end - eq - 1));
        } else if (klen == 4 && memcmp(kv, "size", 4) == 0) {
            uint64_t v = 0;
            const char *p = eq + 1;
            if (p == end)
                return imdb_fail(e, IMDB_EXIT_DATA, "%s: corrupt pax size (after entry '%s')",
                                 t->path, where(t));
            for (; p < end; p++) {
                if (*p < '0' || *p > '9' || v > UINT64_MAX / 10 - 1)
                    return imdb_fail(e, IMDB_EXIT_DATA, "%s: corrupt pax size (after entry '%s')",
                                     t->path, where(t));
                v = v * 10 + (uint64_t)(*p - '0');
            }
            t->next_size = v;
            t->have_next_size = 1;
        }
        i += len;
    }
    return 0;
}

int tar_next(tar_reader *t, tar_entry *ent, imdb_err *e)
{
    if (t->done) return 0;
    t->in_data = 1;
    if (skip(t, t->remain + t->pad, e) < 0) return -1;
    t->in_data = 0;
    t->remain = t->pad = 0;
    unsigned char h[BLOCK];
    for (;;) {
        int got = gzread(t->gz, h, BLOCK);
        if (got < 0) return fail_short(t, e);
        if (got < BLOCK) {
            /* A partial block may just be the rest of a short read. */
            size_t have = (size_t)got;
            while (have < BLOCK) {
                int more = gzread(t->gz, h + have, (unsigned)(BLOCK - have));
                if (more <= 0) break;
                have += (size_t)more;
            }
            if (have < BLOCK) {
                if (have == 0) {
                    int errnum;
                    gzerror(t->gz, &errnum);
                    if (errnum == Z_OK || errnum == Z_STREAM_END) {
                        if (!t->name)
                            return imdb_fail(e, IMDB_EXIT_DATA, "%s: empty file, not a tar "
                                             "archive", t->path);
                        return imdb_fail(e, IMDB_EXIT_DATA, "%s: truncated archive (no "
                                         "end-of-archive block after entry '%s')", t->path,
                                         t->name);
                    }
                }
                return fail_short(t, e);
            }
        }
        static const unsigned char zeros[BLOCK];
        if (memcmp(h, zeros, BLOCK) == 0) {
            /* Read to the end so that a gzip stream cut in its record padding or its
             * trailer (CRC, length) is still detected. */
            t->done = 1;
            char tmp[16384];
            int got2;
            while ((got2 = gzread(t->gz, tmp, sizeof tmp)) > 0) {}
            int errnum;
            gzerror(t->gz, &errnum);
            if (got2 < 0 || (errnum != Z_OK && errnum != Z_STREAM_END)) return fail_short(t, e);
            return 0;
        }
        if (!checksum_ok(h))
            return imdb_fail(e, IMDB_EXIT_DATA, "%s: not a tar archive, or corrupt: bad header "
                             "checksum%s%s%s", t->path, t->name ? " after entry '" : "",
                             where(t), t->name ? "'" : "");
        uint64_t size;
        if (parse_num(h + 124, 12, &size) < 0)
            return imdb_fail(e, IMDB_EXIT_DATA, "%s: corrupt archive: bad size field%s%s%s",
                             t->path, t->name ? " after entry '" : "", where(t),
                             t->name ? "'" : "");
        char type = (char)h[156];
        if (type == 'L' || type == 'x') {
            char *m = read_meta(t, size, e);
            if (!m) return -1;
            int rc = 0;
            if (type == 'L') {
                free(t->next_name);
                t->next_name = m;      /* NUL-terminated at the first NUL */
            } else {
                rc = parse_pax(t, m, (size_t)size, e);
                free(m);
            }
            if (rc < 0) return -1;
            continue;
        }
        if (type == 'g' || type == 'K') {   /* global pax header, GNU long link target */
            if (skip(t, size + (BLOCK - size % BLOCK) % BLOCK, e) < 0) return -1;
            continue;
        }

        char name[256 + 2];
        if (t->next_name) {
            free(t->name);
            t->name = t->next_name;
            t->next_name = NULL;
        } else {
            size_t nl = strnlen((const char *)h, 100);
            size_t pl = 0;
            /* POSIX ustar ("ustar\0" "00") has a name prefix; GNU ("ustar  \0") does not. */
            if (memcmp(h + 257, "ustar\0" "00", 8) == 0) pl = strnlen((const char *)h + 345, 155);
            size_t k = 0;
            if (pl) {
                memcpy(name, h + 345, pl);
                k = pl;
                name[k++] = '/';
            }
            memcpy(name + k, h, nl);
            name[k + nl] = '\0';
            free(t->name);
            t->name = imdb_xstrdup(name);
        }
        if (t->have_next_size) {
            size = t->next_size;
            t->have_next_size = 0;
        }
        if (type == '\0') type = '0';
        /* Links carry no data whatever their size field says. */
        uint64_t data = (type == '1' || type == '2') ? 0 : size;
        t->remain = data;
        t->pad = (BLOCK - data % BLOCK) % BLOCK;
        ent->name = t->name;
        ent->size = size;
        ent->type = type;
        return 1;
    }
}

int tar_read(tar_reader *t, const char **data, size_t *len, size_t max, imdb_err *e)
{
    if (t->remain > max)
        return imdb_fail(e, IMDB_EXIT_DATA, "%s: entry '%s' is too large (%llu bytes, limit %zu)",
                         t->path, where(t), (unsigned long long)t->remain, max);
    size_t n = (size_t)t->remain;
    if (n + 1 > t->cap) {
        t->cap = n + 1 > 65536 ? n + 1 : 65536;
        free(t->buf);
        t->buf = imdb_xmalloc(t->cap);
    }
    t->in_data = 1;
    int rc = read_full(t, t->buf, n, e);
    t->in_data = 0;
    if (rc < 0) return -1;
    t->buf[n] = '\0';
    t->remain = 0;
    *data = t->buf;
    *len = n;
    return 0;
}
