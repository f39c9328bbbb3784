/* embfile.c — see embfile.h. The whole file is read into memory first (lineio inflates
 * gzip), so every count in the header can be checked against the bytes that are actually
 * there before the vectors are allocated: a hostile header cannot make us allocate more
 * than a small multiple of the file's size. */
#include "embfile.h"
#include "lineio.h"
#include "outfile.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMBFILE_MAX_DIM 100000
#define EMBFILE_MAX_WORD 4096   /* longest word accepted in the binary format */

struct embfile {
    size_t n;
    int dim;
    float *vec;          /* (n, dim) */
    char **word;         /* (n), pointers into arena */
    char *arena;
    size_t *slot;        /* hash table of index+1, 0 = empty; nslot is a power of 2 */
    size_t nslot;
};

static uint64_t hash_word(const char *s)
{
    uint64_t h = 14695981039346656037ULL;   /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void build_index(embfile *f)
{
    f->nslot = 16;
    while (f->nslot < 2 * f->n) f->nslot *= 2;
    f->slot = imdb_xcalloc(f->nslot, sizeof *f->slot);
    for (size_t i = 0; i < f->n; i++) {
        size_t h = (size_t)hash_word(f->word[i]) & (f->nslot - 1);
        for (;; h = (h + 1) & (f->nslot - 1)) {
            if (!f->slot[h]) { f->slot[h] = i + 1; break; }
            if (strcmp(f->word[f->slot[h] - 1], f->word[i]) == 0) break;   /* first one wins */
        }
    }
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* Parse the numbers of one text row from p up to end (the end of the line). Stores at
 * most dim values into out (may be NULL) and returns how many numbers there are, or
 * -1 with *bad pointing at a field that is not a finite number. */
static long parse_numbers(const char *p, const char *end, int dim, float *out, const char **bad)
{
    long k = 0;
    for (;;) {
        while (p < end && is_blank(*p)) p++;
        if (p >= end) return k;
        /* strtof skips any leading white space, newlines included; the field starts with
         * something else here, so it stops inside this line. */
        char *q;
        errno = 0;
        float v = strtof(p, &q);
        if (q == p || (q < end && !is_blank(*q)) || q > end || !isfinite(v)) { *bad = p; return -1; }
        if (out && k < dim) out[k] = v;
        k++;
        p = q;
    }
}

/* The field at p, for messages: at most 20 bytes, up to the next blank. */
static int field_len(const char *p, const char *end)
{
    int n = 0;
    while (p + n < end && !is_blank(p[n]) && n < 20) n++;
    return n;
}

static const char *line_end(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl ? nl : end;
}

/* Trim a '\r' before the newline. */
static const char *trim_cr(const char *p, const char *le)
{
    return le > p && le[-1] == '\r' ? le - 1 : le;
}

/* Allocate f for n rows whose words take at most wbytes bytes (NULs included). */
static void alloc_rows(embfile *f, size_t n, int dim, size_t wbytes)
{
    f->n = 0;
    f->dim = dim;
    f->vec = imdb_xmalloc((n ? n : 1) * (size_t)dim * sizeof *f->vec);
    f->word = imdb_xmalloc((n ? n : 1) * sizeof *f->word);
    f->arena = imdb_xmalloc(wbytes ? wbytes : 1);
}

static void clear_rows(embfile *f)
{
    free(f->vec);
    free(f->word);
    free(f->arena);
    f->vec = NULL;
    f->word = NULL;
    f->arena = NULL;
    f->n = 0;
}

static int read_text(embfile *f, const char *name, const char *p, const char *end, long lineno,
                     size_t n, int dim, int headerless, imdb_err *e)
{
    /* Every row takes at least 2*dim + 1 bytes ("w 0 0 ... 0"), and the words fit in
     * the file: both bounds hold before anything is allocated. */
    size_t avail = (size_t)(end - p);
    if (!headerless && n > avail / (2 * (size_t)dim + 1))
        return imdb_fail(e, IMDB_EXIT_DATA, "%s:1: the header announces %zu words of dimension %d, "
                         "but the file has only %zu bytes after it", name, n, dim, avail);
    alloc_rows(f, n, dim, avail + 1);
    size_t apos = 0;
    while (p < end) {
        const char *le = line_end(p, end), *te = trim_cr(p, le);
        lineno++;
        const char *w = p;
        while (w < te && is_blank(*w)) w++;
        if (w < te) {
            const char *we = w;
            while (we < te && !is_blank(*we)) we++;
            if (f->n == n)
                return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: more rows than the %zu the header announces",
                                 name, lineno, n);
            const char *bad = NULL;
            long k = parse_numbers(we, te, dim, f->vec + f->n * (size_t)dim, &bad);
            if (k < 0)
                return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: '%.*s' is not a finite number", name, lineno,
                                 field_len(bad, te), bad);
            if (k != dim)
                return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: %ld numbers after the word '%.*s', expected %d",
                                 name, lineno, k, (int)(we - w < 40 ? we - w : 40), w, dim);
            memcpy(f->arena + apos, w, (size_t)(we - w));
            f->word[f->n++] = (char *)(uintptr_t)apos;   /* rebased below: the arena is final */
            apos += (size_t)(we - w);
            f->arena[apos++] = '\0';
        }
        p = le + (le < end);
    }
    if (f->n != n)
        return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: %zu rows, but the header announces %zu", name, lineno,
                         f->n, n);
    for (size_t i = 0; i < f->n; i++) f->word[i] = f->arena + (uintptr_t)f->word[i];
    return 0;
}

static int read_binary(embfile *f, const char *name, const char *p, const char *end, size_t n, int dim,
                       imdb_err *e)
{
    size_t avail = (size_t)(end - p), rec = 4 * (size_t)dim + 2;   /* "w " + floats */
    if (n > avail / rec)
        return imdb_fail(e, IMDB_EXIT_DATA, "%s:1: the header announces %zu words of dimension %d, "
                         "but the file has only %zu bytes after it", name, n, dim, avail);
    alloc_rows(f, n, dim, avail + 1);
    size_t apos = 0;
    for (size_t i = 0; i < n; i++) {
        while (p < end && (*p == '\n' || *p == '\r')) p++;   /* word2vec.c skips them too */
        const char *w = p;
        while (p < end && *p != ' ' && p - w <= EMBFILE_MAX_WORD) {
            if (*p == '\n' || *p == '\t' || *p == '\0')
                return imdb_fail(e, IMDB_EXIT_DATA, "%s: word %zu: control byte 0x%02x inside the word",
                                 name, i + 1, (unsigned char)*p);
            p++;
        }
        if (p >= end)
            return imdb_fail(e, IMDB_EXIT_DATA, "%s: word %zu: unexpected end of file (truncated?)", name, i + 1);
        if (*p != ' ')
            return imdb_fail(e, IMDB_EXIT_DATA, "%s: word %zu: longer than %d bytes", name, i + 1,
                             EMBFILE_MAX_WORD);
        if (p == w) return imdb_fail(e, IMDB_EXIT_DATA, "%s: word %zu: empty word", name, i + 1);
        memcpy(f->arena + apos, w, (size_t)(p - w));
        f->word[i] = (char *)(uintptr_t)apos;
        apos += (size_t)(p - w);
        f->arena[apos++] = '\0';
        p++;
        if ((size_t)(end - p) < 4 * (size_t)dim)
            return imdb_fail(e, IMDB_EXIT_DATA, "%s: word %zu: unexpected end of file in its vector (truncated?)",
                             name, i + 1);
        float *v = f->vec + i * (size_t)dim;
        for (int j = 0; j < dim; j++, p += 4) {
            uint32_t u = get_u32le((const unsigned char *)p);
            memcpy(&v[j], &u, sizeof u);
            if (!isfinite(v[j]))
                return imdb_fail(e, IMDB_EXIT_DATA, "%s: word %zu: component %d is not a finite number",
                                 name, i + 1, j + 1);
        }
        f->n++;
    }
    while (p < end && (*p == '\n' || *p == '\r' || *p == ' ')) p++;
    if (p < end)
        return imdb_fail(e, IMDB_EXIT_DATA, "%s: more data after the %zu words the header announces", name, n);
    for (size_t i = 0; i < f->n; i++) f->word[i] = f->arena + (uintptr_t)f->word[i];
    return 0;
}

/* Parse a non-negative decimal integer field [p, q); -1 if it is not one. */
static long long parse_count(const char *p, const char *q)
{
    if (p == q || q - p > 15) return -1;
    long long v = 0;
    for (; p < q; p++) {
        if (*p < '0' || *p > '9') return -1;
        v = v * 10 + (*p - '0');
    }
    return v;
}

embfile *embfile_read(const char *path, int want_dim, imdb_err *e)
{
    embfile *f = imdb_xcalloc(1, sizeof *f);
    char *buf = NULL;
    size_t len = 0;
    lineio *r = lineio_open(path, e);
    if (!r) goto fail;
    const char *name = lineio_name(r);
    if (lineio_slurp(r, &buf, &len, e) < 0) goto fail;
    const char *p = buf, *end = buf + len;
    const char *le = line_end(p, end), *te = trim_cr(p, le);

    /* The first line: "N DIM", or (headerless text) a first row. */
    const char *f1 = p;
    while (f1 < te && is_blank(*f1)) f1++;
    const char *f1e = f1;
    while (f1e < te && !is_blank(*f1e)) f1e++;
    const char *f2 = f1e;
    while (f2 < te && is_blank(*f2)) f2++;
    const char *f2e = f2;
    while (f2e < te && !is_blank(*f2e)) f2e++;
    const char *rest = f2e;
    while (rest < te && is_blank(*rest)) rest++;
    if (f1 == te) {
        imdb_fail(e, IMDB_EXIT_DATA, "%s:1: %s", name, len ? "expected a header 'COUNT DIM'" : "empty file");
        goto fail;
    }
    if (rest < te) {   /* more than two fields: headerless text (GloVe) */
        const char *bad = NULL;
        long k = parse_numbers(f1e, te, 0, NULL, &bad);
        if (k < 0) {
            imdb_fail(e, IMDB_EXIT_DATA, "%s:1: expected a header 'COUNT DIM' or a row 'WORD V1 ... VDIM'", name);
            goto fail;
        }
        if (k > EMBFILE_MAX_DIM) {
            imdb_fail(e, IMDB_EXIT_DATA, "%s:1: dimension %ld is larger than %d", name, k, EMBFILE_MAX_DIM);
            goto fail;
        }
        if (want_dim && k != want_dim) {
            imdb_fail(e, IMDB_EXIT_DATA, "%s:1: the vectors have dimension %ld, expected %d", name, k, want_dim);
            goto fail;
        }
        size_t rows = 0;   /* non-blank lines */
        for (const char *q = p; q < end;) {
            const char *qe = line_end(q, end);
            for (const char *s = q; s < qe; s++)
                if (!is_blank(*s) && *s != '\r') { rows++; break; }
            q = qe + 1;
        }
        if (read_text(f, name, p, end, 0, rows, (int)k, 1, e) < 0) goto fail;
    } else {
        long long n = parse_count(f1, f1e), dim = parse_count(f2, f2e);
        if (n < 0 || dim < 0 || f2 == te) {
            imdb_fail(e, IMDB_EXIT_DATA, "%s:1: expected a header 'COUNT DIM'", name);
            goto fail;
        }
        if (dim < 1 || dim > EMBFILE_MAX_DIM) {
            imdb_fail(e, IMDB_EXIT_DATA, "%s:1: dimension %lld is not between 1 and %d", name, dim, EMBFILE_MAX_DIM);
            goto fail;
        }
        if (want_dim && dim != want_dim) {
            imdb_fail(e, IMDB_EXIT_DATA, "%s:1: the vectors have dimension %lld, expected %d", name, dim, want_dim);
            goto fail;
        }
        p = le + (le < end);
        /* Text or binary? Text if the rest of the first record's line is DIM numbers. If
         * not, binary if it reads as binary; if it does not, the error to report is the
         * text reader's when that line looks like text (printable ASCII), else the
         * binary reader's. */
        int text = 1, textual = 1;
        if (n > 0 && p < end) {
            const char *w = p;
            while (w < end && is_blank(*w)) w++;
            const char *we = w;
            while (we < end && *we != ' ' && *we != '\t' && *we != '\n') we++;
            const char *rle = trim_cr(we, line_end(we, end)), *bad;
            text = parse_numbers(we, rle, (int)dim, NULL, &bad) == dim;
            textual = rle > we;
            for (const char *q = we; q < rle && textual; q++)
                textual = (*q >= 0x20 && *q < 0x7f) || *q == '\t';
        }
        if (text) {
            if (read_text(f, name, p, end, 1, (size_t)n, (int)dim, 0, e) < 0) goto fail;
        } else if (read_binary(f, name, p, end, (size_t)n, (int)dim, e) < 0) {
            if (!textual) goto fail;
            clear_rows(f);
            if (read_text(f, name, p, end, 1, (size_t)n, (int)dim, 0, e) < 0) goto fail;
        }
    }
    free(buf);
    lineio_close(r);
    build_index(f);
    return f;
fail:
    free(buf);
    lineio_close(r);
    embfile_free(f);
    return NULL;
}

void embfile_free(embfile *f)
{
    if (!f) return;
    free(f->vec);
    free(f->word);
    free(f->arena);
    free(f->slot);
    free(f);
}

int embfile_dim(const embfile *f) { return f->dim; }
size_t embfile_count(const embfile *f) { return f->n; }
const char *embfile_word(const embfile *f, size_t i) { return f->word[i]; }
const float *embfile_vector(const embfile *f, size_t i) { return f->vec + i * (size_t)f->dim; }

const float *embfile_lookup(const embfile *f, const char *word)
{
    size_t h = (size_t)hash_word(word) & (f->nslot - 1);
    for (; f->slot[h]; h = (h + 1) & (f->nslot - 1))
        if (strcmp(f->word[f->slot[h] - 1], word) == 0) return embfile_vector(f, f->slot[h] - 1);
    return NULL;
}

int embfile_nearest(const embfile *f, const char *word, int k, size_t *idx, float *sim)
{
    const float *q = embfile_lookup(f, word);
    if (!q) return -1;
    int d = f->dim, got = 0;
    double qn = 0;
    for (int j = 0; j < d; j++) qn += (double)q[j] * q[j];
    qn = sqrt(qn);
    for (size_t i = 0; i < f->n && k > 0; i++) {
        const float *v = embfile_vector(f, i);
        if (v == q) continue;
        double dot = 0, vn = 0;
        for (int j = 0; j < d; j++) {
            dot += (double)q[j] * v[j];
            vn += (double)v[j] * v[j];
        }
        float s = qn > 0 && vn > 0 ? (float)(dot / (qn * sqrt(vn))) : 0.0f;
        if (got == k && s <= sim[k - 1]) continue;   /* ties keep the lower index */
        int at = got < k ? got++ : k - 1;
        while (at > 0 && sim[at - 1] < s) {
            sim[at] = sim[at - 1];
            idx[at] = idx[at - 1];
            at--;
        }
        sim[at] = s;
        idx[at] = i;
    }
    return got;
}

int embfile_write(const char *path, size_t n, int dim, const char *const *words, const float *vecs,
                  int binary, imdb_err *e)
{
    if (dim < 1 || dim > EMBFILE_MAX_DIM)
        return imdb_fail(e, IMDB_EXIT_USAGE, "word vectors of dimension %d cannot be written", dim);
    for (size_t i = 0; i < n; i++)
        if (!words[i][0] || strpbrk(words[i], " \t\n\r"))
            return imdb_fail(e, IMDB_EXIT_DATA, "word %zu ('%.40s') is empty or contains white space", i + 1,
                             words[i]);
    outfile *o = outfile_open(path, -1, e);
    if (!o) return -1;
    if (binary && outfile_refuse_tty(o, e) < 0) goto fail;
    if (outfile_printf(o, e, "%zu %d\n", n, dim) < 0) goto fail;
    /* One row is formatted into line and written at once: printf per value would be
     * the slowest part of writing a large vocabulary. */
    size_t cap = (size_t)dim * 48 + 16;
    char *line = imdb_xmalloc(cap);
    for (size_t i = 0; i < n; i++) {
        const float *v = vecs + i * (size_t)dim;
        size_t pos = 0;
        if (outfile_puts(o, words[i], e) < 0) goto fail_line;
        if (binary) {
            line[pos++] = ' ';
            for (int j = 0; j < dim; j++, pos += 4) {
                uint32_t u;
                memcpy(&u, &v[j], sizeof u);
                put_u32le((unsigned char *)line + pos, u);
            }
        } else {
            for (int j = 0; j < dim; j++)
                pos += (size_t)snprintf(line + pos, cap - pos, " %.6f", (double)v[j]);
        }
        line[pos++] = '\n';
        if (outfile_write(o, line, pos, e) < 0) goto fail_line;
    }
    free(line);
    return outfile_commit(o, e);
fail_line:
    free(line);
fail:
    outfile_abort(o);
    return -1;
}
