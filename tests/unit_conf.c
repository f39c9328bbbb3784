/* unit_conf.c — config files, -o overrides, typed getters and the formatted settings.
 *
 * Comments, blank lines and spacing are ignored; later settings win; malformed lines and
 * bad values name FILE:LINE; typed getters record the effective value (defaults too) so
 * conf_format lists every setting, sorted by key. Exit status 0 = pass. */
#include "conf.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>



static char dir[] = "/tmp/unit_conf.XXXXXX";

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
    conf *c = conf_new();
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
    CHECK(conf_read_file(c, p, &e) == 0, "read: %s", e.msg);
    check_str("lr (later wins)", conf_get(c, "lr"), "0.25");
    check_str("epochs", conf_get(c, "epochs"), "10");
    check_str("# inside a value", conf_get(c, "pattern"), "[a-z]+#x");
    check_str("empty value", conf_get(c, "empty"), "");
    check_str("CRLF", conf_get(c, "windows"), "1");
    check_str("unset", conf_get(c, "nope"), NULL);

    /* -o overrides the file. */
    CHECK(conf_set_arg(c, "epochs=3", &e) == 0, "set_arg: %s", e.msg);
    CHECK(conf_set_arg(c, " seed = 7 ", &e) == 0, "set_arg spaces: %s", e.msg);
    check_str("override", conf_get(c, "epochs"), "3");
    check_str("set_arg trims", conf_get(c, "seed"), "7");

    char *f = conf_format(c);
    check_str("format sorted", f,
              "empty = \nepochs = 3\nlr = 0.25\npattern = [a-z]+#x\nseed = 7\nwindows = 1\n");
    free(f);
    conf_free(c);
}

static void test_errors(void)
{
    imdb_err e = {0, ""};
    conf *c = conf_new();
    const char *p = write_file("bad.conf", "a = 1\n\nthis line has no equals sign\n");
    CHECK(conf_read_file(c, p, &e) < 0, "malformed line accepted");
    char want[300];
    snprintf(want, sizeof want, "%s:3: expected 'key = value'", p);
    check_msg("malformed line", &e, IMDB_EXIT_USAGE, want);

    p = write_file("bad2.conf", "a b = 1\n");
    CHECK(conf_read_file(c, p, &e) < 0, "key with a space accepted");
    snprintf(want, sizeof want, "%s:1:", p);
    check_msg("bad key", &e, IMDB_EXIT_USAGE, want);

    p = write_file("bad3.conf", " = 1\n");
    CHECK(conf_read_file(c, p, &e) < 0, "empty key accepted");

    snprintf(want, sizeof want, "%s/missing.conf", dir);
    CHECK(conf_read_file(c, want, &e) < 0, "missing file accepted");
    check_msg("missing file", &e, IMDB_EXIT_IO, "missing.conf: No such file");

    CHECK(conf_set_arg(c, "novalue", &e) < 0, "set_arg without '='");
    check_msg("set_arg", &e, IMDB_EXIT_USAGE, "bad setting 'novalue' (expected KEY=VALUE)");
    CHECK(conf_set_arg(c, "=5", &e) < 0, "set_arg without key");
    CHECK(conf_set_arg(c, "a=1\nb=2", &e) < 0, "set_arg with a newline");
    conf_free(c);
}

static void test_typed(void)
{
    imdb_err e = {0, ""};
    conf *c = conf_new();
    const char *p = write_file("t.conf", "lr = abc\nepochs = 1.5\nl2 = 1e-1\nbig = 99\nn = 0x10\n");
    CHECK(conf_read_file(c, p, &e) == 0, "read: %s", e.msg);
    double d;
    long l;
    char want[300];

    CHECK(conf_double(c, "lr", 0.1, 0, 10, &d, &e) < 0, "'abc' accepted as a number");
    snprintf(want, sizeof want, "%s:1: setting lr: 'abc' is not a number", p);
    check_msg("not a number", &e, IMDB_EXIT_USAGE, want);

    CHECK(conf_long(c, "epochs", 5, 1, 100, &l, &e) < 0, "1.5 accepted as an integer");
    snprintf(want, sizeof want, "%s:2: setting epochs: '1.5' is not an integer", p);
    check_msg("not an integer", &e, IMDB_EXIT_USAGE, want);

    CHECK(conf_long(c, "n", 5, 1, 100, &l, &e) < 0, "0x10 accepted (decimal only)");

    CHECK(conf_double(c, "l2", 0, 0, 1, &d, &e) == 0 && d == 0.1, "l2 = 1e-1: %s", e.msg);
    check_str("recorded canonical double", conf_get(c, "l2"), "0.1");

    CHECK(conf_long(c, "big", 5, 1, 10, &l, &e) < 0, "out of range accepted");
    snprintf(want, sizeof want, "%s:4: setting big: 99 is out of range [1, 10]", p);
    check_msg("range", &e, IMDB_EXIT_USAGE, want);

    CHECK(conf_set_arg(c, "dropout=2", &e) == 0, "set_arg");
    CHECK(conf_double(c, "dropout", 0.5, 0, 1, &d, &e) < 0, "dropout 2 accepted");
    check_msg("range from -o", &e, IMDB_EXIT_USAGE, "setting dropout: 2 is out of range [0, 1]");
    CHECK(strncmp(e.msg, "setting", 7) == 0, "a -o setting has no file: '%s'", e.msg);

    /* Defaults are recorded back. */
    CHECK(conf_double(c, "momentum", 0.9, 0, 1, &d, &e) == 0 && d == 0.9, "default double");
    CHECK(conf_long(c, "seed", 42, 0, 1000, &l, &e) == 0 && l == 42, "default long");
    const char *s;
    CHECK(conf_string(c, "model", "nblr", &s) == 0 && s && strcmp(s, "nblr") == 0, "default string");
    CHECK(conf_string(c, "absent", NULL, &s) == 0 && s == NULL, "NULL default");
    check_str("recorded double", conf_get(c, "momentum"), "0.9");
    check_str("recorded long", conf_get(c, "seed"), "42");
    check_str("recorded string", conf_get(c, "model"), "nblr");
    CHECK(conf_get(c, "absent") == NULL, "NULL default must not be recorded");

    /* Shortest round-trip form of doubles. */
    conf_set(c, "x", "0.30000000000000004");
    CHECK(conf_double(c, "x", 0, 0, 1, &d, &e) == 0, "x");
    check_str("17 digits kept", conf_get(c, "x"), "0.30000000000000004");
    conf_set(c, "y", "  ");
    CHECK(conf_double(c, "y", 0, 0, 1, &d, &e) < 0, "blank accepted as a number");
    conf_set(c, "z", "nan");
    CHECK(conf_double(c, "z", 0, -1e9, 1e9, &d, &e) < 0, "nan accepted");
    conf_set(c, "w", "99999999999999999999999");
    CHECK(conf_long(c, "w", 0, 0, 10, &l, &e) < 0, "overflowing long accepted");
    conf_free(c);
}

static void test_known(void)
{
    imdb_err e = {0, ""};
    static const char *const known[] = {"lr", "epochs", "ngrams", NULL};
    conf *c = conf_new();
    conf_set(c, "lr", "1");
    conf_set(c, "epochs", "1");
    CHECK(conf_check_known(c, known, &e) == 0, "known keys refused: %s", e.msg);
    conf_set(c, "ngram", "2");
    CHECK(conf_check_known(c, known, &e) < 0, "unknown key accepted");
    check_msg("suggestion", &e, IMDB_EXIT_USAGE, "unknown setting 'ngram' (did you mean 'ngrams'?)");
    conf_free(c);

    c = conf_new();
    const char *p = write_file("k.conf", "\nzzzzzz = 1\n");
    CHECK(conf_read_file(c, p, &e) == 0, "read");
    CHECK(conf_check_known(c, known, &e) < 0, "unknown key accepted");
    char want[300];
    snprintf(want, sizeof want, "%s:2: unknown setting 'zzzzzz'", p);
    check_msg("unknown from a file", &e, IMDB_EXIT_USAGE, want);
    CHECK(!strstr(e.msg, "did you mean"), "far-off suggestion: %s", e.msg);
    char *f = conf_format(c);
    check_str("format one", f, "zzzzzz = 1\n");
    free(f);
    conf_free(c);

    c = conf_new();
    f = conf_format(c);
    check_str("format empty", f, "");
    free(f);
    conf_free(c);
    conf_free(NULL);
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
    return test_status("unit_conf");
}
