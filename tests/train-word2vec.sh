#!/bin/sh
# imdb-train -m word2vec on the fixture corpus: vectors in word2vec text and binary
# format, byte-identical with --threads 1 and a seed, labelled and unlabelled inputs,
# stdin left alone when only --unlabelled is given, errors.
. "$IMDB_SRCDIR/tests/common.sh"

imdb-clean -q "$FIXTURES/mini-aclImdb.tar.gz" -o all.tok.gz
imdb-clean -q --split unsup "$FIXTURES/mini-aclImdb.tar.gz" -o unsup.tok.gz
w2v="imdb-train -q -m word2vec -o dim=12 -o min_count=3 -o epochs=2"

# Same seed, one thread: the same bytes. Another seed: other vectors.
$w2v --seed 7 -O a.vec all.tok.gz
$w2v --seed 7 -O b.vec all.tok.gz
same a.vec b.vec
$w2v --seed 8 -O c.vec all.tok.gz
cmp -s a.vec c.vec && fail "seed 7 and seed 8 gave the same vectors"

# Text format: "COUNT DIM", then COUNT rows of a word and DIM numbers, most frequent first.
read -r count dim <a.vec
[ "$dim" = 12 ] || fail "dimension $dim"
[ "$(wc -l <a.vec)" -eq $((count + 1)) ] || fail "$count words announced, $(wc -l <a.vec) lines"
awk 'NR > 1 && NF != 13 { exit 1 }' a.vec || fail "a row without 12 numbers"
[ "$(sed -n 2p a.vec | cut -d' ' -f1)" = the ] || fail "the most frequent word is not first"

# Binary format: the same vectors (the seed decides them, not the format).
$w2v --seed 7 -o binary=1 -O a.bin all.tok.gz
[ "$(head -n1 a.bin)" = "$count 12" ] || fail "binary header"
[ "$(wc -c <a.bin)" -gt $((count * 48)) ] || fail "binary file too short"

# Labelled documents count too: the unsup split alone gives a smaller vocabulary.
$w2v --seed 7 -O u.vec unsup.tok.gz
read -r ucount udim <u.vec
[ "$ucount" -lt "$count" ] || fail "unsup only: $ucount words, all: $count"

# --unlabelled reads the text of every document of a stream, labelled or not. Without
# TOKENS, standard input is not read then (it would be bad data here).
printf 'not a token stream\n' >junk
$w2v --seed 7 --unlabelled unsup.tok.gz -O d.vec <junk
same u.vec d.vec
$w2v --seed 7 --unlabelled all.tok.gz -O d2.vec <junk
same a.vec d2.vec

# Two threads work (Hogwild: not byte-reproducible, so only the shape is checked).
$w2v --threads 2 -O t.vec all.tok.gz
[ "$(head -n1 t.vec)" = "$count 12" ] || fail "--threads 2: header"

# Errors: no word frequent enough; a setting out of range or unknown; no input at all.
expect_status 1 $w2v -o min_count=100000 -O e.vec all.tok.gz
expect_err "^imdb-train: no word occurs 100000 times in the 530 documents"
[ ! -e e.vec ] || fail "a failed run left e.vec"
expect_status 2 $w2v -o dim=0 -O e.vec all.tok.gz
expect_err "dim"
expect_status 2 $w2v -o hidden=3 -O e.vec all.tok.gz
expect_err "hidden"
expect_status 1 $w2v -O e.vec </dev/null
expect_err "no word occurs 3 times in the 0 documents"
# A learning rate that makes the vectors diverge: training failed (5), nothing written.
expect_status 5 $w2v -o alpha=1 -O e.vec all.tok.gz
expect_err "the loss is not finite at epoch 1"
[ ! -e e.vec ] || fail "a diverged run left e.vec"
