/* unit_ensemble.c — loading an ensemble from hand-made files: members of a constant
 * score (an nblr model with no features, so P(pos) = sigmoid(bias)) give an exact
 * expected probability; a member read from memory at an odd address still loads; damaged
 * stacker sections, a missing member, a member cleaned otherwise and a nested ensemble
 * are refused with IMDB_EXIT_DATA. */
#include "clf.h"
#include "modelio.h"
#include "text.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static char dir[] = "/tmp/unit_ensemble.XXXXXX";
static char *clean_default, *clean_other;


static void commit(modelio_writer *w, const char *kind, const char *clean)
{
    imdb_err e;
    if (test_model_commit(w, kind, "model = x\n", clean, &e) < 0) {
        printf("FAIL: write: %s\n", e.msg);
        exit(1);
    }
}

/* An nblr model without features: P(pos) = sigmoid(bias) for every document. */
static void write_const(const char *path, float bias, const char *clean)
{
    imdb_err e;
    modelio_writer *w = modelio_create(path, &e);
    unsigned char h[28] = { 0 }, slots[16] = { 0 };
    uint32_t bits;
    memcpy(&bits, &bias, 4);
    put_u32le(h, 1);
    put_u32le(h + 8, bits);
    put_u64le(h + 12, 1);   /* capacity 1, no key used */
    if (!w || modelio_add(w, "nblr.hdr", h, 28, &e) < 0 || modelio_add(w, "nblr.slots", slots, 16, &e) < 0 ||
        modelio_add(w, "nblr.vocab", "", 0, &e) < 0) {
        printf("FAIL: write: %s\n", e.msg);
        exit(1);
    }
    commit(w, "nblr", clean);
}

/* An ensemble of the given member files with stacker words (k, weights..., bias); ens_size
 * overrides the size of ens.w when not 0. */
static void write_ens(const char *path, const char *const *members, int nmem, uint32_t k,
                      const double *wb, size_t ens_size, const char *clean)
{
    imdb_err e;
    modelio_writer *w = modelio_create(path, &e);
    unsigned char s[8 + 8 * 40] = { 0 };
    put_u32le(s, k);
    for (uint32_t i = 0; i <= k && i < 40; i++) {
        uint64_t bits;
        memcpy(&bits, &wb[i], 8);
        put_u64le(s + 8 + 8 * i, bits);
    }
    if (!w || modelio_add(w, "ens.w", s, ens_size ? ens_size : 8 + 8 * (size_t)k + 8, &e) < 0) {
        printf("FAIL: write: %s\n", e.msg);
        exit(1);
    }
    for (int i = 0; i < nmem; i++) {
        size_t n;
        char *b = test_slurp(members[i], &n), name[16];
        snprintf(name, sizeof name, "member.%d", i);
        if (modelio_add(w, name, b, n, &e) < 0) { printf("FAIL: write: %s\n", e.msg); exit(1); }
        free(b);
    }
    commit(w, "ensemble", clean);
}

static char *in_dir(const char *name)
{
    static char buf[8][256];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

/* Loading path must fail with IMDB_EXIT_DATA and a message containing what. */
static void expect_fail(const char *path, const char *what)
{
    imdb_err e = { 0 };
    clf *c = clf_load(path, &e);
    CHECK(!c, "%s: loaded, expected '%s'", path, what);
    if (c) { clf_free(c); return; }
    CHECK(e.status == IMDB_EXIT_DATA && strstr(e.msg, what), "%s: got %d '%s', expected '%s'", path,
          e.status, e.msg, what);
}

static double logit(double p) { return log(p / (1 - p)); }

int main(void)
{
    if (!mkdtemp(dir)) { printf("FAIL: mkdtemp\n"); return 1; }
    text_settings ts;
    text_settings_default(&ts);
    clean_default = text_settings_format(&ts);
    ts.casefold = 0;
    clean_other = text_settings_format(&ts);
    text_settings_free(&ts);

    char *m1 = imdb_xstrdup(in_dir("m1")), *m2 = imdb_xstrdup(in_dir("m2")), *m3 = imdb_xstrdup(in_dir("m3"));
    char *mo = imdb_xstrdup(in_dir("other-clean")), *ens = imdb_xstrdup(in_dir("ens"));
    write_const(m1, 1.5f, clean_default);
    write_const(m2, -0.25f, clean_default);
    write_const(m3, 20.0f, clean_default);   /* P(pos) above 1 - 1e-6: clamped */
    write_const(mo, 0.0f, clean_other);

    /* The probability: sigmoid(b + sum w_k logit(clamp(p_k))). */
    const char *three[] = { m1, m2, m3 };
    double wb[] = { 0.75, -2.0, 0.5, 0.125 };
    write_ens(ens, three, 3, 3, wb, 0, clean_default);
    imdb_err e = { 0 };
    clf *c = clf_load(ens, &e);
    CHECK(c, "load: %s", e.msg);
    if (c) {
        const char *toks[] = { "any", "words" };
        double p1 = 1 / (1 + exp(-1.5)), p2 = 1 / (1 + exp(0.25)), p3 = 1 - 1e-6;
        double want = 1 / (1 + exp(-(0.125 + 0.75 * logit(p1) - 2.0 * logit(p2) + 0.5 * logit(p3))));
        double got = clf_prob(c, toks, 2);
        CHECK(fabs(got - want) < 1e-6, "prob %.9f, expected %.9f", got, want);
        CHECK(strcmp(clf_kind(c), "ensemble") == 0 && !clf_can_explain(c), "kind or explain");
        clf_free(c);
    }

    /* From memory at an address that is not 64-byte aligned: copied, and loads the same. */
    size_t n;
    char *bytes = test_slurp(ens, &n);
    char *odd = malloc(n + 1);
    memcpy(odd + 1, bytes, n);
    modelio *m = modelio_open_mem(odd + 1, n, "odd", &e);
    c = m ? clf_open(m, &e) : NULL;
    CHECK(c, "open_mem at an odd address: %s", e.msg);
    if (c) clf_free(c);
    /* A flipped byte in memory is caught by the CRC. */
    odd[1 + n / 2] ^= 1;
    m = modelio_open_mem(odd + 1, n, "odd", &e);
    CHECK(!m && e.status == IMDB_EXIT_DATA && strstr(e.msg, "odd: corrupt model file (CRC mismatch in section member."),
          "flipped byte in memory: %s", m ? "opened" : e.msg);
    if (m) modelio_close(m);
    free(odd);
    free(bytes);

    /* Damaged stacker sections. */
    write_ens(ens, three, 3, 1, wb, 0, clean_default);
    expect_fail(ens, "ens.w section is corrupt");
    write_ens(ens, three, 3, 3, wb, 8 + 8 * 3, clean_default);   /* bias missing */
    expect_fail(ens, "ens.w section is corrupt");
    double nan_wb[] = { 1, NAN, 1, 0 };
    write_ens(ens, three, 3, 3, nan_wb, 0, clean_default);
    expect_fail(ens, "ens.w section is corrupt");
    write_ens(ens, three, 2, 3, wb, 0, clean_default);
    expect_fail(ens, "lacks section member.2");

    /* A member cleaned otherwise than the ensemble. */
    const char *mixed[] = { m1, mo };
    write_ens(ens, mixed, 2, 2, wb, 0, clean_default);
    expect_fail(ens, ":member.1: cleaning settings differ");

    /* A member that is itself an ensemble is refused before it is loaded. */
    char *inner = imdb_xstrdup(in_dir("inner"));
    const char *two[] = { m1, m2 };
    write_ens(inner, two, 2, 2, wb, 0, clean_default);
    const char *nested[] = { m1, inner };
    write_ens(ens, nested, 2, 2, wb, 0, clean_default);
    expect_fail(ens, ":member.1: an ensemble cannot be a member of an ensemble");

    /* A damaged member inside an intact file names the member. */
    bytes = test_slurp(m2, &n);
    bytes[n - 1] ^= 1;
    FILE *f = fopen(m2, "wb");
    fwrite(bytes, 1, n, f);
    fclose(f);
    free(bytes);
    write_ens(ens, two, 2, 2, wb, 0, clean_default);
    expect_fail(ens, "ens:member.1: corrupt model file (CRC mismatch in section ");

    const char *all[] = { m1, m2, m3, mo, inner, ens };
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) unlink(all[i]);
    rmdir(dir);
    free(m1); free(m2); free(m3); free(mo); free(ens); free(inner);
    free(clean_default);
    free(clean_other);
    if (!failures) printf("unit_ensemble: ok\n");
    return test_status("unit_ensemble");
}
