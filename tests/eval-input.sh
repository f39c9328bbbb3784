#!/bin/sh
# eval-input.sh — what imdb-eval does with awkward streams: unlabelled documents are
# skipped with a count, no labelled document is an error, malformed lines and missing
# files fail with their status, and cleaning settings unlike the model's warn (--strict
# refuses).
. "$IMDB_SRCDIR/tests/common.sh"

imdb-clean --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-vocab train.tok.gz -o v.gz
imdb-train -q --model nblr --vocab v.gz --output m.bin train.tok.gz
header=$(gunzip -c train.tok.gz | head -1)

# Unlabelled documents: skipped, counted in a warning; -q silences it.
{ echo "$header"; printf 'pos\ta\tgreat film\n-\tb\tgreat\nneg\tc\tbad film\n-\td\tbad\n-\te\t\n'; } >mixed.tok
expect_status 0 imdb-eval --json m.bin mixed.tok
expect_err '^imdb-eval: warning: skipped 3 unlabelled documents$'
grep -q '"n": 2,' out || fail "unlabelled documents were counted"
expect_status 0 imdb-eval -q m.bin mixed.tok
[ ! -s err ] || fail "-q still warned: $(cat err)"

# Only unlabelled, only a header, or nothing at all: exit 1.
{ echo "$header"; printf -- '-\tb\tgreat\n'; } >unlab.tok
expect_status 1 imdb-eval m.bin unlab.tok
expect_err '^imdb-eval: unlab.tok: no labelled documents to evaluate$'
echo "$header" >header.tok
expect_status 1 imdb-eval m.bin header.tok
expect_err 'no labelled documents'
: >empty.tok
expect_status 1 imdb-eval m.bin empty.tok
expect_err '^imdb-eval: empty.tok: no labelled documents'
expect_status 1 imdb-eval m.bin </dev/null
expect_err '^imdb-eval: \(standard input\): no labelled documents'
[ ! -s out ] || fail "output written for an empty stream"

# No header: no settings check, no warning.
printf 'pos\ta\tgreat\nneg\tb\tbad\n' >plain.tok
expect_status 0 imdb-eval m.bin plain.tok
[ ! -s err ] || fail "warning for a stream without header: $(cat err)"

# Other cleaning settings: a warning, or with --strict exit 1.
{ echo '#imdb-tokens 1 html=0 nfkc=1 casefold=1 pattern=x'; printf 'pos\ta\tgreat\n'; } >other.tok
expect_status 0 imdb-eval m.bin other.tok
expect_err '^imdb-eval: warning: other.tok: cleaned with other settings than the model'
expect_status 1 imdb-eval --strict -o never.txt m.bin other.tok
expect_err '^imdb-eval: other.tok: cleaned with other settings than the model'
[ ! -e never.txt ] || fail "--strict failure left an output file"
expect_status 0 imdb-eval --strict m.bin mixed.tok

# Malformed streams: exit 1 with file:line; missing stream: exit 4.
printf 'pos\ta\tgood\nmaybe\tb\tfine\n' >badlabel.tok
expect_status 1 imdb-eval m.bin badlabel.tok
expect_err '^imdb-eval: badlabel.tok:2: unknown label'
printf 'pos\ta\tgood\nno tabs here\n' >notab.tok
expect_status 1 imdb-eval --errors e.tsv m.bin notab.tok
expect_err '^imdb-eval: notab.tok:2: '
[ ! -e e.tsv ] || fail "failed run left an --errors file"
expect_status 4 imdb-eval m.bin missing.tok
expect_err '^imdb-eval: missing.tok: No such file'
head -c 100 train.tok.gz >cut.tok.gz
expect_status 1 imdb-eval m.bin cut.tok.gz
expect_err 'cut.tok.gz'
