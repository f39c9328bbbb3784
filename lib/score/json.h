/* json.h — the one JSON writer of the tree (RFC 8259), appending to a buf (buf.h): what
 * imdb-predict --json, imdb-eval --json and imdb-serve's answers print. imdb-serve still
 * parses requests with jansson.
 *
 * Strings are bytes: a byte that does not start a well-formed UTF-8 sequence (utf8.h)
 * becomes \ufffd, so the output is always valid JSON, whatever the input. The tools have
 * always differed in how they escape control characters and print numbers, and their
 * outputs must stay byte-identical, so each writes with its own style:
 *
 *   json_style   controls                        numbers (json_num)
 *   JSON_PREDICT \n \r \t, other \u00xx; DEL raw  "%.6f"
 *   JSON_EVAL    every control and DEL \u00xx    (imdb-eval prints its numbers itself)
 *   JSON_SERVE   \b \f \n \r \t, other \u00XX;   jansson's reals: the value rounded to 6
 *                DEL raw (jansson's escapes)     decimals, "%.15g", ".0" added when it
 *                                                reads as an integer, exponent without
 *                                                "+" or leading zeros ("1e-6")
 * '"' and '\\' are escaped in every style; nothing else is (not '/', not non-ASCII).
 * Pure functions of their arguments: thread-safe on distinct buffers. */
#ifndef IMDB_JSON_H
#define IMDB_JSON_H
#include <stddef.h>
#include "buf.h"

typedef enum json_style { JSON_PREDICT, JSON_EVAL, JSON_SERVE } json_style;

/* s[0..n) as a JSON string, with its quotes. */
void json_str(buf *b, const char *s, size_t n, json_style st);

/* The inside of a JSON string, without the quotes: for a string written in parts (the
 * caller adds the quotes). Parts escaped one by one give the bytes of the whole escaped
 * at once, unless a part ends inside a UTF-8 sequence that the next part completes. */
void json_str_part(buf *b, const char *s, size_t n, json_style st);

/* json_str for a NUL-terminated string; NULL writes null. */
void json_cstr(buf *b, const char *s, json_style st);

/* A number in the style's format. A value that is not finite (JSON has no NaN or
 * infinity) writes null. */
void json_num(buf *b, double x, json_style st);

/* An integer. */
void json_int(buf *b, long long v);

/* true or false. */
void json_bool(buf *b, int v);
#endif
