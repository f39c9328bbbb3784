#!/bin/sh
# shard-vocab.sh — map-reduce vocabulary: per-shard imdb-vocab, then imdb-vocab --merge,
# is byte for byte the one-process vocabulary, pruned (--min-count, --min-df, --max-size)
# after the merge; a tree of merges (fan-in 8 of fan-in 8 over 64 shards) gives the same
# file; pruning per shard is shown to differ; a failed shard fails the merge without a
# partial output, and rerunning only that shard completes it.
. "$IMDB_SRCDIR/tests/common.sh"

tar="$FIXTURES/mini-aclImdb.tar.gz"
imdb-clean -q "$tar" -o all.tok.gz
imdb-vocab -q all.tok.gz -o whole.vocab
imdb-vocab -q --min-count 3 --min-df 2 --max-size 500 all.tok.gz -o whole-pruned.vocab

# 64 shards of the 530 documents, one vocabulary each.
k=0
while [ "$k" -lt 64 ]; do
    imdb-clean -q --shard "$k/64" "$tar" -o "s$k.tok.gz"
    imdb-vocab -q "s$k.tok.gz" -o "v$k.vocab.gz"
    k=$((k + 1))
done

# Flat merge of all 64.
k=0; all=
while [ "$k" -lt 64 ]; do all="$all v$k.vocab.gz"; k=$((k + 1)); done
# shellcheck disable=SC2086
imdb-vocab -q --merge $all -o flat.vocab
same flat.vocab whole.vocab

# Tree: 8 merges of 8 shards, then one merge of the 8 partial sums (pruned only at the root).
g=0
while [ "$g" -lt 8 ]; do
    i=0; grp=
    while [ "$i" -lt 8 ]; do grp="$grp v$((g * 8 + i)).vocab.gz"; i=$((i + 1)); done
    # shellcheck disable=SC2086
    imdb-vocab -q --merge $grp -o "mid$g.vocab"
    g=$((g + 1))
done
imdb-vocab -q --merge mid0.vocab mid1.vocab mid2.vocab mid3.vocab mid4.vocab mid5.vocab \
    mid6.vocab mid7.vocab -o tree.vocab
same tree.vocab whole.vocab
imdb-vocab -q --merge --min-count 3 --min-df 2 --max-size 500 mid7.vocab mid3.vocab \
    mid0.vocab mid1.vocab mid2.vocab mid4.vocab mid5.vocab mid6.vocab -o tree-pruned.vocab
same tree-pruned.vocab whole-pruned.vocab
# Another grouping (pairs, then the rest) and another order: still the same file.
imdb-vocab -q --merge v63.vocab.gz v0.vocab.gz -o pair.vocab
imdb-vocab -q --merge mid1.vocab pair.vocab mid2.vocab mid3.vocab mid4.vocab mid5.vocab \
    mid6.vocab $(k=1; while [ "$k" -lt 63 ]; do [ "$k" -ge 8 ] && [ "$k" -lt 56 ] || printf 'v%s.vocab.gz ' "$k"; k=$((k + 1)); done) \
    -o regroup.vocab 2>err || { cat err; fail "regrouped merge failed"; }
same regroup.vocab whole.vocab

# nblr's min_df is applied at training time from the merged document frequencies, so a
# model trained from the merged vocabulary is the one trained from the whole one.
imdb-clean -q --split train "$tar" -o train.tok.gz
imdb-train -q -V whole.vocab -o min_df=2 --seed 3 -O a.model train.tok.gz
imdb-train -q -V tree.vocab -o min_df=2 --seed 3 -O b.model train.tok.gz
same a.model b.model

# Purpose-built shards: "good" is in one document of each shard, twice in all. Pruned
# after the merge (--min-df 2 / --min-count 2) it stays; pruned per shard it is lost.
hdr='#imdb-tokens 1 html=1 nfkc=1 casefold=1 pattern=[a-z]+'
{ echo "$hdr"; printf 'pos\ta1\tgood film\n'; printf 'neg\ta2\tbad bad film\n'; } >p1.tok
{ echo "$hdr"; printf 'pos\tb1\tgood plot\n'; printf 'neg\tb2\tdull film\n'; } >p2.tok
imdb-vocab -q --min-df 2 p1.tok p2.tok >one-df
imdb-vocab -q p1.tok -o q1; imdb-vocab -q p2.tok -o q2
imdb-vocab -q --merge --min-df 2 q1 q2 >merged-df
same merged-df one-df
grep -q "^good	2	2$" merged-df || fail "good (df 2 over two shards) missing after the merge"
imdb-vocab -q --min-df 2 p1.tok -o r1; imdb-vocab -q --min-df 2 p2.tok -o r2
expect_status 0 imdb-vocab --merge r1 r2
grep -q "^good	" out && fail "per-shard pruning kept good: the test shards are not what they should be"
cmp -s out one-df && fail "per-shard pruning gave the merged result; the test shows nothing"
expect_err "warning: r1 looks pruned"
imdb-vocab -q --min-count 2 p1.tok p2.tok >one-count
imdb-vocab -q --merge --min-count 2 q1 q2 >merged-count
same merged-count one-count
grep -q "^good	" merged-count || fail "good (count 2 over two shards) missing after the merge"

# --min-df is checked like the other numbers.
expect_status 2 imdb-vocab --min-df 0 p1.tok
expect_err "min-df"

# A failed map task fails the reduce: a truncated shard vocabulary (a worker killed while
# writing it with a non-atomic tool) or a missing one exits non-zero and leaves no output.
head -c 300 v5.vocab.gz >broken.vocab.gz
expect_status 1 imdb-vocab --merge v4.vocab.gz broken.vocab.gz v6.vocab.gz -o m.vocab
[ ! -e m.vocab ] || fail "a failed merge left m.vocab"
ls | grep -q '^m\.vocab' && fail "a failed merge left a temporary: $(ls | grep '^m\.vocab')"
expect_status 4 imdb-vocab --merge v4.vocab.gz missing.vocab.gz -o m.vocab
[ ! -e m.vocab ] || fail "a failed merge left m.vocab"
# Rerun only the failed task, then the merge: the whole vocabulary again.
rm -f v5.vocab.gz
expect_status 4 imdb-vocab --merge $all -o m.vocab
[ ! -e m.vocab ] || fail "a merge with a missing shard left m.vocab"
imdb-vocab -q s5.tok.gz -o v5.vocab.gz
# shellcheck disable=SC2086
imdb-vocab -q --merge $all -o m.vocab
same m.vocab whole.vocab
