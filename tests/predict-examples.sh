#!/bin/sh
# predict-examples.sh — every example of imdb-predict(1) runs, on the fixture corpus, so
# the manual cannot drift from the program.
. "$IMDB_SRCDIR/tests/common.sh"

imdb-clean --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-clean --split test "$FIXTURES/mini-aclImdb.tar.gz" -o test.tok.gz
imdb-vocab train.tok.gz -o v.gz
imdb-train -q --vocab v.gz --output model.bin train.tok.gz
gunzip -c test.tok.gz | grep -v '^#' | cut -f3 >reviews.txt

sed -n '/^\.SH EXAMPLES/,/^\.SH /p' "$IMDB_SRCDIR/man/imdb-predict.1" | awk '
    /^\.EX/ { n++; f = sprintf("example%02d.sh", n); next }
    /^\.EE/ { close(f); f = ""; next }
    f { gsub(/\\e/, "\\"); gsub(/\\-/, "-"); print > f }'
ls example*.sh >/dev/null 2>&1 || fail "no examples found in imdb-predict.1"
for ex in example*.sh; do
    if grep -q 'jq' "$ex" && ! command -v jq >/dev/null 2>&1; then continue; fi
    set +e
    sh -e "$ex" </dev/null >"$ex.out" 2>"$ex.err"
    st=$?
    set -e
    [ $st -eq 0 ] || { cat "$ex" "$ex.err" >&2; fail "example $ex exited $st"; }
done
[ "$(wc -l <example01.sh.out)" -eq 2 ] || fail "the first example does not print 2 lines"
