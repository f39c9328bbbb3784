/* utf8.c — see utf8.h. */
#include "utf8.h"

int utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t l = utf8_seq(u + i, n - i, NULL);
        if (l == 0) return 0;
        i += l;
    }
    return 1;
}

size_t utf8_cut(const char *s, size_t n, size_t max)
{
    if (n <= max) return n;
    size_t len = max;
    while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80) len--;
    return len;
}
