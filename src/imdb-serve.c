/* imdb-serve — serve a model over HTTP: a JSON API, a web page, health and metrics.
 * See imdb-serve(1); the server itself is the http module (http.h).
 *
 * Signals use the self-pipe trick: the handler only sets a flag and writes to a pipe, and
 * the main thread waits on the pipe, so a reload or a shutdown runs as ordinary code.
 * (Blocking the signals and sigwait-ing for them is not enough: threads started before
 * main, such as OpenBLAS's pool, have them unblocked, and a SIGTERM delivered to one of
 * those while the main thread is busy reloading would kill the process.) */
#include "cli.h"
#include "http.h"
#include "predlog.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* The hard limit of open files (0 if unknown or unlimited beyond what fits). */
static unsigned long long fd_hard_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
    return rl.rlim_max == RLIM_INFINITY ? 0 : (unsigned long long)rl.rlim_max;
}

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
    printf(
"Usage: %s [OPTION]... -m MODEL\n"
"  or:  %s [OPTION]... MODEL\n"
"Serve MODEL (from imdb-train) over HTTP: POST /v1/predict classifies JSON\n"
"{\"text\": ...} or {\"texts\": [...]}, GET / is a web page to try it,\n"
"GET /health and GET /metrics (Prometheus) are for monitoring.\n"
"SIGHUP reloads MODEL, SIGUSR1 reopens the prediction log; SIGTERM or SIGINT\n"
"finish the requests in flight and exit.\n"
"\n"
"  -m, --model=FILE          the model file (without -m: the operand)\n"
"  -l, --listen=ADDR         HOST:PORT, [IPV6]:PORT or PORT to listen on\n"
"                            (default: %s; port 0 picks a free port)\n"
"  -j, --threads=N           worker threads (default: number of cores, %ld here)\n"
"      --max-body=BYTES      largest request body, suffix K or M for KiB, MiB\n"
"                            (default: %zu); larger ones get 413\n"
"  -t, --timeout=SECONDS     close connections idle that long (0: never), and\n"
"                            wait that long (0: %d) for requests in flight at\n"
"                            shutdown (default: %d)\n"
"      --max-connections=N   connections open at once (default: the limit of open\n"
"                            files, raised to its hard limit at start, less %d\n"
"                            and 2 per thread: %u here)\n"
"      --request-timeout=SECONDS  close a connection whose request (headers and\n"
"                            body) is not all in that long after it began,\n"
"                            however steadily it trickles (0: no deadline;\n"
"                            default: %d)\n"
"      --max-per-client=N    connections open at once from one IP address; more\n"
"                            are closed at once (0: no limit, e.g. behind a\n"
"                            proxy; default: %d)\n"
"      --threshold=X         label pos when P(pos) >= X (default: the threshold\n"
"                            the model stores, 0.5 if none; see imdb-train)\n"
"      --port-file=FILE      write the port listened on to FILE once ready\n"
"      --prediction-log=FILE  append one JSON line per text classified to FILE\n"
"                            (time, request id, length and hash of the text,\n"
"                            label, probability, model id, latency), written by a\n"
"                            thread of its own: a slow or full disk drops or\n"
"                            fails lines (counted in /metrics), never requests\n"
"      --log-text            the prediction log holds the texts too\n"
"      --prediction-log-queue=BYTES  log lines waiting for the disk at most, suffix\n"
"                            K or M (default: %zu); more are dropped\n"
"  -q, --quiet               no access log\n"
"      --help                display this help and exit\n"
"      --version             output version information and exit\n"
"\n"
"Once ready it prints \"listening on URL\" on standard error, then one access log\n"
"line per request: TIME CLIENT METHOD PATH STATUS BYTES LATENCY.\n"
"\n"
"Exit status: 0 clean shutdown, 1 bad model file, 2 usage error,\n"
"4 cannot read the model, bind the address, write the port file or open the\n"
"prediction log.\n",
        cli_prog, cli_prog, HTTP_DEFAULT_LISTEN, sysconf(_SC_NPROCESSORS_ONLN), HTTP_DEFAULT_MAX_BODY,
        HTTP_DEFAULT_TIMEOUT, HTTP_DEFAULT_TIMEOUT, HTTP_FD_RESERVE,
        http_default_max_connections(fd_hard_limit(), (int)sysconf(_SC_NPROCESSORS_ONLN)),
        HTTP_DEFAULT_REQUEST_TIMEOUT, HTTP_DEFAULT_MAX_PER_CLIENT, PREDLOG_DEFAULT_QUEUE);
    exit(IMDB_EXIT_OK);
}

/* "1048576", "512K", "4M" -> bytes. */
static size_t parse_size(const char *opt, const char *arg)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    unsigned long long mult = 1;
    if (end != arg && (*end == 'K' || *end == 'k')) { mult = 1024; end++; }
    else if (end != arg && (*end == 'M' || *end == 'm')) { mult = 1024 * 1024; end++; }
    if (errno || end == arg || *end || arg[0] == '-' || v == 0 || v > (1ULL << 30) / mult)
        cli_usage_error("invalid value '%s' for %s (expected 1 to 1024M bytes)", arg, opt);
    return (size_t)(v * mult);
}

/* Log lines from any server thread: one write(2) each, so lines never interleave. */
static void log_line(void *arg, const char *line)
{
    (void)arg;
    char buf[1200];
    int n = snprintf(buf, sizeof buf, "%s\n", line);
    if (n < 0) return;
    size_t len = (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
    if (len == sizeof buf - 1) buf[len - 1] = '\n';
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(STDERR_FILENO, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        p += w;
        len -= (size_t)w;
    }
}

/* Written to a temporary name and renamed, so a reader never sees half of it. */
static int write_port_file(const char *path, int port, imdb_err *e)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return imdb_fail(e, IMDB_EXIT_IO, "%s: name too long", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return imdb_fail(e, IMDB_EXIT_IO, "%s: %s", tmp, strerror(errno));
    fprintf(f, "%d\n", port);
    if (ferror(f) | fclose(f)) {
        unlink(tmp);
        return imdb_fail(e, IMDB_EXIT_IO, "%s: write error", tmp);
    }
    if (rename(tmp, path) < 0) {
        int err = errno;
        unlink(tmp);
        return imdb_fail(e, IMDB_EXIT_IO, "%s: %s", path, strerror(err));
    }
    return 0;
}

/* The self-pipe: the handler records which signal came in a flag and writes a byte to
 * wake the main thread; [1] is non-blocking, so a flood of signals never blocks a thread.
 * Flags rather than the bytes' order: a SIGHUP and a SIGTERM sent back to back may run
 * their handlers on two threads in either order, and the reload asked for first should
 * still happen before the shutdown. (Lock-free atomics are async-signal-safe.) */
static int sig_pipe[2] = {-1, -1};
static atomic_int got_hup, got_usr1, got_stop;   /* got_stop: the SIGTERM or SIGINT number */

static void on_signal(int sig)
{
    int saved = errno;
    if (sig == SIGHUP) atomic_store(&got_hup, 1);
    else if (sig == SIGUSR1) atomic_store(&got_usr1, 1);
    else atomic_store(&got_stop, sig);
    unsigned char b = 0;
    ssize_t w = write(sig_pipe[1], &b, 1);
    (void)w;
    errno = saved;
}

static void catch_signals(void)
{
    imdb_err e;
    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        imdb_fail(&e, IMDB_EXIT_IO, "cannot create a pipe: %s", strerror(errno));
        cli_die(&e);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* A file size limit makes a write to the prediction log fail (EFBIG, counted) rather
     * than kill the server. */
    signal(SIGXFSZ, SIG_IGN);
}

/* Block until a handler has written to the pipe, then empty it. poll, not a blocking
 * read: ThreadSanitizer only runs handlers in threads blocked in calls it knows to be
 * blocking, and read is not one. */
static void wait_for_signal(void)
{
    struct pollfd pf = {sig_pipe[0], POLLIN, 0};
    while (poll(&pf, 1, -1) < 0 && errno == EINTR) {}
    unsigned char buf[64];
    while (read(sig_pipe[0], buf, sizeof buf) > 0) {}
}

/* Each connection is a file descriptor: allow as many as the hard limit permits (as
 * nginx's worker_rlimit_nofile or HAProxy do). Returns the limit now in force (0 if
 * unknown) and the one before in *before. */
static unsigned long long raise_fd_limit(unsigned long long *before)
{
    struct rlimit rl;
    *before = 0;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
    *before = rl.rlim_cur == RLIM_INFINITY ? 0 : (unsigned long long)rl.rlim_cur;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur == RLIM_INFINITY ? 0 : (unsigned long long)rl.rlim_cur;
}

int main(int argc, char **argv)
{
    cli_init("imdb-serve");
    enum { OPT_MAX_BODY = 256, OPT_MAX_CONN, OPT_PORT_FILE, OPT_HELP, OPT_VERSION,
           OPT_REQUEST_TIMEOUT, OPT_MAX_PER_CLIENT, OPT_PREDICTION_LOG, OPT_LOG_TEXT,
           OPT_PREDICTION_LOG_QUEUE, OPT_THRESHOLD };
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},
        {"listen", required_argument, NULL, 'l'},
        {"threads", required_argument, NULL, 'j'},
        {"max-body", required_argument, NULL, OPT_MAX_BODY},
        {"timeout", required_argument, NULL, 't'},
        {"max-connections", required_argument, NULL, OPT_MAX_CONN},
        {"request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT},
        {"max-per-client", required_argument, NULL, OPT_MAX_PER_CLIENT},
        {"port-file", required_argument, NULL, OPT_PORT_FILE},
        {"prediction-log", required_argument, NULL, OPT_PREDICTION_LOG},
        {"log-text", no_argument, NULL, OPT_LOG_TEXT},
        {"prediction-log-queue", required_argument, NULL, OPT_PREDICTION_LOG_QUEUE},
        {"threshold", required_argument, NULL, OPT_THRESHOLD},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    http_config cfg = {
        .listen = HTTP_DEFAULT_LISTEN,
        .threads = (int)sysconf(_SC_NPROCESSORS_ONLN),
        .max_body = HTTP_DEFAULT_MAX_BODY,
        .timeout = HTTP_DEFAULT_TIMEOUT,
        .request_timeout = HTTP_DEFAULT_REQUEST_TIMEOUT,
        .max_per_client = HTTP_DEFAULT_MAX_PER_CLIENT,
        .access_log = 1,
        .log = log_line,
    };
    const char *port_file = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":m:l:j:t:q", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': cfg.model_path = optarg; break;
        case 'l': cfg.listen = optarg; break;
        case 'j': cfg.threads = (int)cli_long("--threads", optarg, 1, 256); break;
        case OPT_MAX_BODY: cfg.max_body = parse_size("--max-body", optarg); break;
        case 't': cfg.timeout = (unsigned)cli_long("--timeout", optarg, 0, 86400); break;
        case OPT_MAX_CONN: cfg.max_connections = (unsigned)cli_long("--max-connections", optarg, 1, 1000000); break;
        case OPT_REQUEST_TIMEOUT:
            cfg.request_timeout = (unsigned)cli_long("--request-timeout", optarg, 0, 86400);
            break;
        case OPT_MAX_PER_CLIENT:
            cfg.max_per_client = (unsigned)cli_long("--max-per-client", optarg, 0, 1000000);
            break;
        case OPT_PORT_FILE: port_file = optarg; break;
        case OPT_PREDICTION_LOG:
            if (!*optarg) cli_usage_error("--prediction-log needs a file name");
            cfg.prediction_log = optarg;
            break;
        case OPT_LOG_TEXT: cfg.log_text = 1; break;
        case OPT_PREDICTION_LOG_QUEUE:
            cfg.prediction_log_queue = parse_size("--prediction-log-queue", optarg);
            break;
        case OPT_THRESHOLD:
            cfg.threshold = cli_double("--threshold", optarg, 0, 1);
            cfg.threshold_set = 1;
            break;
        case 'q': cfg.access_log = 0; break;
        case OPT_HELP: usage();
        case OPT_VERSION: cli_version();
        default: cli_bad_option(argv, c);
        }
    }
    if (!cfg.model_path && optind < argc) cfg.model_path = argv[optind++];   /* imdb-serve MODEL */
    if (optind < argc) cli_usage_error("unexpected operand '%s' (one model only)", argv[optind]);
    if (!cfg.model_path) cli_usage_error("missing model: use -m MODEL");
    if (cfg.log_text && !cfg.prediction_log) cli_usage_error("--log-text needs --prediction-log FILE");
    if (cfg.threads < 1) cfg.threads = 1;
    if (cfg.max_connections && cfg.max_connections < (unsigned)cfg.threads)
        cli_usage_error("--max-connections (%u) must be at least --threads (%d)",
                        cfg.max_connections, cfg.threads);
    imdb_err e = {0, ""};
    struct sockaddr_storage ss;
    socklen_t sl;
    if (http_parse_listen(cfg.listen, &ss, &sl, &e) < 0) cli_usage_error("%s", e.msg);

    catch_signals();
    unsigned long long nofile_before, nofile = raise_fd_limit(&nofile_before);
    int auto_conns = cfg.max_connections == 0;
    if (auto_conns) cfg.max_connections = http_default_max_connections(nofile, cfg.threads);

    http_server *s = http_start(&cfg, &e);
    if (!s) cli_die(&e);
    if (port_file && write_port_file(port_file, http_port(s), &e) < 0) {
        http_stop(s, 0);
        cli_die(&e);
    }
    cli_msg("%s model %s loaded in %.3f s, %d thread%s", http_model_kind(s), cfg.model_path,
            http_model_load_seconds(s), cfg.threads, cfg.threads == 1 ? "" : "s");
    if (nofile != nofile_before)
        cli_msg("open files limit raised from %llu to %llu (the hard limit): up to %u connections%s",
                nofile_before, nofile, cfg.max_connections, auto_conns ? "" : " (--max-connections)");
    else
        cli_msg("open files limit %llu: up to %u connections%s", nofile, cfg.max_connections,
                auto_conns ? "" : " (--max-connections)");
    if (nofile && cfg.max_connections > nofile)
        cli_msg("warning: --max-connections %u is above the limit of open files (%llu): clients "
                "wait in the listen queue once the descriptors run out", cfg.max_connections, nofile);
    cli_msg("listening on %s", http_url(s));

    for (int lingered = 0;;) {
        if (atomic_exchange(&got_hup, 0)) {
            if (http_reload(s, &e) == 0)
                cli_msg("reloaded %s model %s in %.3f s", http_model_kind(s), cfg.model_path,
                        http_model_load_seconds(s));
            else
                cli_msg("reload refused, still serving the previous model: %s", e.msg);
        }
        if (atomic_exchange(&got_usr1, 0)) {
            if (!cfg.prediction_log)
                cli_msg("SIGUSR1: no prediction log to reopen");
            else if (http_reopen_log(s, &e) == 0)
                cli_msg("reopened the prediction log %s", cfg.prediction_log);
            else
                cli_msg("%s; still writing to the previous file", e.msg);
        }
        int stop = atomic_load(&got_stop);
        if (stop && !lingered) {
            /* A SIGHUP sent just before this SIGTERM may still be running its handler on
             * another thread; give it a moment so the reload asked for first happens. */
            lingered = 1;
            poll(NULL, 0, 50);
            continue;
        }
        if (stop) {
            http_stop_accepting(s);
            cli_msg("%s: finishing the requests in flight", stop == SIGTERM ? "SIGTERM" : "SIGINT");
            break;
        }
        wait_for_signal();
    }
    unsigned grace = cfg.timeout ? cfg.timeout : HTTP_DEFAULT_TIMEOUT;
    unsigned long cut = http_stop(s, grace);
    if (cut) cli_msg("stopped: %lu request%s cut off after %u s", cut, cut == 1 ? "" : "s", grace);
    else cli_msg("stopped");
    return IMDB_EXIT_OK;
}
