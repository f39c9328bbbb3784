/* fuzz_dirnames.c — the extracted aclImdb directory reader: the walk over the five review
 * directories, which file names count as reviews (*.txt, no leading dot), their order,
 * the IDs made from them, the BOM strip, and the split selection.
 *
 * Input: lines "C NAME" or "C NAME<TAB>TEXT": C picks the directory (digit % 6: train/neg,
 * train/pos, train/unsup, test/neg, test/pos, or the root aclImdb/), NAME a file name
 * (a '/' or a NUL ends it; names that cannot be created are skipped), TEXT its contents;
 * the first byte of the input picks the split (% 4: all, train, test, unsup) and whether
 * the root given is aclImdb/ or its parent. The tree is made in a fresh temporary
 * directory and removed afterwards. */
#include "fuzz.h"
#include "rawin.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const dirs[] = {"aclImdb/train/neg", "aclImdb/train/pos", "aclImdb/train/unsup",
                                   "aclImdb/test/neg", "aclImdb/test/pos", "aclImdb"};

static void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
            char p[PATH_MAX];
            if (snprintf(p, sizeof p, "%s/%s", path, de->d_name) >= (int)sizeof p) continue;
            rm_tree(p);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 8192) return 0;
    static const char *const splits[] = {NULL, "train", "test", "unsup"};
    int mode = data[0];
    char root[] = "/tmp/imdb-fuzz-dir.XXXXXX";
    if (!mkdtemp(root)) return 0;
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/aclImdb", root);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/aclImdb/train", root);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/aclImdb/test", root);
    mkdir(p, 0700);
    for (int i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "%s/%s", root, dirs[i]);
        mkdir(p, 0700);
    }
    const char *s = (const char *)data + 1, *end = (const char *)data + size;
    int files = 0;
    while (s < end && files < 64) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        if (!nl) nl = end;
        if (nl - s >= 2 && s[0] >= '0' && s[0] <= '9') {
            const char *name = s + 2, *tab = memchr(name, '\t', (size_t)(nl - name));
            const char *nend = tab ? tab : nl;
            size_t nlen = 0;
            while (name + nlen < nend && name[nlen] != '/' && name[nlen] != '\0') nlen++;
            if (nlen > 0 && nlen < 256) {
                int n = snprintf(p, sizeof p, "%s/%s/%.*s", root, dirs[(s[0] - '0') % 6], (int)nlen, name);
                if (n > 0 && n < (int)sizeof p) {
                    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
                    if (fd >= 0) {
                        if (tab && write(fd, tab + 1, (size_t)(nl - tab - 1)) < 0) {}
                        close(fd);
                        files++;
                    }
                }
            }
        }
        s = nl + 1;
    }
    if (mode & 4) snprintf(p, sizeof p, "%s", root);
    else snprintf(p, sizeof p, "%s/aclImdb", root);
    imdb_err e;
    rawin *r = rawin_open(p, RAWIN_ACLIMDB_DIR, splits[mode % 4], &e);
    if (r) {
        rawin_doc d;
        while (rawin_next(r, &d, &e) > 0)
            if (!d.id || strncmp(d.id, "t", 1) != 0) abort();   /* train/... or test/... */
        rawin_close(r);
    }
    rm_tree(root);
    return 0;
}
