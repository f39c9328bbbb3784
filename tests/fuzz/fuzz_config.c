/* fuzz_config.c — training settings: conf_read_file (comments, blank lines,
 * "key = value" lines), conf_set_arg (the -o key=value of every tool's command line),
 * the typed getters (numbers, ranges), conf_check_known and conf_format, whose
 * output must read back to the same settings (format o read o format is the identity).
 *
 * Input: a config file; each of its lines is also given to conf_set_arg. */
#include "fuzz.h"
#include "conf.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void use(conf *c)
{
    imdb_err e;
    double d;
    long l;
    const char *s;
    conf_double(c, "c", 1.0, 0.0, 1e6, &d, &e);
    conf_double(c, "lr", 0.1, 1e-9, 10.0, &d, &e);
    conf_long(c, "epochs", 5, 1, 1000, &l, &e);
    conf_long(c, "dim", 100, 1, 4096, &l, &e);
    conf_string(c, "pool", "max", &s);
    static const char *const known[] = {"c", "lr", "epochs", "dim", "pool", NULL};
    conf_check_known(c, known, &e);
}

static char *format_via_file(const char *text, size_t len)
{
    char path[32];
    int fd = fuzz_path(text, len, path);
    if (fd < 0) return NULL;
    conf *c = conf_new();
    imdb_err e;
    char *out = NULL;
    if (conf_read_file(c, path, &e) == 0) out = conf_format(c);
    conf_free(c);
    close(fd);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *f1 = format_via_file((const char *)data, size);
    if (f1) {
        char *f2 = format_via_file(f1, strlen(f1));
        if (!f2 || strcmp(f1, f2) != 0) abort();   /* the formatted settings read back */
        free(f2);
    }
    free(f1);

    conf *c = conf_new();
    char *copy = malloc(size + 1);
    memcpy(copy, data, size);
    copy[size] = '\0';
    imdb_err e;
    for (char *line = copy, *nl; line; line = nl) {
        nl = strchr(line, '\n');
        if (nl) *nl++ = '\0';
        conf_set_arg(c, line, &e);
    }
    use(c);
    free(conf_format(c));
    conf_free(c);
    free(copy);
    return 0;
}
