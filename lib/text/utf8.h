/* utf8.h — UTF-8 validation and encoding, the one definition for the whole tree: well-formed
 * sequences are those of Table 3-7 of the Unicode Standard (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF). The cleaner (text.c) replaces what is not
 * well-formed by U+FFFD, one per maximal subpart; the JSON writer (json.h), one per byte.
 * Pure functions: thread-safe. */
#ifndef IMDB_UTF8_H
#define IMDB_UTF8_H
#include <stddef.h>
#include <stdint.h>

/* Length (1 to 4) of the well-formed sequence at s[0..n) (n >= 1), or 0 if it is not
 * one; then, when bad is not NULL, *bad is the length of its maximal subpart (at least 1:
 * the bytes one U+FFFD replaces under the Unicode "substitution of maximal subparts").
 * Inline: the cleaner calls it for every non-ASCII byte. */
static inline size_t utf8_seq(const unsigned char *s, size_t n, size_t *bad)
{
    unsigned char c0 = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c0 < 0x80) return 1;
    if (c0 >= 0xC2 && c0 <= 0xDF) {
        need = 2;
    } else if (c0 >= 0xE0 && c0 <= 0xEF) {
        need = 3;
        if (c0 == 0xE0) lo = 0xA0;
        if (c0 == 0xED) hi = 0x9F;
    } else if (c0 >= 0xF0 && c0 <= 0xF4) {
        need = 4;
        if (c0 == 0xF0) lo = 0x90;
        if (c0 == 0xF4) hi = 0x8F;
    } else {
        if (bad) *bad = 1;
        return 0;
    }
    if (n < 2 || s[1] < lo || s[1] > hi) {
        if (bad) *bad = 1;
        return 0;
    }
    for (size_t i = 2; i < need; i++)
        if (i >= n || s[i] < 0x80 || s[i] > 0xBF) {
            if (bad) *bad = i;
            return 0;
        }
    return need;
}

/* Write code point cp (<= 0x10FFFF, not a surrogate: the caller's to ensure) as UTF-8 at
 * o (room for 4 bytes); the bytes written, 1 to 4. Inline: the cleaner calls it for
 * every character it rewrites (entities, U+FFFD). */
static inline size_t utf8_put(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* 1 if s[0..n) is all well-formed UTF-8 (NUL bytes included), else 0. */
int utf8_valid(const char *s, size_t n);

/* The longest prefix of s[0..n) of at most max bytes that does not end inside a
 * multi-byte sequence: n if n <= max, else max backed off over continuation bytes. */
size_t utf8_cut(const char *s, size_t n, size_t max);
#endif
