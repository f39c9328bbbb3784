#!/bin/sh
# predict-input.sh — imdb-predict writes exactly one line per input line, whatever the
# bytes: empty lines, invalid UTF-8, NUL bytes, CRLF, a byte order mark, a missing final
# newline and a 10 MB line; CRLF and BOM do not change the prediction.
. "$IMDB_SRCDIR/tests/common.sh"

imdb-clean --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-vocab train.tok.gz -o v.gz
imdb-train -q --model nblr --vocab v.gz --output m.bin train.tok.gz

line_re='^(pos|neg)	(0\.[0-9]{6}|1\.000000)$'

# Odd lines, one per input line.
printf 'a great film\n\n\377\376 broken \300\257 utf8\nnul\000byte here\ncrlf line\r\n\r\n   \n\tonly tabs\t\nno final newline' >odd.txt
expect_status 0 imdb-predict --threads 1 m.bin odd.txt
[ "$(wc -l <out)" -eq 9 ] || fail "9 input lines gave $(wc -l <out) output lines"
grep -Evq "$line_re" out && fail "malformed output line: $(grep -Ev "$line_re" out | head -1)"
[ ! -s err ] || fail "unexpected stderr: $(cat err)"

# The same lines through stdin and with 2 threads: same bytes.
imdb-predict --threads 2 m.bin <odd.txt >odd2.out
same out odd2.out

# CRLF and a BOM do not change the prediction.
printf 'what a wonderful and moving film\nthe worst waste of time\n' >lf.txt
printf '\357\273\277what a wonderful and moving film\r\nthe worst waste of time\r\n' >crlf.txt
imdb-predict m.bin lf.txt >lf.out
imdb-predict m.bin crlf.txt >crlf.out
same lf.out crlf.out

# An empty line equals an empty review; an empty file gives no output.
: >empty.txt
expect_status 0 imdb-predict m.bin empty.txt
[ ! -s out ] || fail "empty input gave output"

# A 10 MB single line between two short ones.
{ echo 'good'; yes 'a truly great movie' | head -c 10000000 | tr '\n' ' '; echo; echo 'bad'; } >big.txt
expect_status 0 imdb-predict --threads 2 m.bin big.txt
[ "$(wc -l <out)" -eq 3 ] || fail "3 lines with a 10 MB one gave $(wc -l <out) lines"
grep -Evq "$line_re" out && fail "malformed output for the 10 MB line"

# Several files: their lines in order, as if concatenated.
{ cat lf.txt odd.txt; echo; cat lf.txt; } >cat.txt    # odd.txt lacks its final newline
imdb-predict m.bin cat.txt >cat.out
expect_status 0 imdb-predict m.bin lf.txt - lf.txt <odd.txt
same out cat.out

# gzip input.
gzip -c lf.txt >lf.txt.gz
expect_status 0 imdb-predict m.bin lf.txt.gz
same out lf.out

# A missing input file: I/O error naming it; a truncated gzip: data error.
expect_status 4 imdb-predict m.bin nonexistent.txt
expect_err '^imdb-predict: nonexistent.txt: '
yes 'a long review of a film' | head -n 20000 | gzip -c >long.gz
head -c $(($(wc -c <long.gz) / 2)) long.gz >cut.gz
expect_status 1 imdb-predict m.bin cut.gz
expect_err 'cut.gz'
