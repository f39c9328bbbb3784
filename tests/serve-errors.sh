#!/bin/sh
# serve-errors.sh — bad requests and bad clients over a real socket: 400 (with a JSON
# message) for every malformed body, 404, 405 with Allow, 413 (Content-Length and
# chunked), invalid UTF-8, idle clients timed out, the connection limit; the server keeps
# answering everyone else. Then the exit statuses of bad command lines and models.
. "$IMDB_SRCDIR/tests/serve-lib.sh"

serve_model m.bin
serve_start -m m.bin --max-body 4K --timeout 2 --threads 1 --max-connections 3

# bad_json BODY MESSAGE-REGEX: 400 with {"error":"..."} matching.
bad_json() {
    req POST /v1/predict --data-binary "$1" -H 'Content-Type: application/json'
    [ "$code" = 400 ] || fail "body '$1': status $code, expected 400: $(cat body)"
    grep -Eq "^\{\"error\":\"$2" body || fail "body '$1': unexpected message: $(cat body)"
    [ "$(header Content-Type)" = application/json ] || fail "error Content-Type: $(header Content-Type)"
}
bad_json '' 'empty request body'
bad_json '{' 'malformed JSON at line 1, column 1: '
bad_json '{"text": "a",}' 'malformed JSON at line 1, column 14'
bad_json '"just a string"' 'the request must be a JSON object'
bad_json '[{"text":"a"}]' 'the request must be a JSON object'
bad_json '{}' 'missing field \\"text\\" \(or \\"texts\\"\)'
bad_json '{"text":""}' '\\"text\\" must be a non-empty string'
bad_json '{"text":null}' '\\"text\\" must be a non-empty string'
bad_json '{"text":42}' '\\"text\\" must be a non-empty string'
bad_json '{"texts":[]}' '\\"texts\\" must be a non-empty array of strings'
bad_json '{"texts":"a"}' '\\"texts\\" must be a non-empty array of strings'
bad_json '{"texts":["a","",3]}' '\\"texts\\"\[1\] must be a non-empty string'
bad_json '{"text":"a","texts":["b"]}' 'send either \\"text\\" or \\"texts\\", not both'
bad_json '{"txt":"a"}' 'unknown field \\"txt\\"'
bad_json '{"text":"a","text":"b"}' 'malformed JSON.*duplicate object key'
bad_json '{"text":"a","explain":"yes"}' '\\"explain\\" must be true, false or a number'
bad_json '{"text":"a","explain":101}' '\\"explain\\" must be true, false or a number'
bad_json '{"text":"a","explain":-1}' '\\"explain\\" must be true, false or a number'
bad_json '{"text":"\ud800"}' 'malformed JSON.*invalid Unicode'

# Invalid UTF-8 is refused with its position (JSON text must be UTF-8).
printf '{"text":"bad \377 byte"}' >bad-utf8.json
bad_json @bad-utf8.json 'request body is not valid UTF-8 \(near byte 1[0-9]\): JSON text must be UTF-8'
# An escaped NUL is fine: the cleaner makes it a space, as imdb-clean does.
printf '{"text":"great\\u0000film"}' >nul.json
req POST /v1/predict --data-binary @nul.json
expect_code 200
printf 'great film\n' | imdb-predict m.bin >want.tsv
predictions body >got.tsv
same got.tsv want.tsv

# 404 and 405 (with Allow), as JSON.
req GET /nope
expect_code 404
grep -q '^{"error":"not found' body || fail "404 body: $(cat body)"
req POST /v1/predict/
expect_code 404
req GET /v1/predict
expect_code 405
[ "$(header Allow)" = POST ] || fail "405 Allow: $(header Allow)"
grep -q '^{"error":"method not allowed' body || fail "405 body: $(cat body)"
req DELETE /health
expect_code 405
[ "$(header Allow)" = "GET, HEAD" ] || fail "405 Allow: $(header Allow)"
req PUT / -d x
expect_code 405

# 413: with a Content-Length (answered before the body is read), and chunked.
head -c 5000 /dev/zero | tr '\0' a >big.txt
printf '{"text":"%s"}' "$(cat big.txt)" >big.json
req POST /v1/predict --data-binary @big.json
expect_code 413
grep -q '^{"error":"request body larger than 4096 bytes (imdb-serve --max-body)"}$' body || fail "413 body: $(cat body)"
req POST /v1/predict --data-binary @big.json -H 'Transfer-Encoding: chunked'
expect_code 413
head -c 4000 big.txt >fits.txt
printf '{"text":"%s"}' "$(cat fits.txt)" >fits.json
req POST /v1/predict --data-binary @fits.json -H 'Transfer-Encoding: chunked'
expect_code 200

# An idle client is dropped after --timeout (2 s); the request is logged as unanswered.
{ printf 'POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"te'; sleep 4; } |
    curl -s --max-time 5 telnet://127.0.0.1:"$PORT" >/dev/null 2>&1 &
k=0
until grep -q ' POST /v1/predict - 0 ' serve.log; do
    k=$((k + 1)); [ $k -lt 50 ] || fail "the idle client was not dropped: $(tail -3 serve.log)"; sleep 0.1
done
req GET /health
expect_code 200

# The connection limit (3): with 3 connections open, a 4th waits in the kernel's queue
# and is served once one of them closes. Two hold a connection without a word; the third
# asks for /metrics and stays (keep-alive), which also tells when all three are in.
for i in 1 2; do
    { sleep 8; } | curl -s --max-time 9 telnet://127.0.0.1:"$PORT" >/dev/null 2>&1 &
    eval "holder$i=\$!"
done
k=0
while :; do
    { printf 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'; sleep 8; } |
        curl -s -N --max-time 9 telnet://127.0.0.1:"$PORT" >holder3.out 2>/dev/null &
    holder3=$!
    sleep 0.3
    grep -q '^imdb_http_connections_open 3' holder3.out && break
    kill "$holder3" 2>/dev/null || :
    k=$((k + 1)); [ $k -lt 20 ] || fail "the holders did not connect: $(cat holder3.out)"
done
grep -q '^imdb_http_connections_max 3' holder3.out || fail "no connection limit in /metrics"
code=$(curl -s --max-time 1 -o /dev/null -w '%{http_code}' "$URL/health") || :
[ "$code" = 000 ] || fail "a 4th connection was served at once: $code"
kill "$holder1" "$holder2" "$holder3" 2>/dev/null || :
req GET /health
expect_code 200

# None of it hurt the server: it still predicts, and counted every status.
req POST /v1/predict -d '{"text":"a fine film"}'
expect_code 200
req GET /metrics
for c in 200 400 404 405 413; do
    grep -q "^imdb_http_requests_total{code=\"$c\"} [1-9]" body || fail "no count for status $c"
done
grep -q '^imdb_http_requests_aborted_total [1-9]' body || fail "the dropped request was not counted"
serve_stop

# A burst of 20 parallel requests against a limit of 2 connections: the others wait
# their turn in the kernel's queue (at the limit, answers close their connection to let
# them in) and nobody fails (libmicrohttpd 0.9.75 deadlocked here: see http.c).
serve_start -m m.bin --threads 2 --max-connections 2 -q
{
    printf '%s\n' 'write-out = "%{http_code}\n"'
    i=0
    while [ $i -lt 20 ]; do printf 'url = "%s"\noutput = "/dev/null"\n' "$URL/v1/predict"; i=$((i + 1)); done
} >burst.cfg
for round in 1 2 3; do
    curl -s -K burst.cfg -Z --parallel-max 20 --max-time 10 -d '{"text":"a fine film"}' >burst.out 2>burst.err || :
    [ "$(grep -c '^200$' burst.out)" -eq 20 ] || fail "burst $round: $(sort burst.out | uniq -c | tr '\n' ' ')"
done
req GET /health
expect_code 200
serve_stop

# Command lines.
expect_status 2 imdb-serve
expect_err '^imdb-serve: missing model: use -m MODEL$'
expect_err "^Try 'imdb-serve --help' for more information.\$"
expect_status 2 imdb-serve -m m.bin extra
expect_status 2 imdb-serve -m m.bin --bogus
expect_status 2 imdb-serve -m m.bin --threads 0
expect_status 2 imdb-serve -m m.bin --max-body 0
expect_status 2 imdb-serve -m m.bin --max-body 12X
expect_status 2 imdb-serve -m m.bin --timeout -1
expect_status 2 imdb-serve -m m.bin --threads 4 --max-connections 2
for a in nonsense 127.0.0.1 127.0.0.1:99999 127.0.0.1:http :80 '[::1' ::1:80 999.1.1.1:80; do
    expect_status 2 imdb-serve -m m.bin --listen "$a"
    expect_err 'bad (listen address|port)'
done

# Models: a missing file is an I/O error (4), a bad one a data error (1).
expect_status 4 imdb-serve -m missing.bin --listen 127.0.0.1:0
head -c 1000 m.bin >truncated.bin
expect_status 1 imdb-serve -m truncated.bin --listen 127.0.0.1:0
echo 'not a model' >text.bin
expect_status 1 imdb-serve -m text.bin --listen 127.0.0.1:0

# An address in use is an I/O error (4); so is an unwritable port file.
serve_start -m m.bin -q
expect_status 4 imdb-serve -m m.bin --listen "127.0.0.1:$PORT"
expect_err "cannot listen on 127.0.0.1:$PORT: Address already in use"
expect_status 4 imdb-serve -m m.bin --listen 127.0.0.1:0 --port-file no/such/dir/port
serve_stop
exit 0
