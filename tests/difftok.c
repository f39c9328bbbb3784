/* difftok — the differential test of the tokenizer: every document of the sources given
 * goes through text_tokenize (the fast path) and text_tokenize_naive (byte-at-a-time
 * cleaning, PCRE2 scan) with the default settings and with every combination of html and
 * casefold, and the token lists must be equal.
 *   difftok [--quiet] SOURCE...     (aclImdb tarball or directory, CSV, TSV, text lines)
 * Prints "difftok: N documents, M variants, D differences" and the first differences;
 * exit status 0 when D is 0, 1 otherwise, 2 on a usage or read error.
 * scripts/diff-tokenize runs it over the whole IMDB tarball; tests/difftok.sh over the
 * fixture corpus. */
#include "rawin.h"
#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VARIANTS 4

int main(int argc, char **argv)
{
    int quiet = 0, first = 1;
    if (argc > 1 && strcmp(argv[1], "--quiet") == 0) {
        quiet = 1;
        first = 2;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: difftok [--quiet] SOURCE...\n");
        return 2;
    }
    text_cleaner *c[VARIANTS];
    for (int v = 0; v < VARIANTS; v++) {
        text_settings s;
        text_settings_default(&s);
        s.html = !(v & 1);
        s.casefold = !(v & 2);
        imdb_err e;
        if (!(c[v] = text_cleaner_new(&s, &e))) {
            fprintf(stderr, "difftok: %s\n", e.msg);
            return 2;
        }
        text_settings_free(&s);
    }
    unsigned long docs = 0, diffs = 0, tokens = 0;
    for (int a = first; a < argc; a++) {
        imdb_err e;
        rawin *in = rawin_open(argv[a], RAWIN_AUTO, NULL, &e);
        if (!in) {
            fprintf(stderr, "difftok: %s\n", e.msg);
            return 2;
        }
        rawin_doc d;
        int rc;
        while ((rc = rawin_next(in, &d, &e)) > 0) {
            docs++;
            for (int v = 0; v < VARIANTS; v++) {
                const char *const *tf, *const *tn;
                size_t nf = text_tokenize(c[v], d.text, d.len, &tf);
                /* The fast path's tokens live in the same buffers: copy them first. */
                char **keep = malloc((nf + 1) * sizeof *keep);
                for (size_t i = 0; i < nf; i++) keep[i] = strdup(tf[i]);
                size_t nn = text_tokenize_naive(c[v], d.text, d.len, &tn);
                tokens += nn;
                size_t i = 0;
                while (i < nf && i < nn && strcmp(keep[i], tn[i]) == 0) i++;
                if (i < nf || i < nn) {
                    if (!quiet && diffs < 10)
                        fprintf(stderr, "difftok: %s (variant %d): token %zu: fast '%s', naive '%s' "
                                "(%zu vs %zu tokens)\n", d.id, v, i, i < nf ? keep[i] : "(end)",
                                i < nn ? tn[i] : "(end)", nf, nn);
                    diffs++;
                }
                for (size_t k = 0; k < nf; k++) free(keep[k]);
                free(keep);
            }
        }
        rawin_close(in);
        if (rc < 0) {
            fprintf(stderr, "difftok: %s\n", e.msg);
            return 2;
        }
    }
    for (int v = 0; v < VARIANTS; v++) text_cleaner_free(c[v]);
    printf("difftok: %lu documents, %d variants, %lu tokens, %lu differences\n", docs, VARIANTS,
           tokens, diffs);
    return diffs ? 1 : 0;
}
