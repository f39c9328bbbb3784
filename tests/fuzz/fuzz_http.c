/* fuzz_http.c — imdb-serve's HTTP and JSON handling, end to end: a real http_server
 * (libmicrohttpd, our routing, Content-Length and body limits, jansson parsing, the
 * predict handler with "text", "texts" and "explain") on 127.0.0.1, one connection per
 * input; and http_parse_listen.
 *
 * Input: one byte of mode, then data. Mode % 4: 0 the data is the whole request as sent
 * on the socket; 1 the data is the body of a POST /v1/predict with the right
 * Content-Length; 2 the same, sent chunked in pieces of 7 bytes; 3 a --listen address.
 * The server must answer (or close) every connection within 3 s: a hang is a finding.
 *
 * The model is $IMDB_FUZZ_MODEL, else the nblr seed of the model corpus under
 * $IMDB_SRCDIR (as make check sets it). */
#include "fuzz.h"
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static http_server *server;
static char model[4096];

static void stop(void) { http_stop(server, 0); }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN);
    const char *m = getenv("IMDB_FUZZ_MODEL"), *src = getenv("IMDB_SRCDIR");
    if (m) snprintf(model, sizeof model, "%s", m);
    else snprintf(model, sizeof model, "%s/tests/fuzz/corpus/model/nblr.model", src ? src : ".");
    http_config cfg = {
        .model_path = model, .listen = "127.0.0.1:0", .threads = 1,
        .max_body = 1 << 16, .timeout = 1, .max_connections = 16,
    };
    imdb_err e;
    server = http_start(&cfg, &e);
    if (!server) {
        fprintf(stderr, "fuzz_http: %s\n", e.msg);
        exit(1);
    }
    atexit(stop);
    return 0;
}

static void send_all(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n > 0) {
        ssize_t k = send(fd, s, n, MSG_NOSIGNAL);
        if (k <= 0) return;   /* the server may close early (413, 404...) */
        s += k;
        n -= (size_t)k;
    }
}

static void exchange(const void *req, size_t n, int chunked_body, const uint8_t *body, size_t blen)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)http_port(server))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) abort();
    send_all(fd, req, n);
    if (chunked_body) {
        char head[32];
        for (size_t off = 0; off < blen; off += 7) {
            size_t k = blen - off < 7 ? blen - off : 7;
            int h = snprintf(head, sizeof head, "%zx\r\n", k);
            send_all(fd, head, (size_t)h);
            send_all(fd, body + off, k);
            send_all(fd, "\r\n", 2);
        }
        send_all(fd, "0\r\n\r\n", 5);
    }
    shutdown(fd, SHUT_WR);
    /* The server must answer or close within 3 s (its timeout is 1 s: an incomplete
     * request is closed then, as libmicrohttpd does not act on the half close). A
     * kept-alive connection stays open after the answer, so 10 ms of silence after some
     * bytes ends the exchange. */
    char buf[65536];
    int got = 0;
    for (;;) {
        struct pollfd pf = {fd, POLLIN, 0};
        int r = poll(&pf, 1, got ? 10 : 3000);
        if (r == 0 && got) break;
        if (r == 0) {
            fprintf(stderr, "fuzz_http: no answer within 3 s\n");
            abort();
        }
        if (r < 0 && errno == EINTR) continue;
        ssize_t k = recv(fd, buf, sizeof buf, 0);
        if (k <= 0) break;
        got = 1;
    }
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int mode = data[0] % 4;
    data++;
    size--;
    if (mode == 0) {
        exchange(data, size, 0, NULL, 0);
    } else if (mode == 3) {
        char *s = malloc(size + 1);
        memcpy(s, data, size);
        s[size] = '\0';
        struct sockaddr_storage ss;
        socklen_t sl;
        imdb_err e;
        http_parse_listen(s, &ss, &sl, &e);
        free(s);
    } else {
        char head[256];
        int h = mode == 1
            ? snprintf(head, sizeof head, "POST /v1/predict HTTP/1.1\r\nHost: x\r\n"
                       "Content-Type: application/json\r\nConnection: close\r\n"
                       "Content-Length: %zu\r\n\r\n", size)
            : snprintf(head, sizeof head, "POST /v1/predict HTTP/1.1\r\nHost: x\r\n"
                       "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
        if (mode == 1) {
            char *req = malloc((size_t)h + size);
            memcpy(req, head, (size_t)h);
            memcpy(req + h, data, size);
            exchange(req, (size_t)h + size, 0, NULL, 0);
            free(req);
        } else {
            exchange(head, (size_t)h, 1, data, size);
        }
    }
    return 0;
}
