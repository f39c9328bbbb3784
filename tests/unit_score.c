/* unit_score.c — the output buffer (buf.h), the JSON writer (json.h), the UTF-8
 * validator (utf8.h), result lines (score.h) and the cleaning-settings check (text.h):
 *   - buf: growth, NUL termination, printf past the first allocation, take/clear, and an
 *     allocation that cannot succeed (and a size that overflows) reported as a sticky
 *     failure, not an exit;
 *   - json: each style's escapes, invalid UTF-8 as one \ufffd per byte, each number
 *     style, and JSON_SERVE differentially against jansson's json_dumps (which imdb-serve
 *     used to write its answers) on random valid UTF-8 strings and random numbers;
 *   - score_format_result: TSV and JSON lines, with and without ids, files, explanations;
 *   - text_settings_same / text_settings_check.
 * Exit status 0 if every check passes, 1 otherwise. */
#include "buf.h"
#include "json.h"
#include "rng.h"
#include "score.h"
#include "text.h"
#include "utf8.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Under ASan an impossible allocation must return NULL (as malloc does), not abort. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }

static int failures;

#define CHECK(c) do { if (!(c)) { failures++; fprintf(stderr, "FAIL: %s:%d: %s\n", __FILE__, __LINE__, #c); } } while (0)

/* b's content equals want (a C string), then b is cleared. */
static void expect(buf *b, const char *want, int line)
{
    if (buf_failed(b) || b->len != strlen(want) || memcmp(b->p, want, b->len) != 0) {
        failures++;
        fprintf(stderr, "FAIL: line %d: got '%.*s' (%zu bytes%s), want '%s'\n", line,
                (int)(b->p ? b->len : 0), b->p ? b->p : "", b->len,
                buf_failed(b) ? ", failed" : "", want);
    }
    buf_clear(b);
}
#define EXPECT(b, want) expect(b, want, __LINE__)

static void test_buf(void)
{
    buf b = {0};
    CHECK(!buf_failed(&b) && b.len == 0 && b.p == NULL);
    buf_add(&b, NULL, 0);
    CHECK(!buf_failed(&b) && b.p && b.p[0] == '\0');
    buf_str(&b, "abc");
    buf_char(&b, '-');
    buf_add(&b, "x\0y", 3);
    CHECK(b.len == 7 && memcmp(b.p, "abc-x\0y", 7) == 0 && b.p[7] == '\0');
    buf_clear(&b);
    /* Many small appends and printf across reallocations. */
    for (int i = 0; i < 10000; i++) buf_printf(&b, "%d,", i % 10);
    CHECK(b.len == 20000 && b.p[19998] == '9' && b.p[20000] == '\0');
    buf_clear(&b);
    char big[5000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    buf_str(&b, "<");
    buf_printf(&b, "%s>", big);   /* longer than the room there is: formatted twice */
    CHECK(b.len == 5001 && b.p[0] == '<' && b.p[4999] == 'z' && b.p[5000] == '>' && b.p[5001] == '\0');
    char *s = buf_take(&b);
    CHECK(s && strlen(s) == 5001);
    free(s);
    CHECK(b.p == NULL && b.len == 0 && b.cap == 0);
    s = buf_take(&b);   /* nothing appended: an empty string */
    CHECK(s && s[0] == '\0');
    free(s);

    /* Out of memory: a size no allocator gives, then one that overflows. */
    buf_str(&b, "kept");
    CHECK(buf_reserve(&b, SIZE_MAX / 4) < 0);
    CHECK(buf_failed(&b));
    buf_str(&b, "ignored");
    buf_printf(&b, "%d", 42);
    json_str(&b, "x", 1, JSON_PREDICT);
    CHECK(b.len == 4 && strcmp(b.p, "kept") == 0);   /* the content so far is intact */
    CHECK(buf_reserve(&b, 1) < 0);                    /* sticky */
    CHECK(buf_take(&b) == NULL);                      /* and reported */
    buf_str(&b, "x");
    CHECK(buf_reserve(&b, SIZE_MAX) < 0 && buf_failed(&b));
    buf_clear(&b);   /* forgets the failure */
    CHECK(!buf_failed(&b));
    buf_str(&b, "again");
    EXPECT(&b, "again");
    /* A huge single append fails the same way. */
    buf_add(&b, "", SIZE_MAX - 1);
    CHECK(buf_failed(&b) && b.len == 0);
    buf_free(&b);
}

static void test_utf8(void)
{
    const unsigned char ok2[] = {0xC3, 0xA9}, ok4[] = {0xF0, 0x9F, 0x98, 0x80};
    size_t bad = 0;
    CHECK(utf8_seq(ok2, 2, NULL) == 2 && utf8_seq(ok4, 4, NULL) == 4);
    CHECK(utf8_seq(ok4, 3, &bad) == 0 && bad == 3);                          /* truncated */
    CHECK(utf8_seq((const unsigned char *)"\xC0\xAF", 2, &bad) == 0 && bad == 1);   /* overlong */
    CHECK(utf8_seq((const unsigned char *)"\xED\xA0\x80", 3, &bad) == 0 && bad == 1); /* surrogate */
    CHECK(utf8_seq((const unsigned char *)"\xF4\x90\x80\x80", 4, &bad) == 0 && bad == 1); /* > U+10FFFF */
    CHECK(utf8_seq((const unsigned char *)"\x80", 1, &bad) == 0 && bad == 1);
    CHECK(utf8_valid("caf\xC3\xA9 \xE2\x80\x9C", 9));
    CHECK(!utf8_valid("caf\xC3", 4));
    CHECK(utf8_valid("a\0b", 3));
    CHECK(utf8_cut("abc", 3, 3) == 3 && utf8_cut("abcd", 4, 3) == 3);
    CHECK(utf8_cut("ab\xC3\xA9", 4, 3) == 2);   /* not inside the e-acute */
    CHECK(utf8_cut("\xF0\x9F\x98\x80", 4, 3) == 0);
}

static void test_json_strings(void)
{
    buf b = {0};
    /* Each style's control characters. */
    const char ctl[] = "\"\\/\b\f\n\r\t\001\037\177";
    json_str(&b, ctl, sizeof ctl - 1, JSON_PREDICT);
    EXPECT(&b, "\"\\\"\\\\/\\u0008\\u000c\\n\\r\\t\\u0001\\u001f\177\"");
    json_str(&b, ctl, sizeof ctl - 1, JSON_EVAL);
    EXPECT(&b, "\"\\\"\\\\/\\u0008\\u000c\\u000a\\u000d\\u0009\\u0001\\u001f\\u007f\"");
    json_str(&b, ctl, sizeof ctl - 1, JSON_SERVE);
    EXPECT(&b, "\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\\u001F\177\"");
    json_str(&b, "\033x", 2, JSON_PREDICT);
    EXPECT(&b, "\"\\u001bx\"");
    json_str(&b, "\033x", 2, JSON_SERVE);
    EXPECT(&b, "\"\\u001Bx\"");
    json_str(&b, "a\0b", 3, JSON_PREDICT);
    EXPECT(&b, "\"a\\u0000b\"");
    /* Invalid UTF-8: one \ufffd per byte; well-formed sequences kept. */
    for (int st = JSON_PREDICT; st <= JSON_SERVE; st++) {
        json_str(&b, "\xC3\xA9\xF0\x9F\x98\x80", 6, (json_style)st);
        EXPECT(&b, "\"\xC3\xA9\xF0\x9F\x98\x80\"");
        json_str(&b, "a\xFF" "b\xC0\xAF" "c\xED\xA0\x80" "d\xE2\x82", 12, (json_style)st);
        EXPECT(&b, "\"a\\ufffdb\\ufffd\\ufffdc\\ufffd\\ufffd\\ufffdd\\ufffd\\ufffd\"");
        json_str(&b, "\xF4\x90\x80\x80", 4, (json_style)st);
        EXPECT(&b, "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
    }
    json_str(&b, "", 0, JSON_PREDICT);
    EXPECT(&b, "\"\"");
    json_cstr(&b, NULL, JSON_SERVE);
    EXPECT(&b, "null");
    json_str_part(&b, "a\"b", 3, JSON_PREDICT);
    EXPECT(&b, "a\\\"b");
    json_int(&b, -1234567890123LL);
    EXPECT(&b, "-1234567890123");
    json_bool(&b, 1);
    json_bool(&b, 0);
    EXPECT(&b, "truefalse");
    buf_free(&b);
}

static void test_json_numbers(void)
{
    buf b = {0};
    static const struct { double x; const char *predict, *serve; } cases[] = {
        {0.5, "0.500000", "0.5"},
        {1, "1.000000", "1.0"},
        {0, "0.000000", "0.0"},
        {0.9999996, "1.000000", "1.0"},
        {0.0000004, "0.000000", "0.0"},
        {0.000001, "0.000001", "1e-6"},
        {0.0000123456, "0.000012", "1.2e-5"},
        {0.0001234, "0.000123", "0.000123"},
        {-0.0123, "-0.012300", "-0.0123"},
        {-0.0000001, "-0.000000", "-0.0"},
        {123456789, "123456789.000000", "123456789.0"},
        {1e20, "100000000000000000000.000000", "1e20"},
        {-2.5e-300, "-0.000000", "-0.0"},
        {0.123456789, "0.123457", "0.123457"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_num(&b, cases[i].x, JSON_PREDICT);
        EXPECT(&b, cases[i].predict);
        json_num(&b, cases[i].x, JSON_SERVE);
        EXPECT(&b, cases[i].serve);
    }
    json_num(&b, NAN, JSON_PREDICT);
    EXPECT(&b, "null");
    json_num(&b, INFINITY, JSON_SERVE);
    EXPECT(&b, "null");
    json_num(&b, 1e300, JSON_PREDICT);   /* beyond imdb_fmt_fixed6's 32 bytes */
    CHECK(b.len == 301 + 7 && memcmp(b.p, "1000000000000000052504760255204420248704468581108159154915854115111802457988908195786371375080447864043704443832883878176942523235360430575644792184786706982848387200926575803737830233794788090059368953234970799945081119038967640880074652742780142494579258788820056842838115467196834763571475981740032.000000", 8) == 0);
    buf_clear(&b);
    buf_free(&b);
}

/* JSON_SERVE against jansson's json_dumps, which wrote imdb-serve's answers before. */
static void test_against_jansson(void)
{
    rng r;
    rng_seed(&r, 21);
    buf b = {0};
    long strings = 0, numbers = 0;
    for (int it = 0; it < 20000; it++) {
        /* A random string of ASCII (controls included) and some multi-byte characters. */
        char s[64];
        size_t n = 0, want = rng_u64(&r) % 40;
        while (n < want) {
            unsigned k = (unsigned)(rng_u64(&r) % 10);
            if (k < 6) s[n++] = (char)(rng_u64(&r) % 128);
            else if (k < 8) { memcpy(s + n, "\xC3\xA9", 2); n += 2; }
            else if (k < 9) { memcpy(s + n, "\xE2\x80\x9C", 3); n += 3; }
            else { memcpy(s + n, "\xF0\x9F\x98\x80", 4); n += 4; }
        }
        json_t *v = json_stringn(s, n);
        if (!v) continue;
        char *j = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(v);
        json_str(&b, s, n, JSON_SERVE);
        if (!j || strlen(j) != b.len || memcmp(j, b.p, b.len) != 0) {
            if (failures++ < 10)
                fprintf(stderr, "FAIL: string: jansson '%s', json_str '%.*s'\n", j ? j : "(null)", (int)b.len, b.p);
        }
        free(j);
        buf_clear(&b);
        strings++;

        /* A random number: probabilities, weights, and any exponent. */
        double x;
        switch (it % 4) {
        case 0: x = rng_uniform(&r); break;
        case 1: x = (rng_uniform(&r) - 0.5) * 8; break;
        case 2: x = ldexp(rng_uniform(&r), (int)(rng_u64(&r) % 120) - 60); break;
        default: x = (double)(rng_u64(&r) % 2000000) / 1e6; break;   /* exactly 6 decimals */
        }
        v = json_real(round(x * 1e6) / 1e6);
        j = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
        json_decref(v);
        json_num(&b, x, JSON_SERVE);
        if (!j || strlen(j) != b.len || memcmp(j, b.p, b.len) != 0) {
            if (failures++ < 10)
                fprintf(stderr, "FAIL: number %.17g: jansson '%s', json_num '%.*s'\n", x, j ? j : "(null)", (int)b.len, b.p);
        }
        free(j);
        buf_clear(&b);
        numbers++;
    }
    CHECK(strings > 15000 && numbers == 20000);
    buf_free(&b);
}

static void test_format(void)
{
    buf b = {0};
    const char *toks[] = {"not", "bad", "at", "all", "\xFF\"q"};
    clf_contrib c[] = {{0, 2, 1.25}, {3, 1, -0.0625}, {4, 1, 0.0000004}};
    score_result r = {0.75, toks, 5, c, 3};
    score_format tsv = {.threshold = 0.5};
    score_origin line7 = {.num = 7};
    score_format_result(&b, &tsv, &line7, &r);
    EXPECT(&b, "pos\t0.750000");
    tsv.id_out = 1;
    tsv.explain = 1;
    score_format_result(&b, &tsv, &line7, &r);
    EXPECT(&b, "7\tpos\t0.750000\tnot bad(+1.250) all(-0.062) \xFF\"q(+0.000)");
    score_origin id = {"doc\t1", 5, 0, NULL};
    tsv.threshold = 0.8;
    score_format_result(&b, &tsv, &id, &r);
    EXPECT(&b, "doc\t1\tneg\t0.750000\tnot bad(+1.250) all(-0.062) \xFF\"q(+0.000)");

    score_format js = {.json = 1, .style = JSON_PREDICT, .threshold = 0.5};
    score_format_result(&b, &js, &line7, &r);
    EXPECT(&b, "{\"id\":7,\"label\":\"pos\",\"probability\":0.750000}");
    js.explain = 1;
    score_origin file = {"a\"b", 3, 0, "x\\y.txt"};
    score_format_result(&b, &js, &file, &r);
    EXPECT(&b, "{\"id\":\"a\\\"b\",\"file\":\"x\\\\y.txt\",\"label\":\"pos\",\"probability\":0.750000,"
               "\"explain\":[{\"ngram\":\"not bad\",\"weight\":1.250000},{\"ngram\":\"all\",\"weight\":-0.062500},"
               "{\"ngram\":\"\\ufffd\\\"q\",\"weight\":0.000000}]}");
    js.style = JSON_SERVE;
    score_format_result(&b, &js, &line7, &r);
    EXPECT(&b, "{\"id\":7,\"label\":\"pos\",\"probability\":0.75,"
               "\"explain\":[{\"ngram\":\"not bad\",\"weight\":1.25},{\"ngram\":\"all\",\"weight\":-0.0625},"
               "{\"ngram\":\"\\ufffd\\\"q\",\"weight\":0.0}]}");
    r.ncontrib = 0;
    score_format_result(&b, &js, &line7, &r);
    EXPECT(&b, "{\"id\":7,\"label\":\"pos\",\"probability\":0.75,\"explain\":[]}");
    buf_free(&b);
}

static void test_settings(void)
{
    text_settings s;
    text_settings_default(&s);
    char *a = text_settings_format(&s);
    s.casefold = 0;
    char *other = text_settings_format(&s);
    text_settings_free(&s);
    /* The same settings, keys in another order and spaced differently. */
    char *pat = strstr(a, "pattern=");
    CHECK(pat != NULL);
    char shuffled[2048];
    snprintf(shuffled, sizeof shuffled, "casefold=1  %s nfkc=1 html=1", pat ? pat : "");
    CHECK(text_settings_same(a, a));
    CHECK(text_settings_same(a, shuffled));
    CHECK(!text_settings_same(a, other));
    CHECK(text_settings_same(NULL, NULL));
    CHECK(!text_settings_same(a, NULL) && !text_settings_same(NULL, a));
    imdb_err e = {0, ""};
    CHECK(text_settings_check("s.tok", a, shuffled, &e) == 0);
    CHECK(text_settings_check("s.tok", NULL, a, &e) == 0);
    CHECK(text_settings_check("s.tok", a, NULL, &e) == 0);
    CHECK(text_settings_check("s.tok", other, a, &e) < 0 && e.status == IMDB_EXIT_DATA);
    CHECK(strncmp(e.msg, "s.tok: cleaned with other settings than the model (stream: ", 59) == 0);
    free(a);
    free(other);
}

int main(void)
{
    test_buf();
    test_utf8();
    test_json_strings();
    test_json_numbers();
    test_against_jansson();
    test_format();
    test_settings();
    if (failures) {
        printf("FAIL: %d checks failed\n", failures);
        return 1;
    }
    printf("PASS: buf, utf8, json (styles, jansson), score lines, settings\n");
    return 0;
}
