/* shard.c — deterministic sharding by document id; see shard.h for the rule. FNV-1a is
 * from Fowler, Noll and Vo (IETF draft-eastlake-fnv); the finalizer is splitmix64's
 * (Steele, Lea and Flood 2014), which spreads every input bit over the low bits. */
#include "shard.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A decimal number of 1 to 7 digits at *p, advancing p; -1 if there is none. */
static long parse_part(const char **p)
{
    const char *s = *p;
    long v = 0;
    int digits = 0;
    while (*s >= '0' && *s <= '9' && digits < 8) {
        v = v * 10 + (*s - '0');
        s++;
        digits++;
    }
    if (digits == 0 || digits == 8) return -1;
    *p = s;
    return v;
}

int shard_parse(const char *spec, shard *s, imdb_err *e)
{
    const char *p = spec;
    long k = parse_part(&p), n = -1;
    if (k >= 0 && *p == '/') {
        p++;
        n = parse_part(&p);
    }
    if (k < 0 || n < 0 || *p != '\0')
        return imdb_fail(e, IMDB_EXIT_USAGE,
                         "invalid shard '%s' (expected K/N: shard K of N, 0 <= K < N, "
                         "e.g. 0/4 ... 3/4)", spec);
    if (n < 1 || n > SHARD_MAX)
        return imdb_fail(e, IMDB_EXIT_USAGE, "invalid shard '%s': N must be 1 to %ld", spec,
                         SHARD_MAX);
    if (k >= n)
        return imdb_fail(e, IMDB_EXIT_USAGE,
                         "invalid shard '%s': shards are numbered 0 to N-1 (here 0 to %ld)",
                         spec, n - 1);
    s->k = (uint64_t)k;
    s->n = (uint64_t)n;
    return 0;
}

uint64_t shard_hash(const char *id, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;   /* FNV-1a 64 offset basis */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)id[i];
        h *= 0x100000001b3ULL;             /* FNV 64 prime */
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

int shard_keep(const shard *s, const char *id, size_t len)
{
    return s->n == 0 || shard_hash(id, len) % s->n == s->k;
}

int shard_keep_line(const shard *s, long lineno)
{
    if (s->n == 0) return 1;
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld", lineno);
    return shard_keep(s, buf, (size_t)n);
}

int shard_split_parse(const char *spec, const char *keep, shard_split *s, imdb_err *e)
{
    static const char *const expect = "expected NAME=WEIGHT,NAME=WEIGHT..., e.g. "
                                      "fit=80,valid=10,test=10";
    memset(s, 0, sizeof *s);
    const char *p = spec;
    uint64_t sum = 0;
    for (;;) {
        size_t n = 0;
        while ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') ||
               (p[n] >= '0' && p[n] <= '9') || p[n] == '_' || p[n] == '-')
            n++;
        if (n == 0 || n > 31 || p[n] != '=')
            return imdb_fail(e, IMDB_EXIT_USAGE, "invalid split '%s' (%s; names of 1 to 31 "
                             "letters, digits, '_' or '-')", spec, expect);
        if (s->nparts == SHARD_SPLIT_MAX_PARTS)
            return imdb_fail(e, IMDB_EXIT_USAGE, "invalid split '%s': more than %d parts", spec,
                             SHARD_SPLIT_MAX_PARTS);
        for (int i = 0; i < s->nparts; i++)
            if (strlen(s->names[i]) == n && memcmp(s->names[i], p, n) == 0)
                return imdb_fail(e, IMDB_EXIT_USAGE, "invalid split '%s': part '%.*s' named "
                                 "twice", spec, (int)n, p);
        memcpy(s->names[s->nparts], p, n);
        s->names[s->nparts][n] = '\0';
        p += n + 1;
        long w = parse_part(&p);
        if (w < 1 || (*p != ',' && *p != '\0'))
            return imdb_fail(e, IMDB_EXIT_USAGE, "invalid split '%s': the weight of '%s' must be "
                             "a whole number from 1 (%s)", spec, s->names[s->nparts], expect);
        sum += (uint64_t)w;
        if (sum > (uint64_t)SHARD_SPLIT_MAX_WEIGHT)
            return imdb_fail(e, IMDB_EXIT_USAGE, "invalid split '%s': the weights sum to more "
                             "than %ld", spec, SHARD_SPLIT_MAX_WEIGHT);
        s->cum[s->nparts++] = sum;
        if (*p == '\0') break;
        p++;
    }
    for (int i = 0; i < s->nparts; i++)
        if (strcmp(s->names[i], keep) == 0) {
            s->keep = i;
            return 0;
        }
    char names[SHARD_SPLIT_MAX_PARTS * 33] = "";
    for (int i = 0; i < s->nparts; i++) {
        if (i) strcat(names, ", ");
        strcat(names, s->names[i]);
    }
    int k = s->nparts;
    s->nparts = 0;
    return imdb_fail(e, IMDB_EXIT_USAGE, "unknown part '%s' (the split '%s' has %s%s)", keep,
                     spec, k == 1 ? "only " : "", names);
}

int shard_split_part(const shard_split *s, const char *key, size_t len)
{
    if (s->nparts == 0) return 0;
    uint64_t w = s->cum[s->nparts - 1];
    uint64_t b = ((shard_hash(key, len) >> 32) * w) >> 32;
    int i = 0;
    while (b >= s->cum[i]) i++;
    return i;
}

int shard_split_keep(const shard_split *s, const char *key, size_t len)
{
    return s->nparts == 0 || shard_split_part(s, key, len) == s->keep;
}
