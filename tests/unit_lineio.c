/* unit_lineio.c — line reading (plain and gzip, CRLF, NUL bytes, no final newline,
 * concatenated gzip members, truncation, the line length cap) and atomic output. */
#include "lineio.h"
#include "outfile.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>


static char dir[] = "/tmp/unit_lineio.XXXXXX";

static const char *path(const char *name)
{
    static char buf[4][128];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void spit(const char *p, const void *b, size_t n)
{
    FILE *f = fopen(p, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
}

static void spit_gz(const char *p, const void *b, size_t n, const char *mode)
{
    gzFile g = gzopen(p, mode);
    gzwrite(g, b, (unsigned)n);
    gzclose(g);
}

/* Read all lines of p joined by '|'; returns -1 on error (message in e). */
static int readall(const char *p, char *out, size_t cap, imdb_err *e)
{
    lineio *r = lineio_open(p, e);
    if (!r) return -1;
    size_t o = 0;
    char *line;
    size_t len;
    int got;
    while ((got = lineio_next(r, &line, &len, e)) > 0) {
        for (size_t i = 0; i < len && o + 2 < cap; i++) out[o++] = line[i] ? line[i] : '0';
        if (o + 1 < cap) out[o++] = '|';
    }
    out[o] = '\0';
    lineio_close(r);
    return got;
}

static void expect_lines(const char *p, const char *want)
{
    char out[4096];
    imdb_err e;
    int rc = readall(p, out, sizeof out, &e);
    CHECK(rc == 0 && strcmp(out, want) == 0, "%s: got '%s' (rc %d %s), want '%s'", p, out, rc,
          rc ? e.msg : "", want);
}

int main(void)
{
    if (!mkdtemp(dir)) return 1;
    const char text[] = "one\r\ntwo\n\nth\0ree\nlast";
    spit(path("plain"), text, sizeof text - 1);
    expect_lines(path("plain"), "one|two||th0ree|last|");
    spit_gz(path("gz"), text, sizeof text - 1, "wb9");
    expect_lines(path("gz"), "one|two||th0ree|last|");
    spit(path("empty"), "", 0);
    expect_lines(path("empty"), "");
    spit(path("one-byte"), "x", 1);
    expect_lines(path("one-byte"), "x|");

    /* Two gzip members in one file read as one stream. */
    spit_gz(path("m1"), "a\nb", 3, "wb");
    spit_gz(path("m2"), "c\n", 2, "wb");
    {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "cat %s %s > %s", path("m1"), path("m2"), path("multi"));
        CHECK(system(cmd) == 0, "cat failed");
    }
    expect_lines(path("multi"), "a|bc|");

    /* A gzip file cut anywhere after its header is an error, never a short read. */
    char *big = malloc(200000);
    for (int i = 0; i < 200000; i++) big[i] = i % 61 == 60 ? '\n' : (char)('a' + i % 26);
    spit_gz(path("big.gz"), big, 200000, "wb6");
    FILE *f = fopen(path("big.gz"), "rb");
    unsigned char zbuf[300000];
    size_t zn = fread(zbuf, 1, sizeof zbuf, f);
    fclose(f);
    size_t cuts[] = { 10, zn / 3, zn - 9, zn - 1 };
    for (size_t i = 0; i < 4; i++) {
        spit(path("cut.gz"), zbuf, cuts[i]);
        char out[4096];
        imdb_err e = { 0 };
        int rc = readall(path("cut.gz"), out, sizeof out, &e);
        CHECK(rc < 0 && e.status == IMDB_EXIT_DATA && strstr(e.msg, "cut.gz"),
              "gzip cut to %zu of %zu bytes: rc %d '%s'", cuts[i], zn, rc, e.msg);
    }
    zbuf[zn / 2] ^= 0xff;
    spit(path("bad.gz"), zbuf, zn);
    {
        char out[4096];
        imdb_err e = { 0 };
        CHECK(readall(path("bad.gz"), out, sizeof out, &e) < 0 && e.status == IMDB_EXIT_DATA,
              "corrupt gzip accepted");
    }

    /* Line length cap. */
    spit(path("long"), big, 200000);
    memset(big, 'x', 200000);
    spit(path("long"), big, 200000);
    {
        imdb_err e;
        lineio *r = lineio_open(path("long"), &e);
        lineio_set_max_line(r, 1000);
        char *line;
        size_t len;
        CHECK(lineio_next(r, &line, &len, &e) < 0 && strstr(e.msg, "longer than 1000"), "long line accepted");
        lineio_close(r);
    }
    {
        imdb_err e;
        CHECK(!lineio_open(path("missing"), &e) && e.status == IMDB_EXIT_IO, "missing file opened");
    }

    /* outfile: commit renames into place; abort leaves nothing; gzip by suffix. */
    {
        imdb_err e;
        outfile *o = outfile_open(path("out.gz"), -1, &e);
        CHECK(o && outfile_printf(o, &e, "%s\n%d\n", "hello", 42) == 0, "outfile write");
        CHECK(access(path("out.gz"), F_OK) != 0, "output visible before commit");
        CHECK(outfile_commit(o, &e) == 0, "commit: %s", e.msg);
        expect_lines(path("out.gz"), "hello|42|");
        o = outfile_open(path("aborted"), -1, &e);
        outfile_puts(o, "partial", &e);
        outfile_abort(o);
        CHECK(access(path("aborted"), F_OK) != 0, "aborted output exists");
    }
    free(big);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls %s | grep -c tmp- >/dev/null && echo leftover", dir);
    CHECK(system(cmd) != 0, "temporary files left behind");
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    if (!failures) printf("lineio/outfile: all checks passed\n");
    return test_status("unit_lineio");
}
