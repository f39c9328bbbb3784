#!/bin/sh
# train-nn-errors.sh — bad settings and data for the neural kinds: a clear message and
# the documented exit status, no model left behind, never a crash.
. "$IMDB_SRCDIR/tests/common.sh"

imdb-clean --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-vocab train.tok.gz -o v.gz
tiny='-o dim=8 -o epochs=1 -o min_count=1'

# Settings.
expect_status 2 imdb-train -m lstm -V v.gz -o max_len=0 -O m.bin train.tok.gz
expect_err 'setting max_len'
expect_status 2 imdb-train -m lstm -V v.gz -o filters=8 -O m.bin train.tok.gz
expect_err 'filters'
expect_status 2 imdb-train -m cnn -V v.gz -o widths=3,x -O m.bin train.tok.gz
expect_err 'setting widths'
expect_status 2 imdb-train -m bilstm -V v.gz -o truncate=middle -O m.bin train.tok.gz
expect_err 'setting truncate'
expect_status 2 imdb-train -m lstm -V v.gz -o pool=min -O m.bin train.tok.gz
expect_err 'setting pool'
expect_status 2 imdb-train -m mlp -V v.gz -o optimizer=lbfgs -O m.bin train.tok.gz
expect_err 'setting optimizer'
# A vocabulary of unigrams cannot give bigrams (unless they are hashed).
imdb-vocab -n 1 train.tok.gz -o v1.gz
expect_status 2 imdb-train -m mlp -V v1.gz -o ngrams=2 -O m.bin train.tok.gz
expect_err 'counts n-grams up to 1'
# shellcheck disable=SC2086
expect_status 0 imdb-train -q -m mlp -V v1.gz $tiny -o ngrams=2 -o buckets=1000 -O m.bin train.tok.gz
rm -f m.bin

# No word frequent enough; nothing left to train on.
expect_status 1 imdb-train -m cnn -V v.gz -o min_count=1000000 -O m.bin train.tok.gz
expect_err 'min_count'
gunzip -c train.tok.gz | head -2 >one.tok
expect_status 1 imdb-train -m cnn --valid-fraction 0.9 -O m.bin one.tok
expect_err 'no labelled documents to train on'

# Divergence: exit 5 with a message, no model.
# shellcheck disable=SC2086
expect_status 5 imdb-train -m lstm -V v.gz $tiny -o optimizer=sgd -o lr=100000 -o clip=0 -O m.bin train.tok.gz
expect_err 'lstm: the training loss (exploded|became NaN) at epoch 1'

# Initial embeddings: a good file, the wrong dimension, malformed, missing.
{ echo '3 8'
  echo 'the 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8'
  echo 'movie 1 1 1 1 1 1 1 1'
  echo 'zzzunknown 0 0 0 0 0 0 0 0'; } >good.vec
# shellcheck disable=SC2086
expect_status 0 imdb-train -m mlp -V v.gz $tiny --init-embeddings good.vec -O m.bin train.tok.gz
expect_err 'mlp: 2 of [0-9]+ words initialised from good.vec'
# shellcheck disable=SC2086
expect_status 1 imdb-train -m mlp -V v.gz $tiny -o dim=4 --init-embeddings good.vec -O m2.bin train.tok.gz
expect_err 'good.vec'
{ echo '2 8'; echo 'the 0.1 0.2 zero 0.4 0.5 0.6 0.7 0.8'; echo 'a 1 1 1 1 1 1 1 1'; } >bad.vec
# shellcheck disable=SC2086
expect_status 1 imdb-train -m lstm -V v.gz $tiny --init-embeddings bad.vec -O m2.bin train.tok.gz
expect_err 'bad.vec'
# shellcheck disable=SC2086
expect_status 4 imdb-train -m cnn -V v.gz $tiny --init-embeddings nosuch.vec -O m2.bin train.tok.gz
[ ! -e m2.bin ] || fail "a failed run left a model"

# A damaged neural model is refused by the tools that load it.
cp m.bin damaged.bin
printf 'XXXX' | dd of=damaged.bin bs=1 seek=200 conv=notrunc 2>/dev/null
expect_status 1 imdb-eval damaged.bin train.tok.gz

# Divergence after a checkpoint: the message names it and it is left as it was.
# shellcheck disable=SC2086
imdb-train -q -m lstm -V v.gz $tiny --checkpoint-every 1 --checkpoint good.ckpt -O m3.bin train.tok.gz
cp good.ckpt good.copy
# shellcheck disable=SC2086
expect_status 5 imdb-train -m lstm -V v.gz $tiny -o epochs=3 -o lr=100000 --resume good.ckpt \
    --checkpoint-every 1 --checkpoint good.ckpt -O m4.bin train.tok.gz
expect_err 'the training loss (exploded|became NaN) at epoch 2, batch [0-9]+ .*; the last good checkpoint is good.ckpt$'
same good.ckpt good.copy
[ ! -e m4.bin ] || fail "a diverged run left a model"
