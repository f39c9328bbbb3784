#!/bin/sh
# train-nn-checkpoint.sh — checkpoints of the neural kinds: 4 epochs in one run equal
# 2 epochs, then 2 more resumed from the checkpoint, byte for byte (weights, Adam
# moments, shuffling generator, early-stopping state all restored); a checkpoint of
# another kind, made with other settings, corrupt, missing or not a checkpoint at all
# is refused with a clear message.
. "$IMDB_SRCDIR/tests/common.sh"

imdb-clean --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-vocab train.tok.gz -o v.gz

set_lstm='-m lstm -o dim=8 -o hidden=8 -o min_count=1 -o max_len=60 -o lr_schedule=constant -o patience=10'
set_mlp='-m mlp -o dim=8 -o dense=4 -o min_count=1 -o lr_schedule=constant -o patience=10'
for s in lstm mlp; do
    case $s in lstm) set=$set_lstm ;; mlp) set=$set_mlp ;; esac
    # shellcheck disable=SC2086
    imdb-train -q -V v.gz $set -o epochs=4 -O full.bin train.tok.gz
    # shellcheck disable=SC2086
    expect_status 0 imdb-train -q -V v.gz $set -o epochs=2 --checkpoint-every 1 --checkpoint ck.$s -O half.bin train.tok.gz
    [ -s ck.$s ] || fail "$s: no checkpoint written"
    # shellcheck disable=SC2086
    expect_status 0 imdb-train -V v.gz $set -o epochs=4 --resume ck.$s -O resumed.bin train.tok.gz
    expect_err "$s: resuming ck.$s after epoch 2"
    grep -q 'epoch 3/4' err || fail "$s: the resumed run did not start at epoch 3"
    same full.bin resumed.bin
done

# The default checkpoint name is MODEL.ckpt.
# shellcheck disable=SC2086
imdb-train -q -V v.gz $set_lstm -o epochs=1 --checkpoint-every 1 -O m.bin train.tok.gz
[ -s m.bin.ckpt ] || fail "no m.bin.ckpt"

# Another architecture's checkpoint.
# shellcheck disable=SC2086
expect_status 1 imdb-train -q -V v.gz $set_lstm -o epochs=3 --resume ck.mlp -O x.bin train.tok.gz
expect_err 'ck.mlp: checkpoint of a mlp model, cannot resume a lstm run'
[ ! -e x.bin ] || fail "a failed resume left a model"
# Other dimensions.
# shellcheck disable=SC2086
expect_status 1 imdb-train -q -V v.gz $set_lstm -o hidden=4 -o epochs=3 --resume ck.lstm -O x.bin train.tok.gz
expect_err 'ck.lstm: checkpoint made with other settings \(hidden, dense or filters differ\)'
# Other training data.
gunzip -c train.tok.gz | head -200 >part.tok
# shellcheck disable=SC2086
expect_status 1 imdb-train -q -V v.gz $set_lstm -o epochs=3 --resume ck.lstm -O x.bin part.tok
expect_err 'checkpoint made from other training data'
# Corrupt: one byte changed in the middle.
cp ck.lstm bad.ckpt
size=$(wc -c <bad.ckpt)
printf 'X' | dd of=bad.ckpt bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
# shellcheck disable=SC2086
expect_status 1 imdb-train -q -V v.gz $set_lstm -o epochs=3 --resume bad.ckpt -O x.bin train.tok.gz
expect_err 'bad.ckpt: .*CRC'
# Truncated.
head -c 1000 ck.lstm >short.ckpt
# shellcheck disable=SC2086
expect_status 1 imdb-train -q -V v.gz $set_lstm -o epochs=3 --resume short.ckpt -O x.bin train.tok.gz
# A model file is not a checkpoint.
# shellcheck disable=SC2086
expect_status 1 imdb-train -q -V v.gz $set_lstm -o epochs=3 --resume full.bin -O x.bin train.tok.gz
expect_err 'full.bin: not a training checkpoint'
# Missing.
# shellcheck disable=SC2086
expect_status 4 imdb-train -q -V v.gz $set_lstm -o epochs=3 --resume nosuch.ckpt -O x.bin train.tok.gz
[ ! -e x.bin ] || fail "a failed resume left a model"
