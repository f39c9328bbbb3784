#!/bin/sh
# The make recipe (data/imdb.mk) on the fixture: all targets, -j2, nothing rebuilt when
# nothing changed, only the model and metrics when a setting file changes, the gate, and
# the best model in both modes.
. "$IMDB_SRCDIR/tests/common.sh"
command -v make >/dev/null || exit 77
mk="$IMDB_SRCDIR/data/imdb.mk"
run() { make -s -f "$mk" IMDB_BIN="$IMDB_BIN" DATA="$FIXTURES/mini-aclImdb.tar.gz" OUT=w CONFIG=my.conf "$@"; }
printf 'min_df = 1\nepochs = 5\n' >my.conf
run -j2 >log 2>&1 || { cat log; fail "recipe failed"; }
for f in train.tok.gz test.tok.gz vocab.gz nblr.model nblr.metrics.json nblr.curves.tsv; do
    [ -s "w/$f" ] || fail "recipe did not make $f"
done
grep -q '"accuracy"' w/nblr.metrics.json || fail "metrics JSON lacks accuracy"
# Nothing changed: make has nothing to do.
make -q -f "$mk" IMDB_BIN="$IMDB_BIN" DATA="$FIXTURES/mini-aclImdb.tar.gz" OUT=w CONFIG=my.conf ||
    fail "recipe is not up to date after a full run"
# A new setting: the tokens and vocabulary stay, the model is rebuilt.
touch -r w/vocab.gz w/stamp
sleep 1
printf 'min_df = 1\nepochs = 4\n' >my.conf
run >log 2>&1 || { cat log; fail "rebuild failed"; }
[ w/train.tok.gz -nt w/stamp ] && fail "tokens were rebuilt"
[ w/vocab.gz -nt w/stamp ] && fail "vocabulary was rebuilt"
[ w/nblr.model -nt w/stamp ] || fail "model was not rebuilt"
# The gate: passes a low bar, fails an near-impossible one with status 3 from imdb-eval.
run MIN_ACCURACY=0.5 gate >log 2>&1 || { cat log; fail "gate 0.5 failed"; }
if run MIN_ACCURACY=0.999 gate >log 2>&1; then fail "gate 0.999 passed"; fi
grep -q 'below the required minimum' log || { cat log; fail "gate message"; }
# The best model: nblr + dvcos (transductive) + their ensemble, with tiny dvcos settings.
dvset='dim=16 epochs=2 min_count=1 infer_epochs=2'
run DV_SET="$dvset" best >log 2>&1 || { cat log; fail "target best failed"; }
for f in unsup.tok.gz best-nblr.model best-dvcos.model best.model best.metrics.json; do
    [ -s "w/$f" ] || fail "target best did not make $f"
done
[ "$("$IMDB_BIN/imdb-predict" --info w/best.model | sed -n 's/^kind: //p')" = ensemble ] ||
    fail "best.model is not an ensemble"
# best-gate checks both floors. The tiny dvcos trained with 2 threads (Hogwild) scores
# about 0.5 on the fixture, so a floor there would be a coin toss: floors of 0 pass, and
# a near-impossible floor on either model fails.
run DV_SET="$dvset" DV_MIN_ACCURACY=0 BEST_MIN_ACCURACY=0 best-gate >log 2>&1 ||
    { cat log; fail "best-gate with floors of 0 failed"; }
for floors in 'DV_MIN_ACCURACY=0.999 BEST_MIN_ACCURACY=0' 'DV_MIN_ACCURACY=0 BEST_MIN_ACCURACY=0.999'; do
    # shellcheck disable=SC2086
    if run DV_SET="$dvset" $floors best-gate >log 2>&1; then fail "best-gate passed with $floors"; fi
    grep -q 'below the required minimum' log || { cat log; fail "best-gate message with $floors"; }
done
# TRANSDUCTIVE=0: the test text stays out of the pool, and dvcos fits its head on
# inferred vectors (inductive = 1).
run DV_SET="$dvset" TRANSDUCTIVE=0 OUT=wi best >log 2>&1 ||
    { cat log; fail "target best TRANSDUCTIVE=0 failed"; }
run -n TRANSDUCTIVE=0 OUT=wn best >plan 2>&1 || { cat plan; fail "make -n best TRANSDUCTIVE=0"; }
grep -q -- '--unlabelled wn/unsup\.tok\.gz' plan || { cat plan; fail "TRANSDUCTIVE=0: no unlabelled pool"; }
grep -q -- '--unlabelled wn/test\.tok\.gz' plan && fail "TRANSDUCTIVE=0 put the test text in the pool"
"$IMDB_BIN/imdb-predict" --info wi/best-dvcos.model | grep -qx '  inductive = 1' ||
    fail "TRANSDUCTIVE=0: dvcos without inductive = 1"
[ -s wi/best.model ] || fail "TRANSDUCTIVE=0 made no wi/best.model"
echo ok
