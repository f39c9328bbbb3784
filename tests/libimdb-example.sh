#!/bin/sh
# libimdb-example.sh — the example program of imdb(3), extracted from the page (so the
# page cannot drift), compiled against the INSTALLED library with pkg-config --cflags
# --libs imdb, run on a model trained on the fixtures: its scores are imdb-predict's,
# byte for byte, and it explains the first text.
. "$IMDB_SRCDIR/tests/common.sh"
. "$IMDB_SRCDIR/tests/libimdb-install.sh"
command -v pkg-config >/dev/null || fail "pkg-config not found"

sed -n '/^\.SH EXAMPLES/,/^\.SH /p' "$IMDB_SRCDIR/man/imdb.3" | awk '
    /^\.EX/ { f = 1; next }
    /^\.EE/ { exit }
    f { gsub(/\\e/, "\\"); gsub(/\\-/, "-"); print }' >example.c
grep -q 'imdb_model_open' example.c || fail "no example program found in imdb.3"

cflags=$(pkg-config --cflags imdb) || fail "pkg-config --cflags imdb failed"
libs=$(pkg-config --libs imdb) || fail "pkg-config --libs imdb failed"
# A sanitizer build's library needs the sanitizer runtimes in the program too.
san=
if objdump -p "$LIBDIR/libimdb.so" | grep -q 'NEEDED.*libasan'; then san=-fsanitize=address,undefined; fi
# shellcheck disable=SC2086
${CC:-cc} -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $san $cflags example.c $libs -o example ||
    fail "the example of imdb(3) does not compile against the installed library"
# It links the installed library, not the build tree's.
LD_LIBRARY_PATH=$LIBDIR
export LD_LIBRARY_PATH
ldd ./example | grep -q "$LIBDIR/libimdb.so.0" || { ldd ./example >&2; fail "example does not use $LIBDIR"; }

imdb-clean -q --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-clean -q --split test "$FIXTURES/mini-aclImdb.tar.gz" -o test.tok.gz
imdb-vocab -q train.tok.gz -o vocab.gz
imdb-train -q -V vocab.gz -O model.bin train.tok.gz
printf 'a wonderful film\nawful, dull and too long\n' >texts
cat "$FIXTURES/reviews.txt" >>texts
./example model.bin <texts >out 2>err || { cat err >&2; fail "the example failed"; }
version=$(pkg-config --modversion imdb)
[ "$(head -n 1 out)" = "kind nblr, libimdb $version" ] || fail "first line: $(head -n 1 out) (pkg-config says $version)"
imdb-predict model.bin <texts >want
n=$(wc -l <want)   # texts' last line has no newline: both programs still score it
[ "$n" -eq 6 ] || fail "imdb-predict scored $n texts, expected 6"
sed -n "2,$((n + 1))p" out >got
same want got
tail -n +$((n + 2)) out >explained
[ "$(wc -l <explained)" -eq 3 ] || fail "expected 3 explained n-grams, got $(wc -l <explained)"
grep -qvE '^[+-][0-9]+\.[0-9]{4}	[^ ]+( [^ ]+)*$' explained && fail "bad explain line: $(cat explained)"
# The usage error: status 2.
expect_status 2 ./example
expect_status 4 ./example missing.model
expect_err 'missing.model'
