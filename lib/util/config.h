/* config.h — training settings as "key = value" pairs: read from a config file
 * ("# comments", blank lines, one key = value per line), overridden by -o key=value on
 * the command line, and formatted back into the model file as the effective settings. */
#ifndef IMDB_CONFIG_H
#define IMDB_CONFIG_H
#include "util.h"

typedef struct config config;

config *config_new(void);
void config_free(config *c);
/* Errors name the file and line (IMDB_EXIT_IO if unreadable, IMDB_EXIT_USAGE if malformed). */
int config_read_file(config *c, const char *path, imdb_err *e);
int config_set_arg(config *c, const char *key_eq_value, imdb_err *e);
void config_set(config *c, const char *key, const char *value);  /* later sets win */
const char *config_get(const config *c, const char *key);         /* NULL if unset */
/* Typed getters: unset -> def; bad or out-of-range value -> IMDB_EXIT_USAGE error
 * "setting KEY: ...". The value used is recorded back (config_set), so config_format
 * shows every effective setting, defaults included. */
int config_double(config *c, const char *key, double def, double lo, double hi,
                  double *out, imdb_err *e);
int config_long(config *c, const char *key, long def, long lo, long hi, long *out, imdb_err *e);
int config_string(config *c, const char *key, const char *def, const char **out);
/* Every key set must be in known (NULL-terminated); else IMDB_EXIT_USAGE naming it. */
int config_check_known(const config *c, const char *const *known, imdb_err *e);
/* "key = value\n" lines sorted by key; malloc'd. */
char *config_format(const config *c);
#endif
