/* http.c — see http.h. The HTTP server behind imdb-serve.
 *
 * libmicrohttpd (MHD) runs a pool of worker threads, each with its own epoll set. They do
 * not accept connections themselves: left to race for the listening socket, the first
 * thread to wake takes every pending connection (wrk's 16 connections all landed on one of
 * two threads, which halved the throughput). Our acceptor thread accepts instead and hands
 * each connection over with MHD_add_connection, which spreads them over the pool by socket
 * number; it also enforces --max-connections by not accepting while at the limit, so
 * extra clients wait in the kernel's queue rather than being dropped.
 * A request is handled start to finish on one worker thread:
 *   1. on_request is called once the headers are in (*con_cls == NULL): route, check the
 *      method and Content-Length; errors are answered at once (MHD then closes the
 *      connection without reading the body);
 *   2. then once per piece of body, which is appended up to cfg.max_body;
 *   3. then once more with no data: serve the page, health or metrics, or parse the JSON
 *      (jansson), score with the thread's scorer (score.h: cleaner, shared clf) and queue
 *      the JSON answer, written by json.h in jansson's style (the connection stays open:
 *      keep-alive);
 *   4. on_completed runs when the answer is sent (or the client went away): the access log
 *      line and the metrics.
 * Counters are C11 atomics, so the workers share nothing but the model pointer, which is
 * read under a mutex only long enough to take a reference.
 *
 * Wire format: RFC 9110 (HTTP semantics), RFC 8259 (JSON), and the Prometheus text
 * exposition format 0.0.4 for /metrics. */
#include "http.h"
#include "buf.h"
#include "clf.h"
#include "json.h"
#include "modelio.h"
#include "predlog.h"
#include "score.h"
#include "utf8.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

/* The page, generated from page.html by lib/serve/local.am. */
extern const unsigned char http_page_html[];
extern const size_t http_page_html_len;

/* ---- statistics for /metrics ---- */

/* Upper bounds of the latency histogram buckets, in seconds (+Inf is implied). */
static const double bucket_le[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                   0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};
#define NBUCKETS (sizeof bucket_le / sizeof bucket_le[0])
/* P(pos) in tenths; text lengths in bytes (a review of IMDB is 1,300 on average). */
static const double prob_le[] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1};
#define PROB_NBUCKETS (sizeof prob_le / sizeof prob_le[0])
static const double len_le[] = {64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 65536, 262144};
#define LEN_NBUCKETS (sizeof len_le / sizeof len_le[0])
#define MAX_STATUS 600

typedef struct stats {
    atomic_ulong by_status[MAX_STATUS];
    atomic_ulong aborted;                 /* no answer was sent (client left, timeout) */
    atomic_ulong bucket[NBUCKETS + 1];    /* per bucket, not cumulative; last is +Inf */
    atomic_ulong count;
    atomic_ullong sum_ns;
    atomic_ulong pred_pos, pred_neg;
    atomic_ulong reload_ok, reload_failed;
    atomic_long in_flight;
    atomic_ulong request_timeouts;        /* connections cut at their request deadline */
    /* The texts scored: histograms of P(pos) and of the length in bytes (per bucket, not
     * cumulative; the last is +Inf), so that an alert can fire on a shift of either. */
    atomic_ulong prob_bucket[PROB_NBUCKETS + 1];
    atomic_ullong prob_sum_micro;         /* sum of P(pos), in millionths */
    atomic_ulong len_bucket[LEN_NBUCKETS + 1];
    atomic_ullong len_sum;
    atomic_ulong scored;
} stats;

/* ---- the model, reference counted ---- */

typedef struct model_ref {
    clf *c;
    atomic_long refs;
    unsigned long gen;        /* 1 for the first model, +1 per successful reload */
    double loaded_at;         /* wall clock, seconds since the epoch */
    long long size;           /* of the file, in bytes (for /health) */
    char id[9];               /* CRC-32 of the file's bytes, 8 hex digits ("" if unread) */
} model_ref;

static void model_release(model_ref *m)
{
    if (m && atomic_fetch_sub(&m->refs, 1) == 1) {
        clf_free(m->c);
        free(m);
    }
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The model's id: the CRC-32 (zlib's) of the file, read once at load ("" if it cannot be
 * read again: the model loaded, so it is served all the same). */
static void model_checksum(const char *path, char id[9])
{
    id[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    static _Thread_local unsigned char chunk[1 << 16];
    uint32_t crc = 0;
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0) crc = modelio_crc32(crc, chunk, (size_t)n);
    close(fd);
    if (n == 0) snprintf(id, 9, "%08x", (unsigned)crc);
}

static model_ref *model_load(const char *path, imdb_err *e)
{
    clf *c = clf_load(path, e);
    if (!c) return NULL;
    model_ref *m = imdb_xcalloc(1, sizeof *m);
    m->c = c;
    atomic_init(&m->refs, 1);
    m->loaded_at = wall_now();
    struct stat st;
    if (stat(path, &st) == 0) m->size = (long long)st.st_size;
    model_checksum(path, m->id);
    return m;
}

/* ---- the server ---- */

/* One open connection, for the request deadline (cfg.request_timeout): libmicrohttpd's
 * own timeout is an idle timeout, which a client that sends a byte every few seconds
 * never reaches. The acceptor thread looks at the deadlines ten times a second and
 * shuts down the socket of a connection past its own; MHD sees the hang-up and closes
 * it. Kept in a list under conn_lock: MHD reports CLOSED (which unlinks the entry)
 * before it closes the descriptor, so the acceptor never shuts down a reused one. */
typedef struct conn_state {
    struct conn_state *prev, *next;
    int fd;
    double deadline;   /* imdb_now() by which the request must be in; 0: none */
    int cut;           /* shut down at its deadline */
} conn_state;

struct http_server {
    http_config cfg;
    struct MHD_Daemon *mhd;
    int listen_fd;                /* non-blocking; only the acceptor uses it */
    int stop_pipe[2];             /* a byte written to [1] stops the acceptor */
    pthread_t acceptor;
    int have_acceptor;
    pthread_mutex_t conn_lock;
    pthread_cond_t conn_freed;
    atomic_uint open_conns;       /* MHD's STARTED minus CLOSED reports */
    atomic_uint pending_conns;    /* under conn_lock: handed to MHD, not yet STARTED */
    double last_handover;         /* under conn_lock: imdb_now() of the last hand-over */
    double last_cut;              /* the acceptor's: imdb_now() of the last cut_late walk */
    struct conn_state *conns;     /* under conn_lock: every open connection */
    pthread_mutex_t log_lock;     /* MHD's messages: repeats are counted, not logged */
    char log_last[256];
    double log_when;
    unsigned long log_repeats;
    int port;
    char url[96];
    char addr_text[64];           /* "127.0.0.1:8080" for messages */
    pthread_mutex_t model_lock;
    model_ref *model;             /* under model_lock; the server holds one reference */
    unsigned long generation;
    pthread_key_t worker_key;
    atomic_int draining;
    double started_wall, started_mono;
    predlog *plog;                /* NULL without cfg.prediction_log */
    atomic_ullong request_seq;    /* for the request ids made up */
    uint64_t id_seed;
    stats st;
};

static model_ref *model_acquire(http_server *s)
{
    pthread_mutex_lock(&s->model_lock);
    model_ref *m = s->model;
    atomic_fetch_add(&m->refs, 1);
    pthread_mutex_unlock(&s->model_lock);
    return m;
}

/* Per worker thread: the scorer (rebuilt when the model changes, since its cleaning
 * settings may differ). Freed by the thread-specific data destructor at thread exit. */
typedef struct worker {
    scorer *sc;
    unsigned long gen;
    buf line;          /* the prediction log's line being built */
    long long log_sec; /* the second whose "YYYY-MM-DDTHH:MM:SS" is in log_when */
    char log_when[32];
    double threshold;   /* the decision threshold for this model (http_config.threshold) */
} worker;

static void worker_free(void *p)
{
    worker *w = p;
    if (!w) return;
    scorer_free(w->sc);
    buf_free(&w->line);
    free(w);
}

static worker *worker_get(http_server *s, const model_ref *m, imdb_err *e)
{
    worker *w = pthread_getspecific(s->worker_key);
    if (!w) {
        w = imdb_xcalloc(1, sizeof *w);
        if (pthread_setspecific(s->worker_key, w) != 0) {
            free(w);
            imdb_fail(e, IMDB_EXIT_INTERNAL, "cannot set thread-specific data");
            return NULL;
        }
    }
    if (!w->sc || w->gen != m->gen) {
        scorer *sc = scorer_new(m->c, SCORE_TEXT, HTTP_EXPLAIN_MAX, e);
        if (!sc) return NULL;
        scorer_free(w->sc);
        w->sc = sc;
        w->gen = m->gen;
        w->threshold = s->cfg.threshold_set ? s->cfg.threshold : clf_threshold(m->c);
    }
    return w;
}

/* ---- logging ---- */

static void logf_(const http_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(const http_server *s, const char *fmt, ...)
{
    if (!s->cfg.log) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    s->cfg.log(s->cfg.log_arg, line);
}

/* libmicrohttpd's own error messages (MHD_OPTION_EXTERNAL_LOGGER). */
static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    http_server *s = cls;
    if (!s->cfg.log) return;
    char line[1024];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    if (n < 0) return;
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
    /* A hostile client can make MHD say the same thing thousands of times a second
     * ("Server reached connection limit" for each connection over --max-per-client):
     * say each message once, then how often it was repeated, at most once a second. */
    pthread_mutex_lock(&s->log_lock);
    double now = imdb_now();
    unsigned long repeats = 0;
    int same = strcmp(line, s->log_last) == 0;
    if (same && now - s->log_when < 1.0) {
        s->log_repeats++;
        pthread_mutex_unlock(&s->log_lock);
        return;
    }
    if (s->log_repeats) repeats = s->log_repeats;
    s->log_repeats = 0;
    s->log_when = now;
    snprintf(s->log_last, sizeof s->log_last, "%s", line);
    pthread_mutex_unlock(&s->log_lock);
    if (repeats && same) logf_(s, "libmicrohttpd: %s (and %lu more times in the last second)", line, repeats);
    else if (repeats) logf_(s, "libmicrohttpd: (the previous message %lu more times)", repeats);
    if (!(repeats && same)) logf_(s, "libmicrohttpd: %s", line);
}

/* Copy s into out (size n) for a log line: bytes outside printable ASCII, spaces and
 * '%' become %XX, so one request is always one line. */
static void log_escape(char *out, size_t n, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t j = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && j + 4 < n; p++) {
        if (*p > 0x20 && *p < 0x7f && *p != '%') {
            out[j++] = (char)*p;
        } else {
            out[j++] = '%';
            out[j++] = hex[*p >> 4];
            out[j++] = hex[*p & 15];
        }
    }
    out[j] = '\0';
}

static void format_iso_time(char *out, size_t n, double t, int millis)
{
    time_t sec = (time_t)t;
    struct tm tm;
    gmtime_r(&sec, &tm);
    size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
    if (millis) snprintf(out + k, n - k, ".%03dZ", (int)((t - (double)sec) * 1000));
    else snprintf(out + k, n - k, "Z");
}

static void format_sockaddr(char *out, size_t n, const struct sockaddr *sa)
{
    char host[INET6_ADDRSTRLEN] = "-";
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, host, sizeof host);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof host);
    snprintf(out, n, "%s", host);
}

/* ---- one request ---- */

enum route { R_NONE, R_PAGE, R_PREDICT, R_HEALTH, R_METRICS };

typedef struct req {
    double t0;                 /* imdb_now() when the headers were in */
    enum route route;
    int head;                  /* HEAD: MHD sends no body */
    char method[16], path[256];   /* escaped for the log */
    char *body;
    size_t len, cap;
    int too_big;
    conn_state *cs;            /* the connection's (NULL if MHD did not say) */
    unsigned status;           /* 0 until an answer is queued */
    size_t bytes;              /* body bytes of the answer */
    char request_id[65];       /* X-Request-Id: the client's, or made up */
} req;

/* At the connection limit with clients waiting in the listen queue. (The poll costs a
 * system call, but only at the limit.) */
static int clients_queue(http_server *s)
{
    if (atomic_load(&s->open_conns) + atomic_load(&s->pending_conns) < s->cfg.max_connections)
        return 0;
    struct pollfd pf = {s->listen_fd, POLLIN, 0};
    return poll(&pf, 1, 0) > 0 && (pf.revents & POLLIN);
}

static enum MHD_Result respond(http_server *s, struct MHD_Connection *conn, req *r,
                               unsigned status, const char *ctype, void *body, size_t len,
                               enum MHD_ResponseMemoryMode mode, const char *allow)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, mode);
    if (!resp) {
        if (mode == MHD_RESPMEM_MUST_FREE) free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (r->route == R_PAGE && status == MHD_HTTP_OK) {
        /* Inline script and style only, and requests back to this server. */
        MHD_add_response_header(resp, "Content-Security-Policy",
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
            "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    }
    if (allow) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    /* Shutting down, or clients queue for a connection slot: free this one for them
     * rather than keep it open, idle, for the next request of this client. */
    if (atomic_load(&s->draining) || clients_queue(s))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    r->status = status;
    r->bytes = r->head ? 0 : len;
    if (r->cs) {
        /* The request is in (or refused): sending the answer has no deadline. */
        pthread_mutex_lock(&s->conn_lock);
        r->cs->deadline = 0;
        pthread_mutex_unlock(&s->conn_lock);
    }
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* A JSON document (json.h, JSON_SERVE: compact, as jansson's json_dumps wrote it with
 * JSON_COMPACT | JSON_REAL_PRECISION(15)) and a newline as the answer; b is consumed. */
static enum MHD_Result respond_json(http_server *s, struct MHD_Connection *conn, req *r,
                                    unsigned status, buf *b, const char *allow)
{
    buf_char(b, '\n');
    size_t n = b->len;
    char *body = buf_take(b);
    if (!body) return MHD_NO;   /* out of memory */
    return respond(s, conn, r, status, "application/json", body, n, MHD_RESPMEM_MUST_FREE, allow);
}

/* A JSON string from bytes that may not be UTF-8 (paths, messages): null if not (as
 * jansson's json_string refused them). */
static void jstr(buf *b, const char *s)
{
    if (s && utf8_valid(s, strlen(s))) json_cstr(b, s, JSON_SERVE);
    else buf_str(b, "null");
}

/* ,"KEY": for the members after the first (KEY needs no escaping; no printf: eight a
 * prediction log line showed in the profile). */
static void member(buf *b, const char *k)
{
    buf_add(b, ",\"", 2);
    buf_str(b, k);
    buf_add(b, "\":", 2);
}

static enum MHD_Result respond_error(http_server *s, struct MHD_Connection *conn, req *r,
                                     unsigned status, const char *allow, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static enum MHD_Result respond_error(http_server *s, struct MHD_Connection *conn, req *r,
                                     unsigned status, const char *allow, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    buf b = {0};
    buf_str(&b, "{\"error\":");
    /* A message cut inside a UTF-8 sequence by the 512 bytes is not sent as such. */
    json_cstr(&b, utf8_valid(msg, strlen(msg)) ? msg : "bad request", JSON_SERVE);
    buf_char(&b, '}');
    return respond_json(s, conn, r, status, &b, allow);
}

/* ---- POST /v1/predict ---- */

/* v in decimal, without snprintf (json_int's cost showed in the profile). */
static void put_uint(buf *b, unsigned long long v)
{
    char d[24];
    size_t k = sizeof d;
    do d[--k] = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    buf_add(b, d + k, sizeof d - k);
}

/* v / 10^digits as json_num(.., JSON_SERVE) writes it (jansson's %.15g with ".0" for
 * whole numbers), for values of at most 15 significant digits that %g writes without
 * an exponent (>= 1e-4): the integer part, a point, the fraction without its trailing
 * zeros ("0" when none is left). tests/serve-predlog.sh compares the log's probability
 * with the answer's, which json_num writes. */
static void put_decimal(buf *b, unsigned long long v, int digits)
{
    unsigned long long scale = 1;
    for (int i = 0; i < digits; i++) scale *= 10;
    put_uint(b, v / scale);
    char f[24];
    unsigned long long frac = v % scale;
    int n = digits;
    for (int i = digits - 1; i >= 0; i--, frac /= 10) f[i] = (char)('0' + frac % 10);
    while (n > 1 && f[n - 1] == '0') n--;
    buf_char(b, '.');
    buf_add(b, f, (size_t)n);
}

/* A text scored: the histograms, and its line in the prediction log (imdb-serve(1),
 * PREDICTION LOG), built in the worker's buffer and handed to the log's queue. */
static void observe(http_server *s, worker *w, const char *text, size_t len, double prob,
                    int pos, size_t index, const req *r, const model_ref *m)
{
    stats *st = &s->st;
    size_t i = 0;
    while (i < PROB_NBUCKETS && prob > prob_le[i]) i++;
    atomic_fetch_add(&st->prob_bucket[i], 1);
    atomic_fetch_add(&st->prob_sum_micro, (unsigned long long)llround(prob * 1e6));
    i = 0;
    while (i < LEN_NBUCKETS && (double)len > len_le[i]) i++;
    atomic_fetch_add(&st->len_bucket[i], 1);
    atomic_fetch_add(&st->len_sum, (unsigned long long)len);
    atomic_fetch_add(&st->scored, 1);
    if (!s->plog) return;
    buf *b = &w->line;
    buf_clear(b);
    /* The time as format_iso_time(.., 1) writes it, the second formatted once a second
     * (gmtime_r and strftime per line showed in the profile). */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (!w->log_when[0] || w->log_sec != (long long)ts.tv_sec) {
        time_t sec = ts.tv_sec;
        struct tm tm;
        gmtime_r(&sec, &tm);
        if (!strftime(w->log_when, sizeof w->log_when, "%Y-%m-%dT%H:%M:%S", &tm)) w->log_when[0] = '\0';
        w->log_sec = (long long)ts.tv_sec;
    }
    static const char hexd[] = "0123456789abcdef";
    char when[48], hash[17];
    size_t k = strlen(w->log_when);
    memcpy(when, w->log_when, k);
    int ms = (int)(ts.tv_nsec / 1000000);
    when[k++] = '.';
    when[k++] = (char)('0' + ms / 100);
    when[k++] = (char)('0' + ms / 10 % 10);
    when[k++] = (char)('0' + ms % 10);
    when[k++] = 'Z';
    when[k] = '\0';
    uint64_t h = predlog_text_hash(text, len);
    for (int j = 15; j >= 0; j--, h >>= 4) hash[j] = hexd[h & 15];
    hash[16] = '\0';
    buf_str(b, "{\"time\":");
    json_cstr(b, when, JSON_SERVE);
    member(b, "request_id");
    json_cstr(b, r->request_id, JSON_SERVE);
    member(b, "index");
    put_uint(b, index);
    member(b, "text_length");
    put_uint(b, len);
    member(b, "text_hash");
    json_cstr(b, hash, JSON_SERVE);
    member(b, "label");
    json_cstr(b, pos ? "pos" : "neg", JSON_SERVE);
    member(b, "probability");
    double micro = round(prob * 1e6);
    if (micro == 0 || (micro >= 100 && micro <= 1e6)) put_decimal(b, (unsigned long long)micro, 6);
    else json_num(b, prob, JSON_SERVE);   /* below 1e-4 %.15g writes an exponent */
    member(b, "model_id");
    json_cstr(b, m->id, JSON_SERVE);
    member(b, "latency_ms");
    double us = round((imdb_now() - r->t0) * 1e6);
    if (us >= 0 && us < 1e12) put_decimal(b, (unsigned long long)us, 3);
    else json_num(b, us / 1e3, JSON_SERVE);
    if (s->cfg.log_text) {
        member(b, "text");
        json_str(b, text, len, JSON_SERVE);
    }
    buf_str(b, "}\n");
    if (!buf_failed(b)) predlog_write(s->plog, b->p, b->len);   /* a dropped line is counted there */
}

/* Score one text and append it as {"id":..,"label":..,"probability":..[,"explain":[..]]}:
 * an imdb-predict --json line, through the same code (score_format_result), in jansson's
 * number style (id: the 1-based position in the request, as imdb-predict's is the line
 * number). */
static void predict_one(http_server *s, worker *w, buf *b, const char *text, size_t len,
                        int k, size_t id, const req *r, const model_ref *m)
{
    score_result res;
    scorer_text(w->sc, text, len, k, &res);
    int pos = res.prob >= w->threshold;
    atomic_fetch_add(pos ? &s->st.pred_pos : &s->st.pred_neg, 1);
    score_format f = {.json = 1, .style = JSON_SERVE, .explain = k > 0, .threshold = w->threshold};
    score_format_result(b, &f, &(score_origin){.num = (long)id}, &res);
    observe(s, w, text, len, res.prob, pos, id, r, m);
}

static enum MHD_Result handle_predict(http_server *s, struct MHD_Connection *conn, req *r)
{
    json_error_t je;
    json_t *root = json_loadb(r->body ? r->body : "", r->len,
                              JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        if (r->len == 0)
            return respond_error(s, conn, r, 400, NULL,
                                 "empty request body: send a JSON object such as {\"text\": \"...\"}");
        if (json_error_code(&je) == json_error_invalid_utf8)
            return respond_error(s, conn, r, 400, NULL,
                                 "request body is not valid UTF-8 (near byte %d): JSON text must be UTF-8",
                                 je.position);
        return respond_error(s, conn, r, 400, NULL, "malformed JSON at line %d, column %d: %s",
                             je.line, je.column, je.text);
    }
    json_t *text = NULL, *texts = NULL;
    int k = 0;
    const char *key;
    json_t *val;
    enum MHD_Result ret;
    model_ref *m = NULL;
    if (!json_is_object(root)) {
        ret = respond_error(s, conn, r, 400, NULL,
                            "the request must be a JSON object with a \"text\" or \"texts\" field");
        goto done;
    }
    json_object_foreach(root, key, val) {
        if (strcmp(key, "text") == 0) {
            text = val;
        } else if (strcmp(key, "texts") == 0) {
            texts = val;
        } else if (strcmp(key, "explain") == 0) {
            if (json_is_boolean(val)) {
                k = json_is_true(val) ? HTTP_EXPLAIN_DEFAULT : 0;
            } else if (json_is_integer(val) && json_integer_value(val) >= 0 &&
                       json_integer_value(val) <= HTTP_EXPLAIN_MAX) {
                k = (int)json_integer_value(val);
            } else {
                ret = respond_error(s, conn, r, 400, NULL,
                                    "\"explain\" must be true, false or a number of n-grams from 0 to %d",
                                    HTTP_EXPLAIN_MAX);
                goto done;
            }
        } else {
            /* The name from the client, at most 47 bytes, cut on a UTF-8 boundary. */
            int n = (int)utf8_cut(key, strlen(key), 47);
            ret = respond_error(s, conn, r, 400, NULL,
                                "unknown field \"%.*s\" (expected \"text\", \"texts\" or \"explain\")",
                                n, key);
            goto done;
        }
    }
    if (text && texts) {
        ret = respond_error(s, conn, r, 400, NULL, "send either \"text\" or \"texts\", not both");
        goto done;
    }
    if (!text && !texts) {
        ret = respond_error(s, conn, r, 400, NULL, "missing field \"text\" (or \"texts\")");
        goto done;
    }
    if (text && (!json_is_string(text) || json_string_length(text) == 0)) {
        ret = respond_error(s, conn, r, 400, NULL, "\"text\" must be a non-empty string");
        goto done;
    }
    if (texts) {
        if (!json_is_array(texts) || json_array_size(texts) == 0) {
            ret = respond_error(s, conn, r, 400, NULL, "\"texts\" must be a non-empty array of strings");
            goto done;
        }
        size_t i;
        json_array_foreach(texts, i, val) {
            if (!json_is_string(val) || json_string_length(val) == 0) {
                ret = respond_error(s, conn, r, 400, NULL, "\"texts\"[%zu] must be a non-empty string", i);
                goto done;
            }
        }
    }

    m = model_acquire(s);
    if (k > 0 && !clf_can_explain(m->c)) {
        ret = respond_error(s, conn, r, 400, NULL,
                            "the model (kind %s) cannot explain its predictions (drop \"explain\")", clf_kind(m->c));
        goto done;
    }
    imdb_err e = {0, ""};
    worker *w = worker_get(s, m, &e);
    if (!w) {
        ret = respond_error(s, conn, r, 500, NULL, "cannot build the text cleaner: %s", e.msg);
        goto done;
    }
    buf answer = {0};
    if (text) {
        predict_one(s, w, &answer, json_string_value(text), json_string_length(text), k, 1, r, m);
    } else {
        buf_str(&answer, "{\"predictions\":[");
        size_t i;
        json_array_foreach(texts, i, val) {
            if (i) buf_char(&answer, ',');
            predict_one(s, w, &answer, json_string_value(val), json_string_length(val), k, i + 1, r, m);
        }
        buf_str(&answer, "]}");
    }
    ret = respond_json(s, conn, r, 200, &answer, NULL);
done:
    model_release(m);
    json_decref(root);
    return ret;
}

/* ---- GET /health and GET /metrics ---- */

static enum MHD_Result handle_health(http_server *s, struct MHD_Connection *conn, req *r)
{
    model_ref *m = model_acquire(s);
    int draining = atomic_load(&s->draining);
    char loaded[40];
    format_iso_time(loaded, sizeof loaded, m->loaded_at, 0);
    buf b = {0};
    buf_str(&b, "{\"status\":");
    json_cstr(&b, draining ? "draining" : "ok", JSON_SERVE);
    member(&b, "version");
    jstr(&b, PACKAGE_VERSION);
    member(&b, "model");
    buf_str(&b, "{\"kind\":");
    jstr(&b, clf_kind(m->c));
    member(&b, "path");
    jstr(&b, clf_path(m->c));
    member(&b, "explain");
    json_bool(&b, clf_can_explain(m->c));
    member(&b, "load_seconds");
    json_num(&b, clf_load_seconds(m->c), JSON_SERVE);   /* rounded to 6 decimals */
    member(&b, "loaded_at");
    json_cstr(&b, loaded, JSON_SERVE);
    member(&b, "generation");
    json_int(&b, (long long)m->gen);
    member(&b, "size");
    json_int(&b, m->size);
    buf_char(&b, '}');
    model_release(m);
    member(&b, "uptime_seconds");
    json_num(&b, round(imdb_now() - s->started_mono), JSON_SERVE);
    member(&b, "threads");
    json_int(&b, s->cfg.threads);
    buf_char(&b, '}');
    /* A load balancer should stop sending traffic to a server that is shutting down. */
    return respond_json(s, conn, r, draining ? 503 : 200, &b, NULL);
}

/* A Prometheus label value: backslash, double quote and newline escaped. */
static void prom_label(buf *b, const char *v)
{
    for (; v && *v; v++) {
        if (*v == '\\') buf_add(b, "\\\\", 2);
        else if (*v == '"') buf_add(b, "\\\"", 2);
        else if (*v == '\n') buf_add(b, "\\n", 2);
        else buf_char(b, *v);
    }
}

/* A Prometheus histogram from per-bucket counts (n bounds, then +Inf). The count is
 * the total of the buckets read, so _count and the +Inf bucket agree. */
static void prom_histogram(buf *b, const char *name, const char *help, const double *le,
                           atomic_ulong *bucket, size_t n, const char *le_fmt, double sum)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    unsigned long cum = 0;
    char bound[32];
    for (size_t i = 0; i < n; i++) {
        cum += atomic_load(&bucket[i]);
        snprintf(bound, sizeof bound, le_fmt, le[i]);
        /* "0.100000" -> "0.1": Prometheus compares le values as numbers, people read them */
        if (strchr(bound, '.')) {
            size_t k = strlen(bound);
            while (k > 0 && bound[k - 1] == '0') bound[--k] = '\0';
            if (k > 0 && bound[k - 1] == '.') bound[--k] = '\0';
        }
        buf_printf(b, "%s_bucket{le=\"%s\"} %lu\n", name, bound, cum);
    }
    cum += atomic_load(&bucket[n]);
    buf_printf(b, "%s_bucket{le=\"+Inf\"} %lu\n%s_sum %.6f\n%s_count %lu\n", name, cum, name, sum,
               name, cum);
}

static enum MHD_Result handle_metrics(http_server *s, struct MHD_Connection *conn, req *r)
{
    buf b = {0};
    stats *st = &s->st;
    buf_printf(&b, "# HELP imdb_http_requests_total HTTP requests answered, by status code.\n"
                  "# TYPE imdb_http_requests_total counter\n");
    for (int c = 100; c < MAX_STATUS; c++) {
        unsigned long n = atomic_load(&st->by_status[c]);
        if (n) buf_printf(&b, "imdb_http_requests_total{code=\"%d\"} %lu\n", c, n);
    }
    /* The request being answered is counted when it completes: make 200 always present. */
    if (!atomic_load(&st->by_status[200])) buf_printf(&b, "imdb_http_requests_total{code=\"200\"} 0\n");
    buf_printf(&b, "# HELP imdb_http_requests_aborted_total Requests that got no answer "
                  "(client closed the connection or timed out).\n"
                  "# TYPE imdb_http_requests_aborted_total counter\n"
                  "imdb_http_requests_aborted_total %lu\n", atomic_load(&st->aborted));
    buf_printf(&b, "# HELP imdb_http_request_timeouts_total Connections closed because the request "
                  "was not in by its deadline (--request-timeout).\n"
                  "# TYPE imdb_http_request_timeouts_total counter\n"
                  "imdb_http_request_timeouts_total %lu\n", atomic_load(&st->request_timeouts));
    buf_printf(&b, "# HELP imdb_http_requests_in_flight Requests being received, computed or sent.\n"
                  "# TYPE imdb_http_requests_in_flight gauge\n"
                  "imdb_http_requests_in_flight %ld\n", atomic_load(&st->in_flight));
    buf_printf(&b, "# HELP imdb_http_connections_open Client connections open (limit: --max-connections).\n"
                  "# TYPE imdb_http_connections_open gauge\n"
                  "imdb_http_connections_open %u\n"
                  "# HELP imdb_http_connections_max The connection limit.\n"
                  "# TYPE imdb_http_connections_max gauge\n"
                  "imdb_http_connections_max %u\n",
              atomic_load(&s->open_conns), s->cfg.max_connections);
    buf_printf(&b, "# HELP imdb_http_request_duration_seconds Time from the request headers to "
                  "the last byte of the answer.\n"
                  "# TYPE imdb_http_request_duration_seconds histogram\n");
    unsigned long cum = 0;
    for (size_t i = 0; i < NBUCKETS; i++) {
        cum += atomic_load(&st->bucket[i]);
        buf_printf(&b, "imdb_http_request_duration_seconds_bucket{le=\"%g\"} %lu\n", bucket_le[i], cum);
    }
    cum += atomic_load(&st->bucket[NBUCKETS]);
    buf_printf(&b, "imdb_http_request_duration_seconds_bucket{le=\"+Inf\"} %lu\n"
                  "imdb_http_request_duration_seconds_sum %.6f\n"
                  "imdb_http_request_duration_seconds_count %lu\n",
              cum, (double)atomic_load(&st->sum_ns) * 1e-9, cum);
    buf_printf(&b, "# HELP imdb_predictions_total Reviews classified, by predicted label.\n"
                  "# TYPE imdb_predictions_total counter\n"
                  "imdb_predictions_total{label=\"neg\"} %lu\n"
                  "imdb_predictions_total{label=\"pos\"} %lu\n",
              atomic_load(&st->pred_neg), atomic_load(&st->pred_pos));
    prom_histogram(&b, "imdb_prediction_probability",
                   "P(pos) of the texts classified (a shift in it: the reviews or the model changed).",
                   prob_le, st->prob_bucket, PROB_NBUCKETS, "%.6f",
                   (double)atomic_load(&st->prob_sum_micro) * 1e-6);
    prom_histogram(&b, "imdb_prediction_text_bytes", "Length in bytes of the texts classified.",
                   len_le, st->len_bucket, LEN_NBUCKETS, "%.0f", (double)atomic_load(&st->len_sum));
    if (s->plog) {
        predlog_counts pc;
        predlog_get_counts(s->plog, &pc);
        buf_printf(&b, "# HELP imdb_prediction_log_lines_total Lines of the prediction log, by fate: "
                      "written, dropped (queue full: the disk is slower than the traffic), failed "
                      "(write error, or no file open).\n"
                      "# TYPE imdb_prediction_log_lines_total counter\n"
                      "imdb_prediction_log_lines_total{result=\"dropped\"} %llu\n"
                      "imdb_prediction_log_lines_total{result=\"failed\"} %llu\n"
                      "imdb_prediction_log_lines_total{result=\"written\"} %llu\n"
                      "# HELP imdb_prediction_log_reopens_total Opens of the prediction log after the "
                      "first (SIGUSR1, or its file removed), by result.\n"
                      "# TYPE imdb_prediction_log_reopens_total counter\n"
                      "imdb_prediction_log_reopens_total{result=\"failed\"} %llu\n"
                      "imdb_prediction_log_reopens_total{result=\"ok\"} %llu\n"
                      "# HELP imdb_prediction_log_queue_bytes Bytes of log lines waiting to be written.\n"
                      "# TYPE imdb_prediction_log_queue_bytes gauge\n"
                      "imdb_prediction_log_queue_bytes %zu\n"
                      "# HELP imdb_prediction_log_open 1 while the prediction log has a file to write to.\n"
                      "# TYPE imdb_prediction_log_open gauge\n"
                      "imdb_prediction_log_open %d\n",
                   pc.dropped, pc.failed, pc.written, pc.reopen_failed, pc.reopened, pc.queued, pc.open);
    }
    model_ref *m = model_acquire(s);
    buf_printf(&b, "# HELP imdb_model_info The model being served (value 1).\n"
                  "# TYPE imdb_model_info gauge\n"
                  "imdb_model_info{kind=\"");
    prom_label(&b, clf_kind(m->c));
    buf_printf(&b, "\",path=\"");
    prom_label(&b, clf_path(m->c));
    buf_printf(&b, "\",generation=\"%lu\",model_id=\"%s\",version=\"%s\"} 1\n", m->gen, m->id,
               PACKAGE_VERSION);
    buf_printf(&b, "# HELP imdb_model_load_seconds Time the model being served took to load.\n"
                  "# TYPE imdb_model_load_seconds gauge\n"
                  "imdb_model_load_seconds %.6f\n"
                  "# HELP imdb_model_loaded_timestamp_seconds When the model being served was loaded.\n"
                  "# TYPE imdb_model_loaded_timestamp_seconds gauge\n"
                  "imdb_model_loaded_timestamp_seconds %.3f\n",
              clf_load_seconds(m->c), m->loaded_at);
    model_release(m);
    buf_printf(&b, "# HELP imdb_model_reloads_total Model reloads (SIGHUP), by result.\n"
                  "# TYPE imdb_model_reloads_total counter\n"
                  "imdb_model_reloads_total{result=\"failed\"} %lu\n"
                  "imdb_model_reloads_total{result=\"ok\"} %lu\n",
              atomic_load(&st->reload_failed), atomic_load(&st->reload_ok));
    buf_printf(&b, "# HELP process_start_time_seconds Start time of the process since the epoch.\n"
                  "# TYPE process_start_time_seconds gauge\n"
                  "process_start_time_seconds %.3f\n", s->started_wall);
    size_t n = b.len;
    char *text = buf_take(&b);
    if (!text) return MHD_NO;   /* out of memory */
    return respond(s, conn, r, 200, "text/plain; version=0.0.4; charset=utf-8", text, n,
                   MHD_RESPMEM_MUST_FREE, NULL);
}

/* ---- dispatch ---- */

/* 1 for a request id to take from a client: 1 to 64 of [A-Za-z0-9._:-] (it goes into a
 * header and a JSON string as is). */
static int usable_request_id(const char *v)
{
    size_t n = 0;
    for (; v && v[n]; n++) {
        char c = v[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':'))
            return 0;
    }
    return n >= 1 && n <= 64;
}

/* The client's X-Request-Id, or 16 hex digits: splitmix64 of a per-server random seed
 * plus a sequence number (unique within a run, unpredictable across runs). */
static void set_request_id(http_server *s, struct MHD_Connection *conn, req *r)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    if (usable_request_id(v)) {
        snprintf(r->request_id, sizeof r->request_id, "%s", v);
        return;
    }
    uint64_t x = s->id_seed + 0x9e3779b97f4a7c15ULL * (atomic_fetch_add(&s->request_seq, 1) + 1);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    x ^= x >> 31;
    snprintf(r->request_id, sizeof r->request_id, "%016llx", (unsigned long long)x);
}

static enum route find_route(const char *url)
{
    if (strcmp(url, "/") == 0) return R_PAGE;
    if (strcmp(url, "/v1/predict") == 0) return R_PREDICT;
    if (strcmp(url, "/health") == 0) return R_HEALTH;
    if (strcmp(url, "/metrics") == 0) return R_METRICS;
    return R_NONE;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *data, size_t *data_size, void **con_cls)
{
    (void)version;
    http_server *s = cls;
    req *r = *con_cls;
    if (!r) {
        /* The headers are in: decide everything that does not need the body. */
        r = imdb_xcalloc(1, sizeof *r);
        r->t0 = imdb_now();
        *con_cls = r;
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        r->cs = ci ? ci->socket_context : NULL;
        set_request_id(s, conn, r);
        atomic_fetch_add(&s->st.in_flight, 1);
        log_escape(r->method, sizeof r->method, method);
        log_escape(r->path, sizeof r->path, url);
        r->route = find_route(url);
        int get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
        r->head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
        switch (r->route) {
        case R_NONE:
            return respond_error(s, conn, r, 404, NULL,
                                 "not found: the paths are / (GET), /v1/predict (POST), /health and /metrics (GET)");
        case R_PREDICT:
            if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
                return respond_error(s, conn, r, 405, "POST", "method not allowed: use POST on /v1/predict");
            break;
        default:
            if (!get && !r->head)
                return respond_error(s, conn, r, 405, "GET, HEAD", "method not allowed: use GET");
            /* Answered on the last call: an answer queued now would make MHD close the
             * connection (it cannot know that no body follows). */
            return MHD_YES;
        }
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            errno = 0;
            char *end;
            unsigned long long n = strtoull(cl, &end, 10);
            if (errno || end == cl || n > s->cfg.max_body)
                return respond_error(s, conn, r, 413, NULL,
                                     "request body larger than %zu bytes (imdb-serve --max-body)",
                                     s->cfg.max_body);
        }
        return MHD_YES;
    }
    if (r->status) {
        /* Answered already, with the headers (404, 405, 413): drop any body. */
        *data_size = 0;
        return MHD_YES;
    }
    if (*data_size) {
        /* A piece of the body (chunked uploads have no Content-Length to check first). */
        size_t n = *data_size;
        *data_size = 0;
        if (r->route != R_PREDICT) return MHD_YES;   /* a GET with a body: ignored */
        if (r->too_big || r->len + n > s->cfg.max_body) {
            r->too_big = 1;
            free(r->body);
            r->body = NULL;
            r->len = r->cap = 0;
            return MHD_YES;
        }
        if (r->len + n > r->cap) {
            size_t cap = r->cap ? r->cap : 4096;
            while (cap < r->len + n) cap *= 2;
            if (cap > s->cfg.max_body) cap = s->cfg.max_body;
            r->body = imdb_xrealloc(r->body, cap);
            r->cap = cap;
        }
        memcpy(r->body + r->len, data, n);
        r->len += n;
        return MHD_YES;
    }
    switch (r->route) {
    case R_PAGE:
        return respond(s, conn, r, 200, "text/html; charset=utf-8", (void *)http_page_html,
                       http_page_html_len, MHD_RESPMEM_PERSISTENT, NULL);
    case R_HEALTH:
        return handle_health(s, conn, r);
    case R_METRICS:
        return handle_metrics(s, conn, r);
    default:
        if (r->too_big)
            return respond_error(s, conn, r, 413, NULL,
                                 "request body larger than %zu bytes (imdb-serve --max-body)",
                                 s->cfg.max_body);
        return handle_predict(s, conn, r);
    }
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    http_server *s = cls;
    req *r = *con_cls;
    if (!r) return;
    double dt = imdb_now() - r->t0;
    stats *st = &s->st;
    if (r->status > 0 && r->status < MAX_STATUS) {
        atomic_fetch_add(&st->by_status[r->status], 1);
        size_t i = 0;
        while (i < NBUCKETS && dt > bucket_le[i]) i++;
        atomic_fetch_add(&st->bucket[i], 1);
        atomic_fetch_add(&st->count, 1);
        atomic_fetch_add(&st->sum_ns, (unsigned long long)(dt * 1e9));
    } else {
        atomic_fetch_add(&st->aborted, 1);
    }
    if (s->cfg.access_log && s->cfg.log) {
        char when[40], client[INET6_ADDRSTRLEN + 1], status[16];
        format_iso_time(when, sizeof when, wall_now(), 1);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        format_sockaddr(client, sizeof client, ci ? ci->client_addr : NULL);
        if (r->status) snprintf(status, sizeof status, "%u", r->status);
        else snprintf(status, sizeof status, "-");
        logf_(s, "%s %s %s %s %s %zu %.3fms", when, client, r->method, r->path, status,
              r->bytes, dt * 1e3);
    }
    if (r->cs && s->cfg.request_timeout) {
        /* Kept alive: the next request line must come within the idle timeout, however
         * slowly it trickles in (on_uri then gives the rest of it request_timeout). */
        pthread_mutex_lock(&s->conn_lock);
        r->cs->deadline = s->cfg.timeout ? imdb_now() + s->cfg.timeout : 0;
        pthread_mutex_unlock(&s->conn_lock);
    }
    free(r->body);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&st->in_flight, 1);
}

/* Called by MHD once a request line is in: the request's deadline starts (for the first
 * request of a connection it started with the connection, see on_connection). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)uri;
    http_server *s = cls;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    conn_state *cs = ci ? ci->socket_context : NULL;
    if (cs && s->cfg.request_timeout) {
        pthread_mutex_lock(&s->conn_lock);
        double d = imdb_now() + s->cfg.request_timeout;
        if (cs->deadline == 0 || d < cs->deadline) cs->deadline = d;
        pthread_mutex_unlock(&s->conn_lock);
    }
    return NULL;   /* *con_cls stays NULL: on_request's first call sets it */
}

#define CUT_BATCH 500
/* Shut down the connections past their request deadline (the acceptor, every 100 ms:
 * the walk over every open connection is not repeated for each accepted one, which with
 * 10,000 slow connections reconnecting made it the acceptor's main cost). */
static void cut_late(http_server *s)
{
    if (!s->cfg.request_timeout) return;
    double now = imdb_now();
    if (now - s->last_cut < 0.1) return;
    s->last_cut = now;
    unsigned budget = CUT_BATCH;
    pthread_mutex_lock(&s->conn_lock);
    for (conn_state *c = s->conns; c && budget; c = c->next)
        if (!c->cut && c->deadline > 0 && now > c->deadline) {
            budget--;
            shutdown(c->fd, SHUT_RDWR);
            c->cut = 1;
            atomic_fetch_add(&s->st.request_timeouts, 1);
        }
    pthread_mutex_unlock(&s->conn_lock);
}

/* ---- addresses and the listening socket ---- */

int http_parse_listen(const char *s, struct sockaddr_storage *addr, socklen_t *len, imdb_err *e)
{
    char host[256];
    const char *port;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof host)
            return imdb_fail(e, IMDB_EXIT_USAGE, "bad listen address '%s' (expected [IPV6]:PORT)", s);
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = '\0';
        port = close + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon) {
            snprintf(host, sizeof host, "127.0.0.1");
            port = s;
        } else {
            if (strchr(s, ':') != colon || (size_t)(colon - s) >= sizeof host)
                return imdb_fail(e, IMDB_EXIT_USAGE,
                                 "bad listen address '%s' (write IPv6 addresses as [ADDR]:PORT)", s);
            memcpy(host, s, (size_t)(colon - s));
            host[colon - s] = '\0';
            port = colon + 1;
        }
    }
    char *end;
    errno = 0;
    long p = strtol(port, &end, 10);
    if (!*port || *end || errno || p < 0 || p > 65535)
        return imdb_fail(e, IMDB_EXIT_USAGE, "bad port in listen address '%s' (0 to 65535)", s);
    if (!*host)
        return imdb_fail(e, IMDB_EXIT_USAGE, "bad listen address '%s': missing host (e.g. 127.0.0.1:%ld)", s, p);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV | (strcmp(host, "localhost") ? AI_NUMERICHOST : 0);
    char pbuf[8];
    snprintf(pbuf, sizeof pbuf, "%ld", p);
    int rc = getaddrinfo(host, pbuf, &hints, &res);
    if (rc != 0 || !res)
        return imdb_fail(e, IMDB_EXIT_USAGE, "bad listen address '%s': %s", s,
                         rc ? gai_strerror(rc) : "no address");
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static int open_listener(http_server *s, imdb_err *e)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (http_parse_listen(s->cfg.listen, &ss, &sl, e) < 0) return -1;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return imdb_fail(e, IMDB_EXIT_IO, "cannot listen on %s: %s", s->cfg.listen, strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, SOMAXCONN) < 0) {
        int err = errno;
        close(fd);
        return imdb_fail(e, IMDB_EXIT_IO, "cannot listen on %s: %s", s->cfg.listen, strerror(err));
    }
    struct sockaddr_storage got;
    socklen_t gl = sizeof got;
    if (getsockname(fd, (struct sockaddr *)&got, &gl) < 0) {
        int err = errno;
        close(fd);
        return imdb_fail(e, IMDB_EXIT_IO, "cannot listen on %s: %s", s->cfg.listen, strerror(err));
    }
    char host[INET6_ADDRSTRLEN];
    format_sockaddr(host, sizeof host, (struct sockaddr *)&got);
    if (got.ss_family == AF_INET6) {
        s->port = ntohs(((struct sockaddr_in6 *)&got)->sin6_port);
        snprintf(s->addr_text, sizeof s->addr_text, "[%s]:%d", host, s->port);
    } else {
        s->port = ntohs(((struct sockaddr_in *)&got)->sin_port);
        snprintf(s->addr_text, sizeof s->addr_text, "%s:%d", host, s->port);
    }
    snprintf(s->url, sizeof s->url, "http://%s/", s->addr_text);
    s->listen_fd = fd;
    return 0;
}

/* ---- accepting connections ---- */

/* libmicrohttpd 0.9.75 deadlocks a worker thread (it locks a mutex it already holds)
 * when a connection given to MHD_add_connection goes over MHD's own connection limit. So
 * MHD's limit is set out of reach and the acceptor enforces --max-connections itself:
 * connections handed over but not yet reported started by MHD are "pending", and it
 * accepts only while open + pending < the limit. MHD drops a handed-over connection
 * without a report only when it runs out of memory or descriptors; pending connections
 * not reported within a second are taken to be such losses and forgotten. */
#define MHD_LIMIT_NEVER (1u << 30)
#define PENDING_FORGET_SECONDS 1.0
#define ACCEPT_BATCH 256

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    http_server *s = cls;
    conn_state *cs = NULL;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        cs = imdb_xcalloc(1, sizeof *cs);
        cs->fd = ci ? ci->connect_fd : -1;
        if (s->cfg.request_timeout && cs->fd >= 0) cs->deadline = imdb_now() + s->cfg.request_timeout;
        *socket_context = cs;
    } else {
        cs = *socket_context;
        *socket_context = NULL;
    }
    pthread_mutex_lock(&s->conn_lock);
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        s->open_conns++;
        if (s->pending_conns > 0) s->pending_conns--;
        cs->next = s->conns;
        if (s->conns) s->conns->prev = cs;
        s->conns = cs;
    } else {
        if (s->open_conns > 0) s->open_conns--;
        if (cs) {
            if (cs->prev) cs->prev->next = cs->next;
            else s->conns = cs->next;
            if (cs->next) cs->next->prev = cs->prev;
        }
        pthread_cond_signal(&s->conn_freed);
    }
    pthread_mutex_unlock(&s->conn_lock);
    if (toe != MHD_CONNECTION_NOTIFY_STARTED) free(cs);
}

/* Wait for the listening socket or the stop pipe: -1 to stop, 1 when a client is
 * waiting to be accepted, 0 otherwise. */
static int acceptor_wait(http_server *s, int timeout_ms)
{
    struct pollfd pf[2] = {{s->listen_fd, POLLIN, 0}, {s->stop_pipe[0], POLLIN, 0}};
    int n = poll(pf, 2, timeout_ms);
    if (n > 0 && pf[1].revents) return -1;
    return n > 0 && pf[0].revents;
}

/* 1 when another connection may be accepted now. */
static int below_limit(http_server *s)
{
    pthread_mutex_lock(&s->conn_lock);
    if (s->pending_conns > 0 && imdb_now() - s->last_handover > PENDING_FORGET_SECONDS)
        s->pending_conns = 0;
    int ok = s->open_conns + s->pending_conns < s->cfg.max_connections;
    pthread_mutex_unlock(&s->conn_lock);
    return ok;
}

static void *acceptor(void *arg)
{
    http_server *s = arg;
    int complained = 0;
    for (;;) {
        /* At the limit: wait for a connection to close (new ones queue in the kernel;
         * meanwhile answers close their connections, see respond). */
        while (!below_limit(s)) {
            pthread_mutex_lock(&s->conn_lock);
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 100 * 1000 * 1000;
            if (until.tv_nsec >= 1000000000) { until.tv_sec++; until.tv_nsec -= 1000000000; }
            pthread_cond_timedwait(&s->conn_freed, &s->conn_lock, &until);
            pthread_mutex_unlock(&s->conn_lock);
            cut_late(s);
            if (acceptor_wait(s, 0) < 0) return NULL;
        }
        /* Wake up now and then to look at the limit again: a connection may have
         * started meanwhile (MHD reports it after the hand-over). */
        int w = acceptor_wait(s, 100);
        if (w < 0) return NULL;
        cut_late(s);
        /* Take what the queue holds, up to ACCEPT_BATCH at a time: when thousands of
         * clients reconnect at once (slow connections cut at their deadline together),
         * one accept per poll left the queue full and the kernel dropping the SYNs of
         * normal clients, which then waited a second to send them again. */
        for (int k = 0; w > 0 && k < ACCEPT_BATCH && below_limit(s); k++) {
            struct sockaddr_storage sa;
            socklen_t sl = sizeof sa;
            int fd = accept4(s->listen_fd, (struct sockaddr *)&sa, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (fd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                    /* Out of descriptors: the client waits in the queue; retry shortly. */
                    if (!complained++) logf_(s, "cannot accept a connection: %s", strerror(errno));
                    if (acceptor_wait(s, 50) < 0) return NULL;
                }
                break;   /* EAGAIN (the queue is empty), ECONNABORTED, EINTR */
            }
            complained = 0;
            pthread_mutex_lock(&s->conn_lock);
            s->pending_conns++;
            s->last_handover = imdb_now();
            pthread_mutex_unlock(&s->conn_lock);
            /* On failure MHD closes fd and logs why. */
            if (MHD_add_connection(s->mhd, fd, (struct sockaddr *)&sa, sl) != MHD_YES) {
                pthread_mutex_lock(&s->conn_lock);
                if (s->pending_conns > 0) s->pending_conns--;
                pthread_mutex_unlock(&s->conn_lock);
            }
        }
    }
}

/* ---- life cycle ---- */

unsigned http_default_max_connections(unsigned long long nofile, int threads)
{
    if (threads < 1) threads = 1;
    if (nofile == 0) return HTTP_DEFAULT_MAX_CONNECTIONS;
    unsigned long long reserve = HTTP_FD_RESERVE + 2ULL * (unsigned)threads;
    unsigned long long n = nofile > reserve ? nofile - reserve : 0;
    if (n > HTTP_MAX_CONNECTIONS_CEILING) n = HTTP_MAX_CONNECTIONS_CEILING;
    if (n < (unsigned long long)threads) n = (unsigned long long)threads;
    return (unsigned)n;
}

http_server *http_start(const http_config *cfg, imdb_err *e)
{
    http_server *s = imdb_xcalloc(1, sizeof *s);
    s->cfg = *cfg;
    if (s->cfg.threads < 1) s->cfg.threads = 1;
    if (s->cfg.max_connections < (unsigned)s->cfg.threads) s->cfg.max_connections = (unsigned)s->cfg.threads;
    s->listen_fd = s->stop_pipe[0] = s->stop_pipe[1] = -1;
    s->started_wall = wall_now();
    s->started_mono = imdb_now();
    pthread_mutex_init(&s->model_lock, NULL);
    pthread_mutex_init(&s->conn_lock, NULL);
    pthread_mutex_init(&s->log_lock, NULL);
    pthread_cond_init(&s->conn_freed, NULL);
    int have_key = 0;
    if (!(s->model = model_load(cfg->model_path, e))) goto fail;
    s->model->gen = s->generation = 1;
    {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        s->id_seed = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 16);
    }
    if (cfg->prediction_log && !(s->plog = predlog_open(cfg->prediction_log, cfg->prediction_log_queue, e))) goto fail;
    if (open_listener(s, e) < 0) goto fail;
    if (pipe2(s->stop_pipe, O_CLOEXEC) < 0) {
        imdb_fail(e, IMDB_EXIT_IO, "cannot create a pipe: %s", strerror(errno));
        goto fail;
    }
    if (pthread_key_create(&s->worker_key, worker_free) != 0) {
        imdb_fail(e, IMDB_EXIT_INTERNAL, "cannot create thread-specific data");
        goto fail;
    }
    have_key = 1;
    /* epoll in each worker thread of a pool; no listening socket (the acceptor thread
     * adds connections); the ITC (an eventfd) wakes a worker for each added connection
     * and for MHD_stop_daemon. */
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG;
    /* One thread is no pool (MHD warns about a pool of 1). */
    struct MHD_OptionItem pool[] = {
        {s->cfg.threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
         (intptr_t)s->cfg.threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
                              MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, s,   /* first */
                              MHD_OPTION_ARRAY, pool,
                              MHD_OPTION_CONNECTION_LIMIT, MHD_LIMIT_NEVER,
                              MHD_OPTION_CONNECTION_TIMEOUT, s->cfg.timeout,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                              MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
                              MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
                              MHD_OPTION_PER_IP_CONNECTION_LIMIT, s->cfg.max_per_client,
                              MHD_OPTION_END);
    if (!s->mhd) {
        imdb_fail(e, IMDB_EXIT_IO, "cannot start the HTTP server on %s (libmicrohttpd refused; "
                  "see the message above)", s->addr_text);
        goto fail;
    }
    int err = pthread_create(&s->acceptor, NULL, acceptor, s);
    if (err) {
        imdb_fail(e, IMDB_EXIT_IO, "cannot start the acceptor thread: %s", strerror(err));
        MHD_stop_daemon(s->mhd);
        goto fail;
    }
    s->have_acceptor = 1;
    return s;

fail:
    predlog_close(s->plog, 0);
    if (s->listen_fd >= 0) close(s->listen_fd);
    if (s->stop_pipe[0] >= 0) close(s->stop_pipe[0]);
    if (s->stop_pipe[1] >= 0) close(s->stop_pipe[1]);
    pthread_cond_destroy(&s->conn_freed);
    pthread_mutex_destroy(&s->conn_lock);
    pthread_mutex_destroy(&s->log_lock);
    if (have_key) pthread_key_delete(s->worker_key);
    model_release(s->model);
    pthread_mutex_destroy(&s->model_lock);
    free(s);
    return NULL;
}

const char *http_url(const http_server *s) { return s->url; }
int http_port(const http_server *s) { return s->port; }
const char *http_model_kind(const http_server *s) { return clf_kind(s->model->c); }
double http_model_load_seconds(const http_server *s) { return clf_load_seconds(s->model->c); }

int http_reload(http_server *s, imdb_err *e)
{
    model_ref *m = model_load(s->cfg.model_path, e);
    if (!m) {
        atomic_fetch_add(&s->st.reload_failed, 1);
        return -1;
    }
    m->gen = ++s->generation;
    pthread_mutex_lock(&s->model_lock);
    model_ref *old = s->model;
    s->model = m;
    pthread_mutex_unlock(&s->model_lock);
    model_release(old);    /* freed here, or by the last request still using it */
    atomic_fetch_add(&s->st.reload_ok, 1);
    return 0;
}

int http_reopen_log(http_server *s, imdb_err *e)
{
    return s->plog ? predlog_reopen(s->plog, e) : 0;
}

void http_stop_accepting(http_server *s)
{
    if (atomic_exchange(&s->draining, 1)) return;
    if (s->have_acceptor) {
        char b = 0;
        while (write(s->stop_pipe[1], &b, 1) < 0 && errno == EINTR) {}
        pthread_join(s->acceptor, NULL);
    }
    /* Closing the socket makes new clients see "connection refused". */
    close(s->listen_fd);
    close(s->stop_pipe[0]);
    close(s->stop_pipe[1]);
}

unsigned long http_stop(http_server *s, double grace)
{
    http_stop_accepting(s);
    double end = imdb_now() + grace;
    while (atomic_load(&s->st.in_flight) > 0 && imdb_now() < end) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    long left = atomic_load(&s->st.in_flight);
    MHD_stop_daemon(s->mhd);   /* joins the threads, which free their workers */
    predlog_close(s->plog, grace > 1 ? grace : 1);   /* the lines of the last requests */
    pthread_key_delete(s->worker_key);
    model_release(s->model);
    pthread_mutex_destroy(&s->model_lock);
    pthread_cond_destroy(&s->conn_freed);
    pthread_mutex_destroy(&s->conn_lock);
    pthread_mutex_destroy(&s->log_lock);
    free(s);
    return left > 0 ? (unsigned long)left : 0;
}
