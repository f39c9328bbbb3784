#!/bin/sh
# difftok.sh — the tokenizer's fast path (text_tokenize) against its reference
# (text_tokenize_naive: byte-at-a-time cleaning, PCRE2) on every fixture corpus, in four
# cleaning variants; scripts/diff-tokenize runs the same program over the IMDB tarball.
. "$IMDB_SRCDIR/tests/common.sh"
difftok="$IMDB_BIN/../tests/difftok"
expect_status 0 "$difftok" "$FIXTURES/mini-aclImdb.tar.gz" "$FIXTURES/reviews.csv" \
    "$FIXTURES/reviews.tsv" "$FIXTURES/reviews.txt" "$FIXTURES/golden.txt"
grep -Eq '^difftok: [0-9]+ documents, 4 variants, [0-9]+ tokens, 0 differences$' out ||
    fail "unexpected summary: $(cat out)"
n=$(sed 's/^difftok: \([0-9]*\) documents.*/\1/' out)
[ "$n" -ge 530 ] || fail "only $n documents compared"
