/* cli.h — what every imdb-* executable does the same way (GNU hello, jq, zstd habits):
 * the program name in messages, --version, usage errors (exit 2 with "Try '... --help'"),
 * dying with an imdb_err, checking that stdout was really written at exit, and printing
 * what the library says (cli_log). This is the tools' side (src/, linked into the tools
 * only): the library in lib/ never prints. */
#ifndef IMDB_CLI_H
#define IMDB_CLI_H
#include "util.h"

extern const char *cli_prog;   /* "imdb-train"; set by cli_init */
extern int cli_verbose;        /* -q: -1, default 0, -v: 1, -vv: 2 */

/* Set the program name and register the stdout check with atexit: if writing or closing
 * stdout failed (e.g. >/dev/full), print "PROG: write error: standard output: ..." and
 * exit IMDB_EXIT_IO. */
void cli_init(const char *prog);
/* Print "PROG (imdb) VERSION" to stdout and exit 0. */
void cli_version(void) __attribute__((noreturn));
/* Print "PROG: MESSAGE" and "Try 'PROG --help' for more information." to stderr, exit 2. */
void cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Report what getopt_long returned for a bad option (c is '?' or ':'; set opterr = 0 and
 * start optstring with ':') as a usage error. */
void cli_bad_option(char **argv, int c) __attribute__((noreturn));
/* Print "PROG: e->msg" to stderr and exit e->status. */
void cli_die(const imdb_err *e) __attribute__((noreturn));
/* Print "PROG: MESSAGE" to stderr (a warning or -v information). */
void cli_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The imdb_log (util.h) to hand to the library: a message of level <= cli_verbose prints
 * as "PROG: MESSAGE" on stderr, like cli_msg; progress bars are progress.h's (drawn when
 * stderr is a terminal and cli_verbose >= 0). Call it after the options are parsed: it
 * takes the level from cli_verbose then. */
const imdb_log *cli_log(void);
/* Parse numbers from option arguments; on a bad value, cli_usage_error naming opt. */
double cli_double(const char *opt, const char *arg, double lo, double hi);
long cli_long(const char *opt, const char *arg, long lo, long hi);
/* "SIZE[KMGT]" as sort(1) takes it (powers of 1024, a trailing B allowed), at most 2^50
 * bytes: the number of bytes. A bad value, or one below lo bytes, is a usage error
 * "invalid value 'ARG' for OPT (expected a size such as 500M or 4G)". Whether a size is
 * enough for the work is for the caller to say (it knows what it needs). */
size_t cli_size(const char *opt, const char *arg, size_t lo);
#endif
