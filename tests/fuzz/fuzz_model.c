/* fuzz_model.c — the model loader of every kind: modelio's container checks, then clf_open
 * dispatching on "kind" to linear (nblr), nnmodel (lstm, bilstm, mlp, cnn), dvcos and
 * ensemble (whose members are nested model files), with heldout_check on a "heldout"
 * section; a model that loads then scores and explains a few documents, so sizes the
 * loader accepted are used for real.
 *
 * The input is a model file. A mutated file would almost never get past the CRC-32s, so
 * the harness first rewrites them (modelio_reseal: every nested model file's, an
 * ensemble's members, then the file's own): the fuzzer explores the sections, not zlib's
 * checksum (the CRC checks themselves are unit-tested in tests/unit_modelio.c). */
#include "fuzz.h"
#include "clf.h"
#include "heldout.h"
#include "modelio.h"
#include "text.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static const char *const docs[][8] = {
    {"a", "wonderful", "moving", "film", NULL},
    {"not", "bad", "at", "all", "!", NULL},
    {NULL},
    {"the", "the", "the", "the", "the", "the", "the", NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* 64-byte aligned copy (as a mapped file is), fixed up. */
    unsigned char *buf = aligned_alloc(64, (size + 63) / 64 * 64 + 64);
    if (!buf) return 0;
    memcpy(buf, data, size);
    modelio_reseal(buf, size, 1);
    imdb_err e;
    modelio *m = modelio_open_mem(buf, size, "fuzz.model", &e);
    if (!m) goto done;
    size_t hs;
    const void *h = modelio_get(m, HELDOUT_SECTION, &hs);
    if (h && heldout_check(h, hs, "fuzz.model", &e) >= 0) {
        double prob;
        int label;
        heldout_find(h, hs, "train/pos/0_9", &prob, &label);
    }
    clf *c = clf_open(m, &e);   /* takes m, also on failure */
    if (!c) goto done;
    text_cleaner *tc = clf_cleaner(c, &e);
    text_cleaner_free(tc);
    clf_contrib out[8];
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        size_t n = 0;
        while (docs[i][n]) n++;
        double p = clf_prob(c, docs[i], n);
        (void)p;
        if (clf_can_explain(c)) clf_explain(c, docs[i], n, out, 8);
    }
    clf_free(c);
done:
    free(buf);
    return 0;
}
