#!/bin/sh
# imdb-train -m dvcos on the fixture corpus: the model works end to end; --threads 1 and
# a seed give the same bytes; transductive use (the test text in the pool) looks up the
# learned vectors, inductive use infers the same vector for the same text every time
# (with inductive = 1, even for the pool's texts, the head fitted on inferred vectors);
# the held-out predictions make it an ensemble member; bad settings, empty pools and
# damaged model files are errors with the documented status.
. "$IMDB_SRCDIR/tests/common.sh"

imdb-clean -q --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-clean -q --split test "$FIXTURES/mini-aclImdb.tar.gz" -o test.tok.gz
imdb-clean -q --split unsup "$FIXTURES/mini-aclImdb.tar.gz" -o unsup.tok.gz
dv="imdb-train -m dvcos -o dim=16 -o epochs=3 -o min_count=2 -o infer_epochs=3 --threads 1"

# It trains, and says what it did: the corpus is the 300 labelled documents and the 30
# unlabelled ones; the epoch lines; the validation accuracy with inferred vectors.
expect_status 0 $dv --seed 7 --unlabelled unsup.tok.gz -O a.model train.tok.gz
expect_err '^imdb-train: dvcos: 300 documents: 270 for training, 30 for validation$'
expect_err '^imdb-train: dvcos: 330 documents, [0-9]+ targets seen >= 2 times, [0-9]+ occurrences \([0-9.]+ s\)$'
for e in 1 2 3; do
    expect_err "^imdb-train: epoch $e/3  train_loss [0-9]+\\.[0-9]{4}  valid_loss [0-9]+\\.[0-9]{4}  valid_acc [01]\\.[0-9]{4}  [0-9.]+s\$"
done
expect_err '^imdb-train: dvcos: validation accuracy [01]\.[0-9]{4} with learned vectors, [01]\.[0-9]{4} with inferred ones \([0-9.]+ ms a document\)$'
imdb-predict --info a.model >info
grep -qx 'kind: dvcos' info || fail "--info kind: $(cat info)"
grep -qx '  dim = 16' info || fail "--info dim: $(cat info)"
grep -qx '  heldout_folds = 5' info || fail "--info heldout_folds (default 5): $(cat info)"
grep -qx '  scale = 6' info || fail "--info scale: $(cat info)"
expect_status 0 imdb-eval a.model test.tok.gz
grep -qx 'documents  200' out || fail "imdb-eval: $(cat out)"
grep -Eq '^accuracy   [01]\.[0-9]{4}$' out || fail "imdb-eval: $(cat out)"

# Same seed, one thread: the same bytes. Another seed: another model.
$dv -q --seed 7 --unlabelled unsup.tok.gz -O b.model train.tok.gz
same a.model b.model
$dv -q --seed 8 --unlabelled unsup.tok.gz -O c.model train.tok.gz
cmp -s a.model c.model && fail "seed 7 and seed 8 gave the same model"
# Two threads work (Hogwild: not byte-reproducible, so only that it works).
$dv -q --seed 7 --threads 2 --unlabelled unsup.tok.gz -O t2.model train.tok.gz
expect_status 0 imdb-eval t2.model test.tok.gz

# Transductive: the test reviews' text joins the pool (their labels are never read), so
# each has a learned vector, looked up by its token sequence. It beats chance.
tr="imdb-train -q -m dvcos -o dim=32 -o epochs=10 -o min_count=2 --threads 1 --seed 7"
$tr -o infer_epochs=3 --unlabelled unsup.tok.gz --unlabelled test.tok.gz -O t.model train.tok.gz
expect_status 0 imdb-eval --json --threads 1 t.model test.tok.gz
acc=$(sed -n 's/^ *"accuracy": *\([0-9.]*\).*/\1/p' out)
awk -v a="$acc" 'BEGIN { exit !(a > 0.65) }' || fail "transductive fixture accuracy $acc is not above 0.65"
cp out eval1
expect_status 0 imdb-eval --json --threads 2 t.model test.tok.gz
same eval1 out
imdb-predict --tokens --threads 1 t.model test.tok.gz >t1.pred
imdb-predict --tokens --threads 2 t.model test.tok.gz >t2.pred
same t1.pred t2.pred
[ "$(wc -l <t1.pred)" -eq 200 ] || fail "$(wc -l <t1.pred) predictions of 200 reviews"
# Learned vectors do not depend on infer_epochs (it only changes inference): a model
# that differs only there predicts every test review the same, and unseen text not.
$tr -o infer_epochs=30 --unlabelled unsup.tok.gz --unlabelled test.tok.gz -O t30.model train.tok.gz
imdb-predict --tokens t30.model test.tok.gz >t30.pred
same t1.pred t30.pred
echo "A wonderful film, I loved it!" | imdb-predict t.model >u3
echo "A wonderful film, I loved it!" | imdb-predict t30.model >u30
cmp -s u3 u30 && fail "infer_epochs 3 and 30 inferred the same probability for unseen text"
# The same text as raw reviews: cleaned to the same tokens, the same vectors.
zcat test.tok.gz | sed 1d | cut -f3 >test.txt
imdb-predict --threads 1 t.model <test.txt >raw.pred
same t1.pred raw.pred

# Inductive: unseen text gets an inferred vector, the same on every run and thread count.
echo "A wonderful film, I loved it!" | imdb-predict t.model >u3b
same u3 u3b
grep -Eq '^(pos|neg)	[01]\.[0-9]{6}$' u3 || fail "unexpected prediction: $(cat u3)"
imdb-predict --tokens --threads 1 a.model test.tok.gz >i1.pred
imdb-predict --tokens --threads 2 a.model test.tok.gz >i2.pred
same i1.pred i2.pred
imdb-predict --threads 2 a.model <test.txt >iraw.pred
same i1.pred iraw.pred
# Without the test text in the pool, the test reviews are inferred: infer_epochs matters.
$dv -q --seed 7 -o infer_epochs=30 --unlabelled unsup.tok.gz -O a30.model train.tok.gz
imdb-predict --tokens a30.model test.tok.gz >i30.pred
cmp -s i1.pred i30.pred && fail "inductive: infer_epochs 3 and 30 gave the same predictions"

# inductive = 1: the head is fitted on the inferred vectors of the training part and no
# learned vector is kept, so even a text of the pool is inferred (infer_epochs matters
# for the test reviews in the pool), the same with 1 and 2 threads, and the model is
# smaller. The last line compares the head fitted on learned vectors.
expect_status 0 $dv --seed 7 -o inductive=1 --unlabelled unsup.tok.gz --unlabelled test.tok.gz -O n.model train.tok.gz
expect_err '^imdb-train: dvcos: validation accuracy [01]\.[0-9]{4} with learned vectors, [01]\.[0-9]{4} with inferred ones \([0-9.]+ ms a document\); head fitted on inferred training vectors \(on learned ones: [01]\.[0-9]{4}\)$'
$dv -q --seed 7 --threads 2 -o inductive=1 --unlabelled unsup.tok.gz --unlabelled test.tok.gz -O n2.model train.tok.gz
expect_status 0 imdb-eval n2.model test.tok.gz
$dv -q --seed 7 -o inductive=1 -o infer_epochs=30 --unlabelled unsup.tok.gz --unlabelled test.tok.gz -O n30.model train.tok.gz
$dv -q --seed 7 --unlabelled unsup.tok.gz --unlabelled test.tok.gz -O l.model train.tok.gz
imdb-predict --tokens --threads 1 n.model test.tok.gz >n1.pred
imdb-predict --tokens --threads 2 n.model test.tok.gz >n2.pred
same n1.pred n2.pred
imdb-predict --tokens n30.model test.tok.gz >n30.pred
cmp -s n1.pred n30.pred && fail "inductive=1: test reviews in the pool were not inferred"
[ "$(wc -c <n.model)" -lt "$(wc -c <l.model)" ] || fail "inductive=1 kept the learned vectors"

# The held-out predictions (heldout_folds = 5 by default) make it an ensemble member.
imdb-vocab -q --ngrams 3 train.tok.gz -o vocab.gz
imdb-train -q -V vocab.gz --seed 7 -o heldout_folds=5 -O nblr.model train.tok.gz
expect_status 0 imdb-train --model ensemble -m nblr.model -m a.model --seed 7 -O e.model train.tok.gz
grep -Eq '^imdb-train: ensemble: member 1 a\.model \(dvcos\): held-out accuracy [01]\.[0-9]{4} \(heldout section\)$' err ||
    fail "dvcos member line: $(cat err)"
grep -q 'over 270 documents' err || fail "stacked line: $(cat err)"
expect_status 0 imdb-eval e.model test.tok.gz
imdb-predict --info e.model | grep -qx '  member_kinds = nblr dvcos' || fail "--info member kinds"
# heldout_folds = 0: no section; the ensemble falls back to the validation split.
$dv -q --seed 7 -o heldout_folds=0 --unlabelled unsup.tok.gz -O h0.model train.tok.gz
expect_status 0 imdb-train --model ensemble -m nblr.model -m h0.model --seed 7 -O e0.model train.tok.gz
grep -Eq '^imdb-train: ensemble: member 1 h0\.model \(dvcos\): held-out accuracy [01]\.[0-9]{4} \(validation split\)$' err ||
    fail "dvcos member without heldout: $(cat err)"

# Bad settings: usage errors (2).
expect_status 2 $dv -o dim=0 --unlabelled unsup.tok.gz -O bad.model train.tok.gz
expect_err '^imdb-train: setting dim: 0 is out of range \[1, 4096\]$'
expect_status 2 $dv -o heldout_folds=1 --unlabelled unsup.tok.gz -O bad.model train.tok.gz
expect_err 'setting heldout_folds'
expect_status 2 $dv -o window=5 --unlabelled unsup.tok.gz -O bad.model train.tok.gz
expect_err 'window'
# No pool, or a pool of zero documents (a header only): bad data (1).
expect_status 1 $dv -O bad.model train.tok.gz
expect_err '^imdb-train: dvcos: the unlabelled pool is empty: give --unlabelled FILE with at least one document'
zcat unsup.tok.gz | head -n1 | gzip >empty.tok.gz
expect_status 1 $dv --unlabelled empty.tok.gz -O bad.model train.tok.gz
expect_err '^imdb-train: dvcos: the unlabelled pool is empty'
# No n-gram frequent enough (1).
expect_status 1 $dv -o min_count=1000000 --unlabelled unsup.tok.gz -O bad.model train.tok.gz
expect_err '^imdb-train: dvcos: no n-gram occurs min_count = 1000000 times in the corpus$'
# No labelled document (1).
expect_status 1 $dv --unlabelled unsup.tok.gz -O bad.model empty.tok.gz
expect_err 'no labelled documents'
[ ! -e bad.model ] || fail "a failed run left bad.model"

# A damaged model file is bad data (1), with a message, not a crash.
size=$(wc -c <a.model)
head -c $((size / 2)) a.model >half.model
expect_status 1 imdb-eval half.model test.tok.gz
expect_err '^imdb-eval: half\.model: truncated or corrupt model file'
head -c 100 a.model >head.model
expect_status 1 imdb-eval head.model test.tok.gz
expect_err '^imdb-eval: head\.model: truncated or corrupt model file'
expect_status 1 imdb-predict half.model </dev/null
expect_err '^imdb-predict: half\.model: truncated or corrupt model file'
echo ok
