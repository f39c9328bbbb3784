#!/bin/sh
# vocab-errors.sh — exit statuses and messages: missing input (4), unwritable output (4,
# nothing left behind), a full disk on stdout (4), malformed token streams and
# vocabularies (1, with FILE:LINE), differently cleaned inputs (1).
. "$IMDB_SRCDIR/tests/common.sh"

printf 'pos\t1\tgood movie\nneg\t2\tbad movie\n' >ok.tok

expect_status 4 imdb-vocab nope.tok
expect_err "^imdb-vocab: nope.tok: "
expect_status 4 imdb-vocab --merge nope.vocab
expect_err "^imdb-vocab: nope.vocab: "

expect_status 4 imdb-vocab -o no/such/dir/v ok.tok
expect_err "^imdb-vocab: no/such/dir/v"
if [ -w /dev/full ]; then
    expect_status 4 sh -c 'imdb-vocab ok.tok >/dev/full'
    expect_err "imdb-vocab: .*(No space left on device|write error)"
fi

# Malformed stream: exit 1 naming file and line; -o leaves nothing behind.
printf 'pos\t1\tgood\nbogus\t2\tbad\n' >bad.tok
mkdir d
expect_status 1 imdb-vocab -o d/v ok.tok bad.tok
expect_err "^imdb-vocab: bad.tok:2: unknown label 'bogus'"
[ -z "$(ls d)" ] || fail "files left behind: $(ls d)"

# A TAB inside the tokens cannot be represented in a vocabulary.
printf 'pos\t1\tgood\nneg\t2\tbad\tworse\n' >tab.tok
expect_status 1 imdb-vocab tab.tok
expect_err "^imdb-vocab: tab.tok:2: token 'bad.worse' contains whitespace"

# Streams cleaned differently.
printf '#imdb-tokens 1 html=1 nfkc=1 casefold=1 pattern=[a-z]+\npos\t1\tx\n' >h1.tok
printf '#imdb-tokens 1 html=1 nfkc=1 casefold=0 pattern=[a-z]+\npos\t1\tx\n' >h2.tok
expect_status 1 imdb-vocab h1.tok h2.tok
expect_err "^imdb-vocab: h2.tok: cleaned with other settings than h1.tok"
expect_status 1 imdb-vocab h1.tok ok.tok
expect_err "ok.tok: cleaned with other settings than h1.tok \(no #imdb-tokens header;"

# Malformed vocabularies.
printf '#imdb-vocab 1 ngrams=1 docs=2 tokens=3\ngood\t2\t2\nbad\t1\n' >bad.vocab
expect_status 1 imdb-vocab --merge bad.vocab
expect_err "^imdb-vocab: bad.vocab:3: malformed line \(expected NGRAM<TAB>COUNT<TAB>DF\)$"
printf '#imdb-vocab 9 ngrams=1 docs=2 tokens=3\n' >new.vocab
expect_status 1 imdb-vocab --merge new.vocab
expect_err "new.vocab:1: vocabulary format version 9 is newer than this program's 1"
printf '#imdb-vocab 1 ngrams=1 docs=2 tokens=3\ngood\t2\t2\ngood\t1\t1\n' >dup.vocab
expect_status 1 imdb-vocab --merge dup.vocab
expect_err "dup.vocab:3: duplicate n-gram 'good'"
printf 'not gzip' | gzip -c | head -c 10 >trunc.vocab.gz
expect_status 1 imdb-vocab --merge trunc.vocab.gz
