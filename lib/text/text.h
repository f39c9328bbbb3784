/* text.h — cleaning and tokenizing raw review text.
 *
 * Pipeline for one document (bytes in, tokens out):
 *   1. invalid UTF-8 sequences (and NUL bytes) become U+FFFD / a space, counted;
 *   2. HTML: tags become spaces ("<br />" is a line break in IMDB reviews), entities
 *      (&amp; &lt; &#39; &#x27; ...) are decoded;
 *   3. Unicode NFKC and case folding with utf8proc (an ASCII fast path gives the same
 *      result without the library call);
 *   4. tokens are the matches of a PCRE2 pattern (JIT-compiled), by default words with
 *      inner apostrophes and hyphens, numbers, emoticons, and "!" / "?"; inside a token
 *      U+2019 becomes "'" and ASCII whitespace "_" (imdb-clean(1) has the details). The
 *      default pattern is matched by a hand-written scanner that asks PCRE2 only for the
 *      classes of non-ASCII code points (once each); other patterns run under PCRE2.
 * The settings are serialized into token stream headers and model files so that every
 * later tool cleans the same way. */
#ifndef IMDB_TEXT_H
#define IMDB_TEXT_H
#include <stddef.h>
#include "util.h"

typedef struct text_settings {
    int html;         /* 1: strip tags, decode entities */
    int nfkc;         /* 1: NFKC normalization */
    int casefold;     /* 1: Unicode case folding */
    char *pattern;    /* PCRE2 pattern (UTF mode), malloc'd; never NULL after _default */
} text_settings;

extern const char TEXT_DEFAULT_PATTERN[];

void text_settings_default(text_settings *s);
void text_settings_free(text_settings *s);
/* Canonical one-line form, e.g. "html=1 nfkc=1 casefold=1 pattern=...": two settings are
 * equal iff their formats are equal. Returns a malloc'd string. */
char *text_settings_format(const text_settings *s);
/* Inverse of text_settings_format; unknown keys are an IMDB_EXIT_DATA error. s is filled
 * with defaults first. */
int text_settings_parse(text_settings *s, const char *line, imdb_err *e);

/* The canonical form (text_settings_format) of a settings line, so that spacing or key
 * order cannot cause a false mismatch; a copy of the line itself if it does not parse;
 * NULL for NULL. malloc'd. */
char *text_settings_canonical(const char *line);

typedef struct text_cleaner text_cleaner;

/* Compiles the pattern; a bad pattern is an IMDB_EXIT_USAGE error naming the offset.
 * Out of memory is an IMDB_EXIT_INTERNAL error whose message starts "out of memory"
 * (it does not end the program). */
text_cleaner *text_cleaner_new(const text_settings *s, imdb_err *e);
void text_cleaner_free(text_cleaner *c);

/* Clean and tokenize len bytes of raw text (any bytes). Sets *toks to an array of
 * NUL-terminated tokens owned by the cleaner, valid until the next call on c, and returns
 * how many. Tokens contain no whitespace. A cleaner is not thread-safe: use one per thread. */
size_t text_tokenize(text_cleaner *c, const char *in, size_t len, const char *const **toks);
/* Out of memory while tokenizing: text_tokenize ends the program as imdb_xmalloc does (the
 * tools' contract); text_tokenize_try returns TEXT_NOMEM instead, with *toks set but
 * meaningless, and the cleaner stays usable for the next call (the public API, lib/api,
 * uses it). Otherwise both are the same function. */
#define TEXT_NOMEM ((size_t)-1)
size_t text_tokenize_try(text_cleaner *c, const char *in, size_t len, const char *const **toks);
/* The reference for text_tokenize (the same result, slower): byte-at-a-time cleaning and
 * every match found by PCRE2, where text_tokenize copies ASCII a word at a time and, for
 * the default pattern, scans without PCRE2. The test oracle (tests/unit_text.c,
 * scripts/diff-tokenize). Same buffers and lifetime as text_tokenize. */
size_t text_tokenize_naive(text_cleaner *c, const char *in, size_t len, const char *const **toks);
size_t text_tokenize_naive_try(text_cleaner *c, const char *in, size_t len, const char *const **toks);

/* Totals since text_cleaner_new: invalid UTF-8 sequences replaced, NUL bytes seen. */
void text_stats(const text_cleaner *c, unsigned long *bad_utf8, unsigned long *nul_bytes);
#endif
