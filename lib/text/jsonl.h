/* jsonl.h — a small reader of JSON objects, one per line (JSON Lines, RFC 8259 values),
 * that picks the members it is asked for by name: what imdb-clean needs from a line like
 * {"id": 17, "review_text": "Loved it", "stars": 5, "meta": {...}}.
 *
 * Robust by construction: it never recurses (nested values are skipped with an explicit
 * stack of at most JSONL_MAX_DEPTH levels, deeper ones are refused), never reads past the
 * n bytes it is given (NUL bytes are data), and allocates only its scratch buffer (at
 * most the line's length plus a few bytes per wanted member).
 *
 * Choices where RFC 8259 leaves room, or where real files break it:
 *  - strings are bytes: invalid UTF-8 and raw control characters (TAB, even NUL) inside a
 *    string are kept as they are (the cleaner replaces them later); escapes are decoded,
 *    \u0000 included, and a lone surrogate escape becomes U+FFFD;
 *  - a wanted member may be a string, a number (its text, as written: "4.0" stays "4.0"),
 *    or true, false, null (the text "true", "false", "null"); an object or array there is
 *    reported as JSONL_NESTED for the caller to refuse; other members may hold anything
 *    valid and are skipped (checked, not kept);
 *  - a wanted name given twice in one object is an error (RFC 8259 leaves duplicates'
 *    meaning open, and a silent choice could take the wrong label); other duplicates are
 *    ignored;
 *  - a line holding only white space is no object (jsonl_parse returns 0), so blank lines
 *    can be skipped; anything after the closing '}' but white space is an error.
 * Keys are compared byte for byte with the wanted names, after decoding escapes. */
#ifndef IMDB_JSONL_H
#define IMDB_JSONL_H
#include <stddef.h>
#include "util.h"

#define JSONL_MAX_DEPTH 512   /* deepest nesting skipped inside a line */

typedef enum jsonl_type {
    JSONL_ABSENT = 0,   /* the object has no such member */
    JSONL_STRING,
    JSONL_NUMBER,
    JSONL_LITERAL,      /* true, false or null */
    JSONL_NESTED        /* an object or an array: no text */
} jsonl_type;

typedef struct jsonl_value {
    jsonl_type type;
    const char *text;   /* decoded bytes, NUL-terminated (may hold NULs: len counts);
                         * owned by the reader, valid until its next jsonl_parse; NULL
                         * for JSONL_ABSENT and JSONL_NESTED */
    size_t len;
    size_t col;         /* byte column (from 1) where the value starts in the line */
} jsonl_value;

typedef struct jsonl jsonl;

jsonl *jsonl_new(void);
void jsonl_free(jsonl *j);

/* Parse s[0..n), one line without its line end, as one JSON object. names[0..nnames)
 * are the wanted member names (NUL-terminated); vals[i] receives the value of names[i]
 * (type JSONL_ABSENT when missing).
 * Returns 1 (an object), 0 (a line of white space only: vals untouched) or -1: a syntax
 * error; then *errcol is the byte column (from 1) of the offending byte and e holds
 * IMDB_EXIT_DATA and a message without any position ("expected ':' after a key"), for
 * the caller to prefix with file, line and column. */
int jsonl_parse(jsonl *j, const char *s, size_t n, const char *const *names, size_t nnames,
                jsonl_value *vals, size_t *errcol, imdb_err *e);
#endif
