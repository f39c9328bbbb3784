#!/bin/sh
# The make recipe (data/imdb.mk) on the fixture: all targets, -j2, nothing rebuilt when
# nothing changed, only the model and metrics when a setting file changes, the gate, the
# best model in both modes, the best inductive model and distillation.
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
# The best inductive model (issue 24): nblr + a region CNN whose embedding learned from
# train + unsup text, stacked on the CNN's held-out part; tiny region settings.
rset='REGEMB_SET=dim=8 min_count=1 max_len=200 targets=500 neg=4 epochs=1'
cset='REGCNN_SET=dim=12 min_count=1 max_len=200 epochs=2'
run "$rset" "$cset" OUT=wb best-inductive >log 2>&1 || { cat log; fail "target best-inductive failed"; }
for f in best-nblr.model region-vocab.gz regemb.model regcnn.model best-inductive.model \
         best-inductive.metrics.json regcnn.metrics.json; do
    [ -s "wb/$f" ] || fail "target best-inductive did not make $f"
done
grep -q '"accuracy"' wb/best-inductive.metrics.json || fail "best-inductive metrics JSON lacks accuracy"
"$IMDB_BIN/imdb-predict" --info wb/best-inductive.model >info
grep -qx 'kind: ensemble' info || fail "best-inductive.model is not an ensemble"
grep -q 'regcnn' info || { cat info; fail "best-inductive.model has no regcnn member"; }
"$IMDB_BIN/imdb-predict" --info wb/regcnn.model | grep -qx '  keep = last' || fail "the region CNN keeps no last epoch"
printf 'a wonderful film\n' | "$IMDB_BIN/imdb-predict" wb/best-inductive.model | grep -Eq '^(pos|neg)' ||
    fail "best-inductive.model does not predict"
# Strictly inductive: no test text before the evaluations; BI_DVCOS=1 adds the inductive dvcos.
run -n "$rset" "$cset" OUT=wbn BI_DVCOS=1 best-inductive >plan 2>&1 || { cat plan; fail "make -n best-inductive"; }
grep -v 'imdb-eval ' plan | grep -v -- '--split test' | grep -q 'test\.tok' &&
    { cat plan; fail "best-inductive reads the test tokens before evaluation"; }
grep -q -- '--member wbn/inductive-dvcos.model' plan || { cat plan; fail "BI_DVCOS=1: no dvcos member"; }
grep -B1 -- '-O wbn/inductive-dvcos.model' plan | grep -q 'inductive=1' || { cat plan; fail "BI_DVCOS=1: dvcos not inductive"; }
run "$rset" "$cset" OUT=wb BI_MIN_ACCURACY=0 REGCNN_MIN_ACCURACY=0 best-inductive-gate >log 2>&1 ||
    { cat log; fail "best-inductive-gate with floors of 0 failed"; }
for floors in 'BI_MIN_ACCURACY=0.999 REGCNN_MIN_ACCURACY=0' 'BI_MIN_ACCURACY=0 REGCNN_MIN_ACCURACY=0.999'; do
    # shellcheck disable=SC2086
    if run "$rset" "$cset" OUT=wb $floors best-inductive-gate >log 2>&1; then
        fail "best-inductive-gate passed with $floors"
    fi
    grep -q 'below the required minimum' log || { cat log; fail "best-inductive-gate message with $floors"; }
done
# Distillation: a teacher that never sees the test text (nor the movie-grouped valid
# part) labels the unlabelled reviews from its learned vectors, and an nblr student
# learns from them. The fixture has no url lists, so an extracted copy gets made-up ones
# (review i of each side is about movie i / 7).
command -v tar >/dev/null || { echo "ok (distill skipped: no tar)"; exit 0; }
tar -xzf "$FIXTURES/mini-aclImdb.tar.gz"
for side in pos neg; do
    awk 'BEGIN { for (i = 0; i < 12500; i++) printf "http://www.imdb.com/title/tt%07d/usercomments\n", int(i / 7) }' \
        >aclImdb/train/urls_$side.txt
done
drun() { make -s -f "$mk" IMDB_BIN="$IMDB_BIN" DATA=aclImdb DV_SET="$dvset" DISTILL_MIN_COUNT=1 "$rset" "$cset" "$@"; }
drun OUT=wd distill distill-valid >log 2>&1 || { cat log; fail "target distill failed"; }
for f in fit.tok.gz valid.tok.gz teacher-nblr.model teacher-dvcos.model teacher-regcnn.model teacher.model \
         unsup.soft.tok.gz distill-vocab.gz distill.model distill.metrics.json distill-valid.txt; do
    [ -s "wd/$f" ] || fail "target distill did not make $f"
done
grep -q '"accuracy"' wd/distill.metrics.json || fail "distill metrics JSON lacks accuracy"
[ "$(grep -c 'accuracy' wd/distill-valid.txt)" -eq 5 ] || { cat wd/distill-valid.txt; fail "distill-valid figures"; }
grep -q 'relabelled: [0-9]* from learned document vectors, 0 inferred' log || { cat log; fail "relabel summary"; }
"$IMDB_BIN/imdb-predict" --info wd/teacher-dvcos.model | grep -qx '  inductive = 0' ||
    fail "the teacher's dvcos does not keep its learned vectors"
"$IMDB_BIN/imdb-predict" --info wd/distill.model | grep -qx '  soft_temperature = 1' ||
    fail "the student did not train on soft labels"
gzip -dc wd/unsup.soft.tok.gz | head -n 1 | grep -q '^#imdb-tokens 2 ' || fail "soft stream is not version 2"
gzip -dc wd/unsup.soft.tok.gz | tail -n +2 | cut -f1 | grep -qv '^[01]\.[0-9]*$' && fail "soft stream has a non-soft label"
# The student saw every training review; the teacher only the fit part.
n_train=$(gzip -dc wd/train.tok.gz | tail -n +2 | wc -l) n_fit=$(gzip -dc wd/fit.tok.gz | tail -n +2 | wc -l)
[ "$n_fit" -lt "$n_train" ] || fail "the fit part is not smaller than train"
# Nothing of test, and no valid text, takes part before the evaluations.
drun -n OUT=wdn distill >plan 2>&1 || { cat plan; fail "make -n distill"; }
grep -v 'imdb-eval ' plan | grep -v -- '--split test' | grep -q 'test\.tok' &&
    { cat plan; fail "distill reads the test tokens before evaluation"; }
grep 'imdb-train\|imdb-relabel' plan | grep -q 'valid\.tok' && { cat plan; fail "the teacher reads the valid part"; }
drun OUT=wd DISTILL_MIN_ACCURACY=0.999 distill-gate >log 2>&1 && fail "distill-gate passed a near-impossible floor"
grep -q 'below the required minimum' log || { cat log; fail "distill-gate message"; }
echo ok
