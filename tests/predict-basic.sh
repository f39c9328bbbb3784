#!/bin/sh
# predict-basic.sh — imdb-predict's output formats (TSV, --json, --explain, --tokens),
# --threshold, independence of --threads, and agreement between raw text and the token
# stream imdb-clean makes from the same reviews.
. "$IMDB_SRCDIR/tests/common.sh"

imdb-clean --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-clean --split test "$FIXTURES/mini-aclImdb.tar.gz" -o test.tok.gz
imdb-vocab train.tok.gz -o v.gz
imdb-train -q --model nblr --vocab v.gz --output m.bin train.tok.gz

# The test reviews as raw text, one per line, in the token stream's order.
mkdir raw
tar -xzf "$FIXTURES/mini-aclImdb.tar.gz" -C raw
gunzip -c test.tok.gz | grep -v '^#' | cut -f2 >ids
n=$(wc -l <ids)
[ "$n" -gt 10 ] || fail "only $n test documents"
while IFS= read -r id; do          # ids are paths: test/neg/0_2
    [ -f "raw/aclImdb/$id.txt" ] || fail "no review file for id $id"
    tr '\n' ' ' <"raw/aclImdb/$id.txt"; echo
done <ids >reviews.txt

# TSV: LABEL<TAB>P(pos) with six decimals; label from the threshold.
expect_status 0 imdb-predict --threads 1 m.bin reviews.txt
[ "$(wc -l <out)" -eq "$n" ] || fail "$n reviews gave $(wc -l <out) lines"
grep -Evq '^(pos|neg)	[01]\.[0-9]{6}$' out && fail "malformed line: $(grep -Ev '^(pos|neg)	[01]\.[0-9]{6}$' out | head -1)"
awk -F'\t' '($2 >= 0.5) != ($1 == "pos") { exit 1 }' out || fail "label disagrees with probability"
cp out t1.out

# Raw text and imdb-clean's tokens of the same reviews give the same predictions.
expect_status 0 imdb-predict --tokens m.bin test.tok.gz
same out t1.out

# Any number of threads: the same bytes.
for t in 2 3 7; do
    imdb-predict --threads $t m.bin reviews.txt >t$t.out
    same t1.out t$t.out
done

# --threshold moves the labels, not the probabilities.
imdb-predict -t 0 m.bin reviews.txt >t0.out
grep -q '^neg' t0.out && fail "--threshold 0 gave a neg label"
cut -f2 t0.out >p0; cut -f2 t1.out >p1; same p0 p1
imdb-predict --threshold=1 m.bin reviews.txt | awk -F'\t' '$1 == "pos" && $2 < 1 { exit 1 }' \
    || fail "--threshold 1 labelled a review pos below 1"

# --json: one object per line, the id is the line number (or the stream's id).
expect_status 0 imdb-predict --json m.bin reviews.txt
[ "$(wc -l <out)" -eq "$n" ] || fail "--json: wrong line count"
sed -n 1p out | grep -Eq '^\{"id":1,"label":"(pos|neg)","probability":[01]\.[0-9]{6}\}$' \
    || fail "--json: bad first line: $(sed -n 1p out)"
sed -n "${n}p" out | grep -q "^{\"id\":$n," || fail "--json: last id is not $n"
sed 's/.*"label":"\([a-z]*\)","probability":\([0-9.]*\)}$/\1	\2/' out >j.tsv
same j.tsv t1.out
imdb-predict --json --tokens m.bin test.tok.gz >tj.out
first=$(sed -n 1p ids)
sed -n 1p tj.out | grep -q "^{\"id\":\"$first\",\"label\"" || fail "--tokens --json: bad id: $(sed -n 1p tj.out)"
imdb-predict --json m.bin reviews.txt reviews.txt >two.out
sed -n "$((n + 1))p" two.out | grep -q '^{"id":1,"file":"reviews.txt",' \
    || fail "two files: bad id/file: $(sed -n "$((n + 1))p" two.out)"
if command -v jq >/dev/null 2>&1; then
    jq -e . out >/dev/null || fail "--json output is not JSON"
fi

# --explain: a third field of NGRAM(+W) items, at most K; JSON array.
expect_status 0 imdb-predict --explain=3 m.bin reviews.txt
cut -f1,2 out >e12; same e12 t1.out
awk -F'\t' 'NF != 3 { exit 1 }' out || fail "--explain: not 3 fields"
sed -n 1p out | cut -f3 | grep -Eq '^([^ ]+( [^ ]+)*\([+-][0-9]+\.[0-9]{3}\)( |$)){1,3}$' \
    || fail "--explain: bad field: $(sed -n 1p out | cut -f3)"
[ "$(sed -n 1p out | cut -f3 | grep -o '([+-][0-9.]*)' | wc -l)" -le 3 ] || fail "--explain=3 gave more than 3"
imdb-predict -e m.bin reviews.txt | sed -n 1p | cut -f3 | grep -o '([+-][0-9.]*)' | wc -l >k5
[ "$(cat k5)" -le 5 ] && [ "$(cat k5)" -ge 1 ] || fail "--explain default gave $(cat k5) items"
echo 'great' | imdb-predict -e1 m.bin | grep -Eq '	great\(\+[0-9.]+\)$' \
    || fail "'great' does not explain itself"
imdb-predict --json --explain=2 m.bin reviews.txt | sed -n 1p \
    | grep -Eq '"explain":\[\{"ngram":"[^"]+","weight":-?[0-9]+\.[0-9]{6}\}(,\{"ngram":"[^"]+","weight":-?[0-9]+\.[0-9]{6}\})?\]\}$' \
    || fail "--json --explain: bad line"

# A stream cleaned unlike the model: a warning, still one line per document.
{ echo '#imdb-tokens 1 html=0 nfkc=0 casefold=0 pattern=x'; printf 'pos\ta\tgreat film\n'; } >other.tok
expect_status 0 imdb-predict --tokens m.bin other.tok
expect_err 'warning: other.tok: cleaned with other settings'
[ "$(wc -l <out)" -eq 1 ] || fail "other.tok: wrong line count"
