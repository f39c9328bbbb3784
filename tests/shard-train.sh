#!/bin/sh
# shard-train.sh — training from shards: nblr reads the merged vocabulary and the shard
# streams as several TOKENS operands (or --files-from) without concatenating them; with
# --sort-by-id the model is byte for byte the single-process one, which for the aclImdb
# layout (read in id order) is also the model trained without --sort-by-id.
. "$IMDB_SRCDIR/tests/common.sh"

tar="$FIXTURES/mini-aclImdb.tar.gz"
imdb-clean -q --split train "$tar" -o train.tok.gz
imdb-vocab -q train.tok.gz -o whole.vocab
for k in 0 1 2 3; do
    imdb-clean -q --split train --shard "$k/4" "$tar" -o "s$k.tok.gz"
    imdb-vocab -q "s$k.tok.gz" -o "v$k.vocab"
done
imdb-vocab -q --merge --min-count 2 v0.vocab v1.vocab v2.vocab v3.vocab -o merged.vocab
imdb-vocab -q --min-count 2 train.tok.gz -o one.vocab
same merged.vocab one.vocab

set -- -q -o min_df=2 -o epochs=3 --valid-fraction 0.2 --seed 5 --threads 2
imdb-train "$@" -V one.vocab -O single.model train.tok.gz
imdb-train "$@" --sort-by-id -V one.vocab -O single-sorted.model train.tok.gz
same single-sorted.model single.model
imdb-train "$@" --sort-by-id -V merged.vocab -O sharded.model s0.tok.gz s1.tok.gz s2.tok.gz s3.tok.gz
same sharded.model single.model
# Any order of the shards, and a list file (with a blank line), give the same model.
printf 's2.tok.gz\n\ns0.tok.gz\ns3.tok.gz\n' >list
imdb-train "$@" --sort-by-id -V merged.vocab -O listed.model --files-from list s1.tok.gz
same listed.model single.model
# Without --sort-by-id the shard order is the document order: another split, another model.
imdb-train "$@" -V merged.vocab -O unsorted.model s0.tok.gz s1.tok.gz s2.tok.gz s3.tok.gz
cmp -s unsorted.model single.model && fail "shard order did not matter without --sort-by-id"

# Scoring the shards' test documents with the sharded model equals one process.
imdb-clean -q --split test "$tar" -o test.tok.gz
imdb-eval sharded.model test.tok.gz >a
imdb-eval single.model test.tok.gz >b
same a b

# A missing list file is an I/O error (exit 4).
expect_status 4 imdb-train -q -V merged.vocab -O x.model --files-from no-such-list
expect_err "no-such-list"
[ ! -e x.model ] || fail "a failed run wrote x.model"

# Parameter averaging (--average): per-shard models trained with the merged vocabulary.
for k in 0 1; do
    imdb-clean -q --split train --shard "$k/2" "$tar" -o "h$k.tok.gz"
    imdb-train -q -V merged.vocab -o min_df=2 --seed 5 -O "h$k.model" "h$k.tok.gz"
done
imdb-train --average -O avg.model h0.model h1.model
imdb-predict --info avg.model | grep -q '^  average_of = h0.model h1.model$' || fail "average_of not recorded"
# A review of unknown words scores the bias alone: the mean of the two biases.
p0=$(echo zzzq | imdb-predict h0.model | cut -f2)
p1=$(echo zzzq | imdb-predict h1.model | cut -f2)
pa=$(echo zzzq | imdb-predict avg.model | cut -f2)
awk -v a="$p0" -v b="$p1" -v m="$pa" 'BEGIN { l = (log(a / (1 - a)) + log(b / (1 - b))) / 2
    p = 1 / (1 + exp(-l)); d = p - m; exit !(d < 2e-6 && d > -2e-6) }' ||
    fail "averaged bias: $pa, expected the mean of the logits of $p0 and $p1"
# The average of one model with itself predicts exactly as it does.
imdb-train --average -O self.model h0.model h0.model
gunzip -c test.tok.gz | sed 1d | cut -f3 >reviews.txt
imdb-predict -j1 self.model reviews.txt >s1
imdb-predict -j1 h0.model reviews.txt >s0
same s1 s0
# Models with other features are refused (exit 1), and so is a non-nblr file.
imdb-train -q -V one.vocab -o min_df=1 --seed 5 -O other.model h1.tok.gz
expect_status 1 imdb-train --average -O bad.model h0.model other.model
expect_err "other.model: other features or cleaning than h0.model"
[ ! -e bad.model ] || fail "a refused average wrote bad.model"
expect_status 1 imdb-train --average -O bad.model h0.model merged.vocab
expect_status 2 imdb-train --average -O bad.model
