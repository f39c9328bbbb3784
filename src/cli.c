/* cli.c — see cli.h. close_stdout follows GNU hello/gnulib: a program whose output could
 * not be written must not exit 0. */
#include "cli.h"
#include "progress.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *cli_prog = "imdb";
int cli_verbose = 0;

static void close_stdout(void)
{
    int err = ferror(stdout);
    int saved = errno;
    if (fclose(stdout) != 0 || err) {
        if (!err) saved = errno;
        fprintf(stderr, "%s: write error: standard output: %s\n", cli_prog,
                saved ? strerror(saved) : "unknown error");
        fflush(stderr);
        _exit(IMDB_EXIT_IO);
    }
}

void cli_init(const char *prog)
{
    cli_prog = prog;
    atexit(close_stdout);
}

void cli_version(void)
{
    printf("%s (%s) %s\n", cli_prog, PACKAGE_NAME, PACKAGE_VERSION);
    exit(IMDB_EXIT_OK);
}

/* "PROG: MESSAGE\n" on stderr. */
static void vsay(const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", cli_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try '%s --help' for more information.\n", cli_prog);
    exit(IMDB_EXIT_USAGE);
}

void cli_bad_option(char **argv, int c)
{
    if (c == ':') cli_usage_error("option '%s' requires an argument", argv[optind - 1]);
    if (optopt > 0 && optopt < 128) cli_usage_error("invalid option -- '%c'", optopt);
    cli_usage_error("unrecognized or ambiguous option '%s'", argv[optind - 1]);
}

void cli_die(const imdb_err *e)
{
    fprintf(stderr, "%s: %s\n", cli_prog, e->msg);
    /* Out of memory reported by the library (IMDB_EXIT_NOMEM) is the tools' status 5. */
    exit(e->status && e->status != IMDB_EXIT_NOMEM ? e->status : IMDB_EXIT_INTERNAL);
}

void cli_msg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(fmt, ap);
    va_end(ap);
}

static void log_line(void *ctx, int level, const char *msg)
{
    (void)ctx;
    if (level <= cli_verbose) fprintf(stderr, "%s: %s\n", cli_prog, msg);
}

static void *bar_begin(void *ctx, const char *what, uint64_t total, const char *unit)
{
    (void)ctx;
    return progress_new(what, total, unit);
}

static void bar_update(void *bar, uint64_t done) { progress_update(bar, done); }
static void bar_end(void *bar) { progress_end(bar); }

const imdb_log *cli_log(void)
{
    static imdb_log l = { .fn = log_line, .bar_begin = bar_begin, .bar_update = bar_update, .bar_end = bar_end };
    l.level = cli_verbose;
    return &l;
}

double cli_double(const char *opt, const char *arg, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || end == arg || *end || !(v >= lo && v <= hi))
        cli_usage_error("invalid value '%s' for %s (expected a number in [%g, %g])", arg, opt, lo, hi);
    return v;
}

long cli_long(const char *opt, const char *arg, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v < lo || v > hi)
        cli_usage_error("invalid value '%s' for %s (expected an integer in [%ld, %ld])", arg, opt, lo, hi);
    return v;
}

size_t cli_size(const char *opt, const char *arg, size_t lo)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    int shift = 0;
    switch (end != arg ? *end : 0) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    default: break;
    }
    if (*end == 'b' || *end == 'B') end++;
    if (errno || end == arg || *end || arg[0] == '-' || arg[0] == '+' ||
        v > (SIZE_MAX >> shift) || v > (UINT64_C(1) << 50) >> shift || (size_t)(v << shift) < lo)
        cli_usage_error("invalid value '%s' for %s (expected a size such as 500M or 4G)", arg, opt);
    return (size_t)(v << shift);
}
