/* rawin.c — raw review sources; see rawin.h.
 *
 * The aclImdb layout (Maas et al., ACL 2011) is DIR/{train,test}/{pos,neg}/ID_RATING.txt
 * plus DIR/train/unsup/ID_0.txt. Whether read from the tarball or from an extracted
 * directory, a review is recognised by the last three components of its path, so
 * "aclImdb/train/pos/0_9.txt" and "./train/pos/0_9.txt" both give ID "train/pos/0_9".
 * The directory walk visits the five review directories in byte order of their paths
 * and sorts each listing with strcmp, which is the order of the (name-sorted)
 * distributed tarball, so both inputs give identical output.
 *
 * CSV follows RFC 4180: fields separated by ",", optionally enclosed in '"', a doubled
 * '"' inside a quoted field is one '"', quoted fields may span lines. Strict: a '"' in
 * an unquoted field, text after a closing quote, a wrong field count or an unterminated
 * quote are errors naming the line, since a silently misparsed CSV shifts every label.
 * Blank lines between records are skipped.
 *
 * TSV is LABEL<TAB>TEXT, or LABEL<TAB>ID<TAB>TEXT when the first line is the header
 * "label<TAB>id<TAB>text" (data/behaviour.tsv uses it for ids like "negation/3"). Per
 * line the two cannot be told apart, since a TEXT may hold TABs; a file-wide header can,
 * and "label" is no label, so no file that parsed before changes meaning. A header
 * "label<TAB>text" is skipped too. A UTF-8 byte order mark is removed at the
 * start of every file and, for line formats, at the start of every line (files joined
 * with cat keep theirs).
 *
 * Tables read by column (rawin_open_table, and JSON lines always) are table.c's: here
 * they only pass through, so the readers above keep their behaviour and messages. */
#include "rawin.h"
#include "lineio.h"
#include "tar.h"
#include "tokio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Largest review file accepted from an aclImdb archive or directory. */
#define DOC_MAX ((size_t)256 << 20)

/* The five review directories, in byte order of their paths. */
static const struct { const char *split, *dir; int label; } cats[] = {
    {"test", "neg", TOKIO_NEG},
    {"test", "pos", TOKIO_POS},
    {"train", "neg", TOKIO_NEG},
    {"train", "pos", TOKIO_POS},
    {"train", "unsup", TOKIO_UNLABELLED},
};
enum { NCATS = 5 };

struct rawin {
    rawin_format fmt;
    char *name;             /* for messages */
    unsigned mask;          /* bit i: cats[i] selected */
    const char *split;      /* for messages; NULL = all */
    unsigned long ndocs;
    char *id;
    size_t idcap;
    /* aclImdb tarball */
    tar_reader *tar;
    /* aclImdb directory */
    char *root;
    int cat;                /* current category; -1 before the first */
    char **files;
    size_t nfiles, fi;
    char *fbuf;
    size_t fcap;
    int ncats_found;
    /* lines, TSV, CSV */
    lineio *in;
    int ncols;              /* CSV: fields of the header; TSV: 2 or 3, 0 before line 1 */
    int review_col, sentiment_col;
    char *rec;              /* CSV: unescaped fields, back to back */
    size_t reccap, reclen;
    size_t *foff, *flen;    /* CSV: field offsets and lengths in rec */
    size_t fcap_fields, nfields;
    long recline;           /* CSV: line where the current record starts */
    /* tables by column */
    table *tab;
};

int rawin_parse_format(const char *s)
{
    static const char *const names[] = {"auto", "tar", "dir", "csv", "tsv", "lines", "jsonl"};
    for (int i = 0; i < 7; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static rawin_format detect(const char *path)
{
    if (strcmp(path, "-") == 0) return RAWIN_LINES;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return RAWIN_ACLIMDB_DIR;
    if (has_suffix(path, ".tar.gz") || has_suffix(path, ".tgz") || has_suffix(path, ".tar"))
        return RAWIN_ACLIMDB_TAR;
    if (has_suffix(path, ".csv") || has_suffix(path, ".csv.gz")) return RAWIN_CSV;
    if (has_suffix(path, ".tsv") || has_suffix(path, ".tsv.gz")) return RAWIN_TSV;
    if (has_suffix(path, ".jsonl") || has_suffix(path, ".jsonl.gz") ||
        has_suffix(path, ".ndjson") || has_suffix(path, ".ndjson.gz"))
        return RAWIN_JSONL;
    return RAWIN_LINES;
}

static void set_id(rawin *r, const char *s, size_t n)
{
    if (n + 1 > r->idcap) {
        r->idcap = n + 64;
        r->id = imdb_xrealloc(r->id, r->idcap);
    }
    memcpy(r->id, s, n);
    r->id[n] = '\0';
}

static void set_id_num(rawin *r, long n)
{
    char buf[32];
    int k = snprintf(buf, sizeof buf, "%ld", n);
    set_id(r, buf, (size_t)k);
}

static void strip_bom(const char **s, size_t *n)
{
    if (*n >= 3 && memcmp(*s, "\xEF\xBB\xBF", 3) == 0) {
        *s += 3;
        *n -= 3;
    }
}

/* If name ends in SPLIT/DIR/FILE.txt for a selected category, its index and the start of
 * the ID inside name; else -1. */
static int match_review(const rawin *r, const char *name, const char **idstart, size_t *idlen)
{
    size_t n = strlen(name);
    if (n <= 4 || strcmp(name + n - 4, ".txt") != 0) return -1;
    /* Find the starts of the last three components. */
    const char *end = name + n, *c[3];
    const char *p = end;
    for (int k = 2; k >= 0; k--) {
        const char *q = p;
        while (q > name && q[-1] != '/') q--;
        c[k] = q;
        if (k > 0) {
            if (q == name) return -1;
            p = q - 1;   /* the '/' before this component */
        }
    }
    size_t ls = (size_t)(c[1] - 1 - c[0]), ld = (size_t)(c[2] - 1 - c[1]);
    if ((size_t)(end - c[2]) <= 4) return -1;   /* ".txt" alone */
    for (int i = 0; i < NCATS; i++) {
        if (!(r->mask & 1u << i)) continue;
        if (strlen(cats[i].split) == ls && memcmp(c[0], cats[i].split, ls) == 0 &&
            strlen(cats[i].dir) == ld && memcmp(c[1], cats[i].dir, ld) == 0) {
            *idstart = c[0];
            *idlen = (size_t)(end - 4 - c[0]);
            return i;
        }
    }
    return -1;
}

static int split_mask(const char *split, unsigned *mask, imdb_err *e)
{
    if (!split) *mask = 0x1F;
    else if (strcmp(split, "train") == 0) *mask = 1u << 2 | 1u << 3;
    else if (strcmp(split, "test") == 0) *mask = 1u << 0 | 1u << 1;
    else if (strcmp(split, "unsup") == 0) *mask = 1u << 4;
    else
        return imdb_fail(e, IMDB_EXIT_USAGE, "unknown split '%s' (expected train, test or unsup)",
                         split);
    return 0;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = imdb_xmalloc(n);
    snprintf(s, n, "%s/%s", a, b);
    return s;
}

rawin *rawin_open(const char *path, rawin_format fmt, const char *split, imdb_err *e)
{
    return rawin_open_table(path, fmt, split, NULL, e);
}

static const char *format_noun(rawin_format fmt)
{
    switch (fmt) {
    case RAWIN_ACLIMDB_TAR: return "an aclImdb tarball";
    case RAWIN_ACLIMDB_DIR: return "an aclImdb directory";
    default: return "text lines";
    }
}

rawin *rawin_open_table(const char *path, rawin_format fmt, const char *split,
                        const table_spec *spec, imdb_err *e)
{
    int is_stdin = strcmp(path, "-") == 0;
    if (fmt == RAWIN_AUTO) fmt = detect(path);
    rawin *r = imdb_xcalloc(1, sizeof *r);
    r->fmt = fmt;
    r->name = imdb_xstrdup(is_stdin ? "(standard input)" : path);
    r->split = split;
    r->cat = -1;
    if (fmt != RAWIN_ACLIMDB_TAR && fmt != RAWIN_ACLIMDB_DIR && split) {
        imdb_fail(e, IMDB_EXIT_USAGE, "%s: a split (train, test, unsup) applies only to "
                  "aclImdb input (a tarball or directory)", r->name);
        goto fail;
    }
    if (split_mask(split, &r->mask, e) < 0) goto fail;
    if (spec || fmt == RAWIN_JSONL) {
        static const table_spec defaults = {NULL, NULL, NULL, NULL, 0};
        if (fmt != RAWIN_CSV && fmt != RAWIN_TSV && fmt != RAWIN_JSONL) {
            imdb_fail(e, IMDB_EXIT_USAGE, "%s: columns and label rules (--text-column, "
                      "--label-column, --id-column, --labels, --rating-threshold, "
                      "--drop-unknown) apply to CSV, TSV and JSON lines, and this is read as "
                      "%s (choose with --format csv, tsv or jsonl)", r->name, format_noun(fmt));
            goto fail;
        }
        r->tab = table_open(path, r->name, fmt == RAWIN_CSV ? TABLE_CSV : fmt == RAWIN_TSV ?
                            TABLE_TSV : TABLE_JSONL, spec ? spec : &defaults, e);
        if (!r->tab) goto fail;
        return r;
    }
    switch (fmt) {
    case RAWIN_ACLIMDB_TAR:
        r->tar = tar_open(path, e);
        if (!r->tar) goto fail;
        break;
    case RAWIN_ACLIMDB_DIR: {
        if (is_stdin) {
            imdb_fail(e, IMDB_EXIT_USAGE, "standard input cannot be an aclImdb directory");
            goto fail;
        }
        struct stat st;
        if (stat(path, &st) < 0) {
            imdb_fail(e, IMDB_EXIT_IO, "%s: %s", path, strerror(errno));
            goto fail;
        }
        if (!S_ISDIR(st.st_mode)) {
            imdb_fail(e, IMDB_EXIT_USAGE, "%s: not a directory", path);
            goto fail;
        }
        char *t = join(path, "train"), *s = join(path, "test"), *a = join(path, "aclImdb");
        if (is_dir(t) || is_dir(s)) r->root = imdb_xstrdup(path);
        else if (is_dir(a)) r->root = imdb_xstrdup(a);
        free(t);
        free(s);
        if (!r->root) {
            free(a);
            imdb_fail(e, IMDB_EXIT_DATA, "%s: not an aclImdb directory (no train/ or test/ "
                      "inside)", path);
            goto fail;
        }
        free(a);
        break;
    }
    case RAWIN_CSV:
    case RAWIN_TSV:
    case RAWIN_LINES:
        r->in = lineio_open(path, e);
        if (!r->in) goto fail;
        break;
    default:
        imdb_fail(e, IMDB_EXIT_USAGE, "unknown input format");
        goto fail;
    }
    return r;
fail:
    rawin_close(r);
    return NULL;
}

void rawin_close(rawin *r)
{
    if (!r) return;
    tar_close(r->tar);
    table_close(r->tab);
    lineio_close(r->in);
    for (size_t i = 0; i < r->nfiles; i++) free(r->files[i]);
    free(r->files);
    free(r->fbuf);
    free(r->root);
    free(r->rec);
    free(r->foff);
    free(r->flen);
    free(r->id);
    free(r->name);
    free(r);
}

static int none_found(rawin *r, imdb_err *e)
{
    if (r->split)
        return imdb_fail(e, IMDB_EXIT_DATA, "%s: no %s reviews found (expected aclImdb paths "
                         "like %s/pos/0_9.txt)", r->name, r->split,
                         strcmp(r->split, "unsup") == 0 ? "train" : r->split);
    return imdb_fail(e, IMDB_EXIT_DATA, "%s: no aclImdb reviews found (expected paths like "
                     "aclImdb/train/pos/0_9.txt)", r->name);
}

/* ---------------------------------------------------------------- tarball */

static int next_tar(rawin *r, rawin_doc *d, imdb_err *e)
{
    tar_entry ent;
    int rc;
    while ((rc = tar_next(r->tar, &ent, e)) > 0) {
        if (ent.type != '0') continue;
        const char *id;
        size_t idlen;
        int cat = match_review(r, ent.name, &id, &idlen);
        if (cat < 0) continue;
        const char *data;
        size_t len;
        if (tar_read(r->tar, &data, &len, DOC_MAX, e) < 0) return -1;
        set_id(r, id, idlen);
        strip_bom(&data, &len);
        d->label = cats[cat].label;
        d->id = r->id;
        d->has_id = 1;
        d->text = data;
        d->len = len;
        r->ndocs++;
        return 1;
    }
    if (rc < 0) return -1;
    if (r->ndocs == 0) return none_found(r, e);
    return 0;
}

/* ---------------------------------------------------------------- directory */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* List the *.txt files of category cat, sorted. 0 on success (an absent directory gives
 * an empty list), -1 on error. */
static int list_cat(rawin *r, int cat, imdb_err *e)
{
    for (size_t i = 0; i < r->nfiles; i++) free(r->files[i]);
    r->nfiles = r->fi = 0;
    char *sd = join(r->root, cats[cat].split), *dir = join(sd, cats[cat].dir);
    free(sd);
    DIR *dp = opendir(dir);
    if (!dp) {
        int err = errno;
        if (err == ENOENT || err == ENOTDIR) {
            free(dir);
            return 0;
        }
        imdb_fail(e, IMDB_EXIT_IO, "%s: %s", dir, strerror(err));
        free(dir);
        return -1;
    }
    r->ncats_found++;
    size_t cap = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(dp)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n <= 4 || strcmp(de->d_name + n - 4, ".txt") != 0 || de->d_name[0] == '.') continue;
        if (r->nfiles == cap) {
            cap = cap ? 2 * cap : 1024;
            r->files = imdb_xrealloc(r->files, cap * sizeof *r->files);
        }
        r->files[r->nfiles++] = imdb_xstrdup(de->d_name);
    }
    int err = errno;
    closedir(dp);
    if (err) {
        imdb_fail(e, IMDB_EXIT_IO, "%s: %s", dir, strerror(err));
        free(dir);
        return -1;
    }
    free(dir);
    /* An empty directory leaves r->files NULL, which qsort must not get (UBSan; found by
     * tests/fuzz/fuzz_dirnames). */
    if (r->nfiles > 1) qsort(r->files, r->nfiles, sizeof *r->files, cmp_str);
    return 0;
}

/* Read a whole regular file into r->fbuf. 1: read; 0: not a regular file; -1: error. */
static int read_file(rawin *r, const char *path, size_t *len, imdb_err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return imdb_fail(e, IMDB_EXIT_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return imdb_fail(e, IMDB_EXIT_IO, "%s: %s", path, strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return 0;
    }
    if ((uint64_t)st.st_size > DOC_MAX) {
        close(fd);
        return imdb_fail(e, IMDB_EXIT_DATA, "%s: file too large (%lld bytes, limit %zu)", path,
                         (long long)st.st_size, DOC_MAX);
    }
    size_t n = 0;
    for (;;) {
        if (n + 65536 > r->fcap) {
            r->fcap = r->fcap ? 2 * r->fcap : 65536;
            while (r->fcap < n + 65536) r->fcap *= 2;
            r->fbuf = imdb_xrealloc(r->fbuf, r->fcap);
        }
        ssize_t got = read(fd, r->fbuf + n, r->fcap - n - 1);
        if (got < 0) {
            if (errno == EINTR) continue;
            close(fd);
            return imdb_fail(e, IMDB_EXIT_IO, "%s: %s", path, strerror(errno));
        }
        if (got == 0) break;
        n += (size_t)got;
        if (n > DOC_MAX) {
            close(fd);
            return imdb_fail(e, IMDB_EXIT_DATA, "%s: file too large (limit %zu bytes)", path,
                             DOC_MAX);
        }
    }
    close(fd);
    r->fbuf[n] = '\0';
    *len = n;
    return 1;
}

static int next_dir(rawin *r, rawin_doc *d, imdb_err *e)
{
    for (;;) {
        if (r->cat < 0 || r->fi == r->nfiles) {
            do r->cat++; while (r->cat < NCATS && !(r->mask & 1u << r->cat));
            if (r->cat >= NCATS) break;
            if (list_cat(r, r->cat, e) < 0) return -1;
            continue;
        }
        const char *f = r->files[r->fi++];
        size_t fl = strlen(f);
        size_t idn = strlen(cats[r->cat].split) + strlen(cats[r->cat].dir) + fl + 3;
        if (idn > r->idcap) {
            r->idcap = idn + 64;
            r->id = imdb_xrealloc(r->id, r->idcap);
        }
        snprintf(r->id, r->idcap, "%s/%s/%.*s", cats[r->cat].split, cats[r->cat].dir,
                 (int)(fl - 4), f);
        char *path = join(r->root, r->id);
        path = imdb_xrealloc(path, strlen(path) + 5);
        strcat(path, ".txt");
        size_t len = 0;
        int rc = read_file(r, path, &len, e);
        free(path);
        if (rc < 0) return -1;
        if (rc == 0) continue;
        const char *text = r->fbuf;
        strip_bom(&text, &len);
        d->label = cats[r->cat].label;
        d->id = r->id;
        d->has_id = 1;
        d->text = text;
        d->len = len;
        r->ndocs++;
        return 1;
    }
    if (r->ndocs == 0) return none_found(r, e);
    return 0;
}

/* ---------------------------------------------------------------- lines and TSV */

static int ieq(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && strncasecmp(s, w, n) == 0;
}

static int parse_tsv_label(const char *s, size_t n)
{
    if (n == 1 && s[0] == '1') return TOKIO_POS;
    if (n == 1 && s[0] == '0') return TOKIO_NEG;
    return tokio_parse_label(s, n);
}

/* The number of columns a TSV header line names: 2 for "label<TAB>text", 3 for
 * "label<TAB>id<TAB>text" (any case); 0 if the line is not a header. Neither can be a
 * record ("label" is no label), so the header is optional and old files keep working. */
static int tsv_header(const char *s, size_t n)
{
    if (ieq(s, n, "label\ttext")) return 2;
    if (ieq(s, n, "label\tid\ttext")) return 3;
    return 0;
}

static int next_line(rawin *r, rawin_doc *d, imdb_err *e)
{
    char *line;
    size_t len;
    int rc;
    const char *s;
    long ln;
    for (;;) {
        rc = lineio_next(r->in, &line, &len, e);
        if (rc <= 0) return rc;
        s = line;
        strip_bom(&s, &len);
        ln = lineio_lineno(r->in);
        if (r->fmt != RAWIN_TSV || r->ncols != 0) break;
        r->ncols = tsv_header(s, len);
        if (r->ncols == 0) {   /* no header: the first line is a LABEL<TAB>TEXT record */
            r->ncols = 2;
            break;
        }
    }
    set_id_num(r, ln);
    d->id = r->id;
    d->has_id = r->fmt == RAWIN_TSV && r->ncols == 3;
    if (r->fmt == RAWIN_LINES) {
        d->label = TOKIO_UNLABELLED;
        d->text = s;
        d->len = len;
        return 1;
    }
    const char *form = r->ncols == 3 ? "LABEL<TAB>ID<TAB>TEXT" : "LABEL<TAB>TEXT";
    const char *tab = memchr(s, '\t', len);
    if (!tab)
        return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: expected %s, found no TAB",
                         lineio_name(r->in), ln, form);
    size_t ln_len = (size_t)(tab - s);
    int label = parse_tsv_label(s, ln_len);
    if (label == -2)
        return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: unknown label '%.*s' (expected pos, neg, "
                         "-, 1 or 0)", lineio_name(r->in), ln, (int)(ln_len > 40 ? 40 : ln_len), s);
    const char *text = tab + 1, *end = s + len;
    if (r->ncols == 3) {
        const char *tab2 = memchr(text, '\t', (size_t)(end - text));
        if (!tab2)
            return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: expected %s, found one TAB",
                             lineio_name(r->in), ln, form);
        if (tab2 == text)
            return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: empty ID", lineio_name(r->in), ln);
        set_id(r, text, (size_t)(tab2 - text));
        text = tab2 + 1;
    }
    d->label = label;
    d->text = text;
    d->len = (size_t)(end - text);
    return 1;
}

/* ---------------------------------------------------------------- CSV */

static void rec_put(rawin *r, const char *s, size_t n)
{
    if (r->reclen + n + 1 > r->reccap) {
        size_t cap = r->reccap ? r->reccap : 4096;
        while (cap < r->reclen + n + 1) cap *= 2;
        r->rec = imdb_xrealloc(r->rec, cap);
        r->reccap = cap;
    }
    memcpy(r->rec + r->reclen, s, n);
    r->reclen += n;
}

static void field_start(rawin *r)
{
    if (r->nfields == r->fcap_fields) {
        r->fcap_fields = r->fcap_fields ? 2 * r->fcap_fields : 16;
        r->foff = imdb_xrealloc(r->foff, r->fcap_fields * sizeof *r->foff);
        r->flen = imdb_xrealloc(r->flen, r->fcap_fields * sizeof *r->flen);
    }
    r->foff[r->nfields] = r->reclen;
    r->flen[r->nfields] = 0;
    r->nfields++;
}

static void field_end(rawin *r)
{
    r->flen[r->nfields - 1] = r->reclen - r->foff[r->nfields - 1];
}

/* Read one CSV record into rec/foff/flen. 1: a record; 0: end; -1: error. */
static int csv_record(rawin *r, imdb_err *e)
{
    char *line;
    size_t len;
    int rc;
    const char *name = lineio_name(r->in);
    do {   /* skip blank lines between records */
        rc = lineio_next(r->in, &line, &len, e);
        if (rc <= 0) return rc;
        if (lineio_lineno(r->in) == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
            line += 3;
            len -= 3;
        }
    } while (len == 0);
    r->recline = lineio_lineno(r->in);
    r->reclen = 0;
    r->nfields = 0;
    size_t i = 0;
    field_start(r);
    for (;;) {
        if (i < len && line[i] == '"') {   /* quoted field, may span lines */
            long qline = lineio_lineno(r->in);
            i++;
            for (;;) {
                const char *q = memchr(line + i, '"', len - i);
                if (!q) {
                    rec_put(r, line + i, len - i);
                    rec_put(r, "\n", 1);
                    rc = lineio_next(r->in, &line, &len, e);
                    if (rc < 0) return -1;
                    if (rc == 0)
                        return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: unterminated quoted field "
                                         "(the quote opened on line %ld)", name,
                                         lineio_lineno(r->in), qline);
                    i = 0;
                    continue;
                }
                size_t k = (size_t)(q - line);
                rec_put(r, line + i, k - i);
                if (k + 1 < len && line[k + 1] == '"') {
                    rec_put(r, "\"", 1);
                    i = k + 2;
                    continue;
                }
                i = k + 1;
                break;
            }
            if (i < len && line[i] != ',')
                return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: malformed CSV: '%c' after a closing "
                                 "quote (a '\"' inside a field must be doubled)", name,
                                 lineio_lineno(r->in), line[i]);
        } else {
            size_t k = i;
            while (k < len && line[k] != ',' && line[k] != '"') k++;
            if (k < len && line[k] == '"')
                return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: malformed CSV: '\"' inside an "
                                 "unquoted field (quote the field and double the '\"')", name,
                                 lineio_lineno(r->in));
            rec_put(r, line + i, k - i);
            i = k;
        }
        field_end(r);
        if (i >= len) break;
        i++;   /* the ',' */
        field_start(r);
    }
    rec_put(r, "", 1);   /* keep rec non-NULL and terminated */
    return 1;
}

static int csv_header(rawin *r, imdb_err *e)
{
    int rc = csv_record(r, e);
    if (rc < 0) return -1;
    if (rc == 0)
        return imdb_fail(e, IMDB_EXIT_DATA, "%s: empty CSV file (expected a header line "
                         "review,sentiment)", r->name);
    r->review_col = r->sentiment_col = -1;
    for (size_t i = 0; i < r->nfields; i++) {
        const char *f = r->rec + r->foff[i];
        size_t n = r->flen[i];
        while (n > 0 && f[0] == ' ') f++, n--;
        while (n > 0 && f[n - 1] == ' ') n--;
        if (ieq(f, n, "review") && r->review_col < 0) r->review_col = (int)i;
        else if (ieq(f, n, "sentiment") && r->sentiment_col < 0) r->sentiment_col = (int)i;
    }
    if (r->review_col < 0 || r->sentiment_col < 0) {
        char got[64];
        size_t k = 0;
        for (size_t i = 0; i < r->nfields && k < sizeof got - 1; i++) {
            if (i > 0) got[k++] = ',';
            for (size_t j = 0; j < r->flen[i] && k < sizeof got - 1; j++) {
                char ch = r->rec[r->foff[i] + j];
                got[k++] = (unsigned char)ch < 0x20 ? ' ' : ch;
            }
        }
        got[k] = '\0';
        return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: expected a CSV header with columns review "
                         "and sentiment, found '%s'", r->name, r->recline, got);
    }
    r->ncols = (int)r->nfields;
    return 0;
}

static int parse_csv_label(const char *s, size_t n)
{
    if (ieq(s, n, "positive") || ieq(s, n, "pos") || (n == 1 && s[0] == '1')) return TOKIO_POS;
    if (ieq(s, n, "negative") || ieq(s, n, "neg") || (n == 1 && s[0] == '0')) return TOKIO_NEG;
    if (n == 1 && s[0] == '-') return TOKIO_UNLABELLED;
    return -2;
}

static int next_csv(rawin *r, rawin_doc *d, imdb_err *e)
{
    if (r->ncols == 0 && csv_header(r, e) < 0) return -1;
    int rc = csv_record(r, e);
    if (rc <= 0) return rc;
    if (r->nfields != (size_t)r->ncols)
        return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: expected %d CSV fields as in the header, "
                         "found %zu", r->name, r->recline, r->ncols, r->nfields);
    const char *lab = r->rec + r->foff[r->sentiment_col];
    size_t ln = r->flen[r->sentiment_col];
    int label = parse_csv_label(lab, ln);
    if (label == -2)
        return imdb_fail(e, IMDB_EXIT_DATA, "%s:%ld: unknown label '%.*s' (expected positive "
                         "or negative)", r->name, r->recline, (int)(ln > 40 ? 40 : ln), lab);
    set_id_num(r, r->recline);
    d->label = label;
    d->id = r->id;
    d->has_id = 0;
    d->text = r->rec + r->foff[r->review_col];
    d->len = r->flen[r->review_col];
    strip_bom(&d->text, &d->len);
    return 1;
}

static int next_table(rawin *r, rawin_doc *d, imdb_err *e)
{
    table_row row;
    int rc = table_next(r->tab, &row, e);
    if (rc <= 0) return rc;
    d->label = row.label;
    d->id = row.id;
    d->has_id = row.has_id;
    d->text = row.text;
    d->len = row.len;
    return 1;
}

int rawin_table_stats(const rawin *r, table_stats *st)
{
    if (!r->tab) return 0;
    table_stats_get(r->tab, st);
    return 1;
}

int rawin_next(rawin *r, rawin_doc *d, imdb_err *e)
{
    if (r->tab) return next_table(r, d, e);
    switch (r->fmt) {
    case RAWIN_ACLIMDB_TAR: return next_tar(r, d, e);
    case RAWIN_ACLIMDB_DIR: return next_dir(r, d, e);
    case RAWIN_CSV: return next_csv(r, d, e);
    default: return next_line(r, d, e);
    }
}
