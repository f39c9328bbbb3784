/* fuzz_config.c — training settings: config_read_file (comments, blank lines,
 * "key = value" lines), config_set_arg (the -o key=value of every tool's command line),
 * the typed getters (numbers, ranges), config_check_known and config_format, whose
 * output must read back to the same settings (format o read o format is the identity).
 *
 * Input: a config file; each of its lines is also given to config_set_arg. */
#include "fuzz.h"
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void use(config *c)
{
    imdb_err e;
    double d;
    long l;
    const char *s;
    config_double(c, "c", 1.0, 0.0, 1e6, &d, &e);
    config_double(c, "lr", 0.1, 1e-9, 10.0, &d, &e);
    config_long(c, "epochs", 5, 1, 1000, &l, &e);
    config_long(c, "dim", 100, 1, 4096, &l, &e);
    config_string(c, "pool", "max", &s);
    static const char *const known[] = {"c", "lr", "epochs", "dim", "pool", NULL};
    config_check_known(c, known, &e);
}

static char *format_via_file(const char *text, size_t len)
{
    char path[32];
    int fd = fuzz_path(text, len, path);
    if (fd < 0) return NULL;
    config *c = config_new();
    imdb_err e;
    char *out = NULL;
    if (config_read_file(c, path, &e) == 0) out = config_format(c);
    config_free(c);
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

    config *c = config_new();
    char *copy = malloc(size + 1);
    memcpy(copy, data, size);
    copy[size] = '\0';
    imdb_err e;
    for (char *line = copy, *nl; line; line = nl) {
        nl = strchr(line, '\n');
        if (nl) *nl++ = '\0';
        config_set_arg(c, line, &e);
    }
    use(c);
    free(config_format(c));
    config_free(c);
    free(copy);
    return 0;
}
