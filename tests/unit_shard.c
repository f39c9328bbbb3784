/* unit_shard.c — the shard rule: test vectors of the documented hash (FNV-1a 64, then the
 * splitmix64 finalizer; computed independently with Python's integers), K/N parsing, and
 * that N shards partition a set of ids into disjoint, fairly sized parts. */
#include "shard.h"
#include "testutil.h"

#include <stdio.h>
#include <string.h>


int main(void)
{
    static const struct { const char *id; uint64_t h; } vec[] = {
        {"", UINT64_C(0xf52a15e9a9b5e89b)},
        {"1", UINT64_C(0x4687cd939adeafdf)},
        {"2", UINT64_C(0x51742610dcfe71a2)},
        {"17", UINT64_C(0x6a4481963632e6c0)},
        {"train/pos/0_9", UINT64_C(0xb97ea1a05cbd12b4)},
        {"test/neg/10112_1", UINT64_C(0x1b6985af599b1cc9)},
    };
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        uint64_t h = shard_hash(vec[i].id, strlen(vec[i].id));
        CHECK(h == vec[i].h, "shard_hash(\"%s\") = %016llx, expected %016llx", vec[i].id,
              (unsigned long long)h, (unsigned long long)vec[i].h);
    }

    imdb_err e;
    shard s;
    CHECK(shard_parse("3/4", &s, &e) == 0 && s.k == 3 && s.n == 4, "3/4");
    CHECK(shard_parse("0/1", &s, &e) == 0 && s.k == 0 && s.n == 1, "0/1");
    CHECK(shard_parse("007/010", &s, &e) == 0 && s.k == 7 && s.n == 10, "leading zeros");
    static const char *const bad[] = {"4/4", "-1/4", "x/y", "3/0", "", "/", "1/", "/4",
                                      "1/4/", "0/4x", " 0/4", "0 /4", "+1/4", "1/1000001",
                                      "99999999/100000000", "1.0/4"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e.status = 0;
        CHECK(shard_parse(bad[i], &s, &e) < 0 && e.status == IMDB_EXIT_USAGE &&
              strstr(e.msg, bad[i]), "'%s' should be a usage error naming it (%s)", bad[i], e.msg);
    }

    /* Line numbers hash as their decimal text; every id lands in exactly one shard, and
     * 10,000 ids spread within 10% of the mean over 7 shards. */
    shard all = {0, 0};
    CHECK(shard_keep(&all, "x", 1) && shard_keep_line(&all, 5), "n == 0 keeps everything");
    unsigned per[7] = {0};
    for (long line = 1; line <= 10000; line++) {
        char buf[16];
        int len = snprintf(buf, sizeof buf, "%ld", line);
        int owners = 0;
        for (uint64_t k = 0; k < 7; k++) {
            shard sk = {k, 7};
            int a = shard_keep_line(&sk, line), b = shard_keep(&sk, buf, (size_t)len);
            CHECK(a == b, "line %ld: shard_keep_line and shard_keep disagree", line);
            if (a) { owners++; per[k]++; }
        }
        CHECK(owners == 1, "line %ld is in %d shards", line, owners);
    }
    for (int k = 0; k < 7; k++)
        CHECK(per[k] > 10000 / 7 * 0.9 && per[k] < 10000 / 7 * 1.1, "shard %d/7 got %u of 10000", k, per[k]);

    if (failures) return test_status("unit_shard");
    printf("unit_shard: ok\n");
    return 0;
}
