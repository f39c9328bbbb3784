#!/bin/sh
# eval-basic.sh — imdb-eval's table and JSON on the fixture corpus: counts add up, the
# documented keys in order, -o, independence of --threads, --threshold, --errors, and
# several streams evaluated as one.
. "$IMDB_SRCDIR/tests/common.sh"

imdb-clean --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-clean --split test "$FIXTURES/mini-aclImdb.tar.gz" -o test.tok.gz
imdb-vocab train.tok.gz -o v.gz
imdb-train -q --model nblr --vocab v.gz --output m.bin train.tok.gz

gunzip -c test.tok.gz | grep -v '^#' >docs
n=$(wc -l <docs)
npos=$(grep -c '^pos	' docs)
nneg=$(grep -c '^neg	' docs)
[ "$npos" -gt 0 ] && [ "$nneg" -gt 0 ] || fail "fixture test split lacks a class"

# The table.
expect_status 0 imdb-eval --threads 1 m.bin test.tok.gz
[ ! -s err ] || fail "unexpected stderr: $(cat err)"
grep -q "^documents  $n\$" out || fail "table: documents is not $n"
grep -q '^threshold  0.5$' out || fail "table: threshold"
grep -Eq '^accuracy   [01]\.[0-9]{4}$' out || fail "table: accuracy"
grep -Eq '^auc        [01]\.[0-9]{4}$' out || fail "table: auc"
grep -Eq '^logloss    [0-9]+\.[0-9]{4}$' out || fail "table: logloss"
grep -Eq "^neg  +[01]\.[0-9]{4} +[01]\.[0-9]{4} +[01]\.[0-9]{4} +[01]\.[0-9]{4} +$nneg\$" out || fail "table: neg row"
grep -Eq "^pos  +[01]\.[0-9]{4} +[01]\.[0-9]{4} +[01]\.[0-9]{4} +[01]\.[0-9]{4} +$npos\$" out || fail "table: pos row"
grep -q '^confusion  pred neg  pred pos$' out || fail "table: confusion header"
cp out table1

# JSON: the documented keys, in order; the counts add up.
expect_status 0 imdb-eval --json m.bin test.tok.gz
keys=$(grep -o '"[a-z0-9_]*":' out | tr -d '":' | tr '\n' ' ')
[ "$keys" = "n accuracy balanced_accuracy precision_pos recall_pos f1_pos precision_neg recall_neg f1_neg macro_precision macro_recall macro_f1 auc pr_auc_pos pr_auc_neg logloss confusion tp fp tn fn threshold " ] \
    || fail "JSON keys: $keys"
get() { sed -n "s/.*\"$1\": \([^,}]*\).*/\1/p" out | head -1; }
[ "$(get n)" -eq "$n" ] || fail "JSON n"
tp=$(get tp); fp=$(get fp); tn=$(get tn); fn=$(get fn)
[ $((tp + fn)) -eq "$npos" ] && [ $((tn + fp)) -eq "$nneg" ] || fail "confusion does not add up"
acc=$(get accuracy)
awk -v a="$acc" -v c=$((tp + tn)) -v n="$n" 'BEGIN { d = a - c / n; exit !(d < 1e-9 && d > -1e-9) }' \
    || fail "accuracy $acc != ($tp + $tn) / $n"
grep -Eq "^true neg   $tn +$fp\$" table1 || fail "table confusion row neg"
grep -Eq "^true pos   $fn +$tp\$" table1 || fail "table confusion row pos"
if command -v jq >/dev/null 2>&1; then
    jq -e '.confusion.tp + .confusion.fn > 0' out >/dev/null || fail "jq"
fi
cp out json1

# -o FILE: the same bytes; --threads does not change a thing.
expect_status 0 imdb-eval --json -o metrics.json --threads 2 m.bin test.tok.gz
[ ! -s out ] || fail "-o also wrote to stdout"
same metrics.json json1
for t in 2 3 5; do
    imdb-eval -j $t m.bin test.tok.gz >table$t
    same table1 table$t
done
ls metrics.json.tmp* 2>/dev/null && fail "temporary file left behind"

# --threshold 0: everything pos; AUC and log loss unchanged.
expect_status 0 imdb-eval --json --threshold 0 m.bin test.tok.gz
[ "$(get tp)" -eq "$npos" ] && [ "$(get fp)" -eq "$nneg" ] && [ "$(get tn)" -eq 0 ] \
    || fail "--threshold 0: not all pos"
[ "$(get recall_pos)" = 1 ] && [ "$(get precision_neg)" = 0 ] || fail "--threshold 0: recall/precision"
[ "$(get threshold)" = 0 ] || fail "--threshold 0: threshold key"
auc0=$(get auc); ll0=$(get logloss)
cp json1 out
[ "$(get auc)" = "$auc0" ] && [ "$(get logloss)" = "$ll0" ] || fail "threshold changed auc/logloss"

# --errors: the misclassified documents, ID<TAB>LABEL<TAB>P(pos), fp + fn of them.
expect_status 0 imdb-eval --errors errors.tsv m.bin test.tok.gz
[ "$(wc -l <errors.tsv)" -eq $((fp + fn)) ] || fail "--errors: $(wc -l <errors.tsv) lines, expected $((fp + fn))"
if [ -s errors.tsv ]; then
    awk -F'\t' 'NF != 3 || ($2 == "pos") == ($3 >= 0.5) { exit 1 }' errors.tsv \
        || fail "--errors: a line is not a misclassification: $(head -1 errors.tsv)"
    grep -Evq '^[^	]+	(pos|neg)	[01]\.[0-9]{6}$' errors.tsv && fail "--errors: bad line"
    id=$(head -1 errors.tsv | cut -f1)
    grep -q "^[a-z]*	$id	" docs || fail "--errors: unknown id $id"
fi
expect_status 0 imdb-eval --errors none.tsv --threshold 0 m.bin test.tok.gz
[ "$(wc -l <none.tsv)" -eq "$nneg" ] || fail "--errors at threshold 0 should list the $nneg neg docs"

# Two streams are evaluated as one set (stdin as -).
gunzip -c test.tok.gz >test.tok
expect_status 0 imdb-eval --json m.bin test.tok - <test.tok.gz
[ "$(get n)" -eq $((2 * n)) ] || fail "two streams: n is $(get n)"
[ "$(get tp)" -eq $((2 * tp)) ] || fail "two streams: tp"
