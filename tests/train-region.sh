#!/bin/sh
# train-region.sh — the region kinds (issue 24) through imdb-train on the fixture corpus
# with tiny sizes: regemb learns from the training and unlabelled text (its loss falls),
# is no classifier; regcnn takes it as a side input and works in imdb-eval and
# imdb-predict; a seed and a thread count give the same bytes twice; a run resumed from
# its checkpoint gives the bytes of the uninterrupted one; an embedding made with another
# vocabulary or other cleaning is refused naming the file, unless --force; a file that
# is no region embedding is refused.
. "$IMDB_SRCDIR/tests/common.sh"

imdb-clean --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-clean --split unsup "$FIXTURES/mini-aclImdb.tar.gz" -o unsup.tok.gz
imdb-clean --split test "$FIXTURES/mini-aclImdb.tar.gz" -o test.tok.gz
imdb-vocab train.tok.gz unsup.tok.gz -o v.gz

emb='--kind regemb -V v.gz -o lr_schedule=constant -o dim=8 -o targets=500 -o neg=4 -o min_count=1 -o max_len=200 -o lr=0.01'
cnn='--kind regcnn -V v.gz -o lr_schedule=constant -o dim=12 -o min_count=1 -o max_len=200 -o lr=0.01'

# regemb: train + unlabelled text; the training loss falls; two threads.
# shellcheck disable=SC2086
expect_status 0 imdb-train $emb -o epochs=3 --threads 2 --curves e.tsv -O e.model train.tok.gz --unlabelled unsup.tok.gz
expect_err 'regemb: 300 documents'
awk -F'\t' 'NR == 2 { first = $2 } END { exit !($2 < first) }' e.tsv \
    || fail "regemb: the training loss did not fall: $(cut -f2 e.tsv | tr '\n' ' ')"
imdb-predict --info e.model >info 2>&1 || true
expect_status 1 imdb-eval e.model test.tok.gz
expect_err 'e.model: a model of kind regemb does not classify'
# Same seed, same threads: same bytes.
# shellcheck disable=SC2086
imdb-train -q $emb -o epochs=3 --threads 2 -O e2.model train.tok.gz --unlabelled unsup.tok.gz
same e.model e2.model
# Resumed = uninterrupted (a constant rate: the schedule depends on epochs, as in
# train-nn-checkpoint.sh).
# shellcheck disable=SC2086
imdb-train -q $emb -o epochs=2 --threads 2 --checkpoint-every 1 --checkpoint e.ckpt -O half.model train.tok.gz \
    --unlabelled unsup.tok.gz
# shellcheck disable=SC2086
expect_status 0 imdb-train $emb -o epochs=3 --threads 2 --resume e.ckpt -O e3.model train.tok.gz --unlabelled unsup.tok.gz
expect_err 'regemb: resuming e.ckpt after epoch 2'
same e.model e3.model

# regcnn alone and with the embedding as a side input.
# shellcheck disable=SC2086
expect_status 0 imdb-train -q $cnn -o epochs=4 -O c0.model train.tok.gz
# shellcheck disable=SC2086
expect_status 0 imdb-train $cnn -o epochs=4 -o embeddings=e.model --threads 2 --curves c.tsv -O c.model train.tok.gz
awk -F'\t' 'NR == 2 { first = $2 } END { exit !($2 < first) }' c.tsv \
    || fail "regcnn: the training loss did not fall: $(cut -f2 c.tsv | tr '\n' ' ')"
[ "$(wc -c <c.model)" -gt "$(wc -c <c0.model)" ] || fail "regcnn: the side input is not in the model"
imdb-predict --info c.model >info
grep -q '^kind: regcnn$' info || fail "regcnn: --info lacks the kind"
grep -q '^  embeddings = e.model$' info || fail "regcnn: the embeddings are not recorded"
for m in c0.model c.model; do
    expect_status 0 imdb-eval --json $m test.tok.gz
    grep -q '"accuracy"' out || fail "$m: imdb-eval printed no accuracy"
done
printf 'a wonderful film, moving and funny\na dull waste of time\n\n' >texts
imdb-predict c.model <texts >p1
imdb-predict --threads 2 c.model <texts >p2
[ "$(wc -l <p1)" -eq 3 ] || fail "regcnn: imdb-predict did not write one line per input line"
same p1 p2
# --explain: the regions that weighed most, as for nblr.
expect_status 0 imdb-predict --explain=2 c.model <texts
head -n 1 out | grep -Eq '^(pos|neg)	[0-9.]+	[^ ]+.*\([+-][0-9.]+\)' || fail "regcnn: --explain printed: $(head -n 1 out)"
# Same seed, same threads: same bytes; resumed = uninterrupted (the frozen side input
# and the moments of the trained tensors only).
# shellcheck disable=SC2086
imdb-train -q $cnn -o epochs=4 -o embeddings=e.model --threads 2 -O c2.model train.tok.gz
same c.model c2.model
# side_scale: recorded in the model, changes it; out of range refused; maps (once
# accepted and ignored) is no setting of regcnn.
# shellcheck disable=SC2086
imdb-train -q $cnn -o epochs=4 -o embeddings=e.model -o side_scale=1 --threads 2 -O c4.model train.tok.gz
imdb-predict --info c4.model >info
grep -q '^  side_scale = 1$' info || fail "regcnn: side_scale is not recorded: $(grep side info)"
! cmp -s c.model c4.model || fail "regcnn: side_scale = 1 gave the bytes of the default 0.1"
# shellcheck disable=SC2086
expect_status 2 imdb-train -q $cnn -o epochs=1 -o embeddings=e.model -o side_scale=0 -O x4.model train.tok.gz
expect_err 'side_scale'
# shellcheck disable=SC2086
expect_status 2 imdb-train -q $cnn -o epochs=1 -o maps=10 -O x4.model train.tok.gz
expect_err 'maps'
# shellcheck disable=SC2086
imdb-train -q $cnn -o epochs=2 -o embeddings=e.model --threads 2 --checkpoint-every 2 --checkpoint c.ckpt \
    -O half.model train.tok.gz
# shellcheck disable=SC2086
expect_status 0 imdb-train $cnn -o epochs=4 -o embeddings=e.model --threads 2 --resume c.ckpt -O c3.model train.tok.gz
expect_err 'regcnn: resuming c.ckpt after epoch 2'
same c.model c3.model

# Another vocabulary: refused, naming the file; --force accepts it.
imdb-vocab train.tok.gz -o v2.gz
# shellcheck disable=SC2086
expect_status 1 imdb-train -q $cnn -V v2.gz -o epochs=1 -o embeddings=e.model -O x.model train.tok.gz
expect_err '^imdb-train: e.model: region embedding made with another vocabulary'
[ ! -e x.model ] || fail "a refused embedding left a model"
# shellcheck disable=SC2086
expect_status 0 imdb-train $cnn -V v2.gz -o epochs=1 -o embeddings=e.model --force -O x.model train.tok.gz
expect_err 'warning: e.model has another vocabulary'
# Other cleaning: refused, naming the file; --force accepts it.
imdb-clean --no-casefold --split train "$FIXTURES/mini-aclImdb.tar.gz" -o cased.tok.gz
imdb-vocab cased.tok.gz unsup.tok.gz -o v3.gz 2>/dev/null || imdb-vocab cased.tok.gz -o v3.gz
# shellcheck disable=SC2086
expect_status 1 imdb-train -q $cnn -V v3.gz -o epochs=1 -o embeddings=e.model -O x2.model cased.tok.gz
expect_err 'e.model: region embedding made with other cleaning settings than the training stream'
# shellcheck disable=SC2086
expect_status 0 imdb-train -q $cnn -V v3.gz -o epochs=1 -o embeddings=e.model --force -O x2.model cased.tok.gz
# Not a region embedding; a missing file.
# shellcheck disable=SC2086
expect_status 1 imdb-train -q $cnn -o epochs=1 -o embeddings=c0.model -O x3.model train.tok.gz
expect_err 'c0.model: not a region embedding \(a model of kind regcnn'
# shellcheck disable=SC2086
expect_status 4 imdb-train -q $cnn -o epochs=1 -o embeddings=nosuch.model -O x3.model train.tok.gz
expect_err 'nosuch.model'
[ ! -e x3.model ] || fail "a refused embedding left a model"

# keep: best (the default) keeps the epoch of lowest validation loss, as the curves show;
# last keeps the last epoch although there is a validation part; anything else is refused.
# shellcheck disable=SC2086
expect_status 0 imdb-train $cnn -o epochs=4 --valid-fraction 0.3 --curves k.tsv -O kb.model train.tok.gz
low=$(awk -F'\t' 'NR > 1 && (best == "" || $3 < best) { best = $3; ep = $1 } END { print ep }' k.tsv)
expect_err "regcnn: kept epoch $low \(lowest validation loss\)"
# shellcheck disable=SC2086
expect_status 0 imdb-train $cnn -o epochs=4 -o keep=last --valid-fraction 0.3 -O kl.model train.tok.gz
expect_err 'regcnn: kept epoch 4 \(keep = last\)'
if [ "$low" != 4 ]; then ! cmp -s kb.model kl.model || fail "keep = last gave the bytes of epoch $low"; fi
# shellcheck disable=SC2086
expect_status 2 imdb-train -q $cnn -o epochs=1 -o keep=first -O x5.model train.tok.gz
expect_err "setting keep: 'first' is not best or last"
