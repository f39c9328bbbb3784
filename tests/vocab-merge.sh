#!/bin/sh
# vocab-merge.sh — --merge: vocabularies counted on shards sum to the vocabulary of the
# whole (byte-identical, also when pruning at merge time); mismatched n-gram orders or
# cleaning settings are refused (exit 1); a pruned shard draws a warning.
. "$IMDB_SRCDIR/tests/common.sh"

hdr='#imdb-tokens 1 html=1 nfkc=1 casefold=1 pattern=[a-z]+'
{
    echo "$hdr"
    printf 'pos\t1\tthe movie was good good\n'
    printf 'neg\t2\tthe movie was bad\n'
    printf 'pos\t3\ta good movie a good plot\n'
} >s1.tok
{
    echo "$hdr"
    printf 'neg\t4\tbad bad movie\n'
    printf -- '-\t5\t\n'
    printf 'pos\t6\tthe plot was good\n'
} >s2.tok
{
    echo "$hdr"
    printf 'neg\t7\tthe movie was bad bad bad\n'
} >s3.tok

imdb-vocab s1.tok s2.tok s3.tok >whole
imdb-vocab s1.tok -o v1
imdb-vocab s2.tok -o v2.gz
imdb-vocab s3.tok -o v3

expect_status 0 imdb-vocab --merge v1 v2.gz v3
[ ! -s err ] || fail "unexpected stderr: $(cat err)"
same out whole
imdb-vocab -M v3 - v1 <v2.gz >o
same o whole

# Pruning at merge time equals pruning the whole.
imdb-vocab --min-count 2 --max-size 7 s1.tok s2.tok s3.tok >whole2
imdb-vocab --merge --min-count 2 --max-size 7 v1 v2.gz v3 >o
same o whole2

# A merge of one file is a copy (and re-sorts a hand-edited file).
imdb-vocab --merge whole >o
same o whole
{ sed -n 1,2p whole; sed 1,2d whole | sort; } >shuffled
imdb-vocab --merge shuffled >o
same o whole

# Different n-gram orders.
imdb-vocab -n 2 s2.tok >v2bi
expect_status 1 imdb-vocab --merge v1 v2bi
expect_err "^imdb-vocab: v2bi: vocabulary of ngrams=2, but the vocabularies merged so far have ngrams=3$"
expect_status 1 imdb-vocab --merge --ngrams 2 v1
expect_err "v1: vocabulary of ngrams=3, but --ngrams=2"

# Different cleaning settings (and none at all).
sed '1s/html=1/html=0/' s2.tok >c2.tok
imdb-vocab c2.tok >vc2
expect_status 1 imdb-vocab --merge v1 vc2
expect_err "^imdb-vocab: vc2: cleaned with other settings \(html=0 .*\) than the vocabularies merged so far \(html=1 "
sed 1d s2.tok | imdb-vocab >vnone
expect_status 1 imdb-vocab --merge v1 vnone
expect_err "vnone: cleaned with other settings \(none recorded\) than the vocabularies merged so far"
[ ! -s out ] || fail "output written despite the error"

# A pruned shard: warning (not with -q), still exit 0.
imdb-vocab --min-count 2 s1.tok >p1
expect_status 0 imdb-vocab --merge p1 v2.gz
expect_err "warning: p1 looks pruned"
expect_status 0 imdb-vocab -q --merge p1 v2.gz
[ ! -s err ] || fail "-q printed: $(cat err)"

# Token streams are not vocabularies.
expect_status 1 imdb-vocab --merge s1.tok
expect_err "^imdb-vocab: s1.tok:1: not an imdb vocabulary"
