/* tokio.h — the token stream format, imdb-tokens(5).
 *
 *   #imdb-tokens 1 SETTINGS            optional first line: format version and the
 *                                      cleaning settings (text_settings_format)
 *   LABEL<TAB>ID<TAB>tok tok tok       one document per line
 *
 * LABEL is "pos", "neg" or "-" (unlabelled), or, from format version 2 on, a soft label:
 * P(pos) as a decimal number in [0, 1] (a teacher's prediction, imdb-relabel). ID has no
 * TAB or newline. Tokens are separated by single spaces and never contain whitespace.
 * Readers take gzip or plain, and read versions 1 and 2. Writers write version 1 unless
 * the stream carries soft labels, so hard-label streams stay readable by older readers. */
#ifndef IMDB_TOKIO_H
#define IMDB_TOKIO_H
#include <stddef.h>
#include "util.h"
#include "outfile.h"

enum { TOKIO_NEG = 0, TOKIO_POS = 1, TOKIO_UNLABELLED = -1 };
#define TOKIO_VERSION 2      /* the newest version read; 2 added soft labels */

typedef struct tokio_doc {
    int label;          /* TOKIO_NEG, TOKIO_POS or TOKIO_UNLABELLED; for a soft label,
                           TOKIO_POS when prob >= 0.5, else TOKIO_NEG */
    int soft;           /* 1: the label field was a soft label (prob) */
    double prob;        /* P(pos): 1 for pos, 0 for neg, the soft label, NAN for "-" */
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

/* Version 1 header (hard labels only). */
int tokio_write_header(outfile *o, const char *settings, imdb_err *e);
/* Version 2 header: for streams whose documents may carry soft labels. */
int tokio_write_header_soft(outfile *o, const char *settings, imdb_err *e);
/* Writes a document line whose label is the soft label prob (in [0, 1], "%.6f"; clamped)
 * and whose tokens are text[0..len), already space-separated (a tokio_doc's text). */
int tokio_write_doc_soft(outfile *o, double prob, const char *id, const char *text, size_t len,
                         imdb_err *e);
/* Writes one document line; the id's TABs/newlines are replaced by spaces. */
int tokio_write_doc(outfile *o, int label, const char *id,
                    const char *const *toks, size_t ntok, imdb_err *e);
#endif
