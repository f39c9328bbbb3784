# clean-odd.sh — odd but legitimate input: invalid UTF-8 (replaced, counted), NUL bytes,
# CRLF line ends, byte order marks, empty lines, a 10 MB line, odd aclImdb files.
. "$IMDB_SRCDIR/tests/common.sh"

# Invalid UTF-8, NULs, CRLF, BOMs and empty lines, all in one text file.
printf 'caf\351 ok\n\000nul\000\r\n\357\273\277bom here\r\n\n\n\357\273\277\nend' >odd.txt
imdb-clean -v odd.txt >got 2>err
tail -n +2 got >got2
cat >want <<'EOF'
-	1	caf ok
-	2	nul
-	3	bom here
-	4	
-	5	
-	6	
-	7	end
EOF
same got2 want
expect_err '^imdb-clean: 7 documents \(0 pos, 0 neg, 7 unlabelled\), 6 tokens, [0-9]+ bytes in '
expect_err '^imdb-clean: 1 invalid UTF-8 sequence replaced by U\+FFFD, 2 NUL bytes$'
# Without -v, nothing on stderr.
imdb-clean odd.txt >/dev/null 2>err
[ ! -s err ] || fail "unexpected stderr: $(cat err)"

# One output line per input line, whatever the lines hold.
awk 'BEGIN { for (i = 1; i <= 1000; i++) { if (i % 3) printf "line %d <br />x", i; printf "\n" } }' >many.txt
imdb-clean many.txt >got
[ "$(wc -l <got)" -eq 1001 ] || fail "1000 lines gave $(($(wc -l <got) - 1)) documents"
[ "$(sed -n 1001p got)" = "$(printf -- '-\t1000\tline 1000 x')" ] || fail "last line: $(sed -n 1001p got)"

# CRLF files give the same tokens as LF files, in every line format.
for f in reviews.csv reviews.tsv reviews.txt golden.txt; do
    ext=${f#*.}
    sed 's/\r$//; s/$/\r/' "$FIXTURES/$f" >"crlf.$ext"
    sed 's/\r$//' "$FIXTURES/$f" >"lf.$ext"
    imdb-clean "crlf.$ext" >a
    imdb-clean "lf.$ext" >b
    same a b
done

# A 10 MB review on one line (no final newline).
awk 'BEGIN { for (i = 0; i < 1300000; i++) printf "Movie%d, ", i % 10 }' >long.txt
imdb-clean long.txt >got
[ "$(wc -l <got)" -eq 2 ] || fail "the 10 MB line is not one document"
n=$(tail -n 1 got | cut -f3 | wc -w)
[ "$n" -eq 1300000 ] || fail "10 MB line: $n tokens"
[ "$(tail -n 1 got | cut -f3 | cut -d' ' -f1-3)" = "movie0 movie1 movie2" ] || fail "10 MB line tokens"
# ...and as the review of a TSV line and of a CSV record.
{ printf 'pos\t'; cat long.txt; printf '\n'; } >long.tsv
imdb-clean long.tsv | tail -n 1 | cut -f3 | wc -w | grep -qx ' *1300000' || fail "10 MB TSV line"
{ printf 'review,sentiment\n"'; cat long.txt; printf '",negative\n'; } >long.csv
imdb-clean long.csv | tail -n 1 | cut -f3 | wc -w | grep -qx ' *1300000' || fail "10 MB CSV field"

# An aclImdb directory with odd files: invalid UTF-8, a BOM, NULs, CRLF, an empty review,
# and files that are not reviews (skipped).
mkdir -p d/aclImdb/train/pos d/aclImdb/train/neg d/aclImdb/train/unsup
printf '\357\273\277Caf\303\251\r\n<br />GREAT\000movie\377' >d/aclImdb/train/pos/10_9.txt
printf '' >d/aclImdb/train/pos/2_8.txt
printf 'Bad.' >d/aclImdb/train/neg/1_1.txt
printf 'not a review' >d/aclImdb/train/pos/notes.md
printf 'x' >d/aclImdb/train/urls_pos.txt
mkdir d/aclImdb/train/pos/sub.txt
imdb-clean -v d/aclImdb >got 2>err
cat >want <<'EOF'
neg	train/neg/1_1	bad
pos	train/pos/10_9	café great movie
pos	train/pos/2_8	
EOF
tail -n +2 got >got2
same got2 want
expect_err '1 invalid UTF-8 sequence replaced by U\+FFFD, 1 NUL byte$'
# The same files in a tarball give the same stream.
(cd d && tar -cf ../d.tar aclImdb/train/neg/1_1.txt aclImdb/train/pos/10_9.txt \
    aclImdb/train/pos/2_8.txt aclImdb/train/pos/notes.md aclImdb/train/urls_pos.txt)
imdb-clean d.tar >got
tail -n +2 got >got2
same got2 want

# A FIFO (or a pipe given by name, as bash's <(...)) is opened once: opening it twice, to
# check it and then to read it, lost what a quick writer had written before the first
# close (a header and no reviews, exit 0) or waited for a writer gone (a hang). Each try
# races a new writer against imdb-clean, which lost about one in two before.
mkfifo fifo
printf 'pos\tone small review\n' >want.fifo
for try in 1 2 3 4 5 6; do
    printf 'pos\tone small review\n' >fifo &
    writer=$!
    timeout 20 imdb-clean -q --format tsv fifo -o got.fifo ||
        fail "imdb-clean on a FIFO, try $try: exit status $?"
    wait "$writer" || fail "try $try: the FIFO's writer died"
    tail -n +2 got.fifo | cut -f 1,3 >got2.fifo
    same got2.fifo want.fifo
done
