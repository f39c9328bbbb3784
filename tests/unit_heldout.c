/* unit_heldout.c — the "heldout" section: written by heldout_add and read back through a
 * model file, found by binary search; hand-made sections that are truncated, unsorted or
 * out of range are refused; duplicate ids are left out rather than guessed. */
#include "heldout.h"
#include "feat.h"
#include "tokio.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


/* A hand-made record. */
static void rec(unsigned char *p, uint64_t key, float prob, uint32_t label)
{
    uint32_t bits;
    memcpy(&bits, &prob, 4);
    put_u64le(p, key);
    put_u32le(p + 8, bits);
    put_u32le(p + 12, label);
}

static uint64_t key_of(const char *id) { return feat_hash_token(id, strlen(id)); }

int main(void)
{
    imdb_err e = { 0 };
    char path[] = "/tmp/unit_heldout.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) { printf("FAIL: mkstemp\n"); return 1; }
    close(fd);

    /* Documents: ids, labels; "dup" appears twice, "c" is left out of the section. */
    char *ids[] = { "train/pos/1_10", "train/neg/2_1", "dup", "c", "dup", "x" };
    int labels[] = { TOKIO_POS, TOKIO_NEG, TOKIO_POS, TOKIO_NEG, TOKIO_NEG, TOKIO_POS };
    train_docs d = { .n = 6, .label = labels, .id = ids };
    uint32_t docs[] = { 0, 1, 2, 4, 5 };
    double prob[] = { 0.875, 0.25, 0.5, 0.5, 1.5 };   /* 1.5 is clamped to 1 */
    modelio_writer *w = modelio_create(path, &e);
    if (!w || heldout_add(w, &d, docs, prob, 5, &e) < 0 || modelio_commit(w, &e) < 0) {
        printf("FAIL: write: %s\n", e.msg);
        return 1;
    }
    modelio *m = modelio_open(path, &e);
    if (!m) { printf("FAIL: open: %s\n", e.msg); return 1; }
    size_t size;
    const void *sec = modelio_get(m, HELDOUT_SECTION, &size);
    CHECK(sec && size == 8 + 3 * HELDOUT_RECORD, "section of %zu bytes, expected 3 records", size);
    CHECK(heldout_check(sec, size, "t", &e) == 3, "check: %s", e.msg);
    double p = -1;
    int l = -1;
    CHECK(heldout_find(sec, size, "train/pos/1_10", &p, &l) == 1 && p == 0.875 && l == 1, "find pos: %g %d", p, l);
    CHECK(heldout_find(sec, size, "train/neg/2_1", &p, &l) == 1 && p == 0.25 && l == 0, "find neg: %g %d", p, l);
    CHECK(heldout_find(sec, size, "x", &p, NULL) == 1 && p == 1.0, "clamped: %g", p);
    CHECK(heldout_find(sec, size, "dup", &p, &l) == 0, "a duplicate id was kept");
    CHECK(heldout_find(sec, size, "c", &p, &l) == 0, "an id never added was found");
    CHECK(heldout_find(sec, size, "", &p, &l) == 0, "the empty id was found");
    modelio_close(m);

    /* NaN is a bug in the caller. */
    double nan_prob[] = { NAN };
    w = modelio_create(path, &e);
    CHECK(heldout_add(w, &d, docs, nan_prob, 1, &e) < 0 && e.status == IMDB_EXIT_INTERNAL, "NaN accepted");
    modelio_abort(w);
    /* An empty section is valid. */
    unsigned char empty[8];
    put_u64le(empty, 0);
    CHECK(heldout_check(empty, 8, "t", &e) == 0, "empty section: %s", e.msg);
    CHECK(heldout_find(empty, 8, "a", &p, &l) == 0, "found in an empty section");

    /* Hand-made: 4 sorted records. */
    const char *hid[] = { "a", "b", "c", "d" };
    uint64_t keys[4];
    for (int i = 0; i < 4; i++) keys[i] = key_of(hid[i]);
    for (int i = 0; i < 4; i++)   /* sort the 4 keys */
        for (int j = i + 1; j < 4; j++)
            if (keys[j] < keys[i]) { uint64_t t = keys[i]; keys[i] = keys[j]; keys[j] = t; }
    unsigned char s[8 + 4 * HELDOUT_RECORD];
    put_u64le(s, 4);
    for (int i = 0; i < 4; i++) rec(s + 8 + i * HELDOUT_RECORD, keys[i], 0.1f * (float)(i + 1), (uint32_t)(i & 1));
    CHECK(heldout_check(s, sizeof s, "t", &e) == 4, "hand-made: %s", e.msg);
    for (int i = 0; i < 4; i++) {
        int found = heldout_find(s, sizeof s, hid[i], &p, &l);
        int at = 0;
        while (keys[at] != key_of(hid[i])) at++;
        CHECK(found == 1 && fabs(p - 0.1 * (at + 1)) < 1e-6 && l == (at & 1), "hand-made %s: %d %g %d",
              hid[i], found, p, l);
    }
    CHECK(heldout_find(s, sizeof s, "e", &p, &l) == 0, "hand-made: found an absent id");

    /* Truncated: the size does not match the count (short by a byte, by a record, or
     * shorter than the count itself), and a count too large for any size. */
    size_t cuts[] = { sizeof s - 1, sizeof s - HELDOUT_RECORD, 7, 0 };
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        e.status = 0;
        CHECK(heldout_check(s, cuts[i], "t.model", &e) < 0 && e.status == IMDB_EXIT_DATA &&
              strstr(e.msg, "t.model: heldout section"), "truncated to %zu accepted: %s", cuts[i], e.msg);
        CHECK(heldout_find(s, cuts[i], "a", &p, &l) == -1, "find in a section truncated to %zu", cuts[i]);
    }
    CHECK(heldout_find(NULL, 0, "a", &p, &l) == -1, "find in no section");
    unsigned char big[8 + HELDOUT_RECORD];
    memcpy(big, s, sizeof big);
    put_u64le(big, UINT64_MAX / 8);
    CHECK(heldout_check(big, sizeof big, "t", &e) < 0, "huge count accepted");
    CHECK(heldout_find(big, sizeof big, "a", &p, &l) == -1, "find with a huge count");

    /* Corrupt records: unsorted, repeated, key 0, probability out of range or NaN, bad label. */
    unsigned char b[sizeof s];
    memcpy(b, s, sizeof s);
    rec(b + 8, keys[1], 0.5f, 0);
    rec(b + 8 + HELDOUT_RECORD, keys[0], 0.5f, 0);
    CHECK(heldout_check(b, sizeof b, "t", &e) < 0 && strstr(e.msg, "record 1"), "unsorted: %s", e.msg);
    memcpy(b, s, sizeof s);
    rec(b + 8 + HELDOUT_RECORD, keys[0], 0.5f, 0);
    CHECK(heldout_check(b, sizeof b, "t", &e) < 0, "repeated key accepted");
    memcpy(b, s, sizeof s);
    rec(b + 8, 0, 0.5f, 0);
    CHECK(heldout_check(b, sizeof b, "t", &e) < 0, "key 0 accepted");
    memcpy(b, s, sizeof s);
    rec(b + 8, keys[0], 1.5f, 0);
    CHECK(heldout_check(b, sizeof b, "t", &e) < 0, "probability 1.5 accepted");
    rec(b + 8, keys[0], NAN, 0);
    CHECK(heldout_check(b, sizeof b, "t", &e) < 0, "NaN probability accepted");
    rec(b + 8, keys[0], 0.5f, 2);
    CHECK(heldout_check(b, sizeof b, "t", &e) < 0, "label 2 accepted");

    unlink(path);
    if (!failures) printf("unit_heldout: ok\n");
    return test_status("unit_heldout");
}
