/* text.c — cleaning and tokenizing raw review text; see text.h for the pipeline.
 *
 * One document goes through three reused buffers: `a` holds valid UTF-8 with the HTML
 * removed (steps 1 and 2 fused into one pass), `b` the NFKC / case-folded text (step 3),
 * `tb` the NUL-terminated tokens (step 4). Nothing is allocated per call once the buffers
 * have grown to the largest document seen, because imdb-predict calls text_tokenize for
 * every review it scores.
 *
 * Invalid UTF-8 follows the Unicode "maximal subpart" practice (The Unicode Standard,
 * ch. 3, "U+FFFD Substitution of Maximal Subparts"): each maximal prefix of a
 * well-formed sequence, or each lone bad byte, becomes one U+FFFD.
 *
 * NFKC + case folding is utf8proc's NFKC_Casefold (NFKC, full case folding, default
 * ignorable code points such as U+00AD SOFT HYPHEN, U+200B and the BOM removed). Pure
 * ASCII text is unchanged by NFKC and case-folds to tolower, so only the non-ASCII runs
 * go through utf8proc. A run starts one character early when that character is ASCII,
 * because an ASCII letter may compose with following combining marks ("e" U+0301 -> "é");
 * an ASCII character never composes with the character before it, so a run may end at
 * any ASCII byte. tests/unit_text.c checks the split path against utf8proc_map.
 *
 * Tokens are the non-empty matches of a PCRE2 pattern (UTF + UCP mode, JIT when the
 * platform has it) scanned left to right over the cleaned text. The default pattern is
 * matched by scan_fast instead, which classifies ASCII by table and each distinct non-ASCII
 * code point once through PCRE2 (so the Unicode tables are PCRE2's); calling pcre2_match
 * once per token cost more than the rest of the tokenizer. text_tokenize_naive keeps the
 * byte-at-a-time cleaning and the PCRE2 scan as the reference. Inside a token U+2019
 * RIGHT SINGLE QUOTATION MARK becomes "'" (so "don’t" and "don't" are one token) and
 * ASCII whitespace, which only a custom pattern can match, becomes "_" (tokens never hold
 * whitespace: the token stream separates them with spaces).
 *
 * Out of memory: the buffers grow in a dozen places inside the hot loops. Rather than an
 * error branch in each, a failed allocation jumps (siglongjmp) back to the entry of
 * text_tokenize_try, which returns TEXT_NOMEM. That is safe because nothing is held
 * across the jump: every buffer belongs to the cleaner, and a failed realloc leaves the
 * old one (and its capacity) as it was, so the cleaner stays usable. */
#include "text.h"
#include "utf8.h"

#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <utf8proc.h>

/* Words (letters, marks, digits) with inner apostrophes and hyphens; emoticons; "!", "?".
 * It runs after case folding, hence ":d" and ":p". "<3" survives HTML stripping because
 * a tag must start with a letter, "/" or "!". */
const char TEXT_DEFAULT_PATTERN[] =
    "[\\p{L}\\p{M}\\p{N}]+(?:['\\x{2019}-][\\p{L}\\p{M}\\p{N}]+)*"
    "|[:;=]-?[()]"
    "|[:;]-?[dp](?![\\p{L}\\p{M}\\p{N}])"
    "|<3(?!\\p{N})"
    "|[!?]";

/* Longest HTML tag recognised, in bytes; a longer "<x ..." is taken as text. */
#define TAG_MAX 1024

/* Byte classes for the copy loop of steps 1 and 2: K_COPY = copy (through low[]). */
enum { K_COPY = 0, K_NUL, K_LT, K_AMP, K_HIGH };

/* Character classes for scan_fast: C_W is [\p{L}\p{M}\p{N}], C_N is \p{N}; C_KNOWN marks
 * a cached entry of a non-ASCII code point. */
enum { C_W = 1, C_N = 2, C_KNOWN = 0x80 };

struct text_cleaner {
    text_settings s;
    pcre2_code *re;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jstack;
    int jit;
    int fast;                      /* default pattern: scan_fast instead of PCRE2 */
    pcre2_code *cre;               /* scan_fast's oracle for non-ASCII code points */
    pcre2_match_data *cmd;
    unsigned char *ucls;           /* (65536) cached class | C_KNOWN of BMP code points */
    struct { uint32_t cp; unsigned char k; } acache[256]; /* the same above U+FFFF */
    unsigned char acls[128];       /* C_W / C_N of ASCII characters */
    unsigned char bcls[256];       /* the same by byte, 0 for bytes >= 0x80 */
    unsigned char cls[256];        /* byte classes for clean_raw */
    unsigned char low[128];        /* ASCII output map: tolower when case folding */
    utf8proc_option_t uopts;
    char *a; size_t acap;          /* step 1+2 output */
    char *b; size_t bcap;          /* step 3 output */
    utf8proc_int32_t *u; size_t ucap; /* utf8proc scratch, in code points */
    char *tb; size_t tbcap;        /* token bytes */
    const char **toks; size_t tcap;
    unsigned long bad_utf8, nul_bytes;
    sigjmp_buf *oom;               /* set during text_tokenize_try: where a failed allocation goes */
};

/* A failed allocation inside a tokenization: back to text_tokenize_try. */
static void nomem(text_cleaner *c, size_t n)
{
    if (c->oom) siglongjmp(*c->oom, 1);
    imdb_oom_exit(n);   /* not reached: every entry point sets c->oom */
}

static void *c_realloc(text_cleaner *c, void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) nomem(c, n);
    return q;
}

/* ---------------------------------------------------------------- settings */

void text_settings_default(text_settings *s)
{
    s->html = 1;
    s->nfkc = 1;
    s->casefold = 1;
    s->pattern = imdb_xstrdup(TEXT_DEFAULT_PATTERN);
}

void text_settings_free(text_settings *s)
{
    if (!s) return;
    free(s->pattern);
    s->pattern = NULL;
}

/* The pattern is percent-encoded: '%', space, control bytes and DEL become %XX, so the
 * settings stay one line of space-separated key=value fields. */
static int pattern_needs_escape(unsigned char ch)
{
    return ch <= 0x20 || ch == '%' || ch == 0x7f;
}

static size_t format_size(const text_settings *s)
{
    return 64 + 3 * strlen(s->pattern ? s->pattern : TEXT_DEFAULT_PATTERN);
}

/* text_settings_format into out (format_size bytes). */
static char *format_into(const text_settings *s, char *out)
{
    const char *p = s->pattern ? s->pattern : TEXT_DEFAULT_PATTERN;
    size_t n = strlen(p), cap = format_size(s);
    int k = snprintf(out, cap, "html=%d nfkc=%d casefold=%d pattern=",
                     s->html ? 1 : 0, s->nfkc ? 1 : 0, s->casefold ? 1 : 0);
    char *o = out + k;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (pattern_needs_escape(ch)) {
            static const char hex[] = "0123456789ABCDEF";
            *o++ = '%';
            *o++ = hex[ch >> 4];
            *o++ = hex[ch & 15];
        } else {
            *o++ = (char)ch;
        }
    }
    *o = '\0';
    return out;
}

char *text_settings_format(const text_settings *s)
{
    return format_into(s, imdb_xmalloc(format_size(s)));
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static int parse_flag(const char *key, const char *v, size_t n, int *out, imdb_err *e)
{
    if (n == 1 && (v[0] == '0' || v[0] == '1')) {
        *out = v[0] - '0';
        return 0;
    }
    return imdb_fail(e, IMDB_EXIT_DATA, "cleaning settings: %s must be 0 or 1, not '%.*s'",
                     key, (int)(n > 40 ? 40 : n), v);
}

int text_settings_parse(text_settings *s, const char *line, imdb_err *e)
{
    /* text_settings_default, but out of memory is reported: a model's loading parses its
     * settings, and loading never exits (issue 21). */
    s->html = s->nfkc = s->casefold = 1;
    if (!(s->pattern = strdup(TEXT_DEFAULT_PATTERN)))
        return imdb_fail(e, IMDB_EXIT_NOMEM, "out of memory");
    int seen[4] = {0, 0, 0, 0};
    const char *p = line;
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        const char *f = p;
        while (*p && *p != ' ') p++;
        size_t flen = (size_t)(p - f);
        const char *eq = memchr(f, '=', flen);
        if (!eq)
            return imdb_fail(e, IMDB_EXIT_DATA, "cleaning settings: expected KEY=VALUE, not '%.*s'",
                             (int)(flen > 40 ? 40 : flen), f);
        size_t klen = (size_t)(eq - f), vlen = flen - klen - 1;
        const char *v = eq + 1;
        static const char *const keys[4] = {"html", "nfkc", "casefold", "pattern"};
        int k = -1;
        for (int i = 0; i < 4; i++)
            if (strlen(keys[i]) == klen && memcmp(keys[i], f, klen) == 0) k = i;
        if (k < 0)
            return imdb_fail(e, IMDB_EXIT_DATA, "cleaning settings: unknown setting '%.*s'",
                             (int)(klen > 40 ? 40 : klen), f);
        if (seen[k]++)
            return imdb_fail(e, IMDB_EXIT_DATA, "cleaning settings: '%s' given twice", keys[k]);
        if (k == 0 && parse_flag("html", v, vlen, &s->html, e) < 0) return -1;
        if (k == 1 && parse_flag("nfkc", v, vlen, &s->nfkc, e) < 0) return -1;
        if (k == 2 && parse_flag("casefold", v, vlen, &s->casefold, e) < 0) return -1;
        if (k == 3) {
            char *pat = malloc(vlen + 1), *o = pat;
            if (!pat) return imdb_fail(e, IMDB_EXIT_NOMEM, "out of memory");
            for (size_t i = 0; i < vlen; i++) {
                if (v[i] != '%') {
                    *o++ = v[i];
                    continue;
                }
                int hi = i + 1 < vlen ? hexval((unsigned char)v[i + 1]) : -1;
                int lo = i + 2 < vlen ? hexval((unsigned char)v[i + 2]) : -1;
                if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                    free(pat);
                    return imdb_fail(e, IMDB_EXIT_DATA, "cleaning settings: bad %%-escape in pattern");
                }
                *o++ = (char)(hi * 16 + lo);
                i += 2;
            }
            *o = '\0';
            free(s->pattern);
            s->pattern = pat;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- buffers */

static void grow(text_cleaner *c, char **buf, size_t *cap, size_t need)
{
    if (need <= *cap) return;
    size_t n = *cap ? *cap : 4096;
    while (n < need) n *= 2;
    *buf = c_realloc(c, *buf, n);
    *cap = n;
}

/* ---------------------------------------------------------------- cleaner */

/* Compile the token pattern (and JIT it where the platform can). */
static int compile_pattern(text_cleaner *c, imdb_err *e)
{
    int err;
    PCRE2_SIZE off;
    c->re = pcre2_compile((PCRE2_SPTR)c->s.pattern, PCRE2_ZERO_TERMINATED,
                          PCRE2_UTF | PCRE2_UCP | PCRE2_NEVER_BACKSLASH_C, &err, &off, NULL);
    if (!c->re && err == PCRE2_ERROR_HEAP_FAILED)   /* not the pattern's fault (tests/fault-inject.sh) */
        return imdb_fail(e, IMDB_EXIT_INTERNAL, "out of memory compiling the token pattern");
    if (!c->re) {
        PCRE2_UCHAR buf[256];
        pcre2_get_error_message(err, buf, sizeof buf);
        return imdb_fail(e, IMDB_EXIT_USAGE, "bad token pattern at offset %zu: %s", (size_t)off,
                         (char *)buf);
    }
    c->md = pcre2_match_data_create_from_pattern(c->re, NULL);
    c->mctx = pcre2_match_context_create(NULL);
    if (!c->md || !c->mctx)
        return imdb_fail(e, IMDB_EXIT_INTERNAL, "out of memory compiling the token pattern");
    /* Bound backtracking so a pathological user pattern costs time, not a hang. */
    pcre2_set_match_limit(c->mctx, 10000000);
    if (pcre2_jit_compile(c->re, PCRE2_JIT_COMPLETE) == 0) {
        c->jit = 1;
        c->jstack = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, NULL);
        if (c->jstack) pcre2_jit_stack_assign(c->mctx, NULL, c->jstack);
    }
    return 0;
}

text_cleaner *text_cleaner_new(const text_settings *s, imdb_err *e)
{
    text_cleaner *c = calloc(1, sizeof *c);
    if (!c) {
        imdb_fail(e, IMDB_EXIT_INTERNAL, "out of memory creating a text cleaner");
        return NULL;
    }
    c->s.html = s->html;
    c->s.nfkc = s->nfkc;
    c->s.casefold = s->casefold;
    c->s.pattern = strdup(s->pattern ? s->pattern : TEXT_DEFAULT_PATTERN);
    if (!c->s.pattern) {
        imdb_fail(e, IMDB_EXIT_INTERNAL, "out of memory creating a text cleaner");
        goto fail;
    }

    c->fast = strcmp(c->s.pattern, TEXT_DEFAULT_PATTERN) == 0;
    /* The default pattern is matched by scan_fast, so PCRE2 compiles it only when the
     * naive path (text_tokenize_naive) first needs it; a custom one is compiled now so
     * that a bad pattern is reported here. */
    if (!c->fast && compile_pattern(c, e) < 0) goto fail;
    c->uopts = 0;
    if (c->s.nfkc) c->uopts |= UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_IGNORE;
    if (c->s.casefold) c->uopts |= UTF8PROC_CASEFOLD;
    /* Tables live in the cleaner, not in statics, so threads share nothing. */
    for (int i = 0x80; i < 256; i++) c->cls[i] = K_HIGH;
    c->cls[0] = K_NUL;
    if (c->s.html) {
        c->cls['<'] = K_LT;
        c->cls['&'] = K_AMP;
    }
    for (int i = 0; i < 128; i++)
        c->low[i] = (unsigned char)(c->s.casefold && i >= 'A' && i <= 'Z' ? i + 32 : i);
    for (int i = 0; i < 128; i++)
        c->acls[i] = (unsigned char)(((i | 0x20) >= 'a' && (i | 0x20) <= 'z') ? C_W
                                     : (i >= '0' && i <= '9') ? C_W | C_N : 0);
    memcpy(c->bcls, c->acls, 128);
    return c;
fail:
    text_cleaner_free(c);
    return NULL;
}

void text_cleaner_free(text_cleaner *c)
{
    if (!c) return;
    pcre2_match_data_free(c->md);
    pcre2_match_context_free(c->mctx);
    if (c->jstack) pcre2_jit_stack_free(c->jstack);
    pcre2_code_free(c->re);
    pcre2_match_data_free(c->cmd);
    pcre2_code_free(c->cre);
    free(c->ucls);
    text_settings_free(&c->s);
    free(c->a);
    free(c->b);
    free(c->u);
    free(c->tb);
    free(c->toks);
    free(c);
}

void text_stats(const text_cleaner *c, unsigned long *bad_utf8, unsigned long *nul_bytes)
{
    if (bad_utf8) *bad_utf8 = c->bad_utf8;
    if (nul_bytes) *nul_bytes = c->nul_bytes;
}

/* ---------------------------------------------------------------- steps 1 and 2 */

/* Named character references: the HTML 4 set that shows up in scraped text. Looked up
 * linearly, which is fine: a "&name;" is rare in reviews. */
static const struct { const char *name; uint32_t cp; } entities[] = {
    {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}, {"nbsp", 0xA0},
    {"iexcl", 0xA1}, {"cent", 0xA2}, {"pound", 0xA3}, {"curren", 0xA4}, {"yen", 0xA5},
    {"brvbar", 0xA6}, {"sect", 0xA7}, {"uml", 0xA8}, {"copy", 0xA9}, {"ordf", 0xAA},
    {"laquo", 0xAB}, {"not", 0xAC}, {"shy", 0xAD}, {"reg", 0xAE}, {"macr", 0xAF},
    {"deg", 0xB0}, {"plusmn", 0xB1}, {"sup2", 0xB2}, {"sup3", 0xB3}, {"acute", 0xB4},
    {"micro", 0xB5}, {"para", 0xB6}, {"middot", 0xB7}, {"cedil", 0xB8}, {"sup1", 0xB9},
    {"ordm", 0xBA}, {"raquo", 0xBB}, {"frac14", 0xBC}, {"frac12", 0xBD}, {"frac34", 0xBE},
    {"iquest", 0xBF}, {"Agrave", 0xC0}, {"Aacute", 0xC1}, {"Acirc", 0xC2}, {"Atilde", 0xC3},
    {"Auml", 0xC4}, {"Aring", 0xC5}, {"AElig", 0xC6}, {"Ccedil", 0xC7}, {"Egrave", 0xC8},
    {"Eacute", 0xC9}, {"Ecirc", 0xCA}, {"Euml", 0xCB}, {"Igrave", 0xCC}, {"Iacute", 0xCD},
    {"Icirc", 0xCE}, {"Iuml", 0xCF}, {"ETH", 0xD0}, {"Ntilde", 0xD1}, {"Ograve", 0xD2},
    {"Oacute", 0xD3}, {"Ocirc", 0xD4}, {"Otilde", 0xD5}, {"Ouml", 0xD6}, {"times", 0xD7},
    {"Oslash", 0xD8}, {"Ugrave", 0xD9}, {"Uacute", 0xDA}, {"Ucirc", 0xDB}, {"Uuml", 0xDC},
    {"Yacute", 0xDD}, {"THORN", 0xDE}, {"szlig", 0xDF}, {"agrave", 0xE0}, {"aacute", 0xE1},
    {"acirc", 0xE2}, {"atilde", 0xE3}, {"auml", 0xE4}, {"aring", 0xE5}, {"aelig", 0xE6},
    {"ccedil", 0xE7}, {"egrave", 0xE8}, {"eacute", 0xE9}, {"ecirc", 0xEA}, {"euml", 0xEB},
    {"igrave", 0xEC}, {"iacute", 0xED}, {"icirc", 0xEE}, {"iuml", 0xEF}, {"eth", 0xF0},
    {"ntilde", 0xF1}, {"ograve", 0xF2}, {"oacute", 0xF3}, {"ocirc", 0xF4}, {"otilde", 0xF5},
    {"ouml", 0xF6}, {"divide", 0xF7}, {"oslash", 0xF8}, {"ugrave", 0xF9}, {"uacute", 0xFA},
    {"ucirc", 0xFB}, {"uuml", 0xFC}, {"yacute", 0xFD}, {"thorn", 0xFE}, {"yuml", 0xFF},
    {"OElig", 0x152}, {"oelig", 0x153}, {"Scaron", 0x160}, {"scaron", 0x161},
    {"Yuml", 0x178}, {"fnof", 0x192}, {"circ", 0x2C6}, {"tilde", 0x2DC}, {"ensp", 0x2002},
    {"emsp", 0x2003}, {"thinsp", 0x2009}, {"zwnj", 0x200C}, {"zwj", 0x200D},
    {"lrm", 0x200E}, {"rlm", 0x200F}, {"ndash", 0x2013}, {"mdash", 0x2014},
    {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"sbquo", 0x201A}, {"ldquo", 0x201C},
    {"rdquo", 0x201D}, {"bdquo", 0x201E}, {"dagger", 0x2020}, {"Dagger", 0x2021},
    {"bull", 0x2022}, {"hellip", 0x2026}, {"permil", 0x2030}, {"prime", 0x2032},
    {"Prime", 0x2033}, {"lsaquo", 0x2039}, {"rsaquo", 0x203A}, {"euro", 0x20AC},
    {"trade", 0x2122}, {"larr", 0x2190}, {"uarr", 0x2191}, {"rarr", 0x2192},
    {"darr", 0x2193}, {"minus", 0x2212}, {"spades", 0x2660}, {"clubs", 0x2663},
    {"hearts", 0x2665}, {"diams", 0x2666},
};

static int is_alpha(unsigned char ch) { return (ch | 0x20) >= 'a' && (ch | 0x20) <= 'z'; }
static int is_digit(unsigned char ch) { return ch >= '0' && ch <= '9'; }
static int is_space(unsigned char ch) { return ch == ' ' || (ch >= '\t' && ch <= '\r'); }

/* A character reference at p[0] == '&': its code point and length, or 0 if there is none
 * (the '&' is then plain text). Numeric references may omit the ';' as HTML allows;
 * named ones need it. */
static size_t html_entity(const unsigned char *p, size_t n, uint32_t *cp)
{
    size_t i = 1;
    if (i < n && p[i] == '#') {
        i++;
        int hex = i < n && (p[i] | 0x20) == 'x';
        if (hex) i++;
        size_t start = i;
        uint32_t v = 0;
        while (i < n && i - start < 8) {
            int d = hex ? hexval(p[i]) : (is_digit(p[i]) ? p[i] - '0' : -1);
            if (d < 0) break;
            v = v * (hex ? 16 : 10) + (uint32_t)d;
            i++;
        }
        if (i == start) return 0;
        if (i < n && p[i] == ';') i++;
        if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) v = 0xFFFD;
        *cp = v;
        return i;
    }
    while (i < n && i < 10 && (is_alpha(p[i]) || is_digit(p[i]))) i++;
    if (i == 1 || i >= n || p[i] != ';') return 0;
    size_t len = i - 1;
    for (size_t k = 0; k < sizeof entities / sizeof entities[0]; k++)
        if (strlen(entities[k].name) == len && memcmp(entities[k].name, p + 1, len) == 0) {
            *cp = entities[k].cp;
            return i + 1;
        }
    return 0;
}


/* Step 1 (valid UTF-8, no NULs) and step 2 (HTML) in one pass, into c->a. When case
 * folding, ASCII output is lowercased here already: that is all step 3 does to ASCII, and
 * NFKC_Casefold gives the same result on lowercased input. *nonascii tells whether any
 * byte >= 0x80 was written, i.e. whether step 3 has anything left to do. */
#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)
/* Nonzero iff some byte of v is 0 (exact: the borrow can only start at a zero byte). */
static inline uint64_t has_zero(uint64_t v) { return (v - ONES) & ~v & HIGHS; }

/* swar: copy runs of 8 ordinary ASCII bytes a word at a time (lowercased in the word),
 * the fast path; 0 is the byte-at-a-time reference. Both give the same bytes. */
static inline size_t clean_raw_impl(text_cleaner *c, const unsigned char *in, size_t n,
                                    int *nonascii, int swar)
{
    const unsigned char *cls = c->cls, *low = c->low;
    /* Copies and tags never write more bytes than they consume, so n bytes suffice
     * until a replacement or an entity writes up to 4 for 1: those check for room. */
    grow(c, &c->a, &c->acap, n + 8);
    char *o = c->a;
    size_t i = 0;
    size_t gt = 0; int gt_valid = 0; /* cached position of the next '>' at or after i */
    int high = 0;
    const uint64_t lt = c->s.html ? ONES * '<' : 0, amp = c->s.html ? ONES * '&' : 0;
    const int fold = c->s.casefold;
    while (i < n) {
        if (swar) {
            /* o never runs ahead of i, and a holds n + 8 bytes, so 8-byte stores fit. */
            while (i + 8 <= n) {
                uint64_t w;
                memcpy(&w, in + i, 8);
                if ((w & HIGHS) | has_zero(w) | has_zero(w ^ lt) | has_zero(w ^ amp)) break;
                if (fold) {
                    /* Every byte is < 0x80, so these sums carry into no other byte. */
                    uint64_t upper = (w + ONES * (0x80 - 'A')) & ~(w + ONES * (0x7f - 'Z')) & HIGHS;
                    w |= upper >> 2;
                }
                memcpy(o, &w, 8);
                o += 8;
                i += 8;
            }
            if (i >= n) break;
        }
        unsigned char ch = in[i];
        unsigned k = cls[ch];
        if (k == K_COPY) {
            *o++ = (char)low[ch];
            i++;
            continue;
        }
        if ((k == K_HIGH || k == K_AMP) && (size_t)(o - c->a) + (n - i) + 4 > c->acap) {
            size_t used = (size_t)(o - c->a);
            grow(c, &c->a, &c->acap, used + (n - i) + (n - i) / 2 + 8);
            o = c->a + used;
        }
        if (k == K_HIGH) {
            size_t bad, len = utf8_seq(in + i, n - i, &bad);
            if (len) {
                memcpy(o, in + i, len);
                o += len;
                i += len;
            } else {
                o += utf8_put(o, 0xFFFD);
                i += bad;
                c->bad_utf8++;
            }
            high = 1;
            continue;
        }
        if (k == K_NUL) {
            *o++ = ' ';
            i++;
            c->nul_bytes++;
            continue;
        }
        if (k == K_AMP) {
            uint32_t cp;
            size_t len = html_entity(in + i, n - i, &cp);
            if (len) {
                if (cp < 0x80) {
                    *o++ = (char)low[cp];
                } else {
                    o += utf8_put(o, cp);
                    high = 1;
                }
                i += len;
            } else {
                *o++ = '&';
                i++;
            }
            continue;
        }
        /* K_LT: a tag is "<" or "</" then a letter, a name, and whitespace, "/" or ">";
         * or "<!" (comment, doctype). It runs to the next ">". Anything else ("<3", "a <
         * b", "<=8") is text. */
        size_t j = i + 1;
        int tag = 0;
        if (j < n && in[j] == '!') {
            tag = 1;
        } else {
            if (j < n && in[j] == '/') j++;
            if (j < n && is_alpha(in[j])) {
                while (j < n && (is_alpha(in[j]) || is_digit(in[j]))) j++;
                tag = j < n && (in[j] == '>' || in[j] == '/' || is_space(in[j]));
            }
        }
        if (tag) {
            if (!gt_valid || gt < j) {
                const unsigned char *q = memchr(in + j, '>', n - j);
                gt = q ? (size_t)(q - in) : n;
                gt_valid = 1;
            }
            if (gt < n && gt - i < TAG_MAX) {
                *o++ = ' ';
                i = gt + 1;
                continue;
            }
        }
        *o++ = '<';
        i++;
    }
    *nonascii = high;
    return (size_t)(o - c->a);
}

static size_t clean_raw(text_cleaner *c, const unsigned char *in, size_t n, int *nonascii)
{
    return clean_raw_impl(c, in, n, nonascii, 1);
}

static size_t clean_raw_naive(text_cleaner *c, const unsigned char *in, size_t n, int *nonascii)
{
    return clean_raw_impl(c, in, n, nonascii, 0);
}

/* ---------------------------------------------------------------- step 3 */

/* NFKC + case folding of the valid UTF-8 in c->a[0..n) into c->b. */
static size_t normalize(text_cleaner *c, size_t n)
{
    const unsigned char *a = (const unsigned char *)c->a;
    grow(c, &c->b, &c->bcap, n + 8);
    int nfkc = c->s.nfkc;
    size_t i = 0, o = 0;
    while (i < n) {
        if (a[i] < 0x80) {
            c->b[o++] = (char)c->low[a[i]];
            i++;
            continue;
        }
        size_t s = i;
        if (nfkc && s > 0 && a[s - 1] < 0x80) { /* the ASCII starter may compose */
            s--;
            o--;
        }
        while (i < n && a[i] >= 0x80) i++;
        for (;;) {
            utf8proc_ssize_t r = utf8proc_decompose(a + s, (utf8proc_ssize_t)(i - s), c->u,
                                                    (utf8proc_ssize_t)c->ucap, c->uopts);
            if (r < 0) { /* cannot happen on valid UTF-8; keep the bytes */
                grow(c, &c->b, &c->bcap, o + (i - s) + (n - i) + 8);
                memcpy(c->b + o, a + s, i - s);
                o += i - s;
                break;
            }
            if (r == 0) break;   /* only ignorables (a BOM, U+00AD): nothing, and c->u may be NULL */
            if ((size_t)r > c->ucap) {
                size_t cap = c->ucap ? c->ucap : 256;
                while (cap < (size_t)r) cap *= 2;
                c->u = c_realloc(c, c->u, cap * sizeof *c->u);
                c->ucap = cap;
                continue;
            }
            r = utf8proc_reencode(c->u, r, c->uopts); /* composes, then UTF-8 in place */
            if (r < 0) r = 0;
            grow(c, &c->b, &c->bcap, o + (size_t)r + (n - i) + 8);
            memcpy(c->b + o, c->u, (size_t)r);
            o += (size_t)r;
            break;
        }
    }
    return o;
}

/* ---------------------------------------------------------------- step 4 */

/* Copy a match into the token buffer with the in-token normalizations of text.h. */
static char *put_token(char *o, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = s[i];
        if (ch == 0xE2 && i + 2 < n && s[i + 1] == 0x80 && s[i + 2] == 0x99) {
            *o++ = '\'';
            i += 2;
        } else if (is_space(ch)) {
            *o++ = '_';
        } else {
            *o++ = (char)ch;
        }
    }
    *o++ = '\0';
    return o;
}

/* The default pattern without PCRE2 (scan_fast). ASCII characters are classified by
 * table; a non-ASCII code point is classified once per cleaner by PCRE2 itself, matching
 * "[\p{L}\p{M}]|(\p{N})" at it, so the Unicode tables are exactly those the pattern
 * would use, and the answer is cached (C_KNOWN). */
static const char CLASS_PATTERN[] = "[\\p{L}\\p{M}]|(\\p{N})";

static unsigned classify_cp(text_cleaner *c, const unsigned char *p, size_t len)
{
    if (!c->cre) {
        int err;
        PCRE2_SIZE off;
        c->cre = pcre2_compile((PCRE2_SPTR)CLASS_PATTERN, PCRE2_ZERO_TERMINATED,
                               PCRE2_UTF | PCRE2_UCP | PCRE2_ANCHORED, &err, &off, NULL);
        c->cmd = c->cre ? pcre2_match_data_create_from_pattern(c->cre, NULL) : NULL;
        if (!c->cmd) {   /* a fixed pattern: only memory can fail */
            pcre2_code_free(c->cre);
            c->cre = NULL;
            nomem(c, 0);
        }
    }
    int rc = pcre2_match(c->cre, (PCRE2_SPTR)p, len, 0, PCRE2_NO_UTF_CHECK, c->cmd, NULL);
    if (rc < 0) return 0;
    return rc > 1 ? C_W | C_N : C_W;
}

/* Class of the (valid UTF-8) non-ASCII character at t[i]; its length in *len. */
static unsigned uclass(text_cleaner *c, const unsigned char *t, size_t n, size_t i, size_t *len)
{
    unsigned char b0 = t[i];
    size_t l = b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4;
    if (l > n - i) l = n - i;   /* cannot happen on valid UTF-8 */
    *len = l;
    uint32_t cp = l == 2 ? (uint32_t)(b0 & 0x1F) << 6 | (t[i + 1] & 0x3F)
                : l == 3 ? (uint32_t)(b0 & 0x0F) << 12 | (uint32_t)(t[i + 1] & 0x3F) << 6 | (t[i + 2] & 0x3F)
                : l == 4 ? (uint32_t)(b0 & 0x07) << 18 | (uint32_t)(t[i + 1] & 0x3F) << 12 |
                           (uint32_t)(t[i + 2] & 0x3F) << 6 | (t[i + 3] & 0x3F)
                : 0xFFFFFFFF;
    if (cp < 0x10000) {
        if (!c->ucls && !(c->ucls = calloc(65536, 1))) nomem(c, 65536);
        unsigned k = c->ucls[cp];
        if (!k) c->ucls[cp] = (unsigned char)(k = C_KNOWN | classify_cp(c, t + i, l));
        return k & (C_W | C_N);
    }
    unsigned slot = (cp ^ cp >> 8) & 255;
    if (!c->acache[slot].k || c->acache[slot].cp != cp) {
        c->acache[slot].cp = cp;
        c->acache[slot].k = (unsigned char)(C_KNOWN | classify_cp(c, t + i, l));
    }
    return c->acache[slot].k & (C_W | C_N);
}

static inline unsigned class_at(text_cleaner *c, const unsigned char *t, size_t n, size_t i, size_t *len)
{
    if (t[i] < 0x80) {
        *len = 1;
        return c->acls[t[i]];
    }
    return uclass(c, t, n, i, len);
}

/* Same leftmost-first semantics as PCRE2 with the default pattern: at each position the
 * alternatives are tried in pattern order (they start with different characters), and at
 * a position where none matches one character is skipped. tests/unit_text.c and
 * scripts/diff-tokenize check it against PCRE2 (text_tokenize_naive). t is valid UTF-8
 * without NULs and t[n] is a NUL (a sentinel); o has room for 2 * n + 17 bytes. */
static size_t scan_fast(text_cleaner *c, const unsigned char *t, size_t n, char *o)
{
    const unsigned char *acls = c->acls, *bcls = c->bcls;
    size_t ntok = 0, i = 0;
    while (i < n) {
        unsigned char ch = t[i];
        size_t e = 0, l = 1;   /* e: end of the match starting at i, 0 if none */
        int high = 0;          /* the match holds a non-ASCII character */
        unsigned k = ch < 0x80 ? acls[ch] : uclass(c, t, n, i, &l);
        if (k & C_W) {
            e = i + l;
            high = ch >= 0x80;
            for (;;) {
                for (;;) {
                    while (bcls[t[e]] & C_W) e++;   /* t[n] is a NUL: stops there */
                    size_t cl;
                    if (e >= n || t[e] < 0x80 || !(uclass(c, t, n, e, &cl) & C_W)) break;
                    e += cl;
                    high = 1;
                }
                /* ['\x{2019}-] then a word character continues the match. */
                size_t jl = 0, cl;
                if (e < n && (t[e] == '\'' || t[e] == '-')) jl = 1;
                else if (e + 2 < n && t[e] == 0xE2 && t[e + 1] == 0x80 && t[e + 2] == 0x99) jl = 3;
                if (!jl || e + jl >= n || !(class_at(c, t, n, e + jl, &cl) & C_W)) break;
                high |= jl > 1 || cl > 1;
                e += jl + cl;
            }
        } else if (ch == '!' || ch == '?') {
            e = i + 1;
        } else if (ch == ':' || ch == ';' || ch == '=') {
            size_t j = i + 1, cl;
            if (j < n && (t[j] == '(' || t[j] == ')')) e = j + 1;
            else if (j + 1 < n && t[j] == '-' && (t[j + 1] == '(' || t[j + 1] == ')')) e = j + 2;
            else if (ch != '=') {
                if (j < n && t[j] == '-') j++;
                if (j < n && (t[j] == 'd' || t[j] == 'p') &&
                    !(j + 1 < n && (class_at(c, t, n, j + 1, &cl) & C_W)))
                    e = j + 1;
            }
        } else if (ch == '<') {
            size_t cl;
            if (i + 1 < n && t[i + 1] == '3' && !(i + 2 < n && (class_at(c, t, n, i + 2, &cl) & C_N)))
                e = i + 2;
        }
        if (!e) {
            i += l;
            continue;
        }
        if (ntok == c->tcap) {
            size_t cap = c->tcap ? 2 * c->tcap : 256;
            c->toks = c_realloc(c, c->toks, cap * sizeof *c->toks);
            c->tcap = cap;
        }
        c->toks[ntok++] = o;
        size_t len = e - i;
        if (high) {
            o = put_token(o, t + i, len);
        } else if (len <= 16 && i + 16 <= n) {
            /* Short tokens: two fixed 8-byte copies (o has 16 bytes of slack). */
            memcpy(o, t + i, 8);
            memcpy(o + 8, t + i + 8, 8);
            o += len;
            *o++ = '\0';
        } else {
            memcpy(o, t + i, len);
            o += len;
            *o++ = '\0';
        }
        i = e;
    }
    return ntok;
}

static size_t scan_pcre(text_cleaner *c, const char *t, size_t tn, char *o)
{
    size_t ntok = 0, pos = 0;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);
    while (pos < tn) {
        int rc = c->jit
            ? pcre2_jit_match(c->re, (PCRE2_SPTR)t, tn, pos, PCRE2_NO_UTF_CHECK, c->md, c->mctx)
            : pcre2_match(c->re, (PCRE2_SPTR)t, tn, pos, PCRE2_NO_UTF_CHECK, c->md, c->mctx);
        if (rc < 0) break; /* no match, or a match limit hit by a custom pattern */
        size_t s = ov[0], e = ov[1];
        if (e <= s || e > tn) { /* empty match (or \K trickery): skip one character */
            pos = (e > pos ? e : pos) + 1;
            while (pos < tn && ((unsigned char)t[pos] & 0xC0) == 0x80) pos++;
            continue;
        }
        if (ntok == c->tcap) {
            size_t cap = c->tcap ? 2 * c->tcap : 256;
            c->toks = c_realloc(c, c->toks, cap * sizeof *c->toks);
            c->tcap = cap;
        }
        c->toks[ntok++] = o;
        o = put_token(o, (const unsigned char *)t + s, e - s);
        pos = e;
    }
    return ntok;
}

static size_t tokenize(text_cleaner *c, const char *in, size_t len, const char *const **toks)
{
    int nonascii;
    size_t tn = clean_raw(c, (const unsigned char *)in, len, &nonascii);
    const char *t = c->a;
    if (nonascii && (c->s.nfkc || c->s.casefold)) {
        tn = normalize(c, tn);
        t = c->b;
    }
    /* Matches do not overlap, so token bytes plus NULs fit in 2*tn+1 (+16: scan_fast's
     * fixed-size copies). The cleaned text holds no NUL (step 1 made them spaces), so a
     * NUL after it ends scan_fast's word loop without a bounds check. */
    grow(c, &c->tb, &c->tbcap, 2 * tn + 17);
    if (c->fast) {
        char **buf = t == c->a ? &c->a : &c->b;
        size_t *cap = t == c->a ? &c->acap : &c->bcap;
        grow(c, buf, cap, tn + 1);
        t = *buf;
        (*buf)[tn] = '\0';
    }
    size_t ntok = c->fast ? scan_fast(c, (const unsigned char *)t, tn, c->tb)
                          : scan_pcre(c, t, tn, c->tb);
    *toks = c->toks;
    return ntok;
}

static size_t tokenize_naive(text_cleaner *c, const char *in, size_t len, const char *const **toks)
{
    if (!c->re) {
        imdb_err e;
        if (compile_pattern(c, &e) < 0) {   /* the default pattern: only memory can fail */
            pcre2_match_data_free(c->md);
            pcre2_match_context_free(c->mctx);
            pcre2_code_free(c->re);
            c->md = NULL;
            c->mctx = NULL;
            c->re = NULL;
            nomem(c, 0);
        }
    }
    int nonascii;
    size_t tn = clean_raw_naive(c, (const unsigned char *)in, len, &nonascii);
    const char *t = c->a;
    if (nonascii && (c->s.nfkc || c->s.casefold)) {
        tn = normalize(c, tn);
        t = c->b;
    }
    grow(c, &c->tb, &c->tbcap, 2 * tn + 1);
    size_t ntok = scan_pcre(c, t, tn, c->tb);
    *toks = c->toks;
    return ntok;
}

/* The entry points: set the out-of-memory landing point, run, clear it. sigsetjmp with
 * savemask 0 saves a few registers and no signal mask (no system call): a few dozen
 * instructions a document. */
static size_t guarded(text_cleaner *c, const char *in, size_t len, const char *const **toks,
                      size_t (*fn)(text_cleaner *, const char *, size_t, const char *const **))
{
    sigjmp_buf jb;
    if (sigsetjmp(jb, 0)) {
        c->oom = NULL;
        *toks = c->toks;
        return TEXT_NOMEM;
    }
    c->oom = &jb;
    size_t n = fn(c, in, len, toks);
    c->oom = NULL;
    return n;
}

size_t text_tokenize_try(text_cleaner *c, const char *in, size_t len, const char *const **toks)
{
    return guarded(c, in, len, toks, tokenize);
}

size_t text_tokenize(text_cleaner *c, const char *in, size_t len, const char *const **toks)
{
    size_t n = guarded(c, in, len, toks, tokenize);
    if (n == TEXT_NOMEM) imdb_oom_exit(len);
    return n;
}

size_t text_tokenize_naive_try(text_cleaner *c, const char *in, size_t len, const char *const **toks)
{
    return guarded(c, in, len, toks, tokenize_naive);
}

size_t text_tokenize_naive(text_cleaner *c, const char *in, size_t len, const char *const **toks)
{
    size_t n = guarded(c, in, len, toks, tokenize_naive);
    if (n == TEXT_NOMEM) imdb_oom_exit(len);
    return n;
}

char *text_settings_canonical(const char *line)
{
    char *out = text_settings_canonical_try(line);
    return out || !line ? out : imdb_xstrdup(line);   /* out of memory: imdb_xstrdup's exit */
}

char *text_settings_canonical_try(const char *line)
{
    if (!line) return NULL;
    text_settings s;
    imdb_err e;
    char *out;
    if (text_settings_parse(&s, line, &e) == 0) out = (out = malloc(format_size(&s))) ? format_into(&s, out) : NULL;
    else out = e.status == IMDB_EXIT_NOMEM ? NULL : strdup(line);
    text_settings_free(&s);   /* parse filled s with defaults first, even on failure */
    return out;
}

int text_settings_same(const char *a, const char *b)
{
    if (!a || !b) return !a && !b;
    if (strcmp(a, b) == 0) return 1;   /* the usual case, without parsing */
    char *ca = text_settings_canonical(a), *cb = text_settings_canonical(b);
    int same = strcmp(ca, cb) == 0;
    free(ca);
    free(cb);
    return same;
}

int text_settings_check(const char *name, const char *stream, const char *model, imdb_err *e)
{
    if (!stream || !model || text_settings_same(stream, model)) return 0;
    return imdb_fail(e, IMDB_EXIT_DATA,
                     "%s: cleaned with other settings than the model (stream: %s; model: %s)",
                     name, stream, model);
}
