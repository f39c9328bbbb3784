#!/bin/sh
# serve-examples.sh — the examples of imdb-serve(1) run as one session on the fixture
# corpus (port 8080 replaced by a free one), so the manual cannot drift from the program.
# The benchmark example is left out (it runs for a minute).
. "$IMDB_SRCDIR/tests/serve-lib.sh"

imdb-clean --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-vocab train.tok.gz -o vocab.gz
imdb-train -q --vocab vocab.gz --output model.bin train.tok.gz
gunzip -c train.tok.gz | grep -v '^#' | cut -f3 | head -5 >reviews.txt

# A free port: the one the kernel gives a server asked for port 0.
serve_start -m model.bin -q
free=$PORT
serve_stop
rm -f port serve.log

sed -n '/^\.SH EXAMPLES/,/^\.SH /p' "$IMDB_SRCDIR/man/imdb-serve.1" | awk '
    /^\.EX/ { ex = 1; next }
    /^\.EE/ { ex = 0; next }
    ex { gsub(/\\e/, "\\"); gsub(/\\-/, "-"); print }' >examples.sh
grep -q 'kill -HUP' examples.sh || fail "no examples found in imdb-serve.1"
command -v jq >/dev/null 2>&1 || sed -i '/^jq /,/v1\/predict$/d' examples.sh
{
    echo 'trap '"'"'[ -z "${server:-}" ] || kill -KILL "$server" 2>/dev/null || :'"'"' EXIT'
    grep -v 'bench-serve' examples.sh | sed "s/8080/$free/g"
} >session.sh
expect_status 0 timeout 60 sh -e session.sh
n=$(grep -c '"label":"' out)
[ "$n" -ge 1 ] || fail "no prediction in the examples' output: $(cat out)"
grep -q '^{"id":1,"label":"\(pos\|neg\)","probability":[0-9.]*}$' out || fail "the first example printed: $(head -1 out)"
grep -q '"status":"ok"' out || fail "no health answer: $(cat out)"
grep -q '^imdb_http_requests_total{code="200"} [1-9]' out || fail "no metrics answer"
if command -v jq >/dev/null 2>&1; then
    grep -q '^{"predictions":\[' out || fail "the jq example printed no batch"
    [ "$(grep '^{"predictions"' out | grep -o '"label"' | wc -l)" -eq 5 ] || fail "the batch is not 5 reviews"
fi
grep -q "imdb-serve: listening on http://127.0.0.1:$free/" err || fail "no listening line: $(cat err)"
grep -q '^imdb-serve: reloaded nblr model model.bin' err || fail "the reload example did not reload: $(cat err)"
grep -q '^imdb-serve: stopped$' err || fail "the server did not stop cleanly: $(cat err)"
exit 0
