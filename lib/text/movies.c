/* movies.c — see movies.h. */
#include "movies.h"
#include "tar.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct movies {
    char *split;
    char **ids[2];      /* [0] neg, [1] pos: movie id of review number i */
    size_t n[2];
};

/* Parse one urls file's text into movie ids. */
static int parse(movies *m, int side, const char *name, const char *text, size_t len, imdb_err *e)
{
    size_t cap = 0, lineno = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) nl = end;
        lineno++;
        const char *t = NULL;
        for (const char *q = p; q + 7 <= nl; q++)
            if (memcmp(q, "/title/", 7) == 0) { t = q + 7; break; }
        size_t k = 0;
        while (t && t + k < nl && t[k] != '/' && t[k] != '\r') k++;
        if (!t || k == 0)
            return imdb_fail(e, IMDB_EXIT_DATA, "%s:%zu: no movie (expected a URL with /title/ID/)", name, lineno);
        if (m->n[side] == cap) {
            cap = cap ? 2 * cap : 16384;
            m->ids[side] = imdb_xrealloc(m->ids[side], cap * sizeof *m->ids[side]);
        }
        m->ids[side][m->n[side]++] = imdb_xstrndup(t, k);
        p = nl + 1;
    }
    return 0;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 20, n = 0, k;
    char *b = imdb_xmalloc(cap);
    while ((k = fread(b + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) b = imdb_xrealloc(b, cap *= 2);
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(b); return NULL; }
    *len = n;
    return b;
}

movies *movies_load(const char *path, const char *split, imdb_err *e)
{
    movies *m = imdb_xcalloc(1, sizeof *m);
    m->split = imdb_xstrdup(split);
    static const char *const side_name[2] = { "neg", "pos" };
    int found[2] = { 0, 0 };
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        for (int s = 0; s < 2; s++) {
            char name[4096];
            snprintf(name, sizeof name, "%s/%s/urls_%s.txt", path, split, side_name[s]);
            size_t len;
            char *text = slurp(name, &len);
            if (!text) {
                imdb_fail(e, IMDB_EXIT_DATA, "%s: cannot read (%s): a split by movie needs aclImdb's url lists",
                          name, strerror(errno));
                goto fail;
            }
            int rc = parse(m, s, name, text, len, e);
            free(text);
            if (rc < 0) goto fail;
            found[s] = 1;
        }
    } else {
        tar_reader *t = tar_open(path, e);
        if (!t) goto fail;
        tar_entry ent;
        int got;
        char want[2][64];
        for (int s = 0; s < 2; s++) snprintf(want[s], sizeof want[s], "/%s/urls_%s.txt", split, side_name[s]);
        while ((got = tar_next(t, &ent, e)) > 0) {
            size_t nl = strlen(ent.name);
            for (int s = 0; s < 2; s++) {
                size_t wl = strlen(want[s]);
                if (found[s] || nl < wl || strcmp(ent.name + nl - wl, want[s]) != 0) continue;
                const char *data;
                size_t len;
                char name[4200];
                snprintf(name, sizeof name, "%s:%s", path, ent.name);
                if (tar_read(t, &data, &len, 64u << 20, e) < 0 || parse(m, s, name, data, len, e) < 0) {
                    tar_close(t);
                    goto fail;
                }
                found[s] = 1;
            }
            if (found[0] && found[1]) break;
        }
        tar_close(t);
        if (got < 0) goto fail;
        for (int s = 0; s < 2; s++)
            if (!found[s]) {
                imdb_fail(e, IMDB_EXIT_DATA, "%s: no %s in the archive: a split by movie needs aclImdb's url lists",
                          path, want[s] + 1);
                goto fail;
            }
    }
    return m;
fail:
    movies_free(m);
    return NULL;
}

void movies_free(movies *m)
{
    if (!m) return;
    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; i < m->n[s]; i++) free(m->ids[s][i]);
        free(m->ids[s]);
    }
    free(m->split);
    free(m);
}

const char *movies_of(const movies *m, const char *doc_id)
{
    size_t sl = strlen(m->split);
    if (strncmp(doc_id, m->split, sl) != 0 || doc_id[sl] != '/') return NULL;
    const char *p = doc_id + sl + 1;
    int side;
    if (strncmp(p, "pos/", 4) == 0) side = 1;
    else if (strncmp(p, "neg/", 4) == 0) side = 0;
    else return NULL;
    p += 4;
    if (*p < '0' || *p > '9') return NULL;
    char *end;
    unsigned long i = strtoul(p, &end, 10);
    if (*end != '_' || i >= m->n[side]) return NULL;
    return m->ids[side][i];
}

uint32_t movies_hash(const char *movie)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)movie; *p; p++) h = (h ^ *p) * 16777619u;
    return h;
}

int movies_valid(const char *movie, double fraction)
{
    return (double)(movies_hash(movie) % 10000u) < fraction * 10000;
}
