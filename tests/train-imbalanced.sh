#!/bin/sh
# Imbalanced classes on the fixture (150 pos, 30 neg): class weights and undersampling
# move P(pos) down and the recall of neg up; threshold=auto is stored in the model and
# used by imdb-eval and imdb-predict, --threshold wins (imdb-serve: serve-threshold.sh);
# mlp weighs its loss by class too; every kind that cannot use a setting refuses it.
. "$IMDB_SRCDIR/tests/common.sh"

imdb-clean -q --split train "$FIXTURES/mini-aclImdb.tar.gz" -o all.tok.gz
imdb-clean -q --split test "$FIXTURES/mini-aclImdb.tar.gz" -o test.tok.gz
gzip -dc all.tok.gz | awk -F'\t' 'NR == 1 || $1 == "pos" || ($1 == "neg" && n++ < 30)' >imb.tok
imdb-vocab -q --ngrams 3 imb.tok -o v.gz
meanp() { imdb-eval -q --json -m "$1" test.tok.gz >/dev/null; gzip -dc test.tok.gz | tail -n +2 | cut -f3 |
          imdb-predict -m "$1" | awk '{ s += $2 } END { printf "%.6f\n", s / NR }'; }
recall_neg() { imdb-eval -q --json "$@" test.tok.gz | sed -n 's/^ *"recall_neg": *\([0-9.e-]*\).*/\1/p'; }

imdb-train -q -V v.gz -o min_df=1 -O plain.model imb.tok
imdb-train -q -V v.gz -o min_df=1 -o class_weight=balanced -o class_weight_nb=1 -O cw.model imb.tok
imdb-train -q -V v.gz -o min_df=1 -o undersample=1 -O us.model imb.tok
p0=$(meanp plain.model); p1=$(meanp cw.model); p2=$(meanp us.model)
awk -v a="$p0" -v b="$p1" -v c="$p2" 'BEGIN { exit !(b < a - 0.05 && c < a - 0.05) }' ||
    fail "mean P(pos): plain $p0, class weights $p1, undersample $p2: weights should lower it"
r0=$(recall_neg plain.model); r1=$(recall_neg cw.model)
awk -v a="$r0" -v b="$r1" 'BEGIN { exit !(b >= a) }' || fail "neg recall: plain $r0, class weights $r1"
grep -aq 'class_weight = balanced' cw.model || fail "class_weight not recorded"
# Models trained without the settings do not record them (their bytes are as before).
grep -aq 'class_weight\|undersample\|threshold' plain.model && fail "plain model records class settings"

# threshold=auto: chosen on the held-out predictions, stored, used, overridden.
imdb-train -q -V v.gz -o min_df=1 -o heldout_folds=5 -o threshold=auto -O auto.model imb.tok
t=$(imdb-predict --info auto.model | sed -n 's/^ *threshold = //p')
[ -n "$t" ] || fail "threshold=auto stored no threshold"
awk -v t="$t" 'BEGIN { exit !(t > 0.5 && t < 1) }' || fail "threshold $t: should be above 0.5 (pos is the majority)"
imdb-eval -q --json auto.model test.tok.gz | grep -q "\"threshold\": $t" || fail "imdb-eval does not use the stored threshold"
imdb-eval -q --json --threshold 0.5 auto.model test.tok.gz | grep -q '"threshold": 0.5$' || fail "--threshold does not win"
gzip -dc test.tok.gz | tail -n +2 | cut -f3 >texts
imdb-predict -m auto.model texts | awk -F'\t' -v t="$t" '($1 == "pos") != ($2 >= t) { exit 1 }' ||
    fail "imdb-predict labels do not follow the stored threshold $t"
imdb-predict --threshold 0.5 -m auto.model texts | awk -F'\t' '($1 == "pos") != ($2 >= 0.5) { exit 1 }' ||
    fail "imdb-predict --threshold 0.5 does not win"
# Without folds: chosen on the validation part, scored by the final model.
imdb-train -V v.gz -o min_df=1 -o valid_fraction=0.3 -o threshold=auto -O autov.model imb.tok 2>err
tv=$(imdb-predict --info autov.model | sed -n 's/^ *threshold = //p')
awk -v t="$tv" 'BEGIN { exit !(t > 0 && t < 1 && t != 0.5) }' || fail "threshold=auto on the validation part: '$tv'"
grep -q "threshold = auto: $tv (balanced accuracy [0-9.]* on 54 held-out predictions" err ||
    fail "not chosen on the 54 validation documents: $(grep threshold err)"
# The block trainer: class weights, undersampling and threshold=auto give the same model
# in a tiny --memory (blocks read back from --tmpdir), and under --sort-by-id whatever
# the input order (folds and validation part included).
set -- -V v.gz -o min_df=1 -o block_docs=16 -o class_weight=balanced -o undersample=2 -o heldout_folds=3 \
    -o threshold=auto --sort-by-id
imdb-train -q "$@" -O b0.model imb.tok
mkdir tmp
m=1K k=0   # just what the refusals say is needed (the resident size moves a little)
until imdb-train -q "$@" --memory $m --tmpdir tmp -O b1.model imb.tok 2>err; do
    k=$((k + 1)); [ $k -lt 8 ] || fail "--memory never enough: $(cat err)"
    m=$(( $(sed -n 's/.*needs at least \([0-9]*\) bytes.*/\1/p' err) + 16384 ))
done
same b0.model b1.model
{ head -1 imb.tok; tail -n +2 imb.tok | sort -r; } >rev.tok
imdb-train -q "$@" -O b2.model rev.tok
same b0.model b2.model
grep -aq 'undersample = 2' b0.model || fail "undersample not recorded"
# A fixed threshold is stored as given.
imdb-train -q -V v.gz -o min_df=1 -o threshold=0.7 -O fixed.model imb.tok
imdb-eval -q --json fixed.model test.tok.gz | grep -q '"threshold": 0.7$' || fail "threshold=0.7 not used"

# --min-metric gates on any metric.
expect_status 3 imdb-eval -q --min-metric balanced_accuracy=1.01 auto.model test.tok.gz
expect_err 'balanced_accuracy .* below the required minimum'
expect_status 0 imdb-eval -q --min-metric balanced_accuracy=0 --min-metric logloss=100 auto.model test.tok.gz
expect_status 2 imdb-eval -q --min-metric nosuch=1 auto.model test.tok.gz
expect_err 'unknown metric'

# The neural kinds weigh their loss by class: mlp's P(pos) moves down, and a model
# trained without class weights neither records nor depends on them.
imdb-train -q --kind mlp -o epochs=20 -o seed=3 -O mlp0.model imb.tok
imdb-train -q --kind mlp -o epochs=20 -o seed=3 -o class_weight=balanced -O mlp1.model imb.tok
q0=$(meanp mlp0.model); q1=$(meanp mlp1.model)
awk -v a="$q0" -v b="$q1" 'BEGIN { exit !(b < a - 0.1) }' || fail "mlp mean P(pos): plain $q0, class weights $q1"
grep -aq 'class_weight = balanced' mlp1.model || fail "mlp: class_weight not recorded"
grep -aq 'class_weight' mlp0.model && fail "mlp: a plain model records class_weight"
# Weights of 1 are no weights: the same model but for the recorded setting.
imdb-train -q --kind mlp -o epochs=20 -o seed=3 -o class_weight=pos:1,neg:1 -O mlp2.model imb.tok
gzip -dc test.tok.gz | tail -n +2 | cut -f3 | imdb-predict -m mlp0.model >p0
gzip -dc test.tok.gz | tail -n +2 | cut -f3 | imdb-predict -m mlp2.model >p2
same p0 p2

# Bad input: usage errors, for every kind that cannot use a setting.
for k in dvcos ensemble lstm bilstm mlp cnn regcnn; do
    expect_status 2 imdb-train -q --kind $k -o threshold=auto -O x.model imb.tok
    expect_err "threshold: kind $k gives no held-out predictions"
done
for k in dvcos ensemble; do
    expect_status 2 imdb-train -q --kind $k -o class_weight=balanced -O x.model imb.tok
    expect_err "class_weight: kind $k does not train with class weights \\(class weights train nblr, lstm, bilstm, mlp, cnn and regcnn"
done
for k in word2vec regemb; do
    for o in class_weight=balanced undersample=1 threshold=auto threshold=0.6; do
        expect_status 2 imdb-train -q --kind $k -o $o -O x.model imb.tok
        expect_err "setting ${o%%=*}: kind $k learns from text alone and makes no classifier"
    done
done
expect_status 2 imdb-train -q -V v.gz -o class_weight=pos:x -O x.model imb.tok
expect_err "class_weight: 'pos:x'"
for v in pos:0 neg:1,neg:2 pos:1,, '' balance pos:1e7; do
    expect_status 2 imdb-train -q -V v.gz -o class_weight="$v" -O x.model imb.tok
    expect_err "setting class_weight"
done
expect_status 2 imdb-train -q -V v.gz -o undersample=0.5 -O x.model imb.tok
expect_err "undersample"
expect_status 2 imdb-train -q -V v.gz -o threshold=1.5 -O x.model imb.tok
expect_err "threshold"
expect_status 2 imdb-train -q -V v.gz -o valid_fraction=0 -o threshold=auto -O x.model imb.tok
expect_err 'threshold = auto needs held-out predictions'
# The usage errors come before any reading: no input needed.
expect_status 2 imdb-train -q --kind dvcos -o class_weight=balanced -O x.model /nonexistent.tok
[ -e x.model ] && fail "a failed run left a model"
# balanced weights need both classes in the training part (a data error).
awk -F'\t' 'NR == 1 || $1 == "pos"' imb.tok >pos.tok
expect_status 1 imdb-train -q -V v.gz -o class_weight=balanced -O x.model pos.tok
expect_err 'class_weight = balanced: the training part has no neg documents'
exit 0
