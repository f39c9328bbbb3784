/* api_oom.c — a fixed run of the public API for tests/libimdb-oom.sh, which makes each of
 * its mallocs fail in turn (tests/failshim.so). One output line per call: the result, or
 * "NAME NOMEM" when the call reported IMDB_ERR_NOMEM. Any other failure prints
 * "UNEXPECTED ..." and exits 3. Opening a model is bracketed by "loading" and "loaded"
 * (loading reports out of memory like every other call).
 *
 * Usage: api_oom MODEL */
#include "imdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check(imdb_status st, const imdb_error *e, const char *name)
{
    if (st == IMDB_OK) return 1;
    if (st == IMDB_ERR_NOMEM) {
        printf("%s NOMEM\n", name);
        return 0;
    }
    printf("UNEXPECTED %s: status %d: %s\n", name, st, e->message);
    exit(3);
}

static void mark(const char *s)
{
    printf("%s\n", s);
    fflush(stdout);
}

static const char *const texts[] = {
    "A wonderful, moving film. Not bad at all; the acting was great!",
    "Caf\xc3\xa9 CAF\xc3\x89 na\xc3\xafve \xef\xac\x81lm \xe2\x80\x9cquoted\xe2\x80\x9d don\xe2\x80\x99t \xce\xa3\xce\x9f\xce\xa6\xce\x99\xce\x91",
    "Dull <br /><br />and too long &amp; badly acted &#39;really&#39; \xff\xfe :) <3",
    "",
};
#define NTEXTS (sizeof texts / sizeof *texts)

static void run(const imdb_model *m, const char *tag)
{
    imdb_error e;
    char name[64];
    for (size_t i = 0; i < NTEXTS; i++) {
        double p;
        snprintf(name, sizeof name, "%s score %zu", tag, i);
        if (check(imdb_score(m, texts[i], strlen(texts[i]), &p, &e), &e, name)) printf("%s %.17g\n", name, p);
    }
    imdb_model_info info;
    if (check(imdb_model_info_get(m, &info, &e), &e, "info"))
        printf("%s info %s %d\n", tag, info.kind, info.can_explain);
    if (info.can_explain) {
        imdb_contrib *c;
        size_t n;
        double p;
        snprintf(name, sizeof name, "%s explain", tag);
        if (check(imdb_explain(m, texts[0], strlen(texts[0]), 5, &p, &c, &n, &e), &e, name)) {
            printf("%s %.17g", name, p);
            for (size_t i = 0; i < n; i++) printf(" [%s %.9g]", c[i].ngram, c[i].weight);
            printf("\n");
            imdb_contrib_free(c, n);
        }
    }
    enum { N = 300 };
    const char *bt[N];
    for (int i = 0; i < N; i++) bt[i] = texts[i % NTEXTS];
    static double probs[N];
    snprintf(name, sizeof name, "%s batch", tag);
    if (check(imdb_score_batch(m, bt, NULL, N, probs, 2, &e), &e, name)) {
        double s = 0;
        for (int i = 0; i < N; i++) s += probs[i];
        printf("%s %.17g\n", name, s);
    }
    /* After all that, one more score: whatever failed before must not have broken it. */
    double p;
    snprintf(name, sizeof name, "%s again", tag);
    if (check(imdb_score(m, texts[1], strlen(texts[1]), &p, &e), &e, name)) printf("%s %.17g\n", name, p);
}

int main(int argc, char **argv)
{
    if (argc != 2) return 2;
    imdb_model *m;
    imdb_error e;
    mark("loading");
    imdb_status st = imdb_model_open(argv[1], &m, &e);
    mark("loaded");
    if (!check(st, &e, "open")) return 0;
    run(m, "path");

    /* The same model from memory (the test's own buffer: if its malloc fails, say so). */
    FILE *f = fopen(argv[1], "rb");
    unsigned char *buf = NULL;
    long size = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0)
        buf = aligned_alloc(64, ((size_t)size + 63) / 64 * 64);
    if (buf && fread(buf, 1, (size_t)size, f) == (size_t)size) {
        imdb_model *mm;
        mark("loading");
        st = imdb_model_open_mem(buf, (size_t)size, "mem", &mm, &e);
        mark("loaded");
        if (check(st, &e, "open_mem")) {
            run(mm, "mem");
            imdb_model_close(mm);
        }
    } else {
        printf("mem skipped\n");
    }
    if (f) fclose(f);
    free(buf);
    imdb_model_close(m);
    return 0;
}
