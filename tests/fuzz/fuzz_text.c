/* fuzz_text.c — the text cleaner: invalid UTF-8 and NUL bytes, HTML tags and entities
 * (named, decimal, hexadecimal, out of range, unterminated), NFKC and case folding with
 * utf8proc (and the ASCII fast path, which must agree with it), and the PCRE2 tokenizer.
 *
 * Input: one byte of mode, then raw text. Mode bits 0-2 switch html, nfkc and casefold
 * off; every token must be non-empty, valid UTF-8 and free of ASCII whitespace. */
#include "fuzz.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>

static text_cleaner *cleaners[8];

static int valid_utf8(const unsigned char *s)
{
    while (*s) {
        unsigned c = *s;
        int n = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
        if (n < 0 || (n == 1 && c < 0xC2)) return 0;
        s++;
        for (int i = 0; i < n; i++, s++)
            if ((*s & 0xC0) != 0x80) return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int mode = data[0] & 7;
    if (!cleaners[mode]) {
        text_settings s;
        text_settings_default(&s);
        s.html = !(mode & 1);
        s.nfkc = !(mode & 2);
        s.casefold = !(mode & 4);
        imdb_err e;
        cleaners[mode] = text_cleaner_new(&s, &e);
        text_settings_free(&s);
        if (!cleaners[mode]) abort();
    }
    const char *const *toks;
    size_t n = text_tokenize(cleaners[mode], (const char *)data + 1, size - 1, &toks);
    for (size_t i = 0; i < n; i++) {
        const char *t = toks[i];
        if (!t[0] || strpbrk(t, " \t\n\r\v\f") || !valid_utf8((const unsigned char *)t)) abort();
    }
    return 0;
}
