# clean-table-errors.sh — bad tables fail with FILE:LINE[:COLUMN] and the column's name
# (exit 1): a missing column, a column named twice, a ragged row (too few and too many
# fields), an unterminated quote, stray quotes, an unknown label, a rating that is no
# number, an empty id, an empty file, JSON that is not an object or not JSON, a nested
# value in a used member, a missing member, deep nesting, a huge line; bad options
# (exit 2); -o left absent. Every message is one line.
. "$IMDB_SRCDIR/tests/common.sh"

# bad STATUS 'MESSAGE' ARGS...: imdb-clean ARGS exits STATUS, and its stderr is exactly
# "imdb-clean: MESSAGE" (then the usage hint for status 2).
bad() {
    st=$1 msg=$2
    shift 2
    expect_status "$st" imdb-clean "$@"
    printf 'imdb-clean: %s\n' "$msg" >want
    [ "$st" -ne 2 ] || printf "Try 'imdb-clean --help' for more information.\n" >>want
    same err want
}
R='--label-column stars --rating-threshold 4:2'

printf 'id,text,stars\n1,a,5\n' >m.csv
bad 1 "m.csv:1: no column 'review_text' (--text-column) in the header: id,text,stars" --text-column review_text m.csv
bad 1 "m.csv:1: no column 'x' (--label-column) in the header: id,text,stars" --label-column x m.csv
bad 1 "m.csv:1: no column 'x' (--id-column) in the header: id,text,stars" --id-column x m.csv
printf 'id,stars\n1,5\n' >m2.csv
bad 1 "m2.csv:1: no column 'text' or 'review' in the header (name the text's column with --text-column): id,stars" --label-column stars m2.csv
printf 'id,text,id\n1,a,2\n' >d.csv
bad 1 "d.csv:1: column 'id' appears twice in the header (fields 1 and 3)" --id-column id d.csv

# Ragged rows: too few fields (the column where the row ends), too many (where the first
# extra field starts); TSV the same.
printf 'id,text,stars\n1,a,5\n2,b\n' >r1.csv
bad 1 "r1.csv:3:4: 2 fields, but the header (line 1) has 3" $R r1.csv
printf 'id,text,stars\n1,a,5\n2,b,4,extra,more\n' >r2.csv
bad 1 "r2.csv:3:7: 5 fields, but the header (line 1) has 3 (the first extra field starts here)" $R r2.csv
printf 'id\ttext\tstars\n1\ta\t5\n2\tb\n' >r.tsv
bad 1 "r.tsv:3:4: 2 fields, but the header (line 1) has 3" $R r.tsv

# Quotes: unterminated (where it opened), inside an unquoted field, text after a close.
printf 'id,text,stars\n1,a,5\n2,"b is\nlong,4\n3,c,1\n' >u.csv
bad 1 "u.csv:3:3: unterminated quoted field (the quote opened here is still open at the end, line 5)" $R u.csv
printf 'id,text,stars\n1,a "b",5\n' >q1.csv
bad 1 "q1.csv:2:5: malformed CSV: '\"' inside an unquoted field (quote the field and double the '\"')" $R q1.csv
printf 'id,text,stars\n1,"a"b,5\n' >q2.csv
bad 1 "q2.csv:2:6: malformed CSV: 'b' after a closing quote (a '\"' inside a quoted field must be doubled)" $R q2.csv
# The same from gzip and CRLF input, and from standard input.
sed 's/$/\r/' u.csv | gzip >u.csv.gz
bad 1 "u.csv.gz:3:3: unterminated quoted field (the quote opened here is still open at the end, line 5)" $R u.csv.gz
bad 1 "(standard input):3:3: unterminated quoted field (the quote opened here is still open at the end, line 5)" -f csv $R - <u.csv

# Labels the rule does not know; ratings that are not numbers; empty ids.
printf 'id,text,stars\n1,a,5\n2,b,five\n' >l.csv
bad 1 "l.csv:3:5: unknown label 'five' in column 'stars' (not a number, for --rating-threshold 4:2; --drop-unknown drops such rows)" $R l.csv
printf 'text,is_recommended\na,1\nb,maybe\n' >l2.csv
bad 1 "l2.csv:3:3: unknown label 'maybe' in column 'is_recommended' (the labels are pos=positive,pos,1;neg=negative,neg,0;-=-: give others with --labels; --drop-unknown drops such rows)" --label-column is_recommended l2.csv
bad 1 "l2.csv:3:3: unknown label 'maybe' in column 'is_recommended' (the label map is 'pos=1;neg=0'; --drop-unknown drops such rows)" --label-column is_recommended --labels 'pos=1;neg=0' l2.csv
# A label rule needs a label column.
bad 1 "m.csv:1: no column 'label' or 'sentiment' in the header for the label rule (name the label's column with --label-column): id,text,stars" --labels 'pos=5' m.csv
printf '{"text":"a","stars":5}\n' >nl.jsonl
bad 1 "nl.jsonl:1: no member \"label\" or \"sentiment\" in the object for the label rule (name the label's member with --label-column; --drop-unknown drops such rows)" --rating-threshold 4:2 nl.jsonl
printf 'id,text,label\n,a,pos\n' >ei.csv
bad 1 "ei.csv:2:1: empty id in column 'id'" --id-column id ei.csv
: >empty.csv
bad 1 "empty.csv: empty file (expected a header line naming the columns)" --text-column a empty.csv

# JSON lines.
printf '{"text":"a","label":"pos"}\n{"text":"b","label":"pos",}\n' >j1.jsonl
bad 1 "j1.jsonl:2:27: expected a member name (a string), found '}'" j1.jsonl
printf '{"text":"a"}\n' >j2.jsonl
bad 1 'j2.jsonl:1: no member "stars" (--label-column) in the object (--drop-unknown drops such rows)' --label-column stars j2.jsonl
printf '{"label":"pos"}\n' >j3.jsonl
bad 1 'j3.jsonl:1: no member "text" or "review" in the object (name the text'"'"'s member with --text-column)' j3.jsonl
bad 1 'j3.jsonl:1: no member "body" (--text-column) in the object' --text-column body j3.jsonl
bad 1 'j3.jsonl:1: no member "sku" (--id-column) in the object' --text-column label --id-column sku j3.jsonl
printf '{"text":["a"],"label":"pos"}\n' >j4.jsonl
bad 1 'j4.jsonl:1:9: member "text" (--text-column) holds an object or an array (a column must be a string, a number, true, false or null)' j4.jsonl
printf '{"text":"a","label":"good"}\n' >j5.jsonl
bad 1 "j5.jsonl:1:21: unknown label 'good' in column 'label' (the labels are pos=positive,pos,1;neg=negative,neg,0;-=-: give others with --labels; --drop-unknown drops such rows)" j5.jsonl
printf '[1,2]\n' >j6.jsonl
bad 1 "j6.jsonl:1:1: expected a JSON object ('{'), found '['" j6.jsonl
printf '{"text":"a","id":""}\n' >j7.jsonl
bad 1 'j7.jsonl:1:18: empty id in member "id"' j7.jsonl
printf '{"text":"a","text":"b"}\n' >j8.jsonl
bad 1 'j8.jsonl:1:13: member "text" appears twice in the object' j8.jsonl
printf '{"text":"a\\x"}\n' >j9.jsonl
bad 1 "j9.jsonl:1:11: invalid escape: backslash before 'x' in a string" j9.jsonl
printf '{"text":"a"}\000\n' >j10.jsonl
bad 1 "j10.jsonl:1:13: byte 0x00 after the end of the object" j10.jsonl
# 100,000 levels of nesting in a member nobody reads: refused at level 513, no crash.
awk 'BEGIN { printf "{\"text\":\"a\",\"deep\":"; for (i = 0; i < 100000; i++) printf "["; print "" }' >deep.jsonl
bad 1 "deep.jsonl:1:532: values nested deeper than 512 levels" deep.jsonl
# A 20 MB line: read (lines may be up to 256 MiB).
awk 'BEGIN { printf "{\"text\":\""; for (i = 0; i < 2000000; i++) printf "good film "; print "\",\"label\":1}" }' >huge.jsonl
expect_status 0 imdb-clean huge.jsonl
[ "$(tail -n 1 out | wc -w)" -eq 4000002 ] || fail "huge line: $(tail -n 1 out | wc -w) words"

# Bad options: exit 2.
bad 2 "--labels: invalid label map 'x=1': a class that is not pos, neg or - ('x') (expected CLASS=VALUE,VALUE...;CLASS=... with CLASS pos, neg or -, e.g. 'pos=1,yes,positive;neg=0,no')" --labels x=1 m.csv
bad 2 "--labels: invalid label map 'pos=1;neg=1.0': '1.0' is given for pos and for neg (expected CLASS=VALUE,VALUE...;CLASS=... with CLASS pos, neg or -, e.g. 'pos=1,yes,positive;neg=0,no')" --labels 'pos=1;neg=1.0' m.csv
bad 2 "--rating-threshold: invalid rating threshold '4:7': NEG_MAX (7) must be below POS_MIN (4)" --rating-threshold 4:7 m.csv
bad 2 "--rating-threshold: invalid rating threshold 'seven' (expected POS_MIN:NEG_MAX, two numbers, e.g. 7:4: 7 and above pos, 4 and below neg)" --rating-threshold seven m.csv
bad 2 "--labels and --rating-threshold exclude each other" --labels pos=1 --rating-threshold 7:4 m.csv
bad 2 "$FIXTURES/mini-aclImdb.tar.gz: columns and label rules (--text-column, --label-column, --id-column, --labels, --rating-threshold, --drop-unknown) apply to CSV, TSV and JSON lines, and this is read as an aclImdb tarball (choose with --format csv, tsv or jsonl)" --text-column a "$FIXTURES/mini-aclImdb.tar.gz"
bad 2 "(standard input): columns and label rules (--text-column, --label-column, --id-column, --labels, --rating-threshold, --drop-unknown) apply to CSV, TSV and JSON lines, and this is read as text lines (choose with --format csv, tsv or jsonl)" --drop-unknown - <m.csv
bad 2 "invalid format 'json' (expected auto, tar, dir, csv, tsv, lines or jsonl)" -f json m.csv

# -o stays absent after a bad row late in the file; an existing file stays as it was.
awk 'BEGIN { print "text,label"; for (i = 0; i < 5000; i++) print "fine film,pos"; print "bad,row,here" }' >late.csv
expect_status 1 imdb-clean -o out.tok.gz --text-column text late.csv
expect_err "^imdb-clean: late.csv:5002:9: 3 fields, but the header \(line 1\) has 2 \(the first extra field starts here\)$"
[ ! -e out.tok.gz ] || fail "failed run left out.tok.gz"
echo precious >keep.tok
expect_status 1 imdb-clean -o keep.tok j6.jsonl
[ "$(cat keep.tok)" = precious ] || fail "failed run clobbered keep.tok"
ls -a | grep -q 'tmp' && fail "temporary file left behind: $(ls -a)"
exit 0
