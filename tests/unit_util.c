/* unit_util.c — imdb_fmt_fixed6 against printf("%.6f"): every double it takes the exact
 * path for must give printf's bytes, including the ties (m / 128 for odd m, exactly
 * halfway at the sixth decimal), the ends 0 and 1, values far below 0.0000005, random
 * doubles of every exponent in [0, 1], and the fallback (negative, above 1, NaN).
 * Exit status 0 if all agree, 1 otherwise. */
#include "rng.h"
#include "util.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static long checked;

static void check(double x)
{
    char a[64], b[64];
    size_t n = imdb_fmt_fixed6(a, x);
    snprintf(b, sizeof b, "%.6f", x);
    checked++;
    if (strcmp(a, b) != 0 || n != strlen(b)) {
        if (failures++ < 10) fprintf(stderr, "FAIL: %.17g: '%s' (%zu), printf '%s'\n", x, a, n, b);
    }
}

int main(void)
{
    check(0);
    check(1);
    check(0.5);
    check(-0.0);
    check(-0.25);
    check(1.5);
    check(NAN);
    check(INFINITY);
    check(5e-7);
    check(4.9999999999999998e-7);
    check(1e-300);
    check(5e-324);
    check(0.9999995);
    check(0.99999949999999994);
    for (int m = 1; m < 256; m += 2) check(m / 128.0 / 2.0), check(m / 128.0 > 1 ? 0 : m / 128.0);
    for (long k = 0; k <= 2000000; k++) check(k / 2000000.0);   /* every half step */
    rng r;
    rng_seed(&r, 7);
    for (int i = 0; i < 2000000; i++) {
        uint64_t u = rng_u64(&r);
        double x = ldexp((double)(u >> 11), -53 - (int)(rng_u64(&r) % 40));   /* [0, 1), any scale */
        check(x);
        check(nextafter(x, 1));
    }
    if (failures) {
        fprintf(stderr, "unit_util: %d of %ld differ\n", failures, checked);
        return 1;
    }
    printf("unit_util: imdb_fmt_fixed6 equals printf on %ld values\n", checked);
    return 0;
}
