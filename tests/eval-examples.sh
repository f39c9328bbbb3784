#!/bin/sh
# eval-examples.sh — every example of imdb-eval(1) runs, on the fixture corpus, so the
# manual cannot drift from the program. Blocks run in order in one directory; a
# --min-accuracy example may fail its gate (the fixture model is weak), nothing else.
. "$IMDB_SRCDIR/tests/common.sh"

ln -s "$FIXTURES/mini-aclImdb.tar.gz" aclImdb_v1.tar.gz
# .EX ... .EE blocks of EXAMPLES, roff escapes undone, one file per block.
sed -n '/^\.SH EXAMPLES/,/^\.SH /p' "$IMDB_SRCDIR/man/imdb-eval.1" | awk '
    /^\.EX/ { n++; f = sprintf("example%02d.sh", n); next }
    /^\.EE/ { close(f); f = ""; next }
    f { gsub(/\\e/, "\\"); gsub(/\\-/, "-"); print > f }'
ls example*.sh >/dev/null 2>&1 || fail "no examples found in imdb-eval.1"
for ex in example*.sh; do
    if grep -q 'jq' "$ex" && ! command -v jq >/dev/null 2>&1; then continue; fi
    set +e
    sh -e "$ex" </dev/null >"$ex.out" 2>"$ex.err"
    st=$?
    set -e
    if [ $st -ne 0 ] && ! { grep -q -- '--min-accuracy' "$ex" && [ $st -eq 1 ]; }; then
        cat "$ex" "$ex.err" >&2
        fail "example $ex exited $st"
    fi
    [ -s "$ex.out" ] || grep -q -- ' -o \| --errors ' "$ex" || fail "example $ex printed nothing"
done
grep -q '^accuracy ' example01.sh.out || fail "the first example does not show the table"
