# clean-table.sh — imdb-clean reading tables by column (imdb-clean(1), TABLES), checked
# byte for byte: a CSV with extra columns (review_text + is_recommended, quoting, a line
# break inside quotes, CRLF, a BOM, gzip), --labels with numbers and case, a TSV with a
# 1-5 star column under --rating-threshold 4:2 and its dropped count, JSON lines (escapes,
# numbers, true/false, nested members skipped, invalid UTF-8 and NUL), --drop-unknown,
# the default columns, and the Kaggle CSV read both ways giving the same stream.
. "$IMDB_SRCDIR/tests/common.sh"

# A product-review table: the text and label among other columns, an id column.
printf '\357\273\277' >shop.csv
cat >>shop.csv <<'EOF2'
review_id,product,rating,review_text,is_recommended,helpful
r1,lamp,5,"Bright, sturdy and ""cheap"".",1,3
r2,desk,1,"Wobbly.
Returned it.",0,0
r3,chair,4,Comfortable enough,1.0,
r4,sofa,2,"Too soft, not for me",0.0,1
EOF2
sed 's/$/\r/' shop.csv >shop-crlf.csv
gzip -9n <shop-crlf.csv >shop.csv.gz
cat >want <<'EOF2'
pos	r1	bright sturdy and cheap
neg	r2	wobbly returned it
pos	r3	comfortable enough
neg	r4	too soft not for me
EOF2
for f in shop.csv shop-crlf.csv shop.csv.gz; do
    imdb-clean --text-column review_text --label-column is_recommended --id-column review_id \
        "$f" >got 2>err
    tail -n +2 got >body
    same body want
    [ ! -s err ] || fail "$f: unexpected stderr: $(cat err)"
done
# The header line is the usual one.
imdb-clean </dev/null | head -n 1 >h1
head -n 1 got >h2
same h1 h2
# Without --id-column the id is the line a row starts on (the header is line 1).
imdb-clean --text-column review_text --label-column is_recommended shop.csv | cut -f 1,2 | tail -n +2 >got
printf 'pos\t2\nneg\t3\npos\t5\nneg\t6\n' >want
same got want

# --labels: ASCII case and spaces ignored, numbers by value ("1.0" is 1), '-' unlabelled.
cat >rec.csv <<'EOF2'
text,recommend
a,Yes
b, no
c,1.0
d,0
e,maybe
f,YES
EOF2
imdb-clean --labels 'pos=yes,1 ; neg=no,0; -=maybe' --label-column recommend rec.csv | tail -n +2 >got
printf 'pos\t2\ta\nneg\t3\tb\npos\t4\tc\nneg\t5\td\n-\t6\te\npos\t7\tf\n' >want
same got want

# A 1-5 star TSV with the IMDB-style rule 4:2: 3 stars dropped, counted on stderr.
printf 'id\tstars\treview\tuser\n' >stars.tsv
printf 'u1\t5\tgreat\tann\nu2\t3\tso so\tbob\nu3\t1\tawful\tcy\nu4\t4\tgood\tdee\nu5\t2\tweak\ted\nu6\t3\tok\tflo\n' >>stars.tsv
imdb-clean --label-column stars --text-column review --rating-threshold 4:2 stars.tsv >got 2>err
tail -n +2 got >body
printf 'pos\tu1\tgreat\nneg\tu3\tawful\npos\tu4\tgood\nneg\tu5\tweak\n' >want
same body want
printf 'imdb-clean: stars.tsv: dropped 2 rows rated above 2 and below 4 (--rating-threshold 4:2)\n' >want
same err want
# -q says nothing; -v adds the total.
imdb-clean -q --label-column stars --rating-threshold 4:2 --text-column review stars.tsv >/dev/null 2>err
[ ! -s err ] || fail "-q printed: $(cat err)"
imdb-clean -v --label-column stars --rating-threshold 4:2 --text-column review stars.tsv 2>err >/dev/null
grep -q '^imdb-clean: 2 rows dropped by the label rule$' err || { cat err >&2; fail "-v total"; }
grep -q '^imdb-clean: 4 documents (2 pos, 2 neg, 0 unlabelled)' err || { cat err >&2; fail "-v docs"; }
# IMDB's own rule on 1-10 ratings, decimals and signs included.
printf 'text\tlabel\na\t10\nb\t7\nc\t6.9\nd\t4.0\ne\t+1\nf\t5\n' >r10.tsv
imdb-clean -q --rating-threshold 7:4 r10.tsv | tail -n +2 | cut -f 1,3 >got
printf 'pos\ta\npos\tb\nneg\td\nneg\te\n' >want
same got want

# JSON lines: any member order, numbers and literals as text, escapes, nested members
# and unknown members skipped, a blank line, a BOM; *.jsonl read as JSON by name.
{ printf '\357\273\277{"id": 1, "text": "Loved it \\u2014 truly", "label": "pos", "meta": {"x": [1, {"y": null}]}}\n'
  printf '  {"label":"neg","text":"caf\\u00e9 \\"bad\\"\\nworse","id":"k-2"}\n'
  printf '\n'
  printf '{"text":"emoji \\ud83d\\ude00 ok","id":3.5,"label":1,"extra":[true,false]}\n'
  printf '{"id":true,"text":"ab\377cd tab\there\\u0000nul","label":0}\n'; } >rev.jsonl
imdb-clean rev.jsonl | tail -n +2 >got
printf 'pos\t1\tloved it truly\nneg\tk-2\tcafé bad worse\npos\t3.5\temoji ok\nneg\ttrue\tab cd tab here nul\n' >want
same got want
# From stdin with --format jsonl, gzip, and *.ndjson.
gzip -9n <rev.jsonl >rev.ndjson.gz
imdb-clean rev.ndjson.gz | tail -n +2 >got
same got want
imdb-clean -f jsonl <rev.jsonl | tail -n +2 >got
same got want
# Member names of one's own; a label member missing from some objects, dropped.
cat >own.jsonl <<'EOF2'
{"body": "fine film", "recommended": true, "sku": "A"}
{"body": "dull film", "recommended": false, "sku": "B"}
{"body": "no verdict", "sku": "C"}
{"body": "odd verdict", "recommended": "perhaps", "sku": "D"}
EOF2
imdb-clean --text-column body --label-column recommended --id-column sku \
    --labels 'pos=true;neg=false' --drop-unknown own.jsonl >got 2>err
tail -n +2 got >body
printf 'pos\tA\tfine film\nneg\tB\tdull film\n' >want
same body want
printf "imdb-clean: own.jsonl: dropped 2 rows with an unknown label (--drop-unknown; the first on line 3: '(no member)')\n" >want
same err want

# CSV --drop-unknown, the first value named.
printf 'text,label\na,pos\nb,meh\nc,neg\nd,\n' >drop.csv
imdb-clean --drop-unknown drop.csv >got 2>err
tail -n +2 got | cut -f 1,3 >body
printf 'pos\ta\nneg\tc\n' >want
same body want
printf "imdb-clean: drop.csv: dropped 2 rows with an unknown label (--drop-unknown; the first on line 3: 'meh')\n" >want
same err want

# An id with a TAB or a line break inside (quoted CSV) is written with spaces.
printf 'id,text\n"a\tb",x\n"c\nd",y\n' >ids.csv
imdb-clean --id-column id ids.csv | tail -n +2 >got
printf -- '-\ta b\tx\n-\tc d\ty\n' >want
same got want

# The Kaggle CSV read by column gives the stream the review,sentiment reader gives.
imdb-clean "$FIXTURES/reviews.csv" >plain
imdb-clean --text-column review --label-column sentiment "$FIXTURES/reviews.csv" >bycol
same plain bycol
imdb-clean --drop-unknown "$FIXTURES/reviews.csv" >bycol
same plain bycol
# The label<TAB>id<TAB>text TSV too (the id column by its default name).
printf 'label\tid\ttext\npos\tn/1\tNot bad at all.\nneg\tn/2\tNot good.\n' >cases.tsv
imdb-clean cases.tsv >plain
imdb-clean --text-column text cases.tsv >bycol
same plain bycol

# The EXAMPLES of imdb-clean(1) for tables (the pipeline with --split-by-hash runs in
# clean-split.sh).
cp stars.tsv ratings.tsv
imdb-clean -q --label-column stars --rating-threshold 4:2 ratings.tsv -o stars.tok.gz
[ "$(gzip -dc stars.tok.gz | wc -l)" -eq 5 ] || fail "the ratings example"
cat >export.jsonl <<'EOF2'
{"body": "a great film", "verdict": "great"}
{"body": "a bad film", "verdict": "bad"}
{"body": "no idea", "verdict": "unsure"}
EOF2
imdb-clean --text-column body --label-column verdict --labels 'pos=good,great;neg=bad' \
    --drop-unknown export.jsonl >got 2>err
tail -n +2 got >body
printf 'pos\t1\ta great film\nneg\t2\ta bad film\n' >want
same body want
grep -q "dropped 1 row with an unknown label (--drop-unknown; the first on line 3: 'unsure')" err ||
    fail "the JSON example's count: $(cat err)"
