/* unit_text.c — tests of text_: settings round trip, every cleaning rule on small inputs,
 * the ASCII scanner against PCRE2 (the reference) on the fixture corpus and on random and
 * adversarial strings, the split NFKC path against utf8proc_map on whole strings, the
 * U+FFFD substitution counts, and bounded time on pathological input.
 * Exit status 0 if every check passes, 1 otherwise (with the first differences printed). */
#include "rawin.h"
#include "rng.h"
#include "text.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>



/* Tokens joined with single spaces, in a static buffer. */
static const char *joined(const char *const *toks, size_t n)
{
    static char buf[1 << 16];
    size_t k = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && k < sizeof buf - 2; i++) {
        if (i) buf[k++] = ' ';
        size_t l = strlen(toks[i]);
        if (l > sizeof buf - 2 - k) l = sizeof buf - 2 - k;
        memcpy(buf + k, toks[i], l);
        k += l;
    }
    buf[k] = '\0';
    return buf;
}

static text_cleaner *cleaner(int html, int nfkc, int casefold, const char *pattern)
{
    text_settings s;
    text_settings_default(&s);
    s.html = html;
    s.nfkc = nfkc;
    s.casefold = casefold;
    if (pattern) {
        free(s.pattern);
        s.pattern = strdup(pattern);
    }
    imdb_err e;
    text_cleaner *c = text_cleaner_new(&s, &e);
    if (!c) {
        fprintf(stderr, "text_cleaner_new: %s\n", e.msg);
        exit(1);
    }
    text_settings_free(&s);
    return c;
}

static void expect_tokens(text_cleaner *c, const char *in, size_t len, const char *want)
{
    const char *const *toks;
    size_t n = text_tokenize(c, in, len, &toks);
    const char *got = joined(toks, n);
    CHECK(strcmp(got, want) == 0, "tokens of \"%.*s\"\n  got:  \"%s\"\n  want: \"%s\"",
          (int)len, in, got, want);
    for (size_t i = 0; i < n; i++) {
        CHECK(toks[i][0] != '\0', "empty token");
        CHECK(strpbrk(toks[i], " \t\n\r\v\f") == NULL, "whitespace in token '%s'", toks[i]);
    }
}

#define EXPECT(c, lit, want) expect_tokens(c, lit, sizeof lit - 1, want)

static void test_settings(void)
{
    text_settings s, t;
    imdb_err e;
    text_settings_default(&s);
    char *f = text_settings_format(&s);
    CHECK(strncmp(f, "html=1 nfkc=1 casefold=1 pattern=", 33) == 0, "default format: %s", f);
    CHECK(strchr(f, '\n') == NULL, "format has a newline");
    CHECK(text_settings_parse(&t, f, &e) == 0, "parse default: %s", e.msg);
    char *g = text_settings_format(&t);
    CHECK(strcmp(f, g) == 0, "round trip:\n  %s\n  %s", f, g);
    CHECK(strcmp(t.pattern, TEXT_DEFAULT_PATTERN) == 0, "default pattern round trip");
    free(f);
    free(g);
    text_settings_free(&t);

    /* A pattern with every character that needs escaping. */
    free(s.pattern);
    s.pattern = strdup("a b%20c\\s+\t\r\n%%x\x7f\x01 ");
    s.html = 0;
    s.casefold = 0;
    f = text_settings_format(&s);
    CHECK(strpbrk(f + 6, "\t\r\n\x7f\x01") == NULL, "unescaped control byte in %s", f);
    CHECK(f[strlen(f) - 1] != ' ', "trailing space in format");
    CHECK(text_settings_parse(&t, f, &e) == 0, "parse: %s", e.msg);
    CHECK(strcmp(t.pattern, s.pattern) == 0, "pattern round trip: '%s'", t.pattern);
    CHECK(t.html == 0 && t.nfkc == 1 && t.casefold == 0, "flags round trip");
    g = text_settings_format(&t);
    CHECK(strcmp(f, g) == 0, "round trip:\n  %s\n  %s", f, g);
    free(f);
    free(g);
    text_settings_free(&t);
    text_settings_free(&s);

    /* Missing keys take their defaults; order does not matter. */
    CHECK(text_settings_parse(&t, "casefold=0 html=1", &e) == 0, "parse partial: %s", e.msg);
    CHECK(t.casefold == 0 && t.html == 1 && t.nfkc == 1 &&
          strcmp(t.pattern, TEXT_DEFAULT_PATTERN) == 0, "partial settings");
    text_settings_free(&t);

    static const char *const bad[] = {
        "html=1 colour=blue", "html=2", "nfkc=", "casefold", "pattern=%zz",
        "pattern=%4", "html=1 html=1", "pattern=%00",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e.status = 0;
        CHECK(text_settings_parse(&t, bad[i], &e) < 0, "accepted bad settings '%s'", bad[i]);
        CHECK(e.status == IMDB_EXIT_DATA, "status %d for '%s'", e.status, bad[i]);
        text_settings_free(&t);
    }

    /* A bad pattern is a usage error naming the offset. */
    text_settings_default(&s);
    free(s.pattern);
    s.pattern = strdup("ab(c");
    text_cleaner *c = text_cleaner_new(&s, &e);
    CHECK(c == NULL && e.status == IMDB_EXIT_USAGE && strstr(e.msg, "offset 4"),
          "bad pattern: %s", e.msg);
    text_cleaner_free(c);
    text_settings_free(&s);
}

static void test_rules(void)
{
    text_cleaner *c = cleaner(1, 1, 1, NULL);
    EXPECT(c, "", "");
    EXPECT(c, "   \t\r\n ", "");
    EXPECT(c, "Hello, World!", "hello world !");
    EXPECT(c, "What?!? No!!", "what ? ! ? no ! !");
    /* HTML */
    EXPECT(c, "one<br />two<br/>three<BR>four", "one two three four");
    EXPECT(c, "a <i>b</i> <a href=\"x>y\">c</a>", "a b y c");
    EXPECT(c, "x <!-- note --> y <!DOCTYPE html> z", "x y z");
    EXPECT(c, "1 < 2 and 3 > 2, a<b, <=8, <sp?) ok", "1 2 and 3 2 a b 8 sp ? ok");
    EXPECT(c, "unclosed <b and more", "unclosed b and more");
    EXPECT(c, "I <3 it, <30 times", "i <3 it 30 times");
    EXPECT(c, "&amp; &lt;b&gt; &quot;q&quot; &#39;s&#39; &#x27;t&#X27; &apos;",
           "b q s t");
    EXPECT(c, "caf&eacute; &Eacute;T&Eacute; &ndash; na&iuml;ve", "café été naïve");
    EXPECT(c, "AT&T &bogus; & &; &#; &#x; &#65 &#66;C", "at t bogus x a bc");
    EXPECT(c, "&#0; &#xD800; &#1114112; x", "x");
    EXPECT(c, "don&rsquo;t", "don't");
    /* Words */
    EXPECT(c, "don't can’t rock'n'roll 'quoted' ’tis o'", "don't can't rock'n'roll quoted tis o");
    EXPECT(c, "well-made so-so x-- --y a--b a-'b", "well-made so-so x y a b a b");
    EXPECT(c, "7/10 3.5 1,000 2nd", "7 10 3 5 1 000 2nd");
    EXPECT(c, "under_score e-mail@example.com", "under score e-mail example com");
    /* Emoticons */
    EXPECT(c, ":) :( :-) :-( ;) ;-( =) =( =-) :D :-P ;p :d", ":) :( :-) :-( ;) ;-( =) =( =-) :d :-p ;p :d");
    EXPECT(c, "re:production :dog :p. :-x :- =p", "re production dog :p x p");
    EXPECT(c, "(see note:)", "see note :)");
    /* Unicode */
    EXPECT(c, "\xef\xac\x81ne \xef\xbc\xa6\xef\xbc\xb5\xef\xbc\xac\xef\xbc\xac Stra\xc3\x9f" "e",
           "fine full strasse");
    EXPECT(c, "Cafe\xcc\x81 CAFE\xcc\x81 caf\xc3\xa9", "café café café");
    EXPECT(c, "\xce\xa3\xce\x8a\xce\xa3\xce\xa5\xce\xa6\xce\x9f\xce\xa3", "σίσυφοσ");
    EXPECT(c, "in\xc2\xad" "credible zero\xe2\x80\x8bwidth \xef\xbb\xbf" "bom",
           "incredible zerowidth bom");
    EXPECT(c, "x\xc2\xb2 \xe2\x91\xa0 \xe2\x85\xa7", "x2 1 viii");
    EXPECT(c, "\xe2\x80\x9cquoted\xe2\x80\x9d \xe2\x80\x94 dash\xe2\x80\x93" "en",
           "quoted dash en");
    EXPECT(c, "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xe4\xb8\xad\xe6\x96\x87",
           "привет 中文");
    EXPECT(c, "\xef\xbc\x81\xef\xbc\x9f", "! ?");
    /* Invalid UTF-8 and NULs are separators. */
    EXPECT(c, "bad\xff" "byte nul\0byte caf\xc3 end \xed\xa0\x80x", "bad byte nul byte caf end x");
    text_cleaner_free(c);

    c = cleaner(0, 1, 1, NULL);
    EXPECT(c, "a<br />b &amp; &#39;c&#39;", "a br b amp 39 c 39");
    EXPECT(c, "I <3 it", "i <3 it");
    text_cleaner_free(c);
    c = cleaner(1, 1, 0, NULL);
    EXPECT(c, "Hello :D :d Stra\xc3\x9f" "e \xef\xbc\xa6", "Hello D :d Straße F");
    text_cleaner_free(c);
    c = cleaner(1, 0, 1, NULL);
    EXPECT(c, "\xef\xac\x81ne Cafe\xcc\x81 \xef\xbc\xa6 ABC", "fine cafe\xcc\x81 \xef\xbd\x86 abc");
    text_cleaner_free(c);
    c = cleaner(0, 0, 0, NULL);
    EXPECT(c, "Don’t <B>", "Don't B");
    text_cleaner_free(c);

    /* Custom patterns: whitespace inside tokens becomes '_', empty matches are skipped. */
    c = cleaner(1, 1, 1, "\\S+\\s\\S+");
    EXPECT(c, "a b\tc\nd e", "a_b c_d");
    text_cleaner_free(c);
    c = cleaner(1, 1, 1, "x*");
    EXPECT(c, "axxbx\xc3\xa9x", "xx x x");
    text_cleaner_free(c);
    c = cleaner(1, 1, 1, "(?s).+");
    EXPECT(c, "A’b  c", "a'b__c");
    text_cleaner_free(c);
}

/* U+FFFD substitution of maximal subparts and the counters. */
static void test_utf8(void)
{
    static const struct { const char *in; size_t len; unsigned long bad, nul; const char *out; } cases[] = {
        {"a\xff" "b", 3, 1, 0, "a\xef\xbf\xbd" "b"},
        {"\xe2\x82", 2, 1, 0, "\xef\xbf\xbd"},                        /* truncated */
        {"\xe2\x82x", 3, 1, 0, "\xef\xbf\xbdx"},
        {"\xed\xa0\x80", 3, 3, 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate */
        {"\xc0\xaf", 2, 2, 0, "\xef\xbf\xbd\xef\xbf\xbd"},             /* overlong */
        {"\xf0\x9f\x98", 3, 1, 0, "\xef\xbf\xbd"},
        {"\xf0\x9f\x98\x80", 4, 0, 0, "\xf0\x9f\x98\x80"},
        {"\xf4\x90\x80\x80", 4, 4, 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"\x80\xbf", 2, 2, 0, "\xef\xbf\xbd\xef\xbf\xbd"},
        {"a\0b\0", 4, 0, 2, "a_b_"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        text_cleaner *c = cleaner(0, 0, 0, "(?s).+");
        const char *const *toks;
        size_t n = text_tokenize(c, cases[i].in, cases[i].len, &toks);
        unsigned long bad, nul;
        text_stats(c, &bad, &nul);
        CHECK(bad == cases[i].bad && nul == cases[i].nul, "case %zu: %lu bad, %lu NUL; want %lu, %lu",
              i, bad, nul, cases[i].bad, cases[i].nul);
        CHECK(n == 1 && strcmp(toks[0], cases[i].out) == 0, "case %zu: wrong replacement", i);
        text_cleaner_free(c);
    }
}

/* The same tokens from the ASCII scanner (default pattern) and from PCRE2 (the default
 * pattern with a no-op appended, so the cleaner cannot recognise it). */
static text_cleaner *fast_c, *ref_c;
static long compared;

static void compare(const char *s, size_t n)
{
    const char *const *ta, *const *tb;
    size_t na = text_tokenize(fast_c, s, n, &ta);
    size_t nb = text_tokenize(ref_c, s, n, &tb);
    compared++;
    int same = na == nb;
    for (size_t i = 0; same && i < na; i++) same = strcmp(ta[i], tb[i]) == 0;
    if (!same) {
        char a[4096];
        snprintf(a, sizeof a, "%s", joined(ta, na));
        CHECK(0, "scanner and PCRE2 differ on \"%.*s\"\n  scanner: %s\n  pcre2:   %s",
              (int)(n > 200 ? 200 : n), s, a, joined(tb, nb));
    }
    /* And the fast cleaner's own reference path (byte-at-a-time cleaning, PCRE2). */
    const char *const *tc;
    size_t nc = text_tokenize_naive(fast_c, s, n, &tc);
    int same_naive = nc == nb;
    for (size_t i = 0; same_naive && i < nc; i++) same_naive = strcmp(tc[i], tb[i]) == 0;
    CHECK(same_naive, "text_tokenize_naive and PCRE2 differ on \"%.*s\"", (int)(n > 200 ? 200 : n), s);
}

static void test_scanner(void)
{
    char *pat = malloc(strlen(TEXT_DEFAULT_PATTERN) + 8);
    sprintf(pat, "%s(?:)", TEXT_DEFAULT_PATTERN);
    for (int v = 0; v < 4; v++) {
        int html = v & 1, fold = v >> 1;
        fast_c = cleaner(html, 1, fold, NULL);
        ref_c = cleaner(html, 1, fold, pat);
        int f0 = failures;
        /* Adversarial strings around every rule of the pattern. */
        static const char *const adv[] = {
            ":", ":-", ":-)", ":-d", ":-dx", ":dx", ":d1", ":d-", ":p'", ";-p", "=-", "=-(", "=d",
            "<", "<3", "<33", "<3a", "<<3", "a<3", "'", "-", "a'", "a-", "a'-b", "a''b", "a'b'c",
            "a-b-c-", "--a--", "!?!", "x:)y", ":):(", "&", "&amp;:)", "<b>:)</b>", "A:D", ":D",
            ":P1", "Don't", "1-2-3", "a\0b", "\x7f:)", "\t:-(\n",
        };
        for (size_t i = 0; i < sizeof adv / sizeof adv[0]; i++) compare(adv[i], strlen(adv[i]));
        /* Random strings over the characters that matter. */
        static const char alpha[] = "aZdDpP09'-:;=()<3!? \t\n&#;x>b/";
        rng r;
        rng_seed(&r, 42 + (uint64_t)v);
        char buf[64];
        for (int k = 0; k < 60000; k++) {
            size_t n = rng_u64(&r) % sizeof buf;
            for (size_t i = 0; i < n; i++) buf[i] = alpha[rng_u64(&r) % (sizeof alpha - 1)];
            compare(buf, n);
        }
        /* Random bytes, including non-ASCII (those documents take the PCRE2 path in both). */
        for (int k = 0; k < 20000; k++) {
            size_t n = rng_u64(&r) % sizeof buf;
            for (size_t i = 0; i < n; i++) buf[i] = (char)(rng_u64(&r) & 0xff);
            compare(buf, n);
        }
        /* Random strings mixing the ASCII that matters with non-ASCII letters, marks,
         * digits (\p{N}: Arabic-Indic, superscript, circled), U+2019, punctuation,
         * symbols and characters above U+FFFF: the scanner's classes against PCRE2's. */
        static const char *const upool[] = {
            "a", "Z", "3", "'", "-", ":", ";", "=", "d", "p", "(", ")", "<", "!", " ",
            "\xc3\xa9" /* é */, "\xcc\x81" /* U+0301 */, "\xe2\x80\x99" /* U+2019 */,
            "\xd9\xa3" /* ٣ */, "\xc2\xb2" /* ² */, "\xe2\x91\xa0" /* ① */,
            "\xe2\x80\x94" /* — */, "\xe2\x80\x9c" /* “ */, "\xc2\xb4" /* ´ */,
            "\xef\xbf\xbd" /* U+FFFD */, "\xe4\xb8\xad" /* 中 */, "\xce\xa3" /* Σ */,
            "\xf0\x9f\x98\x80" /* U+1F600 */, "\xf0\x9d\x90\x80" /* U+1D400 bold A */,
            "\xf0\x9d\x9f\x8e" /* U+1D7CE bold 0 */, "\xe2\x80\x98" /* ‘ */,
            "\xc2\xa0" /* NBSP */, "\xe0\xa4\x95" /* क */, "\xe0\xa5\x8d" /* virama */,
        };
        char ubuf[256];
        for (int k = 0; k < 30000; k++) {
            size_t len = 0, m = rng_u64(&r) % 24;
            for (size_t i = 0; i < m; i++) {
                const char *u = upool[rng_u64(&r) % (sizeof upool / sizeof upool[0])];
                memcpy(ubuf + len, u, strlen(u));
                len += strlen(u);
            }
            compare(ubuf, len);
        }
        /* The fixture corpus. */
        const char *srcdir = getenv("IMDB_SRCDIR");
        char path[4096];
        snprintf(path, sizeof path, "%s/tests/fixtures/mini-aclImdb.tar.gz", srcdir ? srcdir : ".");
        imdb_err e;
        rawin *in = rawin_open(path, RAWIN_ACLIMDB_TAR, NULL, &e);
        CHECK(in != NULL, "%s", e.msg);
        rawin_doc d;
        int rc, docs = 0;
        while (in && (rc = rawin_next(in, &d, &e)) > 0) {
            compare(d.text, d.len);
            docs++;
        }
        CHECK(docs == 530, "fixture corpus: %d documents, want 530", docs);
        rawin_close(in);
        if (failures > f0) fprintf(stderr, "(variant html=%d casefold=%d)\n", html, fold);
        text_cleaner_free(fast_c);
        text_cleaner_free(ref_c);
    }
    free(pat);
    printf("unit_text: scanner and PCRE2 agree on %ld documents\n", compared);
}

/* Step 3 on random text against utf8proc_map on the whole string. */
static void test_nfkc(void)
{
    static const char *const pool[] = {
        "a", "E", "e", "K", "s", "i", "I", " ", "'", "-", "\xcc\x81" /* U+0301 */,
        "\xcc\x88" /* U+0308 */, "\xcc\xa7" /* U+0327 */, "\xcd\x85" /* U+0345 */,
        "\xc3\x9f" /* ß */, "\xe1\xba\x9e" /* ẞ */, "\xce\xa3" /* Σ */, "\xc4\xb0" /* İ */,
        "\xe2\x84\xaa" /* Kelvin */, "\xe2\x84\xab" /* Angstrom */, "\xef\xac\x81" /* ﬁ */,
        "\xef\xbc\xa1" /* Ａ */, "\xc2\xad" /* soft hyphen */, "\xe2\x80\x8d" /* ZWJ */,
        "\xef\xbb\xbf" /* BOM */, "\xe1\x84\x80" /* Hangul L */, "\xe1\x85\xa1" /* V */,
        "\xe1\x86\xa8" /* T */, "\xea\xb0\x80" /* 가 */, "\xf0\x9f\x98\x80" /* emoji */,
        "\xe2\x80\x99" /* ’ */, "\xc2\xa0" /* NBSP */, "\xef\xb7\xba" /* U+FDFA */,
        "\xe3\x8d\xb1" /* ㍱ */, "\xc3\x85" /* Å */, "A\xcc\x8a", "\xe0\xa4\x95\xe0\xa4\xbc",
    };
    text_cleaner *c = cleaner(0, 1, 1, "(?s).+");
    rng r;
    rng_seed(&r, 7);
    char buf[512];
    int bad = 0;
    for (int k = 0; k < 50000 && bad < 5; k++) {
        size_t n = 0, parts = rng_u64(&r) % 24;
        for (size_t i = 0; i < parts; i++) {
            const char *p = pool[rng_u64(&r) % (sizeof pool / sizeof pool[0])];
            memcpy(buf + n, p, strlen(p));
            n += strlen(p);
        }
        utf8proc_uint8_t *ref = NULL;
        utf8proc_ssize_t rn = utf8proc_map((const utf8proc_uint8_t *)buf, (utf8proc_ssize_t)n, &ref,
                                           UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT |
                                           UTF8PROC_CASEFOLD | UTF8PROC_IGNORE);
        if (rn < 0) {
            CHECK(0, "utf8proc_map failed");
            break;
        }
        /* The in-token rules: ASCII whitespace -> '_', U+2019 -> '\''. */
        char want[4096];
        size_t w = 0;
        for (utf8proc_ssize_t i = 0; i < rn; i++) {
            if (i + 2 < rn && ref[i] == 0xE2 && ref[i + 1] == 0x80 && ref[i + 2] == 0x99) {
                want[w++] = '\'';
                i += 2;
            } else {
                want[w++] = ref[i] == ' ' ? '_' : (char)ref[i];
            }
        }
        want[w] = '\0';
        free(ref);
        const char *const *toks;
        size_t nt = text_tokenize(c, buf, n, &toks);
        const char *got = nt ? toks[0] : "";
        if (nt > 1 || strcmp(got, want) != 0) {
            bad++;
            CHECK(0, "NFKC_Casefold of \"%.*s\":\n  got:  \"%s\"\n  want: \"%s\"", (int)n, buf, got, want);
        }
    }
    text_cleaner_free(c);
}

/* Pathological input must stay linear. */
static void test_adversarial(void)
{
    size_t n = 4u << 20;
    char *s = malloc(n);
    static const char *const units[] = {"<a", "<!", "&#", "&amp", "a-", ":-", "\xe2\x82", "e\xcc\x81"};
    text_cleaner *c = cleaner(1, 1, 1, NULL);
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        size_t l = strlen(units[u]);
        for (size_t i = 0; i < n; i++) s[i] = units[u][i % l];
        double t0 = imdb_now();
        const char *const *toks;
        text_tokenize(c, s, n, &toks);
        double dt = imdb_now() - t0;
        CHECK(dt < 2.0, "%.1f s on 4 MiB of \"%s\"", dt, units[u]);
    }
    /* The largest growth of step 1: every byte replaced by a 3-byte U+FFFD, or every
     * 4-byte entity decoded to a 4-byte character. */
    {
        text_cleaner *r = cleaner(1, 0, 0, "(?s).+");
        memset(s, 0xff, 100000);
        const char *const *t;
        size_t k = text_tokenize(r, s, 100000, &t);
        CHECK(k == 1 && strlen(t[0]) == 300000, "100000 bad bytes");
        for (size_t i = 0; i + 10 <= 100000; i += 10) memcpy(s + i, "&#x10FFFF;", 10);
        k = text_tokenize(r, s, 100000, &t);
        CHECK(k == 1 && strlen(t[0]) == 40000, "10000 entities");
        text_cleaner_free(r);
    }
    /* One 4 MiB word. */
    memset(s, 'a', n);
    const char *const *toks;
    size_t k = text_tokenize(c, s, n, &toks);
    CHECK(k == 1 && strlen(toks[0]) == n, "long word");
    text_cleaner_free(c);
    free(s);
}

int main(void)
{
    test_settings();
    test_rules();
    test_utf8();
    test_nfkc();
    test_scanner();
    test_adversarial();
    if (failures) return test_status("unit_text");
    printf("unit_text: all passed\n");
    return 0;
}
