/* predlog.c — see predlog.h. A double buffer: the request threads append to `fill`
 * under the mutex; the writer swaps it with its empty `spare`, lets go of the mutex and
 * writes the lines out, so the mutex is never held across a system call. The queue bound
 * is fill's capacity (the spare being written doubles the memory, not the bound).
 *
 * Batching: a request thread wakes the writer only when the writer sleeps with nothing
 * to do (the first line after a quiet spell) or when fill crosses half its capacity.
 * Woken, the writer waits PREDLOG_BATCH_MS more for lines to gather (unless fill is
 * half full, a reopen came or it is told to stop) before it takes them: under load that
 * is one wakeup and one write(2) per 20 ms instead of one per line (a futex wake and a
 * context switch per line cost imdb-serve a fifth of its throughput on two cores).
 *
 * Counters are C11 atomics: /metrics reads them without the mutex. */
#include "predlog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct predlog {
    char *path;
    pthread_mutex_t lock;
    pthread_cond_t wake;          /* lines came in, a new file, or stop */
    pthread_cond_t idle;          /* the writer has nothing left (for predlog_close) */
    char *fill, *spare;           /* both cap bytes; fill under lock, spare the writer's */
    size_t fill_len, cap;
    unsigned long fill_lines;     /* under lock */
    int new_fd;                   /* under lock: from predlog_reopen, -1 if none */
    int stop;                     /* under lock */
    int busy;                     /* under lock: the writer holds lines being written */
    int sleeping;                 /* under lock: the writer waits with nothing queued */
    size_t high;                  /* fill_len from which the writer is woken at once */
    int fd;                       /* the writer's (and predlog_open's before it starts) */
    pthread_t thread;
    atomic_ullong written, dropped, failed, reopened, reopen_failed;
    atomic_size_t queued;
    atomic_int is_open;
};

static int open_path(const char *path)
{
    int fd;
    do fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    while (fd < 0 && errno == EINTR);
    return fd;
}

/* Write the lines p[0..n) to fd: returns how many bytes of them are in the file, n or
 * less (errno set then). A write that fails partway (ENOSPC, EFBIG, EIO...) keeps the
 * whole lines it got out and truncates the file back to the end of the last of them, so
 * the file never ends inside a line (when ftruncate can do that). */
static size_t write_lines(int fd, const char *p, size_t n)
{
    off_t end = lseek(fd, 0, SEEK_END);
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, p + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int err = w < 0 ? errno : ENOSPC;
            size_t keep = done;
            while (keep > 0 && p[keep - 1] != '\n') keep--;
            if (end >= 0 && ftruncate(fd, end + (off_t)keep) != 0) {}   /* nothing more to do */
            errno = err;
            return keep;
        }
        done += (size_t)w;
    }
    return n;
}

static unsigned long count_lines(const char *p, size_t n)
{
    unsigned long k = 0;
    for (const char *q = p, *e = p + n; (q = memchr(q, '\n', (size_t)(e - q))) != NULL; q++) k++;
    return k;
}

/* Once a second: the file removed (no name left)? Then open the path again, or write
 * nowhere until that works. */
static void check_file(predlog *l)
{
    if (l->fd >= 0) {
        struct stat st;
        if (fstat(l->fd, &st) != 0 || st.st_nlink > 0) return;
    }
    int fd = open_path(l->path);
    if (fd < 0) {
        if (l->fd >= 0) {
            close(l->fd);
            l->fd = -1;
            atomic_store(&l->is_open, 0);
        }
        atomic_fetch_add(&l->reopen_failed, 1);
        return;
    }
    if (l->fd >= 0) close(l->fd);
    l->fd = fd;
    atomic_store(&l->is_open, 1);
    atomic_fetch_add(&l->reopened, 1);
}

#define PREDLOG_BATCH_MS 20

static void deadline_in(struct timespec *t, long ms)
{
    clock_gettime(CLOCK_REALTIME, t);
    t->tv_sec += ms / 1000;
    t->tv_nsec += (ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

static void *writer(void *arg)
{
    predlog *l = arg;
    double last_check = imdb_now();
    pthread_mutex_lock(&l->lock);
    for (;;) {
        while (l->fill_len == 0 && l->new_fd < 0 && !l->stop) {
            l->busy = 0;
            pthread_cond_broadcast(&l->idle);
            struct timespec until;
            deadline_in(&until, 1000);
            l->sleeping = 1;
            pthread_cond_timedwait(&l->wake, &l->lock, &until);
            l->sleeping = 0;
            if (imdb_now() - last_check >= 1.0) break;
        }
        if (l->fill_len == 0 && l->new_fd < 0 && l->stop) break;
        /* Let a batch gather (the request threads do not wake us meanwhile). */
        if (l->fill_len > 0 && l->fill_len < l->high && l->new_fd < 0 && !l->stop) {
            struct timespec until;
            deadline_in(&until, PREDLOG_BATCH_MS);
            while (l->fill_len < l->high && l->new_fd < 0 && !l->stop)
                if (pthread_cond_timedwait(&l->wake, &l->lock, &until) == ETIMEDOUT) break;
        }
        l->busy = 1;
        /* Take the lines and a new file, if one came; write outside the mutex. */
        char *p = l->fill;
        size_t n = l->fill_len;
        unsigned long lines = l->fill_lines;
        l->fill = l->spare;
        l->spare = p;
        l->fill_len = 0;
        l->fill_lines = 0;
        int new_fd = l->new_fd;
        l->new_fd = -1;
        atomic_store(&l->queued, 0);
        pthread_mutex_unlock(&l->lock);

        if (n > 0) {
            size_t got = l->fd >= 0 ? write_lines(l->fd, p, n) : 0;
            unsigned long ok = got == n ? lines : count_lines(p, got);
            atomic_fetch_add(&l->written, ok);
            atomic_fetch_add(&l->failed, lines - ok);
        }
        if (new_fd >= 0) {   /* after the lines queued before the reopen */
            if (l->fd >= 0) close(l->fd);
            l->fd = new_fd;
            atomic_store(&l->is_open, 1);
        }
        if (imdb_now() - last_check >= 1.0) {
            last_check = imdb_now();
            check_file(l);
        }
        pthread_mutex_lock(&l->lock);
    }
    l->busy = 0;
    pthread_cond_broadcast(&l->idle);
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

/* ---- XXH64, after xxHash's specification (doc/xxhash_spec.md) ---- */

#define XXP1 0x9E3779B185EBCA87ULL
#define XXP2 0xC2B2AE3D27D4EB4FULL
#define XXP3 0x165667B19E3779F9ULL
#define XXP4 0x85EBCA77C2B2AE63ULL
#define XXP5 0x27D4EB2F165667C5ULL

static uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

/* Little-endian loads: one instruction where the machine is little-endian (the byte
 * loop that builds the value is not turned into a load by GCC 12: 7 instructions a byte
 * under callgrind). */
static uint64_t le64(const unsigned char *p)
{
    uint64_t v;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(&v, p, 8);
#else
    v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
#endif
    return v;
}

static uint32_t le32(const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
#else
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
#endif
}

static uint64_t xx_round(uint64_t acc, uint64_t in)
{
    acc += in * XXP2;
    return rotl64(acc, 31) * XXP1;
}

static uint64_t xx_merge(uint64_t acc, uint64_t v)
{
    acc ^= xx_round(0, v);
    return acc * XXP1 + XXP4;
}

uint64_t predlog_text_hash(const char *text, size_t n)
{
    const unsigned char *p = (const unsigned char *)text, *end = p + n;
    uint64_t h;
    if (n >= 32) {
        uint64_t v1 = XXP1 + XXP2, v2 = XXP2, v3 = 0, v4 = 0 - XXP1;
        for (; end - p >= 32; p += 32) {
            v1 = xx_round(v1, le64(p));
            v2 = xx_round(v2, le64(p + 8));
            v3 = xx_round(v3, le64(p + 16));
            v4 = xx_round(v4, le64(p + 24));
        }
        h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
        h = xx_merge(h, v1);
        h = xx_merge(h, v2);
        h = xx_merge(h, v3);
        h = xx_merge(h, v4);
    } else {
        h = XXP5;
    }
    h += (uint64_t)n;
    for (; end - p >= 8; p += 8) {
        h ^= xx_round(0, le64(p));
        h = rotl64(h, 27) * XXP1 + XXP4;
    }
    if (end - p >= 4) {
        h ^= (uint64_t)le32(p) * XXP1;
        h = rotl64(h, 23) * XXP2 + XXP3;
        p += 4;
    }
    for (; p < end; p++) {
        h ^= (uint64_t)*p * XXP5;
        h = rotl64(h, 11) * XXP1;
    }
    h ^= h >> 33;
    h *= XXP2;
    h ^= h >> 29;
    h *= XXP3;
    h ^= h >> 32;
    return h;
}

predlog *predlog_open(const char *path, size_t queue_bytes, imdb_err *e)
{
    int fd = open_path(path);
    if (fd < 0) {
        imdb_fail(e, IMDB_EXIT_IO, "cannot open the prediction log %s: %s", path, strerror(errno));
        return NULL;
    }
    predlog *l = imdb_xcalloc(1, sizeof *l);
    l->cap = queue_bytes ? queue_bytes : PREDLOG_DEFAULT_QUEUE;
    l->path = imdb_xmalloc(strlen(path) + 1);
    strcpy(l->path, path);
    l->high = l->cap / 2 ? l->cap / 2 : 1;
    l->fill = imdb_xmalloc(l->cap);
    l->spare = imdb_xmalloc(l->cap);
    l->fd = fd;
    l->new_fd = -1;
    atomic_init(&l->is_open, 1);
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->wake, NULL);
    pthread_cond_init(&l->idle, NULL);
    int err = pthread_create(&l->thread, NULL, writer, l);
    if (err) {
        imdb_fail(e, IMDB_EXIT_IO, "cannot start the prediction log's thread: %s", strerror(err));
        close(fd);
        pthread_cond_destroy(&l->idle);
        pthread_cond_destroy(&l->wake);
        pthread_mutex_destroy(&l->lock);
        free(l->fill);
        free(l->spare);
        free(l->path);
        free(l);
        return NULL;
    }
    return l;
}

int predlog_write(predlog *l, const char *line, size_t n)
{
    pthread_mutex_lock(&l->lock);
    if (n > l->cap - l->fill_len) {
        pthread_mutex_unlock(&l->lock);
        atomic_fetch_add(&l->dropped, 1);
        return -1;
    }
    size_t before = l->fill_len;
    memcpy(l->fill + l->fill_len, line, n);
    l->fill_len += n;
    l->fill_lines++;
    atomic_store(&l->queued, l->fill_len);
    if (l->sleeping) {
        l->sleeping = 0;   /* one wake is enough */
        pthread_cond_signal(&l->wake);
    } else if (before < l->high && l->fill_len >= l->high) {
        pthread_cond_signal(&l->wake);
    }
    pthread_mutex_unlock(&l->lock);
    return 0;
}

int predlog_reopen(predlog *l, imdb_err *e)
{
    int fd = open_path(l->path);
    if (fd < 0) {
        atomic_fetch_add(&l->reopen_failed, 1);
        return imdb_fail(e, IMDB_EXIT_IO, "cannot reopen the prediction log %s: %s", l->path, strerror(errno));
    }
    pthread_mutex_lock(&l->lock);
    if (l->new_fd >= 0) close(l->new_fd);   /* two reopens before the writer woke */
    l->new_fd = fd;
    pthread_cond_signal(&l->wake);
    pthread_mutex_unlock(&l->lock);
    atomic_fetch_add(&l->reopened, 1);
    return 0;
}

void predlog_get_counts(predlog *l, predlog_counts *c)
{
    c->written = atomic_load(&l->written);
    c->dropped = atomic_load(&l->dropped);
    c->failed = atomic_load(&l->failed);
    c->reopened = atomic_load(&l->reopened);
    c->reopen_failed = atomic_load(&l->reopen_failed);
    c->queued = atomic_load(&l->queued);
    c->open = atomic_load(&l->is_open);
}

void predlog_close(predlog *l, double grace)
{
    if (!l) return;
    /* Give the writer until grace to empty the queue, then stop it (it writes what it
     * holds, which a stuck disk may still delay: the thread is joined regardless). */
    double end = imdb_now() + grace;
    pthread_mutex_lock(&l->lock);
    while ((l->fill_len > 0 || l->busy) && imdb_now() < end) {
        struct timespec until;
        deadline_in(&until, 50);
        pthread_cond_timedwait(&l->idle, &l->lock, &until);
    }
    l->stop = 1;
    pthread_cond_signal(&l->wake);
    pthread_mutex_unlock(&l->lock);
    pthread_join(l->thread, NULL);
    if (l->new_fd >= 0) close(l->new_fd);
    if (l->fd >= 0) close(l->fd);
    pthread_cond_destroy(&l->idle);
    pthread_cond_destroy(&l->wake);
    pthread_mutex_destroy(&l->lock);
    free(l->fill);
    free(l->spare);
    free(l->path);
    free(l);
}
