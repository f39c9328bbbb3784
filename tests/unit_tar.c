/* unit_tar.c — tests of tar_: archives built byte by byte here (ustar with a name prefix,
 * GNU long names, pax path and size records, a global pax header, links, base-256
 * sizes), read plain and gzip-compressed; then every kind of damage: truncation inside
 * data, inside a header, at a block boundary, in the gzip stream, a bad checksum, an
 * oversized entry, a missing file. Exit status 0 if all pass, 1 otherwise. */
#include "tar.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>



typedef struct buf { unsigned char *p; size_t n, cap; } buf;

static void put(buf *b, const void *s, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 4096;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void pad(buf *b)
{
    static const unsigned char zero[512];
    if (b->n % 512) put(b, zero, 512 - b->n % 512);
}

enum { POSIX, GNU, BASE256 };

/* One 512-byte header. */
static void header(buf *b, const char *name, const char *prefix, unsigned long long size,
                   char type, int style)
{
    unsigned char h[512];
    memset(h, 0, sizeof h);
    strncpy((char *)h, name, 100);
    memcpy(h + 100, "0000644", 8);
    memcpy(h + 108, "0000000", 8);
    memcpy(h + 116, "0000000", 8);
    if (style == BASE256) {
        h[124] = 0x80;
        for (int i = 0; i < 8; i++) h[135 - i] = (unsigned char)(size >> (8 * i));
    } else {
        snprintf((char *)h + 124, 12, "%011llo", size);
    }
    memcpy(h + 136, "14000000000", 12);
    h[156] = (unsigned char)type;
    if (style == GNU) memcpy(h + 257, "ustar  ", 8);
    else memcpy(h + 257, "ustar\0" "00", 8);
    if (prefix) strncpy((char *)h + 345, prefix, 155);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++) sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    put(b, h, 512);
}

static void file(buf *b, const char *name, const char *data, size_t n, int style)
{
    header(b, name, NULL, n, '0', style);
    put(b, data, n);
    pad(b);
}

/* A pax record "LEN key=value\n", LEN counting itself. */
static void pax_record(buf *b, const char *key, const char *value)
{
    size_t body = strlen(key) + strlen(value) + 3;   /* ' ', '=', '\n' */
    size_t len = body + 1;
    char tmp[32];
    while ((size_t)snprintf(tmp, sizeof tmp, "%zu", len) + body != len) len++;
    char *rec = malloc(len + 1);
    snprintf(rec, len + 1, "%zu %s=%s\n", len, key, value);
    put(b, rec, len);
    free(rec);
}

static char scratch[4096];

static const char *write_file(const char *name, const buf *b, int gz, size_t cut)
{
    static char path[8192];
    snprintf(path, sizeof path, "%s/%s", scratch, name);
    size_t n = cut ? cut : b->n;
    if (gz) {
        gzFile f = gzopen(path, "wb6");
        gzwrite(f, b->p, (unsigned)n);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        fwrite(b->p, 1, n, f);
        fclose(f);
    }
    return path;
}

static char long_name[300], long_dir[140];

static buf sample(void)
{
    buf b = {0};
    memset(long_name, 'n', 250);
    memcpy(long_name, "top/", 4);
    strcpy(long_name + 250, ".txt");
    memset(long_dir, 'd', 130);
    long_dir[130] = '\0';

    header(&b, "top/", NULL, 0, '5', POSIX);
    file(&b, "top/a.txt", "hello", 5, POSIX);
    char big[1500];
    for (int i = 0; i < 1500; i++) big[i] = (char)('a' + i % 26);
    file(&b, "top/big.txt", big, 1500, GNU);
    file(&b, "top/empty.txt", "", 0, POSIX);
    char exact[512];
    memset(exact, 'x', 512);
    file(&b, "top/exact.txt", exact, 512, POSIX);
    /* ustar name prefix */
    header(&b, "prefixed.txt", long_dir, 3, '0', POSIX);
    put(&b, "abc", 3);
    pad(&b);
    /* GNU long name */
    header(&b, "././@LongLink", NULL, strlen(long_name) + 1, 'L', GNU);
    put(&b, long_name, strlen(long_name) + 1);
    pad(&b);
    file(&b, "top/nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn",
         "long", 4, GNU);
    /* global pax header: ignored */
    buf g = {0};
    pax_record(&g, "comment", "ignore me");
    header(&b, "pax_global_header", NULL, g.n, 'g', POSIX);
    put(&b, g.p, g.n);
    pad(&b);
    free(g.p);
    /* pax path and size */
    buf x = {0};
    pax_record(&x, "path", "top/pax name with spaces \xc3\xa9.txt");
    pax_record(&x, "size", "7");
    pax_record(&x, "mtime", "1300000000.5");
    header(&b, "PaxHeaders/x", NULL, x.n, 'x', POSIX);
    put(&b, x.p, x.n);
    pad(&b);
    free(x.p);
    header(&b, "ignored-name", NULL, 0, '0', POSIX);
    put(&b, "paxdata", 7);
    pad(&b);
    /* symlink with a (bogus) nonzero size: no data follows */
    header(&b, "top/link", NULL, 100, '2', POSIX);
    /* base-256 size */
    header(&b, "top/b256.txt", NULL, 2, '0', BASE256);
    put(&b, "hi", 2);
    pad(&b);
    /* old-style regular file type NUL */
    header(&b, "top/v7.txt", NULL, 1, '\0', POSIX);
    put(&b, "z", 1);
    pad(&b);
    static const unsigned char zero[1024];
    put(&b, zero, 1024);
    return b;
}

static const struct { const char *name; char type; const char *data; size_t size; int read; } want[] = {
    {"top/", '5', NULL, 0, 0},
    {"top/a.txt", '0', "hello", 5, 1},
    {"top/big.txt", '0', NULL, 1500, 0},     /* skipped unread */
    {"top/empty.txt", '0', "", 0, 1},
    {"top/exact.txt", '0', NULL, 512, 0},
    {NULL /* long_dir/prefixed.txt */, '0', "abc", 3, 1},
    {NULL /* long_name */, '0', "long", 4, 1},
    {"top/pax name with spaces \xc3\xa9.txt", '0', "paxdata", 7, 1},
    {"top/link", '2', NULL, 100, 0},
    {"top/b256.txt", '0', "hi", 2, 1},
    {"top/v7.txt", '0', "z", 1, 1},
};

static void read_sample(const char *path)
{
    imdb_err e;
    tar_reader *t = tar_open(path, &e);
    CHECK(t != NULL, "open: %s", e.msg);
    if (!t) return;
    char prefixed[200];
    snprintf(prefixed, sizeof prefixed, "%s/prefixed.txt", long_dir);
    size_t k = 0;
    tar_entry ent;
    int rc;
    while ((rc = tar_next(t, &ent, &e)) > 0) {
        if (k >= sizeof want / sizeof want[0]) {
            CHECK(0, "extra entry '%s'", ent.name);
            break;
        }
        const char *wn = want[k].name ? want[k].name : k == 5 ? prefixed : long_name;
        CHECK(strcmp(ent.name, wn) == 0, "entry %zu: name '%s', want '%s'", k, ent.name, wn);
        CHECK(ent.type == want[k].type, "entry %zu: type '%c'", k, ent.type);
        CHECK(ent.size == want[k].size, "entry %zu: size %llu", k, (unsigned long long)ent.size);
        if (want[k].read) {
            const char *data;
            size_t len;
            CHECK(tar_read(t, &data, &len, 1 << 20, &e) == 0, "read: %s", e.msg);
            CHECK(len == want[k].size && memcmp(data, want[k].data, len) == 0 && data[len] == '\0',
                  "entry %zu: data", k);
        }
        k++;
    }
    CHECK(rc == 0, "tar_next: %s", e.msg);
    CHECK(k == sizeof want / sizeof want[0], "%zu entries", k);
    CHECK(tar_next(t, &ent, &e) == 0, "end is sticky");
    tar_close(t);
}

/* Read everything; return the tar_next/tar_read status at the end (0 or -1). */
static int read_all(const char *path, imdb_err *e)
{
    tar_reader *t = tar_open(path, e);
    if (!t) return -1;
    tar_entry ent;
    int rc;
    while ((rc = tar_next(t, &ent, e)) > 0) {
        const char *data;
        size_t len;
        if (ent.type == '0' && tar_read(t, &data, &len, 1 << 20, e) < 0) {
            rc = -1;
            break;
        }
    }
    tar_close(t);
    return rc;
}

static void expect_fail(const char *what, const char *path, int status, const char *needle)
{
    imdb_err e = {0, ""};
    int rc = read_all(path, &e);
    CHECK(rc < 0, "%s: no error", what);
    CHECK(e.status == status, "%s: status %d, want %d (%s)", what, e.status, status, e.msg);
    CHECK(strstr(e.msg, path) != NULL, "%s: message does not name the archive: %s", what, e.msg);
    CHECK(!needle || strstr(e.msg, needle), "%s: message lacks '%s': %s", what, needle, e.msg);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/unit_tar.XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(scratch)) {
        perror("mkdtemp");
        return 1;
    }
    buf b = sample();
    read_sample(write_file("sample.tar", &b, 0, 0));
    read_sample(write_file("sample.tar.gz", &b, 1, 0));

    /* Damage. Offsets: the header of top/big.txt is at 1536, its data at 2048. */
    expect_fail("cut in data", write_file("cut-data.tar", &b, 0, 2048 + 700), IMDB_EXIT_DATA,
                "top/big.txt");
    expect_fail("cut in data (gz)", write_file("cut-data.tar.gz", &b, 1, 2048 + 700),
                IMDB_EXIT_DATA, "truncated");
    expect_fail("cut in header", write_file("cut-hdr.tar", &b, 0, 1536 + 100), IMDB_EXIT_DATA,
                "truncated");
    expect_fail("no end block", write_file("cut-end.tar", &b, 0, b.n - 1024), IMDB_EXIT_DATA,
                "end-of-archive");
    expect_fail("empty file", write_file("short.tar", &b, 0, 1) /* 1 byte */,
                IMDB_EXIT_DATA, "not a tar archive");

    /* A gzip stream cut short, whatever the tar inside. */
    {
        char path[8192];
        write_file("full.tar.gz", &b, 1, 0);
        snprintf(path, sizeof path, "%s/full.tar.gz", scratch);
        FILE *f = fopen(path, "rb");
        unsigned char *z = malloc(1 << 20);
        size_t zn = fread(z, 1, 1 << 20, f);
        fclose(f);
        for (size_t cut = 10; cut < zn; cut += zn / 7 + 1) {
            snprintf(path, sizeof path, "%s/cut-%zu.tar.gz", scratch, cut);
            f = fopen(path, "wb");
            fwrite(z, 1, cut, f);
            fclose(f);
            expect_fail("cut gzip", path, IMDB_EXIT_DATA, NULL);
        }
        /* Only the 8-byte gzip trailer missing. */
        snprintf(path, sizeof path, "%s/cut-trailer.tar.gz", scratch);
        f = fopen(path, "wb");
        fwrite(z, 1, zn - 8, f);
        fclose(f);
        expect_fail("cut gzip trailer", path, IMDB_EXIT_DATA, NULL);
        /* A flipped bit in the compressed data. */
        z[zn / 2] ^= 0x10;
        snprintf(path, sizeof path, "%s/flipped.tar.gz", scratch);
        f = fopen(path, "wb");
        fwrite(z, 1, zn, f);
        fclose(f);
        expect_fail("corrupt gzip", path, IMDB_EXIT_DATA, NULL);
        free(z);
    }

    /* Bad checksum. */
    unsigned char saved = b.p[1536 + 148];
    b.p[1536 + 148] = '7';
    expect_fail("checksum", write_file("sum.tar", &b, 0, 0), IMDB_EXIT_DATA, "checksum");
    b.p[1536 + 148] = saved;

    /* Not a tar at all. */
    {
        buf t = {0};
        put(&t, "just some text, not an archive\n", 31);
        expect_fail("text file", write_file("text.tar", &t, 0, 0), IMDB_EXIT_DATA, NULL);
        free(t.p);
    }

    /* An entry over the limit. */
    {
        imdb_err e;
        tar_reader *t = tar_open(write_file("limit.tar", &b, 0, 0), &e);
        tar_entry ent;
        tar_next(t, &ent, &e);
        tar_next(t, &ent, &e);
        tar_next(t, &ent, &e);   /* top/big.txt, 1500 bytes */
        const char *data;
        size_t len;
        CHECK(tar_read(t, &data, &len, 1000, &e) < 0 && e.status == IMDB_EXIT_DATA &&
              strstr(e.msg, "top/big.txt"), "limit: %s", e.msg);
        tar_close(t);
    }

    /* Missing file: I/O error naming it. */
    {
        imdb_err e;
        char path[8192];
        snprintf(path, sizeof path, "%s/no-such.tar.gz", scratch);
        CHECK(tar_open(path, &e) == NULL && e.status == IMDB_EXIT_IO && strstr(e.msg, path),
              "missing: %s", e.msg);
    }

    free(b.p);
    char cmd[8300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", scratch);
    if (failures) return test_status("unit_tar");
    printf("unit_tar: all passed\n");
    return 0;
}
