#!/bin/sh
# shard-predict.sh — scoring at scale: --id-field carries an ID<TAB>TEXT id through to
# ID<TAB>LABEL<TAB>P (and JSON lines), one output line per input line whatever the line;
# --shard K/N scores disjoint parts whose union, sorted back by id, is the single run.
. "$IMDB_SRCDIR/tests/common.sh"

tar="$FIXTURES/mini-aclImdb.tar.gz"
imdb-clean -q --split train "$tar" -o train.tok.gz
imdb-vocab -q train.tok.gz -o v.gz
imdb-train -q -V v.gz -o min_df=1 -O m.model train.tok.gz

# Raw test reviews as ID<TAB>TEXT and as plain lines (texts without TABs or newlines).
tab=$(printf '\t')
tar -xzf "$tar"
for f in aclImdb/test/*/*.txt; do
    id=${f#aclImdb/}; id=${id%.txt}
    printf '%s\t%s\n' "$id" "$(tr '\t\n\r' '   ' <"$f")"
done >test.tsv
cut -f2- test.tsv >test.txt
n=$(wc -l <test.tsv)

imdb-predict -j 2 m.model test.txt >plain
imdb-predict -j 2 --id-field m.model test.tsv >ided
[ "$(wc -l <ided)" -eq "$n" ] || fail "--id-field: $(wc -l <ided) lines for $n"
cut -f1 ided >ids; cut -f1 test.tsv >want-ids
same ids want-ids
cut -f2- ided >scores
same scores plain

# JSON lines carry the id as a string.
imdb-predict -j 2 --json --id-field m.model test.tsv >j
head -1 test.tsv | cut -f1 >first
grep -q "^{\"id\":\"$(cat first)\",\"label\":\"\(pos\|neg\)\",\"probability\":[0-9.]*}$" j ||
    fail "JSON line 1: $(head -1 j)"
[ "$(wc -l <j)" -eq "$n" ] || fail "--json --id-field lost lines"

# Shards of the id-field input: disjoint, and their union sorted by id is the whole run.
sort -t "$tab" -k1,1 ided >whole-sorted
for k in 0 1 2; do imdb-predict -j 2 --shard "$k/3" --id-field m.model test.tsv >"p$k"; done
cat p0 p1 p2 | sort -t "$tab" -k1,1 >union
same union whole-sorted
[ -s p0 ] && [ -s p1 ] && [ -s p2 ] || fail "an empty shard among 200 lines"
# Each shard keeps the input order.
for k in 0 1 2; do grep -F -x -f "p$k" ided | cmp -s - "p$k" || fail "shard $k is out of order"; done
# The same rule as imdb-clean --shard: shard k of the raw text holds the documents
# imdb-clean puts in shard k of the TSV (ids as given).
printf 'label\tid\ttext\n' >labelled.tsv
sed 's/^/-\t/' test.tsv >>labelled.tsv
imdb-clean -q --shard 1/3 labelled.tsv | sed 1d | cut -f2 >clean-ids
cut -f1 p1 >pred-ids
same pred-ids clean-ids

# Plain lines with --shard: each output line starts with its line number.
for k in 0 1; do imdb-predict --shard "$k/2" m.model test.txt >"l$k"; done
awk -F '\t' '{ print NR "\t" $0 }' plain >numbered
cat l0 l1 | sort -t "$tab" -k1,1n >lunion
same lunion numbered

# Token mode: --id-field prints the stream's document ids; --shard picks by them.
imdb-clean -q --split test "$tar" -o test.tok.gz
imdb-predict --tokens --id-field m.model test.tok.gz >t
zcat test.tok.gz | sed 1d | cut -f2 >tok-ids
cut -f1 t >t-ids
same t-ids tok-ids
imdb-predict --tokens --shard 0/2 m.model test.tok.gz >t0
imdb-predict --tokens --shard 1/2 m.model test.tok.gz >t1
cat t0 t1 | sort >tu
sort t >ts
same tu ts

# Odd lines keep their place: no TAB (empty id, a warning), an empty line, an empty id,
# a TAB in the text, invalid UTF-8.
printf 'a\tgreat film\nno tab here\n\n\tjust text\nb\tbad\tworse\nc\t\377\376 dull\n' >odd.tsv
expect_status 0 imdb-predict --id-field m.model odd.tsv
[ "$(wc -l <out)" -eq 6 ] || fail "odd lines: $(wc -l <out) output lines for 6"
expect_err "warning: odd.tsv:2: no TAB after an id"
[ "$(grep -c warning err)" -eq 1 ] || fail "more than one no-TAB warning"
cut -f1 out >odd-ids
printf 'a\n\n\n\nb\nc\n' >want
same odd-ids want
expect_status 0 imdb-predict --id-field --json m.model odd.tsv
sed -n 2p out | grep -q '^{"id":"","label"' || fail "no-TAB line in JSON: $(sed -n 2p out)"
sed -n 6p out | grep -q '^{"id":"c","label"' || fail "JSON line 6: $(sed -n 6p out)"

# Usage errors.
expect_status 2 imdb-predict --shard 2/2 m.model test.txt
expect_err "invalid shard '2/2'"
expect_status 2 imdb-predict --shard 0/2 -i m.model
expect_err "no --id-field or --shard"
