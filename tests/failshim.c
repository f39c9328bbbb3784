/* failshim.c — fault injection for tests (issue 13), in the style of jq's inject_errors:
 * an LD_PRELOAD library that makes the N-th call of one function fail.
 *
 *   IMDB_FAIL=FUNC:N   FUNC is malloc (also counts calloc and realloc), write, fsync or
 *                      rename; its N-th call (from 1) fails: malloc returns NULL,
 *                      write -1/ENOSPC, fsync -1/EIO, rename -1/EIO. N = 0 never fails.
 *   IMDB_FAIL_COUNT=FILE  at exit, write the number of calls of FUNC seen to FILE, so a
 *                      test run with N = 0 learns how many points there are.
 * Counting starts when the shim's constructor runs, just before main (see armed).
 * Only calls made through the dynamic linker are seen: the tools' own and zlib's (stdio
 * writes inside libc are not, so messages still reach stderr). Not for sanitizer builds
 * (ASan replaces malloc itself). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

enum { F_NONE, F_MALLOC, F_WRITE, F_FSYNC, F_RENAME };
static int which = -1;
static long fail_at;
static atomic_long calls;
/* Set by our constructor, which runs after those of the libraries the program loaded
 * (the preloaded object is initialised last): calls made before, such as OpenBLAS
 * setting up its threads, are not counted, since no imdb code can handle them. */
static int armed;

__attribute__((constructor)) static void arm(void) { armed = 1; }

/* dlsym may allocate: a small static arena serves the allocations made meanwhile. */
static char boot[65536];
static size_t boot_used;
static int in_init;

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_fsync)(int);
static int (*real_rename)(const char *, const char *);

static void write_count(void)
{
    const char *f = getenv("IMDB_FAIL_COUNT");
    if (!f) return;
    int fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return;
    char b[32];
    int n = snprintf(b, sizeof b, "%ld\n", atomic_load(&calls));
    if (real_write) real_write(fd, b, (size_t)n);
    close(fd);
}

static void init(void)
{
    if (which >= 0 || in_init) return;
    in_init = 1;
    real_malloc = dlsym(RTLD_NEXT, "malloc");
    real_calloc = dlsym(RTLD_NEXT, "calloc");
    real_realloc = dlsym(RTLD_NEXT, "realloc");
    real_free = dlsym(RTLD_NEXT, "free");
    real_write = dlsym(RTLD_NEXT, "write");
    real_fsync = dlsym(RTLD_NEXT, "fsync");
    real_rename = dlsym(RTLD_NEXT, "rename");
    int w = F_NONE;
    const char *s = getenv("IMDB_FAIL");
    if (s) {
        const char *colon = strchr(s, ':');
        size_t n = colon ? (size_t)(colon - s) : strlen(s);
        if (n == 6 && !strncmp(s, "malloc", 6)) w = F_MALLOC;
        else if (n == 5 && !strncmp(s, "write", 5)) w = F_WRITE;
        else if (n == 5 && !strncmp(s, "fsync", 5)) w = F_FSYNC;
        else if (n == 6 && !strncmp(s, "rename", 6)) w = F_RENAME;
        fail_at = colon ? atol(colon + 1) : 0;
    }
    in_init = 0;
    which = w;
    if (w != F_NONE) atexit(write_count);
}

/* 1 if this call of f is the one to fail. */
static int hit(int f)
{
    init();
    if (which != f || !armed) return 0;
    long c = atomic_fetch_add(&calls, 1) + 1;
    return fail_at > 0 && c == fail_at;
}

static void *boot_alloc(size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (boot_used + n > sizeof boot) return NULL;
    void *p = boot + boot_used;
    boot_used += n;
    return p;
}

static int is_boot(const void *p) { return (const char *)p >= boot && (const char *)p < boot + sizeof boot; }

void *malloc(size_t n)
{
    if (!real_malloc) { init(); if (!real_malloc) return boot_alloc(n); }
    if (hit(F_MALLOC)) { errno = ENOMEM; return NULL; }
    return real_malloc(n);
}

void *calloc(size_t n, size_t m)
{
    if (!real_calloc) { init(); if (!real_calloc) return boot_alloc(n * m); }   /* boot is zeroed */
    if (hit(F_MALLOC)) { errno = ENOMEM; return NULL; }
    return real_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
    if (!real_realloc) init();
    if (is_boot(p)) {
        void *q = malloc(n);
        if (q) memcpy(q, p, n);   /* n may exceed the old size: boot is all readable */
        return q;
    }
    if (hit(F_MALLOC)) { errno = ENOMEM; return NULL; }
    return real_realloc(p, n);
}

void free(void *p)
{
    if (!p || is_boot(p)) return;
    if (!real_free) init();
    real_free(p);
}

ssize_t write(int fd, const void *b, size_t n)
{
    if (!real_write) init();
    if (hit(F_WRITE)) { errno = ENOSPC; return -1; }
    return real_write(fd, b, n);
}

int fsync(int fd)
{
    if (!real_fsync) init();
    if (hit(F_FSYNC)) { errno = EIO; return -1; }
    return real_fsync(fd);
}

int rename(const char *a, const char *b)
{
    if (!real_rename) init();
    if (hit(F_RENAME)) { errno = EIO; return -1; }
    return real_rename(a, b);
}
