/* embfile.h — word vectors in the word2vec file formats (Mikolov et al.'s word2vec.c),
 * read to initialise embeddings (--init-embeddings) and written by the word2vec trainer.
 *
 * Text format:   "N DIM\n", then N lines "WORD V1 ... VDIM" (fields separated by spaces
 *                or tabs; a trailing space, as word2vec.c writes, is allowed).
 *                A file whose first line has more than two fields is read as headerless
 *                text (GloVe): DIM is the number of fields after the word.
 * Binary format: "N DIM\n", then N records "WORD " followed by DIM IEEE-754 floats
 *                (4 bytes each, little-endian, as word2vec.c writes them on x86) and an
 *                optional "\n".
 * The reader tells the two apart from the first record (text if what follows the first
 * word on its line parses as exactly DIM numbers, else binary), accepts gzip, and
 * checks N and DIM against the file's size before allocating. Words are bytes without
 * space, tab or newline; when a word occurs twice, lookup finds the first. */
#ifndef IMDB_EMBFILE_H
#define IMDB_EMBFILE_H
#include <stddef.h>
#include "util.h"

typedef struct embfile embfile;

/* Read a word-vector file ("-" = stdin). want_dim 0 accepts any dimension; otherwise a
 * file of another dimension is an error. Errors: IMDB_EXIT_IO (cannot open or read),
 * IMDB_EXIT_DATA with "PATH:LINE: message" (text) or "PATH: word K: message" (binary)
 * for a bad header, a short or long row, a number that does not parse or is not finite,
 * fewer or more rows than the header says, or the wrong dimension. */
embfile *embfile_read(const char *path, int want_dim, imdb_err *e);
void embfile_free(embfile *f);              /* NULL is fine */

int embfile_dim(const embfile *f);
size_t embfile_count(const embfile *f);     /* number of rows (words) */
const char *embfile_word(const embfile *f, size_t i);      /* i < count */
const float *embfile_vector(const embfile *f, size_t i);   /* (dim), i < count */
/* The vector of word (dim floats, owned by f), or NULL if the file does not have it. */
const float *embfile_lookup(const embfile *f, const char *word);

/* Cosine nearest neighbours of word (itself excluded): up to k row indices, best first
 * (ties by index), into idx and their similarities into sim; returns how many, or -1 if
 * the word is not in f. */
int embfile_nearest(const embfile *f, const char *word, int k, size_t *idx, float *sim);

/* Write n vectors (vecs is (n, dim), row i belongs to words[i]) atomically to path
 * ("-" = stdout; a ".gz" name is compressed). binary 0 writes text with "%.6f" values
 * (as word2vec.c), 1 the binary format (refused on a terminal). Words must not be empty
 * or contain space, tab or newline (IMDB_EXIT_DATA otherwise). */
int embfile_write(const char *path, size_t n, int dim, const char *const *words, const float *vecs,
                  int binary, imdb_err *e);
#endif
