#!/bin/sh
# vocab-basic.sh — imdb-vocab's exact output on a tiny stream (order: count desc, df desc,
# bytes), stdin and '-', several operands counted as one stream, -o (plain, gzip, atomic),
# --ngrams, the #clean line, --help/--version and usage errors.
. "$IMDB_SRCDIR/tests/common.sh"

printf 'pos\td1\tthe movie was good good\nneg\td2\tthe movie was bad\n-\td3\t\n' >a.tok
cat >want <<'END'
#imdb-vocab 1 ngrams=3 docs=3 tokens=9
movie	2	2
movie was	2	2
the	2	2
the movie	2	2
the movie was	2	2
was	2	2
good	2	1
bad	1	1
good good	1	1
movie was bad	1	1
movie was good	1	1
was bad	1	1
was good	1	1
was good good	1	1
END

expect_status 0 imdb-vocab a.tok
[ ! -s err ] || fail "unexpected stderr: $(cat err)"
same out want

# Standard input, with and without '-'; gzip input.
imdb-vocab <a.tok >o1
same o1 want
imdb-vocab - <a.tok >o2
same o2 want
gzip -c a.tok >a.tok.gz
imdb-vocab a.tok.gz >o3
same o3 want

# Several operands are one stream: split a.tok in two.
head -n 1 a.tok >p1.tok
tail -n +2 a.tok >p2.tok
imdb-vocab p1.tok p2.tok >o4
same o4 want
imdb-vocab p1.tok - <p2.tok >o5
same o5 want

# -o: plain, gzip by suffix; nothing else left in the directory.
mkdir d
imdb-vocab -o d/v a.tok
same d/v want
imdb-vocab --output=d/v.gz --gzip-level=9 a.tok
gzip -dc d/v.gz >o6
same o6 want
[ "$(ls d)" = "$(printf 'v\nv.gz')" ] || fail "stray files: $(ls d)"

# --ngrams.
cat >want1 <<'END'
#imdb-vocab 1 ngrams=1 docs=3 tokens=9
movie	2	2
the	2	2
was	2	2
good	2	1
bad	1	1
END
imdb-vocab -n 1 a.tok >o7
same o7 want1
imdb-vocab --ngrams=2 a.tok >o8
[ "$(sed -n 1p o8)" = "#imdb-vocab 1 ngrams=2 docs=3 tokens=9" ] || fail "ngrams=2 header"
! grep -q 'the movie was' o8 || fail "ngrams=2 counted a trigram"
[ "$(grep -c . o8)" -eq 11 ] || fail "ngrams=2: $(grep -c . o8) lines"

# The cleaning settings of the stream header become the #clean line.
printf '#imdb-tokens 1 html=1 nfkc=1 casefold=1 pattern=[a-z]+\n' | cat - a.tok >h.tok
imdb-vocab h.tok >o9
sed -n 2p o9 | grep -q '^#clean .*pattern=\[a-z\]+' || fail "no #clean line: $(sed -n 2p o9)"
[ "$(sed 2d o9)" = "$(cat want)" ] || fail "header changed the counts"

# An empty stream.
: >empty.tok
imdb-vocab empty.tok >o10
[ "$(cat o10)" = "#imdb-vocab 1 ngrams=3 docs=0 tokens=0" ] || fail "empty stream: $(cat o10)"

# -v reports, -q is silent.
expect_status 0 imdb-vocab -v a.tok
grep -q '3 documents, 9 tokens, 14 distinct n-grams, 14 kept' err || fail "-v: $(cat err)"
expect_status 0 imdb-vocab -q a.tok
[ ! -s err ] || fail "-q printed: $(cat err)"

# --help, --version, usage errors.
expect_status 0 imdb-vocab --help
grep -q -- '--ngrams=N' out && grep -q 'default: 3' out && grep -q -- '--merge' out \
    || fail "--help lacks options or defaults"
[ ! -s err ] || fail "--help wrote to stderr"
expect_status 0 imdb-vocab --version
grep -q '^imdb-vocab (imdb) ' out || fail "--version: $(cat out)"
for bad in "--ngrams=0" "--ngrams=10" "-n x" "--min-count=0" "--max-size=-1" "--gzip-level=0" \
           "--bogus" "-n"; do
    # shellcheck disable=SC2086
    expect_status 2 imdb-vocab $bad a.tok
    expect_err "Try 'imdb-vocab --help'"
done
