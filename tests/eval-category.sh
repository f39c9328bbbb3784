#!/bin/sh
# eval-category.sh — imdb-eval --by-category (the table and the JSON "categories" object,
# exactly, on a hand-made stream; independence of --threads; agreement with --errors),
# imdb-clean's 3-column TSV (header, ids, bad lines), and the behavioural test set
# data/behaviour.tsv with scripts/behaviour.
. "$IMDB_SRCDIR/tests/common.sh"
TAB=$(printf '\t')

imdb-clean --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-clean --split test "$FIXTURES/mini-aclImdb.tar.gz" -o test.tok.gz
imdb-vocab train.tok.gz -o v.gz
imdb-train -q --model nblr --vocab v.gz --output m.bin train.tok.gz

# ---------------------------------------------------------------- --by-category
# Categories: "a", "b/x" (the ID up to its LAST '/'), "-" (no '/', or only a leading
# one), "B" (byte order: before "a"), a name longer than the "category" heading, and one
# that JSON must escape. The unlabelled document is skipped, not counted.
cat >h.tok <<'EOF'
pos	a/1	great wonderful
neg	a/2	awful boring
neg	a/3	boring
-	a/4	great
pos	b/x/1	fine
neg	b/x/2	bad
pos	b/x/3	good
pos	noslash	nice
neg	/lead	bad
pos	zz"q\/1	ok
neg	B/1	dull
neg	a-longer-category/1	worst
pos	a-longer-category/2	best
EOF

# --threshold 0 predicts every document pos, so the expected numbers are known exactly:
# a category's accuracy is its share of pos documents.
expect_status 0 imdb-eval -q --threshold 0 --by-category m.bin h.tok
imdb-eval -q --threshold 0 m.bin h.tok >plain
{ cat plain; cat <<'EOF'

category           n       accuracy  errors
-                  2       0.5000    1
B                  1       0.0000    1
a                  3       0.3333    2
a-longer-category  2       0.5000    1
b/x                3       0.6667    1
zz"q\              1       1.0000    0
EOF
} >want
same out want

expect_status 0 imdb-eval -q --json --threshold 0 --by-category m.bin h.tok
sed -n '/"categories"/,$p' out >got
cat >want <<'EOF'
  "categories": {
    "-": {"n": 2, "accuracy": 0.5},
    "B": {"n": 1, "accuracy": 0},
    "a": {"n": 3, "accuracy": 0.3333333333},
    "a-longer-category": {"n": 2, "accuracy": 0.5},
    "b/x": {"n": 3, "accuracy": 0.6666666667},
    "zz\"q\\": {"n": 1, "accuracy": 1}
  }
}
EOF
same got want
# Everything before it is the usual object, the last key now followed by a comma.
sed '/"categories"/,$d' out >json.head
imdb-eval -q --json --threshold 0 m.bin h.tok | sed '$d' >plain.json
sed '$s/$/,/' plain.json >want
same json.head want
if command -v jq >/dev/null 2>&1; then
    [ "$(jq -c '.categories.a' out)" = '{"n":3,"accuracy":0.3333333333}' ] || fail "jq: categories.a"
fi

# At the default threshold, the table agrees with --errors, whatever --threads.
imdb-eval -q -j 1 --by-category --errors errors.tsv m.bin h.tok >t1
awk -F'\t' '
    NR == FNR { wrong[$1] = 1; next }
    $1 == "-" { next }
    { c = $2; if (!sub(/\/[^\/]*$/, "", c) || c == "") c = "-"
      n[c]++; e[c] += ($2 in wrong) }
    END { for (c in n) printf "%s %d %.4f %d\n", c, n[c], (n[c] - e[c]) / n[c], e[c] }' \
    errors.tsv h.tok | sort >want
sed -n '/^category /,$p' t1 | sed 1d | awk '{ print $1, $2, $3, $4 }' >got
same got want
for j in 2 3; do
    imdb-eval -q -j $j --by-category m.bin h.tok >t$j
    same t1 t$j
done
# aclImdb ids group by split and class; counts add up to the labels.
expect_status 0 imdb-eval -q -j 3 --by-category m.bin test.tok.gz
npos=$(gunzip -c test.tok.gz | grep -c '^pos	')
nneg=$(gunzip -c test.tok.gz | grep -c '^neg	')
sed -n '/^category /,$p' out | awk '{ print $1, $2 }' >got
printf 'category n\ntest/neg %s\ntest/pos %s\n' "$nneg" "$npos" >want
same got want
imdb-eval -q -j 1 --by-category m.bin test.tok.gz >j1
same out j1

# IDs are raw bytes: JSON escapes control characters and replaces invalid UTF-8.
printf 'pos\tc\001d/1\tgreat\nneg\tx\377/2\tbad\npos\t\342\202\254/3\tok\n' >u.tok
expect_status 0 imdb-eval -q --json --threshold 0 --by-category m.bin u.tok
grep -q '^    "c\\u0001d": {"n": 1, "accuracy": 1},$' out || fail "JSON: control character"
grep -q '^    "x\\ufffd": {"n": 1, "accuracy": 0},$' out || fail "JSON: invalid UTF-8"
grep -q "^    \"$(printf '\342\202\254')\": {\"n\": 1, \"accuracy\": 1}\$" out || fail "JSON: UTF-8"

# ---------------------------------------------------------------- 3-column TSV
# The header "label<TAB>id<TAB>text" (after a BOM, any case, CRLF) switches a file to
# LABEL<TAB>ID<TAB>TEXT; further TABs belong to the text; labels as in the 2-column form.
printf '\357\273\277Label\tID\tText\r\npos\tneg/1\tA great\tfilm\r\n0\tx y/2\tdull\n-\t3\t\n' >three.tsv
expect_status 0 imdb-clean three.tsv
sed 1d out >got
printf 'pos\tneg/1\ta great film\nneg\tx y/2\tdull\n-\t3\t\n' >want
same got want
# "label<TAB>text" is a header too, skipped; ids stay line numbers.
printf 'label\ttext\npos\tfine\n' | imdb-clean -f tsv | sed 1d >got
printf 'pos\t2\tfine\n' >want
same got want
# Without a header, nothing changes: a second TAB is part of the text.
printf 'pos\ta/1\tfine\n' | imdb-clean -f tsv | sed 1d >got
printf 'pos\t1\ta 1 fine\n' >want
same got want
# Bad lines: exit 1, one message naming the line; -o leaves nothing.
printf 'label\tid\ttext\npos\ta/1\tok\nneg\t\tbad\n' >bad-id.tsv
expect_status 1 imdb-clean -o x.tok bad-id.tsv
expect_err "^imdb-clean: bad-id.tsv:3: empty ID$"
[ "$(wc -l <err)" -eq 1 ] || fail "more than one line of error output"
[ ! -e x.tok ] || fail "a failed run left x.tok"
printf 'label\tid\ttext\npos\tonly two fields\n' >bad-one.tsv
expect_status 1 imdb-clean bad-one.tsv
expect_err "^imdb-clean: bad-one.tsv:2: expected LABEL<TAB>ID<TAB>TEXT, found one TAB$"
printf 'label\tid\ttext\npos a/1 no tabs\n' >bad-none.tsv
expect_status 1 imdb-clean bad-none.tsv
expect_err "^imdb-clean: bad-none.tsv:2: expected LABEL<TAB>ID<TAB>TEXT, found no TAB$"
printf 'label\tid\ttext\nmaybe\ta/1\tok\n' >bad-label.tsv
expect_status 1 imdb-clean bad-label.tsv
expect_err "^imdb-clean: bad-label.tsv:2: unknown label 'maybe' \(expected pos, neg, -, 1 or 0\)$"
# A header only counts on the first line.
printf 'pos\tok\nlabel\tid\ttext\n' >late.tsv
expect_status 1 imdb-clean late.tsv
expect_err "^imdb-clean: late.tsv:2: unknown label 'label'"
# The example of imdb-clean(1).
printf 'label\tid\ttext\npos\tnegation/1\tNot bad at all.\n' >cases.tsv
imdb-clean cases.tsv | sed 1d >got
printf 'pos\tnegation/1\tnot bad at all\n' >want
same got want
grep -q "^printf 'label.etid.ettext.enpos.etnegation/1.etNot bad at all..en' >cases.tsv\$" \
    "$IMDB_SRCDIR/man/imdb-clean.1" || fail "the example in imdb-clean(1) changed"
expect_status 1 imdb-clean -f tsv - <bad-one.tsv
expect_err "^imdb-clean: \(standard input\):2: expected LABEL<TAB>ID<TAB>TEXT, found one TAB$"

# ---------------------------------------------------------------- data/behaviour.tsv
# Every line parses; the ids are CATEGORY/N, unique; labels pos or neg, balanced within
# every category; the categories are the ones imdb-eval(1) documents.
B=$IMDB_SRCDIR/data/behaviour.tsv
[ "$(head -1 "$B")" = "label${TAB}id${TAB}text" ] || fail "behaviour.tsv: no header"
expect_status 0 imdb-clean -q "$B" -o beh.tok
[ "$(sed 1d beh.tok | wc -l)" -eq "$(sed 1d "$B" | wc -l)" ] || fail "behaviour.tsv: lost lines"
[ "$(sed 1d beh.tok | cut -f2 | sort -u | wc -l)" -eq "$(sed 1d "$B" | wc -l)" ] \
    || fail "behaviour.tsv: duplicate ids"
cats="comparative contrast intensity long negated-negative negation one-word rating sarcasm short typos"
sed 1d beh.tok | awk -F'\t' -v cats="$cats" '
    BEGIN { split(cats, c, " "); for (i in c) ok[c[i]] = 1 }
    $1 != "pos" && $1 != "neg" { print "bad label: " $0; bad = 1 }
    { k = $2; if (!sub(/\/[1-9][0-9]*$/, "", k) || !(k in ok)) { print "bad id: " $2; bad = 1 }
      n[k, $1]++; total[k]++ }
    END { for (k in ok) {
              if (n[k, "pos"] != n[k, "neg"] || total[k] < 16) { print "unbalanced: " k; bad = 1 }
          }
          exit bad }' >&2 || fail "behaviour.tsv: bad labels, ids or categories"
[ "$(sed 1d "$B" | wc -l)" -ge 300 ] || fail "behaviour.tsv: fewer than 300 cases"
for c in $cats; do
    grep -q "^\.B $c\$" "$IMDB_SRCDIR/man/imdb-eval.1" || fail "category $c not in imdb-eval(1)"
done
# The shape of the categories: one word, 3 to 8 words, several thousand words; the long
# cases are exactly what scripts/behaviour-long makes.
awk -F'\t' '$2 ~ /^one-word\// && split($3, w, " ") != 1 { exit 1 }
    $2 ~ /^short\// && (split($3, w, " ") < 3 || split($3, w, " ") > 8) { exit 1 }
    $2 ~ /^long\// && split($3, w, " ") < 2000 { exit 1 }' "$B" \
    || fail "behaviour.tsv: a case has the wrong length for its category"
grep "^[a-z]*${TAB}long/" "$B" >long.want
sh "$IMDB_SRCDIR/scripts/behaviour-long" >long.got
same long.got long.want

# scripts/behaviour: one markdown table, a row per category and "all", whatever the model
# gets wrong (the fixture model is weak); the "all" row agrees with imdb-eval.
expect_status 0 sh "$IMDB_SRCDIR/scripts/behaviour" m.bin m.bin
[ "$(wc -l <out)" -eq 14 ] || fail "scripts/behaviour: $(wc -l <out) lines"
[ "$(sed -n 1p out)" = "| category | n | m.bin | m.bin |" ] || fail "scripts/behaviour: header"
[ "$(sed -n 2p out)" = "|---|---:|---:|---:|" ] || fail "scripts/behaviour: rule"
[ "$(sed -n '3,13p' out | cut -d'|' -f2 | tr -d ' ' | tr '\n' ' ')" = "$cats " ] \
    || fail "scripts/behaviour: rows"
sed 1,2d out | grep -Evq '^\| [a-z-]+ \| [0-9]+ \| [0-9]+\.[0-9]% \| [0-9]+\.[0-9]% \|$' \
    && fail "scripts/behaviour: a malformed row"
n=$(sed 1d beh.tok | wc -l)
acc=$(imdb-eval -q m.bin beh.tok | sed -n 's/^accuracy *//p')
want=$(awk -v a="$acc" -v n="$n" 'BEGIN { printf "| all | %d | %.1f%% | %.1f%% |", n, 100 * a, 100 * a }')
[ "$(tail -1 out)" = "$want" ] || fail "scripts/behaviour: all row $(tail -1 out), expected $want"
expect_status 2 sh "$IMDB_SRCDIR/scripts/behaviour"
expect_status 4 sh "$IMDB_SRCDIR/scripts/behaviour" no-such.model
