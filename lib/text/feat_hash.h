/* feat_hash.h — feat_hash_token and feat_chain (feat.h's contract; feat.c describes the
 * construction), inline so that the scoring loops need no calls. Included by feat.h.
 * No include guard on purpose: tests/unit_feat.c includes it a second time with the names
 * renamed and without 128-bit integers, to check the portable product. */
#include <stddef.h>
#include <stdint.h>

#define FEAT_P0 UINT64_C(0xa0761d6478bd642f)
#define FEAT_P1 UINT64_C(0xe7037ed1a0b428db)
#define FEAT_P2 UINT64_C(0x8ebc6af09c88c6e3)
#define FEAT_P3 UINT64_C(0x589965cc75374cc3)

/* The 128-bit product of a and b, folded to 64 bits (low half xor high half). */
static inline uint64_t feat_mix_(uint64_t a, uint64_t b)
{
#ifdef __SIZEOF_INT128__
    unsigned __int128 r = (unsigned __int128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
#else
    /* Portable schoolbook product with the same result. */
    uint64_t ha = a >> 32, la = (uint32_t)a, hb = b >> 32, lb = (uint32_t)b;
    uint64_t rh = ha * hb, rm0 = ha * lb, rm1 = hb * la, rl = la * lb;
    uint64_t t = rl + (rm0 << 32), c = t < rl;
    uint64_t lo = t + (rm1 << 32);
    c += lo < t;
    uint64_t hi = rh + (rm0 >> 32) + (rm1 >> 32) + c;
    return lo ^ hi;
#endif
}

static inline uint64_t feat_rd64_(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

static inline uint64_t feat_rd32_(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24;
}

/* 0 marks an empty table slot, so it is never a hash. */
static inline uint64_t feat_nonzero_(uint64_t h) { return h ? h : FEAT_P0; }

static inline uint64_t feat_hash_token(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    uint64_t seed = FEAT_P0 ^ FEAT_P3, a, b;
    if (n <= 16) {
        if (n >= 4) {
            size_t k = (n >> 3) << 2;
            a = feat_rd32_(p) << 32 | feat_rd32_(p + k);
            b = feat_rd32_(p + n - 4) << 32 | feat_rd32_(p + n - 4 - k);
        } else if (n > 0) {
            a = (uint64_t)p[0] << 16 | (uint64_t)p[n >> 1] << 8 | p[n - 1];
            b = 0;
        } else {
            a = b = 0;
        }
    } else {
        size_t i = n;
        while (i > 16) {
            seed = feat_mix_(feat_rd64_(p) ^ FEAT_P1, feat_rd64_(p + 8) ^ seed);
            p += 16;
            i -= 16;
        }
        a = feat_rd64_(p + i - 16);
        b = feat_rd64_(p + i - 8);
    }
    return feat_nonzero_(feat_mix_(FEAT_P1 ^ (uint64_t)n, feat_mix_(a ^ FEAT_P1, b ^ seed)));
}

static inline uint64_t feat_chain(uint64_t prefix, uint64_t tok)
{
    return feat_nonzero_(feat_mix_(prefix ^ FEAT_P2, tok ^ FEAT_P3));
}

