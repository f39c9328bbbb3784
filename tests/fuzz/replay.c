/* replay.c — main() for a fuzz harness built without libFuzzer (make check): run every
 * file named on the command line, or in a directory named there, through
 * LLVMFuzzerTestOneInput. With no argument it replays the harness's committed corpus,
 * $IMDB_SRCDIR/tests/fuzz/corpus/NAME (NAME: the program name without "fuzz_").
 * Exit status 0 when every input ran (a crash aborts, which make check reports), 1 when
 * the corpus is missing or empty, so a lost corpus cannot pass silently. */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return -1; }
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) buf = realloc(buf, cap *= 2);
    }
    if (!buf || ferror(f)) { fprintf(stderr, "%s: read error\n", path); fclose(f); free(buf); return -1; }
    fclose(f);
    /* An exact-size copy, so ASan catches a read one byte past the input. */
    unsigned char *exact = malloc(n ? n : 1);
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Run path, or every regular file in it (in name order); returns the number run or -1. */
static long run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0) { perror(path); return -1; }
    if (!S_ISDIR(st.st_mode)) return run_file(path) < 0 ? -1 : 1;
    DIR *d = opendir(path);
    if (!d) { perror(path); return -1; }
    char **names = NULL;
    size_t nn = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        names = realloc(names, (nn + 1) * sizeof *names);
        names[nn++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, nn, sizeof *names, cmp);
    long count = 0;
    for (size_t i = 0; i < nn; i++) {
        char *p = malloc(strlen(path) + strlen(names[i]) + 2);
        sprintf(p, "%s/%s", path, names[i]);
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
            if (run_file(p) < 0) count = -1;
            else if (count >= 0) count++;
        }
        free(p);
        free(names[i]);
    }
    free(names);
    return count;
}

int main(int argc, char **argv)
{
    LLVMFuzzerInitialize(&argc, &argv);
    long total = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            long n = run_path(argv[i]);
            if (n < 0) return 1;
            total += n;
        }
    } else {
        const char *src = getenv("IMDB_SRCDIR");
        const char *base = strrchr(argv[0], '/');
        base = base ? base + 1 : argv[0];
        if (strncmp(base, "fuzz_", 5) == 0) base += 5;
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s", src ? src : ".", base);
        total = run_path(dir);
        if (total < 0) return 1;
    }
    if (total == 0) { fprintf(stderr, "%s: no input to replay\n", argv[0]); return 1; }
    printf("%s: %ld inputs replayed\n", argv[0], total);
    return 0;
}
