/* conf.h — training settings as "key = value" pairs: read from a config file
 * ("# comments", blank lines, one key = value per line), overridden by -o key=value on
 * the command line, and formatted back into the model file as the effective settings. */
#ifndef IMDB_CONFIG_H
#define IMDB_CONFIG_H
#include "util.h"

typedef struct conf conf;

conf *conf_new(void);
void conf_free(conf *c);
/* Errors name the file and line (IMDB_EXIT_IO if unreadable, IMDB_EXIT_USAGE if malformed). */
int conf_read_file(conf *c, const char *path, imdb_err *e);
int conf_set_arg(conf *c, const char *key_eq_value, imdb_err *e);
void conf_set(conf *c, const char *key, const char *value);  /* later sets win */
const char *conf_get(const conf *c, const char *key);         /* NULL if unset */
/* Typed getters: unset -> def; bad or out-of-range value -> IMDB_EXIT_USAGE error
 * "setting KEY: ...". The value used is recorded back (conf_set), so conf_format
 * shows every effective setting, defaults included. */
int conf_double(conf *c, const char *key, double def, double lo, double hi,
                  double *out, imdb_err *e);
int conf_long(conf *c, const char *key, long def, long lo, long hi, long *out, imdb_err *e);
int conf_string(conf *c, const char *key, const char *def, const char **out);
/* Every key set must be in known (NULL-terminated); else IMDB_EXIT_USAGE naming it. */
int conf_check_known(const conf *c, const char *const *known, imdb_err *e);
/* "key = value\n" lines sorted by key; malloc'd. */
char *conf_format(const conf *c);
#endif
