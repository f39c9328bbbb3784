/* imdb.h — the public C API of libimdb: load a sentiment model trained by imdb-train and
 * score raw texts with it, the way imdb-predict, imdb-eval and imdb-serve do.
 *
 * This is the only header a program includes (pkg-config --cflags --libs imdb); every
 * other header of the source tree is internal. See imdb(3) for a complete example.
 *
 * Conventions (as zstd.h and jq's jv.h state theirs):
 * - Errors are values. A function that can fail returns an imdb_status (IMDB_OK is 0)
 *   and, when the caller passes an imdb_error, fills it with the status and a one-line
 *   message naming the file or argument at fault ("nblr.model: not an imdb model file").
 *   No function prints, calls exit or abort, or raises a signal, including on out of
 *   memory (IMDB_ERR_NOMEM). On failure the outputs are left as documented per function.
 * - Texts are bytes with an explicit length: invalid UTF-8 and NUL bytes are cleaned as
 *   the tools clean them (never an error); NULL with length 0 is the empty text.
 * - Ownership: what a function returns through a pointer argument belongs to the caller
 *   only where the comment says so (and says which function frees it); everything else
 *   stays owned by the model and lives until imdb_model_close.
 * - Thread safety: an imdb_model is immutable once opened. imdb_score, imdb_explain,
 *   imdb_score_batch and imdb_model_info may be called on the same model from any number
 *   of threads at once. imdb_model_close must not overlap any other call on that model.
 * - A model file replaced by rename(2) (mv, imdb-train's atomic output) while a program
 *   has it open does not affect that program: the old file stays mapped. Overwriting the
 *   file in place (cp over it, truncating it) while it is open is unsupported: scores
 *   may then be wrong and the process may receive SIGBUS.
 *
 * Versions: IMDB_VERSION_* below are the headers' version; imdb_version() is the
 * library's. The shared library's soname changes only when this API breaks (a function
 * removed or changed); see the README section "The C library" for the policy. */
#ifndef IMDB_H
#define IMDB_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define IMDB_API __attribute__((visibility("default")))
#else
#define IMDB_API
#endif

#define IMDB_VERSION_MAJOR 0
#define IMDB_VERSION_MINOR 3
#define IMDB_VERSION_PATCH 0

/* The statuses. The numbers match the tools' exit statuses where one exists. */
typedef enum imdb_status {
    IMDB_OK = 0,
    IMDB_ERR_DATA = 1,     /* a model file that is corrupt, truncated, foreign or newer */
    IMDB_ERR_USAGE = 2,    /* a bad argument: NULL where refused, k out of range, ... */
    IMDB_ERR_IO = 4,       /* the file cannot be opened or read (missing, permissions) */
    IMDB_ERR_NOMEM = 6,    /* out of memory: nothing was changed, the call may be retried */
    IMDB_ERR_INTERNAL = 5  /* a bug or a resource limit (threads could not be started) */
} imdb_status;

/* An error: the status and one line of text (no newline, no program name). */
typedef struct imdb_error {
    imdb_status status;
    char message[1024];
} imdb_error;

/* The library's version, "MAJOR.MINOR.PATCH" (static storage). Thread-safe. */
IMDB_API const char *imdb_version(void);

/* A short English name of a status ("corrupt or foreign data", ...; static storage). */
IMDB_API const char *imdb_status_string(imdb_status status);

typedef struct imdb_model imdb_model;

/* Open the model file at path (any kind imdb-train writes: nblr, dvcos, ensemble, mlp,
 * cnn, lstm, bilstm). The file is mapped, not read: opening is fast, and each section's
 * checksum is verified before its bytes are first used; imdb_model_verify checks all of
 * them at once. On success *out is the model (free it with imdb_model_close); on failure
 * *out is NULL. path and out must not be NULL. */
IMDB_API imdb_status imdb_model_open(const char *path, imdb_model **out, imdb_error *err);

/* The same from a model file's bytes in memory. The library keeps a pointer to data, not
 * a copy: data must stay valid and unchanged until imdb_model_close. name is used in
 * messages (NULL: "<memory>"). data must not be NULL unless size is 0 (then DATA). */
IMDB_API imdb_status imdb_model_open_mem(const void *data, size_t size, const char *name,
                                         imdb_model **out, imdb_error *err);

/* Close the model and free everything it owns (info strings included). NULL is a no-op.
 * Closing twice is undefined behaviour, as for free(3). */
IMDB_API void imdb_model_close(imdb_model *model);

/* Check every section's checksum (what imdb-predict --verify does) and that the model's
 * cleaning settings compile (scoring a model whose settings do not gives DATA too).
 * IMDB_OK or DATA. */
IMDB_API imdb_status imdb_model_verify(imdb_model *model, imdb_error *err);

/* What a model file holds. The strings are owned by the model. */
typedef struct imdb_model_info {
    const char *kind;     /* "nblr", "dvcos", "ensemble", "mlp", "cnn", "lstm", "bilstm" */
    const char *params;   /* the training settings, "key = value" lines */
    const char *clean;    /* the cleaning settings the texts get (imdb-tokens(5)) */
    int can_explain;      /* 1 if imdb_explain works for this kind, else 0 */
    double load_seconds;  /* how long imdb_model_open took */
} imdb_model_info;

/* Fill *info. model and info must not be NULL. Thread-safe. */
IMDB_API imdb_status imdb_model_info_get(const imdb_model *model, imdb_model_info *info,
                                         imdb_error *err);

/* The decision threshold the model stores (imdb-train -o threshold=auto|X): a text is
 * labelled pos when P(pos) >= it; 0.5 for a model trained without one. model must not be
 * NULL. Thread-safe. (Since 0.3.0.) */
IMDB_API double imdb_model_threshold(const imdb_model *model);

/* P(pos) of one raw text, cleaned and tokenized as the model's training data was: the
 * same number imdb-predict prints (before its rounding to six decimals). On failure
 * *prob is unchanged. model and prob must not be NULL; text may be NULL if len is 0.
 * Thread-safe: the model keeps a pool of cleaners and scratch buffers, one taken per
 * call in progress, so a call costs what imdb-predict spends on one line. */
IMDB_API imdb_status imdb_score(const imdb_model *model, const char *text, size_t len,
                                double *prob, imdb_error *err);

/* One n-gram's share of a decision. */
typedef struct imdb_contrib {
    char *ngram;     /* the n-gram's tokens joined by spaces (owned by the caller) */
    double weight;   /* added to the logit: > 0 pushes towards pos */
} imdb_contrib;

/* P(pos) of one text and the (up to) k n-grams that weighed most, by |weight|
 * descending: *out is an array of *n entries (n <= k) that the caller frees with
 * imdb_contrib_free(*out, *n). k is 1..1000. Kinds that cannot explain give USAGE.
 * On failure *out is NULL and *n is 0. prob may be NULL. Thread-safe. */
IMDB_API imdb_status imdb_explain(const imdb_model *model, const char *text, size_t len,
                                  int k, double *prob, imdb_contrib **out, size_t *n,
                                  imdb_error *err);
IMDB_API void imdb_contrib_free(imdb_contrib *c, size_t n);

/* P(pos) of n texts (texts[i] of lens[i] bytes; lens NULL: NUL-terminated strings),
 * scored on nthreads threads (0: one per core; 1: the calling thread only) into
 * probs[0..n). The result does not depend on nthreads. On failure probs is partly
 * written. Thread-safe (each call starts its own threads). */
IMDB_API imdb_status imdb_score_batch(const imdb_model *model, const char *const *texts,
                                      const size_t *lens, size_t n, double *probs,
                                      int nthreads, imdb_error *err);

#ifdef __cplusplus
}
#endif
#endif
