# clean-golden.sh — imdb-clean output checked byte for byte: the handmade golden input
# (every cleaning rule, expected tokens written by hand), the header line and its
# settings, the CSV / TSV / text-line fixtures, stdin, concatenation and gzip output.
. "$IMDB_SRCDIR/tests/common.sh"

# The golden stream, from a file, from stdin, and from "-".
imdb-clean "$FIXTURES/golden.txt" >got
same got "$FIXTURES/golden.tok"
imdb-clean <"$FIXTURES/golden.txt" >got
same got "$FIXTURES/golden.tok"
imdb-clean - <"$FIXTURES/golden.txt" >got
same got "$FIXTURES/golden.tok"

# The header, exactly: format version, then text_settings_format.
cat >want <<'EOF'
#imdb-tokens 1 html=1 nfkc=1 casefold=1 pattern=[\p{L}\p{M}\p{N}]+(?:['\x{2019}-][\p{L}\p{M}\p{N}]+)*|[:;=]-?[()]|[:;]-?[dp](?![\p{L}\p{M}\p{N}])|<3(?!\p{N})|[!?]
EOF
head -n 1 "$FIXTURES/golden.tok" >got
same got want
printf '' | imdb-clean >got
same got want

# Settings options change the header and the tokens.
printf 'Don&#39;t <b>STOP</b> :D\n' | imdb-clean --no-html --no-casefold --no-nfkc \
    --pattern '[[:alpha:]]+|&|<|:D' >got
cat >want <<'EOF'
#imdb-tokens 1 html=0 nfkc=0 casefold=0 pattern=[[:alpha:]]+|&|<|:D
-	1	Don & t < b STOP < b :D
EOF
same got want
printf 'a b\n' | imdb-clean --pattern '\S+ \S+' | head -n 1 >got
printf '#imdb-tokens 1 html=1 nfkc=1 casefold=1 pattern=\\S+%%20\\S+\n' >want
same got want

# CSV: quoted commas, doubled quotes, embedded LF and CRLF, a blank line, a BOM, an
# empty review, labels in any case, no final newline. IDs are the record's first line.
imdb-clean "$FIXTURES/reviews.csv" | tail -n +2 >got
cat >want <<'EOF'
pos	2	one of the best films ever a must see !
neg	3	terrible two lines then a crlf third line
pos	6	unquoted review without commas
neg	8	café scene the twist :(
pos	9	
pos	10	a last one with no final newline
EOF
same got want

# TSV: every label spelling, TABs inside the text, CRLF, a BOM before the label.
imdb-clean "$FIXTURES/reviews.tsv" | tail -n +2 >got
cat >want <<'EOF'
pos	1	great movie !
neg	2	awful tabs inside
-	3	unlabelled one
pos	4	one means positive
neg	5	zero means negative
pos	6	bom before the label
neg	7	
EOF
same got want

# Text lines: one output line per input line, empty ones included.
imdb-clean "$FIXTURES/reviews.txt" | tail -n +2 >got
cat >want <<'EOF'
-	1	first review here
-	2	
-	3	third review crlf
-	4	fourth no final newline
EOF
same got want

# --format overrides the name; stdin takes any line format.
imdb-clean -f lines "$FIXTURES/reviews.tsv" | sed -n 2p >got
printf -- '-\t1\tpos great movie !\n' >want
same got want
imdb-clean --format=tsv - <"$FIXTURES/reviews.tsv" >got
imdb-clean "$FIXTURES/reviews.tsv" >want
same got want
imdb-clean -f csv <"$FIXTURES/reviews.csv" >got
imdb-clean "$FIXTURES/reviews.csv" >want
same got want

# Compressed input is read through zlib, by content, whatever the format.
gzip -c "$FIXTURES/reviews.csv" >r.csv.gz
imdb-clean r.csv.gz >got
same got want

# Several inputs are concatenated under one header.
imdb-clean "$FIXTURES/reviews.tsv" "$FIXTURES/reviews.txt" >got
{ imdb-clean "$FIXTURES/reviews.tsv"; imdb-clean "$FIXTURES/reviews.txt" | tail -n +2; } >want
same got want

# Output: plain on stdout, gzip for *.gz names and with -z; -o plain for other names.
imdb-clean "$FIXTURES/golden.txt" -o out.tok.gz
gzip -dc out.tok.gz >got
same got "$FIXTURES/golden.tok"
imdb-clean -z "$FIXTURES/golden.txt" | gzip -dc >got
same got "$FIXTURES/golden.tok"
imdb-clean --gzip=9 "$FIXTURES/golden.txt" -o out.tok
gzip -dc out.tok >got
same got "$FIXTURES/golden.tok"
imdb-clean --output=plain.tok "$FIXTURES/golden.txt"
same plain.tok "$FIXTURES/golden.tok"
# Overwriting an existing output file is fine (atomic rename).
imdb-clean -o plain.tok "$FIXTURES/reviews.txt"
imdb-clean "$FIXTURES/reviews.txt" >want
same plain.tok want
[ "$(ls)" = "$(printf 'got\nout.tok\nout.tok.gz\nplain.tok\nr.csv.gz\nwant')" ] ||
    fail "stray files: $(ls | tr '\n' ' ')"
