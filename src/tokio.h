/* tokio.h — the token stream format, imdb-tokens(5).
 *
 *   #imdb-tokens 1 SETTINGS            optional first line: format version and the
 *                                      cleaning settings (text_settings_format)
 *   LABEL<TAB>ID<TAB>tok tok tok       one document per line
 *
 * LABEL is "pos", "neg" or "-" (unlabelled). ID has no TAB or newline. Tokens are
 * separated by single spaces and never contain whitespace. Readers take gzip or plain. */
#ifndef IMDB_TOKIO_H
#define IMDB_TOKIO_H
#include <stddef.h>
#include "util.h"
#include "outfile.h"

enum { TOKIO_NEG = 0, TOKIO_POS = 1, TOKIO_UNLABELLED = -1 };
#define TOKIO_VERSION 1

typedef struct tokio_doc {
    int label;          /* TOKIO_NEG, TOKIO_POS or TOKIO_UNLABELLED */
    const char *id;     /* NUL-terminated, owned by the reader, valid until the next call */
    char *text;         /* the tokens, space separated, NUL-terminated; the caller may modify
                           it in place (e.g. to split it) until the next call */
    size_t text_len;
    long lineno;        /* line number in the file, for messages */
} tokio_doc;

typedef struct tokio_reader tokio_reader;

/* Opens path ("-" = stdin) and reads the header line if there is one. */
tokio_reader *tokio_open(const char *path, imdb_err *e);
/* The cleaning settings from the header, or NULL if the stream has no header. */
const char *tokio_settings(const tokio_reader *r);
const char *tokio_name(const tokio_reader *r);
/* 1: a document; 0: end; -1: error (malformed line, unknown label, I/O) with "NAME:LINE: ...". */
int tokio_next(tokio_reader *r, tokio_doc *d, imdb_err *e);
void tokio_close(tokio_reader *r);

/* Split d->text in place into tokens: fills toks (grown with xrealloc, *cap its capacity)
 * with pointers into text and returns their number. */
size_t tokio_split(char *text, size_t len, char ***toks, size_t *cap);

const char *tokio_label_name(int label);     /* "pos", "neg", "-" */
int tokio_parse_label(const char *s, size_t n); /* TOKIO_*; -2 if unknown */

int tokio_write_header(outfile *o, const char *settings, imdb_err *e);
/* Writes one document line; the id's TABs/newlines are replaced by spaces. */
int tokio_write_doc(outfile *o, int label, const char *id,
                    const char *const *toks, size_t ntok, imdb_err *e);
#endif
