#!/bin/sh
# imdb-train --model ensemble: two nblr models with held-out predictions (heldout_folds)
# stacked into one model file that imdb-eval and imdb-predict use like any other; the
# same seed gives the same bytes; the validation-split fallback for members without
# held-out predictions.
. "$IMDB_SRCDIR/tests/common.sh"

imdb-clean -q --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-clean -q --split test "$FIXTURES/mini-aclImdb.tar.gz" -o test.tok.gz
imdb-vocab -q --ngrams 3 train.tok.gz -o vocab.gz

# Cross-fitting adds held-out predictions of every labelled training document (300).
expect_status 0 imdb-train -V vocab.gz -o heldout_folds=5 -O a.model train.tok.gz
grep -Eq '^imdb-train: nblr: held-out predictions of 300 documents \(5 folds, [0-9.]+ s\): accuracy 0\.[0-9]{4}$' err ||
    fail "no held-out line: $(cat err)"
imdb-predict --info a.model | grep -qx '  heldout_folds = 5' || fail "heldout_folds not recorded"
# The held-out predictions do not change the model itself: same scores as without.
imdb-train -q -V vocab.gz -O plain.model train.tok.gz
imdb-predict --tokens plain.model test.tok.gz >plain.pred
imdb-predict --tokens a.model test.tok.gz >a.pred
same plain.pred a.pred
imdb-train -q -V vocab.gz -o heldout_folds=5 -o ngrams=2 -o c=0.5 -O b.model train.tok.gz

# The ensemble, with -m FILE after --model ensemble.
expect_status 0 imdb-train --model ensemble -m a.model -m b.model -O e.model train.tok.gz
grep -Eq '^imdb-train: ensemble: member 0 a\.model \(nblr\): held-out accuracy 0\.[0-9]{4} \(heldout section\)$' err ||
    fail "member 0 line: $(cat err)"
grep -Eq '^imdb-train: ensemble: member 1 b\.model \(nblr\): held-out accuracy 0\.[0-9]{4} \(heldout section\)$' err ||
    fail "member 1 line: $(cat err)"
grep -Eq '^imdb-train: ensemble: stacked held-out accuracy 0\.[0-9]{4} \(5-fold cross-validation of the stacker over 300 documents\)$' err ||
    fail "stacked line: $(cat err)"
cp err e.err

# --member gives the same file; the same seed twice gives the same bytes.
imdb-train -q --model ensemble --member a.model --member b.model -O e2.model train.tok.gz
same e.model e2.model
imdb-train -q -o model=ensemble -o 'members=a.model b.model' -O e3.model train.tok.gz
same e.model e3.model

# What the file says about itself.
imdb-predict --info e.model >info
grep -qx 'kind: ensemble' info || fail "--info kind: $(cat info)"
grep -qx '  member_kinds = nblr nblr' info || fail "--info member kinds: $(cat info)"
grep -qx '  members = a.model b.model' info || fail "--info members: $(cat info)"
grep -qx '  stack_lambda = 1' info || fail "--info stack_lambda: $(cat info)"

# It evaluates like any model, and beats chance on the fixture test split.
expect_status 0 imdb-eval --json e.model test.tok.gz
acc=$(sed -n 's/^ *"accuracy": *\([0-9.]*\).*/\1/p' out)
awk -v a="$acc" 'BEGIN { exit !(a > 0.6) }' || fail "ensemble accuracy $acc is not above 0.6"

# Its predictions are sigmoid(b + sum w_k logit(p_k)) of the members' own predictions
# (weights as printed, to four decimals), read from a file and from a pipe alike.
imdb-predict --tokens e.model test.tok.gz >e.pred
imdb-predict --tokens b.model test.tok.gz >b.pred
cat e.model | imdb-predict --tokens /dev/stdin test.tok.gz >e-pipe.pred
same e.pred e-pipe.pred
w0=$(sed -n 's/^imdb-train: ensemble: weight of member 0: //p' e.err)
w1=$(sed -n 's/^imdb-train: ensemble: weight of member 1: //p' e.err)
bias=$(sed -n 's/^imdb-train: ensemble: bias //p' e.err)
[ -n "$w0" ] && [ -n "$w1" ] && [ -n "$bias" ] || fail "weights not reported: $(cat e.err)"
paste a.pred b.pred e.pred | awk -F '\t' -v w0="$w0" -v w1="$w1" -v b="$bias" '
    function lg(p) { p = p < 1e-6 ? 1e-6 : p > 1 - 1e-6 ? 1 - 1e-6 : p; return log(p / (1 - p)) }
    { z = b + w0 * lg($2) + w1 * lg($4); p = 1 / (1 + exp(-z)); d = p - $6; if (d < 0) d = -d
      if (d > 2e-3) { print "line " NR ": expected " p ", got " $6; bad = 1 } n++ }
    END { exit bad || n != 200 }' || fail "ensemble predictions do not follow its weights"
# Raw text goes through the members' cleaning.
echo "A wonderful film, I loved it!" | imdb-predict e.model >p1
grep -Eq '^(pos|neg)	[01]\.[0-9]{6}$' p1 || fail "unexpected prediction: $(cat p1)"
# An ensemble cannot explain.
expect_status 2 imdb-predict --explain e.model test.tok.gz
expect_err "cannot explain"

# Members without held-out predictions: their predictions of the validation part, which
# they never trained on, when they share the ensemble's valid_fraction and seed.
imdb-train -q -V vocab.gz --seed 3 -O c.model train.tok.gz
imdb-train -q -V vocab.gz --seed 3 -o ngrams=1 -O d.model train.tok.gz
expect_status 0 imdb-train -m ensemble -m c.model -m d.model --seed 3 -O cd.model train.tok.gz
grep -Eq '^imdb-train: ensemble: member 0 c\.model \(nblr\): held-out accuracy 0\.[0-9]{4} \(validation split\)$' err ||
    fail "fallback member line: $(cat err)"
grep -Eq '^imdb-train: ensemble: stacked held-out accuracy 0\.[0-9]{4} \(5-fold cross-validation of the stacker over 30 documents\)$' err ||
    fail "fallback stacked line: $(cat err)"
# Mixed: the stacker sees the documents where every member has a held-out prediction.
expect_status 0 imdb-train -m ensemble -m a.model -m c.model --seed 3 -O ac.model train.tok.gz
grep -q 'over 30 documents' err || fail "mixed ensemble: $(cat err)"
expect_status 0 imdb-eval ac.model test.tok.gz
echo ok
