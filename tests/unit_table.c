/* unit_table.c — the pieces of imdb-clean's tables: the JSON object reader (jsonl_:
 * escapes, surrogates, numbers, literals, skipped nesting, every syntax error with its
 * column, deep nesting, NUL bytes and invalid UTF-8 kept), the label rules (table_labels_:
 * maps, numeric matching, ratings, bad specs) through a table read from a file, and the
 * split by hash (shard_split_: parsing, the documented bucket rule against Python's
 * integers, disjoint and covering parts, proportions). */
#include "jsonl.h"
#include "shard.h"
#include "table.h"
#include "testutil.h"
#include "tokio.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static jsonl *J;

/* Parse s with the names "a", "b"; return the rc, the values in v. */
static int parse(const char *s, size_t n, jsonl_value *v, size_t *col, imdb_err *e)
{
    static const char *const names[] = {"a", "b"};
    *col = 0;
    return jsonl_parse(J, s, n, names, 2, v, col, e);
}

static void ok_case(const char *s, jsonl_type ta, const char *a, size_t alen, jsonl_type tb,
                    const char *b)
{
    jsonl_value v[2];
    size_t col;
    imdb_err e = {0, ""};
    int rc = parse(s, strlen(s), v, &col, &e);
    CHECK(rc == 1, "%s: rc %d (%zu: %s)", s, rc, col, e.msg);
    if (rc != 1) return;
    CHECK(v[0].type == ta, "%s: a has type %d, expected %d", s, v[0].type, ta);
    if (a) CHECK(v[0].len == alen && memcmp(v[0].text, a, alen) == 0 && v[0].text[alen] == '\0',
                 "%s: a is '%.*s' (%zu bytes)", s, (int)v[0].len, v[0].text, v[0].len);
    CHECK(v[1].type == tb, "%s: b has type %d, expected %d", s, v[1].type, tb);
    if (b) CHECK(v[1].len == strlen(b) && memcmp(v[1].text, b, v[1].len) == 0,
                 "%s: b is '%.*s'", s, (int)v[1].len, v[1].text);
}

static void bad_case(const char *s, size_t n, size_t want_col, const char *want_msg)
{
    jsonl_value v[2];
    size_t col;
    imdb_err e = {0, ""};
    int rc = parse(s, n, v, &col, &e);
    CHECK(rc == -1 && e.status == IMDB_EXIT_DATA && col == want_col && strstr(e.msg, want_msg),
          "'%.40s': rc %d, column %zu (expected %zu), '%s' (expected '%s')", s, rc, col, want_col,
          e.msg, want_msg);
}

static void test_jsonl(void)
{
    J = jsonl_new();
    ok_case("{\"a\":\"x\",\"b\":5}", JSONL_STRING, "x", 1, JSONL_NUMBER, "5");
    ok_case(" { \"b\" : -1.5e+3 , \"a\" : \"\" } ", JSONL_STRING, "", 0, JSONL_NUMBER, "-1.5e+3");
    ok_case("{\"a\":true,\"b\":null}", JSONL_LITERAL, "true", 4, JSONL_LITERAL, "null");
    ok_case("{}", JSONL_ABSENT, NULL, 0, JSONL_ABSENT, NULL);
    ok_case("{\"c\":1}", JSONL_ABSENT, NULL, 0, JSONL_ABSENT, NULL);
    /* Escapes: every one, \u with BMP, a surrogate pair, a lone surrogate, \u0000. */
    ok_case("{\"a\":\"q\\\"b\\\\s\\/b\\bf\\fn\\nr\\rt\\t\"}", JSONL_STRING, "q\"b\\s/b\bf\fn\nr\rt\t",
            16, JSONL_ABSENT, NULL);
    ok_case("{\"a\":\"\\u00e9\\u20AC\\ud83d\\ude00\"}", JSONL_STRING, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
            9, JSONL_ABSENT, NULL);
    ok_case("{\"a\":\"\\ud800x\\udc00\"}", JSONL_STRING, "\xef\xbf\xbdx\xef\xbf\xbd", 7, JSONL_ABSENT, NULL);
    ok_case("{\"a\":\"x\\u0000y\"}", JSONL_STRING, "x\0y", 3, JSONL_ABSENT, NULL);
    /* An escaped name matches; raw bytes (invalid UTF-8, TAB, NUL) in strings are kept. */
    ok_case("{\"\\u0061\":\"1\"}", JSONL_STRING, "1", 1, JSONL_ABSENT, NULL);
    {
        static const char s[] = "{\"a\":\"\xff\t\0z\"}";
        jsonl_value v[2];
        size_t col;
        imdb_err e;
        CHECK(parse(s, sizeof s - 1, v, &col, &e) == 1 && v[0].len == 4 &&
              memcmp(v[0].text, "\xff\t\0z", 4) == 0, "raw bytes in a string: %s", e.msg);
    }
    /* Nesting: skipped elsewhere, reported in a wanted member, with its column. */
    ok_case("{\"x\":{\"y\":[1,{\"z\":[]},\"]}\"],\"w\":{}},\"a\":\"k\"}", JSONL_STRING, "k", 1,
            JSONL_ABSENT, NULL);
    {
        jsonl_value v[2];
        size_t col;
        imdb_err e;
        CHECK(parse("{\"b\":[1,2],\"a\":\"k\"}", 19, v, &col, &e) == 1 &&
              v[1].type == JSONL_NESTED && v[1].col == 6 && v[1].text == NULL,
              "a nested wanted member is JSONL_NESTED at column 6 (%d, %zu)", v[1].type, v[1].col);
    }
    /* Blank lines. */
    {
        jsonl_value v[2];
        size_t col;
        imdb_err e;
        CHECK(parse("", 0, v, &col, &e) == 0 && parse(" \t ", 3, v, &col, &e) == 0, "blank lines");
    }
    /* Syntax errors: column of the offending byte, message without position. */
    bad_case("[1]", 3, 1, "expected a JSON object ('{'), found '['");
    bad_case("{\"a\":1,}", 8, 8, "expected a member name (a string), found '}'");
    bad_case("{\"a\" 1}", 7, 6, "expected ':' after a member name, found '1'");
    bad_case("{\"a\":1 \"b\":2}", 13, 8, "expected ',' or '}' after a member, found '\"'");
    bad_case("{\"a\":\"x}", 8, 6, "unterminated string (the quote opened here)");
    bad_case("{\"a\":\"\\q\"}", 10, 7, "invalid escape: backslash before 'q' in a string");
    bad_case("{\"a\":\"\\u12g4\"}", 14, 7, "invalid \\u escape (expected 4 hex digits)");
    bad_case("{\"a\":01}", 8, 7, "expected ',' or '}' after a member, found '1'");
    bad_case("{\"a\":1.}", 8, 6, "invalid number (no digit after '.')");
    bad_case("{\"a\":1e}", 8, 6, "invalid number (no digit in the exponent)");
    bad_case("{\"a\":tru}", 9, 6, "expected a value, found 't'");
    bad_case("{\"a\":}", 6, 6, "expected a value, found '}'");
    bad_case("{\"a\":1} x", 9, 9, "'x' after the end of the object");
    bad_case("{\"a\":1}{}", 9, 8, "'{' after the end of the object");
    bad_case("{\"a\":1,\"a\":2}", 13, 8, "member \"a\" appears twice in the object");
    bad_case("{\"c\":[1,}", 9, 9, "expected a value, found '}'");
    bad_case("{\"c\":[1 2]}", 11, 9, "expected ',' or ']', found '2'");
    bad_case("{\"c\":{\"d\" 1}}", 13, 11, "expected ':' after a member name, found '1'");
    bad_case("{\"c\":[", 6, 7, "expected a value, found the end of the line");
    bad_case("{\"a\":\"x\0", 8, 6, "unterminated string");
    bad_case("\0", 1, 1, "expected a JSON object ('{'), found byte 0x00");
    /* Deep nesting: JSONL_MAX_DEPTH levels are skipped, one more is refused; a million
     * levels cost no stack. */
    {
        size_t n = 2000000;
        char *s = imdb_xmalloc(n + 16);
        size_t k = 0;
        memcpy(s, "{\"c\":", 5);
        k = 5;
        for (int d = 0; d < JSONL_MAX_DEPTH; d++) s[k++] = '[';
        for (int d = 0; d < JSONL_MAX_DEPTH; d++) s[k++] = ']';
        s[k++] = '}';
        jsonl_value v[2];
        size_t col;
        imdb_err e;
        CHECK(parse(s, k, v, &col, &e) == 1, "%d levels: %s", JSONL_MAX_DEPTH, e.msg);
        k = 5;
        for (size_t d = 0; d < n; d++) s[k++] = '[';
        bad_case(s, k, 5 + JSONL_MAX_DEPTH + 1, "values nested deeper than");
        free(s);
    }
    jsonl_free(J);
}

/* Write s to a file, read it as fmt with spec; the rows as "LABEL ID TEXT|" joined into
 * out, or "ERROR msg". */
static void read_table(const char *s, table_format fmt, const table_spec *spec, char *out,
                       size_t cap)
{
    char path[] = "/tmp/unit_table.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s)) {
        snprintf(out, cap, "ERROR mkstemp");
        return;
    }
    close(fd);
    imdb_err e;
    table *t = table_open(path, "T", fmt, spec, &e);
    size_t k = 0;
    out[0] = '\0';
    if (t) {
        table_row r;
        int rc;
        while ((rc = table_next(t, &r, &e)) > 0 && k < cap)
            k += (size_t)snprintf(out + k, cap - k, "%s %s %.*s|", tokio_label_name(r.label), r.id,
                                  (int)r.len, r.text);
        if (rc < 0) snprintf(out, cap, "ERROR %.900s", e.msg);
        table_close(t);
    } else {
        snprintf(out, cap, "ERROR %.900s", e.msg);
    }
    unlink(path);
}

static void test_labels(void)
{
    imdb_err e;
    char got[1024];
    table_labels *m = table_labels_map(" pos = 1 , yes;neg=0,No ; -=? ", &e);
    CHECK(m != NULL, "map: %s", e.msg);
    table_spec sp = {"t", "l", NULL, m, 0};
    read_table("t,l\na,1\nb,1.0\nc, YES \nd,+0\ne,no\nf,?\n", TABLE_CSV, &sp, got, sizeof got);
    CHECK(strcmp(got, "pos 2 a|pos 3 b|pos 4 c|neg 5 d|neg 6 e|- 7 f|") == 0, "map: %s", got);
    read_table("t,l\na,1\nb,2\n", TABLE_CSV, &sp, got, sizeof got);
    CHECK(strcmp(got, "ERROR T:3:3: unknown label '2' in column 'l' (the label map is ' pos = 1 , "
                      "yes;neg=0,No ; -=? '; --drop-unknown drops such rows)") == 0, "%s", got);
    sp.drop_unknown = 1;
    read_table("t,l\na,1\nb,2\nc,x\n", TABLE_CSV, &sp, got, sizeof got);
    CHECK(strcmp(got, "pos 2 a|") == 0, "drop: %s", got);
    table_labels_free(m);

    m = table_labels_rating("7:4", &e);
    CHECK(m != NULL, "rating: %s", e.msg);
    table_spec rs = {NULL, "stars", NULL, m, 0};
    read_table("{\"text\":\"a\",\"stars\":7}\n{\"text\":\"b\",\"stars\":\"4.0\"}\n"
               "{\"text\":\"c\",\"stars\":5}\n{\"text\":\"d\",\"stars\":10}\n", TABLE_JSONL, &rs,
               got, sizeof got);
    CHECK(strcmp(got, "pos 1 a|neg 2 b|pos 4 d|") == 0, "rating: %s", got);
    table_labels_free(m);

    static const char *const badmaps[] = {"", "pos", "pos=", "pos=1,", "pos=1;neg=1", "good=1",
                                          "pos=1;;neg=0", "=1", "pos=1;neg=0,1.0"};
    for (size_t i = 0; i < sizeof badmaps / sizeof badmaps[0]; i++) {
        e.status = 0;
        m = table_labels_map(badmaps[i], &e);
        CHECK(!m && e.status == IMDB_EXIT_USAGE, "map '%s' should be refused", badmaps[i]);
        table_labels_free(m);
    }
    static const char *const badrates[] = {"", "7", "7:", ":4", "4:7", "4:4", "x:1", "7:4:1",
                                           "inf:1", "0x10:1", "nan:1"};
    for (size_t i = 0; i < sizeof badrates / sizeof badrates[0]; i++) {
        e.status = 0;
        m = table_labels_rating(badrates[i], &e);
        CHECK(!m && e.status == IMDB_EXIT_USAGE, "rating '%s' should be refused", badrates[i]);
        table_labels_free(m);
    }
    m = table_labels_rating("4.5:-1e0", &e);
    CHECK(m != NULL, "rating 4.5:-1e0: %s", e.msg);
    table_labels_free(m);

    /* Defaults: text, else review; label, else sentiment, else unlabelled; id. */
    table_spec d = {NULL, NULL, NULL, NULL, 0};
    read_table("review,x,sentiment\nr1,,negative\n", TABLE_CSV, &d, got, sizeof got);
    CHECK(strcmp(got, "neg 2 r1|") == 0, "defaults: %s", got);
    read_table("ID\tText\nk1\thello world\n", TABLE_TSV, &d, got, sizeof got);
    CHECK(strcmp(got, "- k1 hello world|") == 0, "defaults, any case: %s", got);
    read_table("text,Text\na,b\n", TABLE_CSV, &d, got, sizeof got);
    CHECK(strcmp(got, "- 2 a|") == 0, "the exact name first: %s", got);
    read_table("TEXT,Text\na,b\n", TABLE_CSV, &d, got, sizeof got);
    CHECK(strcmp(got, "ERROR T:1: column 'text' appears twice in the header (fields 1 and 2)") == 0,
          "%s", got);
}

/* The documented rule, written out again: FNV-1a 64, splitmix64's finalizer, top 32 bits
 * scaled to the sum of the weights. */
static int ref_part(const char *key, size_t len, const unsigned *w, int n)
{
    uint64_t h = 0xcbf29ce484222325ULL, W = 0, c = 0;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)key[i]) * 0x100000001b3ULL;
    h = (h ^ h >> 30) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ h >> 27) * 0x94d049bb133111ebULL;
    h ^= h >> 31;
    for (int i = 0; i < n; i++) W += w[i];
    uint64_t b = ((h >> 32) * W) >> 32;
    for (int i = 0; i < n; i++)
        if (b < (c += w[i])) return i;
    return -1;
}

static void test_split(void)
{
    imdb_err e;
    shard_split s;
    CHECK(shard_split_parse("fit=80,valid=10,test=10", "valid", &s, &e) == 0 && s.nparts == 3 &&
          s.keep == 1 && s.cum[2] == 100, "parse: %s", e.msg);
    /* Pinned with Python's integers (see the test's history): the rule may not drift. */
    static const struct { const char *key; int p[3]; } pin[] = {
        {"train/pos/0_9", {0, 1, 3}}, {"a1", {0, 1, 2}}, {"17", {0, 0, 2}},
        {"Loved it", {0, 1, 3}}, {"", {2, 1, 3}},
    };
    static const char *const specs[3] = {"fit=80,valid=10,test=10", "a=1,b=1", "p=3,q=5,r=7,s=11"};
    for (size_t i = 0; i < sizeof pin / sizeof pin[0]; i++)
        for (int k = 0; k < 3; k++) {
            shard_split t;
            shard_split_parse(specs[k], k == 0 ? "fit" : k == 1 ? "a" : "p", &t, &e);
            int got = shard_split_part(&t, pin[i].key, strlen(pin[i].key));
            CHECK(got == pin[i].p[k], "'%s' in %s: part %d, expected %d", pin[i].key, specs[k],
                  got, pin[i].p[k]);
        }
    /* Against the reference; every key in exactly one kept part; the shares. */
    static const unsigned w[3] = {80, 10, 10};
    unsigned count[3] = {0, 0, 0};
    shard_split parts[3];
    static const char *const names[3] = {"fit", "valid", "test"};
    for (int k = 0; k < 3; k++) shard_split_parse(specs[0], names[k], &parts[k], &e);
    for (int i = 0; i < 20000; i++) {
        char key[32];
        int n = snprintf(key, sizeof key, "row-%d", i);
        int p = shard_split_part(&s, key, (size_t)n);
        CHECK(p == ref_part(key, (size_t)n, w, 3), "'%s': part %d, the reference says %d", key, p,
              ref_part(key, (size_t)n, w, 3));
        int owners = 0;
        for (int k = 0; k < 3; k++) owners += shard_split_keep(&parts[k], key, (size_t)n);
        CHECK(owners == 1, "'%s' kept by %d parts", key, owners);
        count[p]++;
    }
    /* Binomial: 20,000 × 0.1 = 2,000 ± 42 (one sd); 6 sd of room. */
    CHECK(count[0] > 15750 && count[0] < 16250 && count[1] > 1750 && count[1] < 2250 &&
          count[2] > 1750 && count[2] < 2250, "shares %u/%u/%u of 20000", count[0], count[1],
          count[2]);
    shard_split none;
    memset(&none, 0, sizeof none);
    CHECK(shard_split_keep(&none, "x", 1), "no split keeps everything");
    static const char *const bad[] = {"", "fit", "fit=", "fit=0", "fit=1,", "fit=1,fit=2",
                                      "fit=-1", "fit=1.5", "f t=1", "a=999999,b=2",
                                      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1",
                                      "a=1,b=1,c=1,d=1,e=1,f=1,g=1,h=1,i=1,j=1,k=1,l=1,m=1,n=1,o=1,p=1,q=1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e.status = 0;
        CHECK(shard_split_parse(bad[i], "fit", &s, &e) < 0 && e.status == IMDB_EXIT_USAGE,
              "split '%s' should be refused", bad[i]);
    }
    e.msg[0] = '\0';
    CHECK(shard_split_parse("fit=8,valid=2", "test", &s, &e) < 0 &&
          strcmp(e.msg, "unknown part 'test' (the split 'fit=8,valid=2' has fit, valid)") == 0,
          "unknown part: %s", e.msg);
}

int main(void)
{
    test_jsonl();
    test_labels();
    test_split();
    if (failures) return test_status("unit_table");
    printf("unit_table: ok\n");
    return 0;
}
