#!/bin/sh
# imdb-train refuses bad input with one clear message and the documented status, and
# never leaves a half-written model.
. "$IMDB_SRCDIR/tests/common.sh"

imdb-clean -q --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-vocab -q train.tok.gz -o vocab.gz

expect_status 0 imdb-train --help
grep -q -- '--valid-fraction' out || fail "--help lacks options"
expect_status 0 imdb-train --version
grep -Eq '^imdb-train \(imdb\) [0-9]' out || fail "--version: $(cat out)"

expect_status 2 imdb-train -V vocab.gz train.tok.gz
expect_err "no output model file"
expect_status 2 imdb-train --bogus
expect_err "Try 'imdb-train --help'"
expect_status 2 imdb-train -V vocab.gz -o ngram=2 -O m train.tok.gz
expect_err "unknown setting 'ngram'"
expect_status 2 imdb-train -V vocab.gz -o c=-1 -O m train.tok.gz
expect_err "c"
expect_status 2 imdb-train -m nosuchkind -V vocab.gz -O m train.tok.gz
expect_err "unknown model kind 'nosuchkind'"
expect_status 2 imdb-train -O m train.tok.gz
expect_err "needs a vocabulary"
expect_status 2 imdb-train -V vocab.gz -o ngrams=4 -O m train.tok.gz
expect_err "up to 3"
[ ! -e m ] || fail "a failed run left a model"

expect_status 4 imdb-train -V vocab.gz -O m missing.tok.gz
expect_err "missing.tok.gz"
expect_status 4 imdb-train -V missing.vocab -O m train.tok.gz
expect_status 4 imdb-train -V vocab.gz -c missing.conf -O m train.tok.gz

printf 'c = \n' >bad.conf
expect_status 2 imdb-train -V vocab.gz -c bad.conf -O m train.tok.gz
expect_err "bad.conf:1"

# Data errors: an unknown label, a stream cleaned differently, only unlabelled documents.
printf 'pos\t1\tgood film\nmaybe\t2\tso so\n' >bad.tok
expect_status 1 imdb-train -V vocab.gz -O m bad.tok
expect_err "bad.tok:2: unknown label 'maybe'"
imdb-clean -q --no-casefold --split train "$FIXTURES/mini-aclImdb.tar.gz" -o other.tok.gz
expect_status 1 imdb-train -V vocab.gz -O m other.tok.gz
expect_err "cleaned with different settings"
imdb-clean -q --split unsup "$FIXTURES/mini-aclImdb.tar.gz" -o unsup.tok.gz
expect_status 1 imdb-train -V vocab.gz -O m unsup.tok.gz
expect_err "no labelled documents"
# A truncated gzip stream.
head -c 2000 train.tok.gz >cut.tok.gz
expect_status 1 imdb-train -V vocab.gz -O m cut.tok.gz
expect_err "cut.tok.gz: unexpected end of file"
[ ! -e m ] || fail "a failed run left a model"
ls | grep -q 'tmp-' && fail "temporary file left behind"

# A full disk.
if [ -w /dev/full ]; then
    set +e; imdb-train -q -V vocab.gz -O - train.tok.gz >/dev/full 2>err; st=$?; set -e
    [ "$st" -eq 4 ] || fail "writing the model to /dev/full exited $st"
    expect_err "No space left on device"
fi
echo ok
