/* predlog.c — see predlog.h. A double buffer: the request threads append to `fill`
 * under the mutex; the writer swaps it with its empty `spare`, lets go of the mutex and
 * writes the lines out, so the mutex is never held across a system call. The queue bound
 * is fill's capacity (the spare being written doubles the memory, not the bound).
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

/* Write p[0..n) to fd whole, or undo it: 0, or -1 (errno set, the file as it was when
 * ftruncate can restore it). */
static int write_all(int fd, const char *p, size_t n)
{
    off_t end = lseek(fd, 0, SEEK_END);
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int err = w < 0 ? errno : ENOSPC;
            if (end >= 0 && ftruncate(fd, end) != 0) {}   /* nothing more to do */
            errno = err;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
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
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            pthread_cond_timedwait(&l->wake, &l->lock, &until);
            if (imdb_now() - last_check >= 1.0) break;
        }
        if (l->fill_len == 0 && l->new_fd < 0 && l->stop) break;
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
            if (l->fd >= 0 && write_all(l->fd, p, n) == 0) atomic_fetch_add(&l->written, lines);
            else atomic_fetch_add(&l->failed, lines);
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
    int was_empty = l->fill_len == 0;
    memcpy(l->fill + l->fill_len, line, n);
    l->fill_len += n;
    l->fill_lines++;
    atomic_store(&l->queued, l->fill_len);
    if (was_empty) pthread_cond_signal(&l->wake);
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
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 50 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000) { until.tv_sec++; until.tv_nsec -= 1000000000; }
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
