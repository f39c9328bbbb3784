# clean-errors.sh — broken input fails cleanly: one message naming the file (and line or
# entry), the documented exit status (1 data, 2 usage, 4 I/O), no partial -o file, an
# existing -o file left alone; and --help, --version, write errors.
. "$IMDB_SRCDIR/tests/common.sh"
F=$FIXTURES

# Bad data: exit 1, "imdb-clean: FILE[:LINE]: what".
expect_status 1 imdb-clean "$F/bad-truncated.tar.gz"
expect_err "^imdb-clean: $F/bad-truncated.tar.gz: truncated archive in entry 'aclImdb/test/pos/[0-9]+_[0-9]+\.txt'$"
expect_status 1 imdb-clean "$F/bad-truncated.txt.gz"
expect_err "^imdb-clean: $F/bad-truncated.txt.gz: .*(truncated|unexpected end)"
expect_status 1 imdb-clean "$F/bad-unterminated.csv"
expect_err "^imdb-clean: $F/bad-unterminated.csv:4: unterminated quoted field \(the quote opened on line 3\)$"
expect_status 1 imdb-clean "$F/bad-header.csv"
expect_err "^imdb-clean: $F/bad-header.csv:1: expected a CSV header with columns review and sentiment, found 'text,label'$"
expect_status 1 imdb-clean "$F/bad-quote.csv"
expect_err "^imdb-clean: $F/bad-quote.csv:3: malformed CSV"
expect_status 1 imdb-clean "$F/bad-fields.csv"
expect_err "^imdb-clean: $F/bad-fields.csv:3: expected 2 CSV fields as in the header, found 3$"
expect_status 1 imdb-clean "$F/bad-label.csv"
expect_err "^imdb-clean: $F/bad-label.csv:3: unknown label 'meh' \(expected positive or negative\)$"
expect_status 1 imdb-clean "$F/bad-label.tsv"
expect_err "^imdb-clean: $F/bad-label.tsv:3: unknown label 'maybe' \(expected pos, neg, -, 1 or 0\)$"
expect_status 1 imdb-clean "$F/bad-notab.tsv"
expect_err "^imdb-clean: $F/bad-notab.tsv:2: expected LABEL<TAB>TEXT, found no TAB$"
# Every failure is one line on stderr.
[ "$(wc -l <err)" -eq 1 ] || fail "more than one line of error output"
# Data read from stdin is named as such.
expect_status 1 imdb-clean -f tsv - <"$F/bad-label.tsv"
expect_err "^imdb-clean: \(standard input\):3: unknown label 'maybe'"
expect_status 1 imdb-clean -f csv <"$F/bad-unterminated.csv"
expect_err "^imdb-clean: \(standard input\):4: unterminated quoted field"
# A file that is no tar archive, an empty archive, a directory that is not aclImdb, a
# split with no documents.
cp "$F/reviews.txt" notatar.tar.gz
expect_status 1 imdb-clean notatar.tar.gz
expect_err "^imdb-clean: notatar.tar.gz: not a tar archive, or corrupt"
: >empty.tar
expect_status 1 imdb-clean empty.tar
expect_err "^imdb-clean: empty.tar: empty file"
mkdir notacl
expect_status 1 imdb-clean notacl
expect_err "^imdb-clean: notacl: not an aclImdb directory"
mkdir -p p/aclImdb/train/pos
printf 'ok' >p/aclImdb/train/pos/1_9.txt
(cd p && tar -czf ../pos-only.tar.gz aclImdb)
expect_status 1 imdb-clean --split unsup pos-only.tar.gz
expect_err "^imdb-clean: pos-only.tar.gz: no unsup reviews found"
expect_status 1 imdb-clean --split test p
expect_err "^imdb-clean: p: no test reviews found"
expect_status 0 imdb-clean --split train p

# I/O: exit 4. A missing input is reported before anything is written.
expect_status 4 imdb-clean nope.txt
expect_err "^imdb-clean: nope.txt: No such file or directory$"
expect_status 4 imdb-clean "$F/reviews.txt" nope.txt
[ ! -s out ] || fail "output written before a missing input was noticed"
expect_status 4 imdb-clean "$F/reviews.txt" -o no/such/dir/out.tok
expect_err "^imdb-clean: no/such/dir/out.tok: "
# A full disk: plain, gzip, and a large output.
expect_status 4 sh -c 'imdb-clean "$1" >/dev/full' sh "$F/golden.txt"
expect_err "^imdb-clean: .*(standard output).*No space left on device"
expect_status 4 sh -c 'imdb-clean -z "$1" >/dev/full' sh "$F/golden.txt"
expect_err "^imdb-clean: .*No space left on device"
expect_status 4 sh -c 'imdb-clean "$1" >/dev/full' sh "$F/mini-aclImdb.tar.gz"
expect_err "No space left on device"

# -o is complete or absent: a failure in the second input leaves no file and no temporary;
# an existing file survives a failed run untouched.
expect_status 1 imdb-clean -o out.tok.gz "$F/reviews.txt" "$F/bad-label.tsv"
[ ! -e out.tok.gz ] || fail "failed run left out.tok.gz"
expect_status 1 imdb-clean -o out.tok.gz "$F/bad-truncated.tar.gz"
[ ! -e out.tok.gz ] || fail "failed run left out.tok.gz"
expect_status 4 imdb-clean -o out.tok.gz "$F/reviews.txt" nope.txt
[ ! -e out.tok.gz ] || fail "failed run left out.tok.gz"
ls -a | grep -q 'tmp' && fail "temporary file left behind: $(ls -a)"
echo precious >keep.tok
expect_status 1 imdb-clean -o keep.tok "$F/bad-unterminated.csv"
[ "$(cat keep.tok)" = precious ] || fail "failed run clobbered keep.tok"

# Usage errors: exit 2 with a hint.
for args in "--bogus" "-x" "--format=xml" "-f" "--split=dev" "--pattern=(" "--pattern=" \
            "--gzip=0" "--gzip=x" "-s train $F/reviews.csv" "-f dir -"; do
    # shellcheck disable=SC2086
    expect_status 2 imdb-clean $args
    expect_err "^Try 'imdb-clean --help' for more information\.$"
done
expect_status 2 imdb-clean --pattern='a(b'
expect_err "^imdb-clean: bad token pattern at offset 3: "
expect_status 2 imdb-clean -s train "$F/reviews.csv"
expect_err "applies only to aclImdb input"

# --help and --version.
expect_status 0 imdb-clean --help
grep -q '^Usage: imdb-clean \[OPTION\]\.\.\. \[INPUT\]\.\.\.$' out || fail "--help: no usage line"
for opt in --format --split --pattern --no-html --no-nfkc --no-casefold --output --gzip \
           --quiet --verbose --help --version; do
    grep -q -- "$opt" out || fail "--help does not mention $opt"
done
grep -q 'default: auto' out || fail "--help does not show defaults"
[ ! -s err ] || fail "--help wrote to stderr"
expect_status 0 imdb-clean --version
grep -Eq '^imdb-clean \(imdb\) [0-9]' out || fail "--version: $(cat out)"
