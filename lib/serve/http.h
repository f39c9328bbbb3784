/* http.h — the imdb-serve HTTP server: a sentiment model behind a JSON API and a page.
 *
 * Routes (imdb-serve(1) documents the wire format):
 *   GET  /             the single-page UI (page.html, embedded at build time)
 *   POST /v1/predict   {"text": ...} or {"texts": [...]} -> labels and P(pos)
 *   GET  /health       model kind, path, load time; 503 while draining
 *   GET  /metrics      Prometheus text format 0.0.4
 * HTTP itself is libmicrohttpd's (epoll, a pool of worker threads), JSON is jansson's.
 *
 * Each worker thread owns a text_cleaner (built from the model's cleaning settings, so
 * predictions are imdb-predict's numbers); the clf is shared. The model sits behind a
 * reference count: http_reload swaps in a new one while requests in flight finish on the
 * one they started with, which is freed by whoever drops the last reference.
 *
 * Each answer carries an X-Request-Id header: the client's own (if it sent a usable one:
 * 1 to 64 bytes of letters, digits and -_.:) or one made up (16 hex digits); the
 * prediction log records it with each text.
 *
 * The module never prints: every line it has to say (access log, libmicrohttpd's errors)
 * goes through cfg->log, which the caller points at stderr. */
#ifndef IMDB_HTTP_H
#define IMDB_HTTP_H
#include <stddef.h>
#include <sys/socket.h>
#include "util.h"

#define HTTP_DEFAULT_LISTEN "127.0.0.1:8080"
#define HTTP_DEFAULT_MAX_BODY ((size_t)1 << 20)
#define HTTP_DEFAULT_TIMEOUT 10
/* The default --max-connections when the descriptor limit is unknown (see
 * http_default_max_connections). */
#define HTTP_DEFAULT_MAX_CONNECTIONS 1024
/* Descriptors kept for the server itself (listening socket, pipes, an epoll set and an
 * eventfd per worker thread, the model file while it loads, the prediction log, stdio)
 * when the connection limit is sized from the limit of open files. */
#define HTTP_FD_RESERVE 64
#define HTTP_MAX_CONNECTIONS_CEILING 1000000
#define HTTP_DEFAULT_REQUEST_TIMEOUT 10
#define HTTP_DEFAULT_MAX_PER_CLIENT 64
#define HTTP_EXPLAIN_DEFAULT 5     /* n-grams for "explain": true */
#define HTTP_EXPLAIN_MAX 100

typedef struct http_config {
    const char *model_path;
    const char *listen;          /* see http_parse_listen */
    int threads;                 /* worker threads, >= 1 */
    size_t max_body;             /* larger request bodies get 413 */
    unsigned timeout;            /* seconds a connection may stay idle; 0 = forever */
    unsigned max_connections;    /* further clients wait in the listen queue */
    /* Seconds a client has to send a whole request (headers and body), counted from the
     * connection's start for its first request and from the request line for later
     * ones on a kept-alive connection, whose request line must come within timeout of
     * the previous answer; then the connection is closed. Unlike timeout, sending a
     * byte now and then does not extend it (slowloris). 0 = no deadline. */
    unsigned request_timeout;
    /* Connections open at once from one IP address; more are closed at once. 0 = no
     * limit (e.g. behind a proxy, where every client has the proxy's address). */
    unsigned max_per_client;
    int access_log;              /* 1: one cfg->log line per request */
    /* The prediction log (predlog.h): one JSON line per text scored, appended to this
     * file by a thread of its own (imdb-serve(1) gives the schema). NULL: none. */
    const char *prediction_log;
    int log_text;                /* 1: the log lines hold the texts too */
    size_t prediction_log_queue; /* bytes of lines waiting at most; 0: the default */
    /* Label pos when P(pos) >= threshold, with threshold_set; else the threshold the
     * model stores (clf_threshold: 0.5 unless imdb-train chose one), after each reload. */
    int threshold_set;
    double threshold;
    /* Called with one line (no newline) from any thread; must be thread-safe. NULL: quiet. */
    void (*log)(void *arg, const char *line);
    void *log_arg;
} http_config;

/* Parse "HOST:PORT", "[IPV6]:PORT" or "PORT" (meaning 127.0.0.1:PORT) into *addr. HOST is
 * a numeric address or "localhost"; PORT 0 asks the kernel for a free port. Errors are
 * IMDB_EXIT_USAGE. */
int http_parse_listen(const char *s, struct sockaddr_storage *addr, socklen_t *len, imdb_err *e);

/* The default connection limit for a process allowed nofile open descriptors: every
 * connection is one descriptor and an idle one costs a few KiB (README: hostile
 * clients), so, as nginx-class servers do, the limit is what the descriptors allow:
 * nofile less HTTP_FD_RESERVE and 2 per worker thread, at least threads, at most
 * HTTP_MAX_CONNECTIONS_CEILING. nofile 0 (unknown): HTTP_DEFAULT_MAX_CONNECTIONS. */
unsigned http_default_max_connections(unsigned long long nofile, int threads);

typedef struct http_server http_server;

/* Load cfg->model_path, bind cfg->listen and start the worker threads. cfg is copied.
 * Errors: those of clf_load (IMDB_EXIT_DATA bad model, IMDB_EXIT_IO cannot read),
 * IMDB_EXIT_USAGE bad address, IMDB_EXIT_IO cannot bind, start threads or open the
 * prediction log.
 * The server's threads may run the caller's signal handlers. */
http_server *http_start(const http_config *cfg, imdb_err *e);

/* "http://127.0.0.1:8080/" or "http://[::1]:8080/" with the bound port; owned by s. */
const char *http_url(const http_server *s);
int http_port(const http_server *s);

/* Load cfg->model_path again and serve it from now on. On error (IMDB_EXIT_DATA/IO) the
 * previous model keeps serving and -1 is returned. Call from one thread at a time. */
int http_reload(http_server *s, imdb_err *e);
/* The model being served (for messages): its kind and load time in seconds. Call from
 * the thread that calls http_reload; the kind is valid until the next reload. */
const char *http_model_kind(const http_server *s);
double http_model_load_seconds(const http_server *s);

/* Open cfg->prediction_log again (logrotate renamed it): 0, or -1 with IMDB_EXIT_IO, the
 * previous file being kept. 0 when there is no prediction log. Call from one thread. */
int http_reopen_log(http_server *s, imdb_err *e);

/* Start draining: close the listening socket (new clients are refused), answer from now
 * on with "Connection: close", and report "draining" on /health. Idempotent. */
void http_stop_accepting(http_server *s);
/* Drain and free: http_stop_accepting, wait up to grace seconds for the requests in
 * flight, then stop the threads (closing any connection left) and free everything.
 * Returns the number of requests cut off (0 for a clean drain). */
unsigned long http_stop(http_server *s, double grace);
#endif
