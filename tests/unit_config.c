/* unit_config.c — config files, -o overrides, typed getters and the formatted settings.
 *
 * Comments, blank lines and spacing are ignored; later settings win; malformed lines and
 * bad values name FILE:LINE; typed getters record the effective value (defaults too) so
 * config_format lists every setting, sorted by key. Exit status 0 = pass. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;

#define CHECK(cond, ...) do { if (!(cond)) { printf("FAIL: " __VA_ARGS__); printf("\n"); failures++; } } while (0)

static char dir[] = "/tmp/unit_config.XXXXXX";

static const char *write_file(const char *name, const char *text)
{
    static char path[4][256];
    static int k;
    char *p = path[k++ % 4];
    snprintf(p, 256, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (!f) { perror(p); exit(1); }
    fputs(text, f);
    fclose(f);
    return p;
}

static void check_str(const char *what, const char *got, const char *want)
{
    if ((got == NULL) != (want == NULL) || (got && strcmp(got, want) != 0)) {
        printf("FAIL %s: got '%s', want '%s'\n", what, got ? got : "(null)", want ? want : "(null)");
        failures++;
    }
}

/* The error message contains want. */
static void check_msg(const char *what, const imdb_err *e, int status, const char *want)
{
    if (e->status != status || !strstr(e->msg, want)) {
        printf("FAIL %s: got status %d '%s', want status %d and '%s'\n", what, e->status, e->msg,
               status, want);
        failures++;
    }
}

static void test_file(void)
{
    imdb_err e = {0, ""};
    config *c = config_new();
    const char *p = write_file("a.conf",
        "# training settings\n"
        "\n"
        "   lr = 0.5   \n"
        "\tepochs=10\n"
        "pattern = [a-z]+#x   \n"
        "lr = 0.25\n"
        "empty =\n"
        "   # indented comment\n"
        "windows = 1\r\n");
    CHECK(config_read_file(c, p, &e) == 0, "read: %s", e.msg);
    check_str("lr (later wins)", config_get(c, "lr"), "0.25");
    check_str("epochs", config_get(c, "epochs"), "10");
    check_str("# inside a value", config_get(c, "pattern"), "[a-z]+#x");
    check_str("empty value", config_get(c, "empty"), "");
    check_str("CRLF", config_get(c, "windows"), "1");
    check_str("unset", config_get(c, "nope"), NULL);

    /* -o overrides the file. */
    CHECK(config_set_arg(c, "epochs=3", &e) == 0, "set_arg: %s", e.msg);
    CHECK(config_set_arg(c, " seed = 7 ", &e) == 0, "set_arg spaces: %s", e.msg);
    check_str("override", config_get(c, "epochs"), "3");
    check_str("set_arg trims", config_get(c, "seed"), "7");

    char *f = config_format(c);
    check_str("format sorted", f,
              "empty = \nepochs = 3\nlr = 0.25\npattern = [a-z]+#x\nseed = 7\nwindows = 1\n");
    free(f);
    config_free(c);
}

static void test_errors(void)
{
    imdb_err e = {0, ""};
    config *c = config_new();
    const char *p = write_file("bad.conf", "a = 1\n\nthis line has no equals sign\n");
    CHECK(config_read_file(c, p, &e) < 0, "malformed line accepted");
    char want[300];
    snprintf(want, sizeof want, "%s:3: expected 'key = value'", p);
    check_msg("malformed line", &e, IMDB_EXIT_USAGE, want);

    p = write_file("bad2.conf", "a b = 1\n");
    CHECK(config_read_file(c, p, &e) < 0, "key with a space accepted");
    snprintf(want, sizeof want, "%s:1:", p);
    check_msg("bad key", &e, IMDB_EXIT_USAGE, want);

    p = write_file("bad3.conf", " = 1\n");
    CHECK(config_read_file(c, p, &e) < 0, "empty key accepted");

    snprintf(want, sizeof want, "%s/missing.conf", dir);
    CHECK(config_read_file(c, want, &e) < 0, "missing file accepted");
    check_msg("missing file", &e, IMDB_EXIT_IO, "missing.conf: No such file");

    CHECK(config_set_arg(c, "novalue", &e) < 0, "set_arg without '='");
    check_msg("set_arg", &e, IMDB_EXIT_USAGE, "bad setting 'novalue' (expected KEY=VALUE)");
    CHECK(config_set_arg(c, "=5", &e) < 0, "set_arg without key");
    CHECK(config_set_arg(c, "a=1\nb=2", &e) < 0, "set_arg with a newline");
    config_free(c);
}

static void test_typed(void)
{
    imdb_err e = {0, ""};
    config *c = config_new();
    const char *p = write_file("t.conf", "lr = abc\nepochs = 1.5\nl2 = 1e-1\nbig = 99\nn = 0x10\n");
    CHECK(config_read_file(c, p, &e) == 0, "read: %s", e.msg);
    double d;
    long l;
    char want[300];

    CHECK(config_double(c, "lr", 0.1, 0, 10, &d, &e) < 0, "'abc' accepted as a number");
    snprintf(want, sizeof want, "%s:1: setting lr: 'abc' is not a number", p);
    check_msg("not a number", &e, IMDB_EXIT_USAGE, want);

    CHECK(config_long(c, "epochs", 5, 1, 100, &l, &e) < 0, "1.5 accepted as an integer");
    snprintf(want, sizeof want, "%s:2: setting epochs: '1.5' is not an integer", p);
    check_msg("not an integer", &e, IMDB_EXIT_USAGE, want);

    CHECK(config_long(c, "n", 5, 1, 100, &l, &e) < 0, "0x10 accepted (decimal only)");

    CHECK(config_double(c, "l2", 0, 0, 1, &d, &e) == 0 && d == 0.1, "l2 = 1e-1: %s", e.msg);
    check_str("recorded canonical double", config_get(c, "l2"), "0.1");

    CHECK(config_long(c, "big", 5, 1, 10, &l, &e) < 0, "out of range accepted");
    snprintf(want, sizeof want, "%s:4: setting big: 99 is out of range [1, 10]", p);
    check_msg("range", &e, IMDB_EXIT_USAGE, want);

    CHECK(config_set_arg(c, "dropout=2", &e) == 0, "set_arg");
    CHECK(config_double(c, "dropout", 0.5, 0, 1, &d, &e) < 0, "dropout 2 accepted");
    check_msg("range from -o", &e, IMDB_EXIT_USAGE, "setting dropout: 2 is out of range [0, 1]");
    CHECK(strncmp(e.msg, "setting", 7) == 0, "a -o setting has no file: '%s'", e.msg);

    /* Defaults are recorded back. */
    CHECK(config_double(c, "momentum", 0.9, 0, 1, &d, &e) == 0 && d == 0.9, "default double");
    CHECK(config_long(c, "seed", 42, 0, 1000, &l, &e) == 0 && l == 42, "default long");
    const char *s;
    CHECK(config_string(c, "model", "nblr", &s) == 0 && s && strcmp(s, "nblr") == 0, "default string");
    CHECK(config_string(c, "absent", NULL, &s) == 0 && s == NULL, "NULL default");
    check_str("recorded double", config_get(c, "momentum"), "0.9");
    check_str("recorded long", config_get(c, "seed"), "42");
    check_str("recorded string", config_get(c, "model"), "nblr");
    CHECK(config_get(c, "absent") == NULL, "NULL default must not be recorded");

    /* Shortest round-trip form of doubles. */
    config_set(c, "x", "0.30000000000000004");
    CHECK(config_double(c, "x", 0, 0, 1, &d, &e) == 0, "x");
    check_str("17 digits kept", config_get(c, "x"), "0.30000000000000004");
    config_set(c, "y", "  ");
    CHECK(config_double(c, "y", 0, 0, 1, &d, &e) < 0, "blank accepted as a number");
    config_set(c, "z", "nan");
    CHECK(config_double(c, "z", 0, -1e9, 1e9, &d, &e) < 0, "nan accepted");
    config_set(c, "w", "99999999999999999999999");
    CHECK(config_long(c, "w", 0, 0, 10, &l, &e) < 0, "overflowing long accepted");
    config_free(c);
}

static void test_known(void)
{
    imdb_err e = {0, ""};
    static const char *const known[] = {"lr", "epochs", "ngrams", NULL};
    config *c = config_new();
    config_set(c, "lr", "1");
    config_set(c, "epochs", "1");
    CHECK(config_check_known(c, known, &e) == 0, "known keys refused: %s", e.msg);
    config_set(c, "ngram", "2");
    CHECK(config_check_known(c, known, &e) < 0, "unknown key accepted");
    check_msg("suggestion", &e, IMDB_EXIT_USAGE, "unknown setting 'ngram' (did you mean 'ngrams'?)");
    config_free(c);

    c = config_new();
    const char *p = write_file("k.conf", "\nzzzzzz = 1\n");
    CHECK(config_read_file(c, p, &e) == 0, "read");
    CHECK(config_check_known(c, known, &e) < 0, "unknown key accepted");
    char want[300];
    snprintf(want, sizeof want, "%s:2: unknown setting 'zzzzzz'", p);
    check_msg("unknown from a file", &e, IMDB_EXIT_USAGE, want);
    CHECK(!strstr(e.msg, "did you mean"), "far-off suggestion: %s", e.msg);
    char *f = config_format(c);
    check_str("format one", f, "zzzzzz = 1\n");
    free(f);
    config_free(c);

    c = config_new();
    f = config_format(c);
    check_str("format empty", f, "");
    free(f);
    config_free(c);
    config_free(NULL);
}

int main(void)
{
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    test_file();
    test_errors();
    test_typed();
    test_known();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("warning: could not remove %s\n", dir);
    if (failures) printf("%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
