/* serve_hostile.c — a hostile-client load for imdb-serve tests and measurements
 * (tests/serve-hostile.sh, scripts/bench-hostile), loopback only.
 *
 *   serve_hostile PORT NSLOW NREQ TIMEOUT_MS
 *
 * Keeps NSLOW slow connections to 127.0.0.1:PORT open from the source address 127.0.0.2:
 * each sends the headers of a POST with Content-Length: 100 and the start of its body,
 * then one more byte a second (so an idle timeout never fires), and is reopened as soon
 * as the server closes it (an attacker simply reconnects). Once they are up (or after
 * 3 s of trying), a normal client on 127.0.0.1 sends NREQ requests one after another,
 * each on a new connection, and measures each from connect to the answer's last byte
 * (TIMEOUT_MS at most; a request not answered by then fails). Prints one line:
 *   slow=N open=K reconnects=R requests=NREQ failed=F p50_ms=.. p99_ms=.. max_ms=..
 * Exit status 0 when it ran (whatever the latencies), 1 on a setup error.
 * With HOSTILE_SOURCES=K the slow connections come from K addresses in turn (127.0.0.2
 * and up), as a distributed attack would, which a per-client limit does not stop.
 * RLIMIT_NOFILE is raised to its hard limit for the connections.
 * Other settings, for the 10,000-connection case (issue 26):
 *   HOSTILE_RAMP_MS=T      wait up to T ms (default 3000) for the slow connections to be
 *                          up: until all are, or their number stops growing for 1.5 s
 *                          (the kernel drops SYNs past the listen backlog, which the
 *                          clients resend after 1 s, 3 s...);
 *   HOSTILE_INTERVAL_MS=T  pause T ms between the normal requests, so that they span
 *                          the server's request deadline (cuts and reconnections);
 *   HOSTILE_PID=PID        the server's process: the line also gives its resident memory
 *                          before the slow connections (rss0_kb) and with them (rss_kb),
 *                          the connections it has open then by its /metrics
 *                          (server_open), and (rss_kb - rss0_kb) / server_open as
 *                          conn_kb, the memory an idle connection costs. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int port;
static atomic_int done;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static struct sockaddr_in addr(const char *ip, int p)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p)};
    inet_pton(AF_INET, ip, &sa.sin_addr);
    return sa;
}

static int nsources = 1;

/* A non-blocking connection from 127.0.0.2 (or, with HOSTILE_SOURCES=K, one of
 * 127.0.0.2 .. 127.0.0.K+1 in turn), or -1. */
static int slow_open(void)
{
    static unsigned next;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    char ip[32];
    snprintf(ip, sizeof ip, "127.0.%u.%u", (2 + next % (unsigned)nsources) / 250,
             (2 + next % (unsigned)nsources) % 250);
    next++;
    struct sockaddr_in src = addr(ip, 0), dst = addr("127.0.0.1", port);
    if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0 ||
        (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS)) {
        close(fd);
        return -1;
    }
    return fd;
}

static const char slow_head[] = "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                "Content-Length: 100\r\n\r\n{\"te";

typedef struct slow {
    int fd, sent_head;
} slow;

static atomic_long open_now, reconnects;

static void *slow_loop(void *arg)
{
    long n = *(long *)arg;
    slow *c = calloc((size_t)n, sizeof *c);
    struct pollfd *pf = calloc((size_t)n, sizeof *pf);
    for (long i = 0; i < n; i++) c[i].fd = slow_open();
    double last_trickle = now_ms();
    while (!atomic_load(&done)) {
        long open = 0;
        for (long i = 0; i < n; i++) {
            if (c[i].fd < 0 && (c[i].fd = slow_open()) >= 0) {
                c[i].sent_head = 0;
                atomic_fetch_add(&reconnects, 1);
            }
            pf[i].fd = c[i].fd;
            pf[i].events = POLLIN | (c[i].sent_head ? 0 : POLLOUT);
            pf[i].revents = 0;
        }
        poll(pf, (nfds_t)n, 50);
        int trickle = now_ms() - last_trickle >= 1000;
        if (trickle) last_trickle = now_ms();
        for (long i = 0; i < n; i++) {
            if (c[i].fd < 0) continue;
            char buf[4096];
            if (pf[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                /* The server answered or closed: either way, start over. */
                ssize_t k = recv(c[i].fd, buf, sizeof buf, 0);
                if (k <= 0 || (pf[i].revents & (POLLHUP | POLLERR))) {
                    close(c[i].fd);
                    c[i].fd = -1;
                    continue;
                }
            }
            if (!c[i].sent_head && (pf[i].revents & POLLOUT)) {
                if (send(c[i].fd, slow_head, sizeof slow_head - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof slow_head - 1))
                    c[i].sent_head = 1;
                else { close(c[i].fd); c[i].fd = -1; continue; }
            } else if (c[i].sent_head && trickle) {
                if (send(c[i].fd, "x", 1, MSG_NOSIGNAL) != 1) { close(c[i].fd); c[i].fd = -1; continue; }
            }
            if (c[i].sent_head) open++;
        }
        atomic_store(&open_now, open);
    }
    for (long i = 0; i < n; i++) if (c[i].fd >= 0) close(c[i].fd);
    free(c);
    free(pf);
    return NULL;
}

/* One normal request; its latency in ms, or -1 if not answered within timeout_ms. */
static double one_request(int timeout_ms)
{
    static const char body[] = "{\"text\": \"a wonderful, moving film\"}";
    char req[512];
    int n = snprintf(req, sizeof req, "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Connection: close\r\nContent-Length: %zu\r\n\r\n%s", sizeof body - 1, body);
    double t0 = now_ms(), end = t0 + timeout_ms;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in dst = addr("127.0.0.1", port);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS) { close(fd); return -1; }
    int sent = 0, got200 = 0, total = 0;
    char buf[4096];
    for (;;) {
        double left = end - now_ms();
        if (left <= 0) { close(fd); return -1; }
        struct pollfd pf = {fd, (short)(sent < n ? POLLOUT : POLLIN), 0};
        if (poll(&pf, 1, (int)left + 1) <= 0) continue;
        if (sent < n) {
            ssize_t k = send(fd, req + sent, (size_t)(n - sent), MSG_NOSIGNAL);
            if (k < 0 && errno != EAGAIN) { close(fd); return -1; }
            if (k > 0) sent += (int)k;
            continue;
        }
        ssize_t k = recv(fd, buf, sizeof buf, 0);
        if (k < 0 && errno == EAGAIN) continue;
        if (k <= 0) break;
        if (total == 0 && k >= 12 && memcmp(buf + 9, "200", 3) == 0) got200 = 1;
        total += (int)k;
    }
    close(fd);
    return got200 ? now_ms() - t0 : -1;
}

/* GET /metrics from 127.0.0.1; imdb_http_connections_open, or -1. */
static long server_open(int timeout_ms)
{
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in dst = addr("127.0.0.1", port);
    static char buf[1 << 16];
    size_t len = 0;
    if (connect(fd, (struct sockaddr *)&dst, sizeof dst) == 0 &&
        send(fd, req, sizeof req - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof req - 1)) {
        ssize_t k;
        while (len + 1 < sizeof buf && (k = recv(fd, buf + len, sizeof buf - 1 - len, 0)) > 0)
            len += (size_t)k;
    }
    close(fd);
    buf[len] = '\0';
    const char *p = strstr(buf, "\nimdb_http_connections_open ");
    return p ? atol(p + strlen("\nimdb_http_connections_open ")) : -1;
}

/* VmRSS of process pid in kB, or -1. */
static long rss_kb(long pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) kb = atol(line + 6);
    fclose(f);
    return kb;
}

static int env_int(const char *name, int def)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : def;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: serve_hostile PORT NSLOW NREQ TIMEOUT_MS\n");
        return 1;
    }
    port = atoi(argv[1]);
    if (getenv("HOSTILE_SOURCES")) nsources = atoi(getenv("HOSTILE_SOURCES"));
    if (nsources < 1 || nsources > 60000) nsources = 1;
    long nslow = atol(argv[2]);
    int nreq = atoi(argv[3]), timeout_ms = atoi(argv[4]);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)nslow + 64) {
        fprintf(stderr, "serve_hostile: the limit of open files (%llu) is too low for %ld connections\n",
                (unsigned long long)rl.rlim_cur, nslow);
        return 1;
    }
    int ramp_ms = env_int("HOSTILE_RAMP_MS", 3000), interval_ms = env_int("HOSTILE_INTERVAL_MS", 0);
    long pid = env_int("HOSTILE_PID", 0), rss0 = -1, rss = -1, sopen = -1;
    if (pid > 0) {
        one_request(timeout_ms);   /* the server's first request allocates its worker */
        rss0 = rss_kb(pid);
    }
    pthread_t th;
    if (nslow > 0 && pthread_create(&th, NULL, slow_loop, &nslow) != 0) return 1;
    /* Let the slow connections in: until all are, or they stop growing for 1.5 s. */
    double t0 = now_ms(), grew = t0;
    long prev = -1;
    while (nslow > 0 && now_ms() - t0 < ramp_ms) {
        usleep(300 * 1000);
        long o = atomic_load(&open_now);
        if (o >= nslow) break;
        if (o != prev) grew = now_ms();
        else if (o > 0 && now_ms() - grew >= 1500) break;
        prev = o;
    }
    long open_before = atomic_load(&open_now);
    if (pid > 0) {
        usleep(200 * 1000);        /* the server accepts the last ones */
        rss = rss_kb(pid);
        sopen = server_open(timeout_ms);
    }
    double *lat = malloc(sizeof *lat * (size_t)(nreq ? nreq : 1));
    int failed = 0, ok = 0;
    for (int i = 0; i < nreq; i++) {
        double l = one_request(timeout_ms);
        if (getenv("HOSTILE_DEBUG") && (l < 0 || l > 20))
            fprintf(stderr, "request %d at %.0f ms: %.1f ms\n", i, now_ms() - t0, l);
        if (l < 0) failed++;
        else lat[ok++] = l;
        if (interval_ms > 0 && i + 1 < nreq) usleep((useconds_t)interval_ms * 1000);
    }
    long open_after = atomic_load(&open_now);
    atomic_store(&done, 1);
    if (nslow > 0) pthread_join(th, NULL);
    qsort(lat, (size_t)ok, sizeof *lat, cmpd);
    /* Failed requests count as slower than any answered one. */
    double p50 = -1, p99 = -1, mx = ok ? lat[ok - 1] : -1;
    if (nreq > 0) {
        int i50 = (nreq * 50 + 99) / 100 - 1, i99 = (nreq * 99 + 99) / 100 - 1;
        p50 = i50 < ok ? lat[i50] : timeout_ms;
        p99 = i99 < ok ? lat[i99] : timeout_ms;
        if (failed) mx = timeout_ms;
    }
    printf("slow=%ld open=%ld/%ld reconnects=%ld requests=%d failed=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
           nslow, open_before, open_after, atomic_load(&reconnects), nreq, failed, p50, p99, mx);
    if (pid > 0)
        printf("server_open=%ld rss0_kb=%ld rss_kb=%ld conn_kb=%.2f\n", sopen, rss0, rss,
               sopen > 1 && rss0 > 0 && rss > 0 ? (double)(rss - rss0) / (double)(sopen - 1) : -1.0);
    free(lat);
    return 0;
}
