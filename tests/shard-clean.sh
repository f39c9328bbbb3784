#!/bin/sh
# shard-clean.sh — imdb-clean --shard K/N: the N shards of every input format are disjoint,
# and their union, concatenated in shard order and sorted by id, is the single-process
# stream byte for byte; the header is the same; bad specs are usage errors (exit 2).
. "$IMDB_SRCDIR/tests/common.sh"

# sorted_body FILE...: the documents of token streams, without headers, sorted by id.
sorted_body() { for f in "$@"; do sed 1d "$f"; done | sort -t "$(printf '\t')" -k2,2 -s; }

check() {   # check NAME N CLEAN-ARGS...: shards of N against one process
    name=$1; n=$2; shift 2
    imdb-clean -q "$@" >"$name.all"
    k=0
    parts=
    while [ "$k" -lt "$n" ]; do
        imdb-clean -q --shard "$k/$n" "$@" >"$name.$k"
        [ "$(sed -n 1p "$name.$k")" = "$(sed -n 1p "$name.all")" ] ||
            fail "$name shard $k/$n: header differs"
        parts="$parts $name.$k"
        k=$((k + 1))
    done
    # shellcheck disable=SC2086
    sorted_body $parts >"$name.union"
    sorted_body "$name.all" >"$name.whole"
    same "$name.union" "$name.whole"
    # Disjoint: no id is in two shards (the union has no duplicate ids).
    dups=$(cut -f2 "$name.union" | uniq -d | head -3)
    [ -z "$dups" ] || fail "$name: ids in more than one shard: $dups"
}

check tar 3 "$FIXTURES/mini-aclImdb.tar.gz"
check tar7 7 --split train "$FIXTURES/mini-aclImdb.tar.gz"
check csv 2 "$FIXTURES/reviews.csv"
check tsv 3 "$FIXTURES/reviews.tsv"
check txt 2 "$FIXTURES/reviews.txt"
# 1/1 is the whole stream, in input order.
imdb-clean -q --shard 0/1 "$FIXTURES/mini-aclImdb.tar.gz" >one
same one tar.all

# Every shard of the 530-document tarball gets a fair part (the hash spreads the ids):
# between 1/2 and 2 times the mean of 530/3.
for k in 0 1 2; do
    m=$(sed 1d "tar.$k" | wc -l)
    [ "$m" -ge 88 ] && [ "$m" -le 353 ] || fail "shard $k/3 has $m of 530 documents"
done

# Text lines are sharded by line number: nine lines in four shards, none lost or doubled.
printf 'l%s\n' 1 2 3 4 5 6 7 8 9 >nine.txt
for k in 0 1 2 3; do imdb-clean -q --shard "$k/4" nine.txt | sed 1d | cut -f2; done | sort -n >got
seq 1 9 >want
same got want

# Bad specs: exit 2 with the rule in the message.
for spec in 4/4 -1/4 x/y 3/0 1/ /4 1/4/ 0/4x ' 0/4' 99999999/100000000; do
    expect_status 2 imdb-clean --shard "$spec" "$FIXTURES/reviews.txt"
    expect_err "^imdb-clean: invalid shard '"
    [ ! -s out ] || fail "--shard '$spec' wrote output"
done
expect_status 2 imdb-clean --shard 4/4 "$FIXTURES/reviews.txt"
expect_err "shards are numbered 0 to N-1 \(here 0 to 3\)"
