#!/bin/sh
# serve-basic.sh — imdb-serve over a real loopback socket: the same predictions as
# imdb-predict (a batch, one review at a time, explain), the page, /health, /metrics,
# HEAD, keep-alive, the access log and -q, and a clean exit on SIGTERM.
. "$IMDB_SRCDIR/tests/serve-lib.sh"

serve_model m.bin

# The 200 test reviews of the fixture, one per line, and imdb-predict's verdicts.
mkdir raw
tar -xzf "$FIXTURES/mini-aclImdb.tar.gz" -C raw
find raw -path '*/test/*' -name '*.txt' | sort |
    xargs awk 'FNR == 1 && NR != 1 { print "" } { printf "%s", $0 } END { print "" }' >reviews.txt
n=$(wc -l <reviews.txt)
[ "$n" -eq 200 ] || fail "expected 200 test reviews, got $n"
imdb-predict --threads 1 m.bin reviews.txt >want.tsv

expect_status 0 imdb-serve --help
for o in --model --listen --threads --max-body --timeout --max-connections --port-file --quiet --version; do
    grep -q -- "$o" out || fail "--help does not mention $o"
done
expect_status 0 imdb-serve --version
grep -q '^imdb-serve (imdb) ' out || fail "--version: $(cat out)"

serve_start -m m.bin --threads 2
grep -q "^imdb-serve: listening on http://127.0.0.1:$PORT/\$" serve.log || fail "no listening line: $(cat serve.log)"
grep -q '^imdb-serve: nblr model m.bin loaded in' serve.log || fail "no model line"

# A batch: the same labels and probabilities as imdb-predict, in order.
printf '{"texts":%s}' "$(json_lines reviews.txt)" >batch.json
req POST /v1/predict --data-binary @batch.json -H 'Content-Type: application/json'
expect_code 200
[ "$(header Content-Type)" = application/json ] || fail "Content-Type: $(header Content-Type)"
grep -q '^{"predictions":\[{"id":1,"label":"' body || fail "bad batch answer: $(head -c 200 body)"
predictions body >got.tsv
same got.tsv want.tsv
labels() { grep -o '"label":"[a-z]*"' body >>labels || :; }
labels

# One review a request (the first 20; any Content-Type is accepted).
head -20 reviews.txt | while IFS= read -r line; do
    printf '%s\n' "$line" >one.txt
    printf '{"text":%s}' "$(json_lines one.txt | sed 's/^\[//; s/\]$//')" >one.json
    req POST /v1/predict --data-binary @one.json
    expect_code 200
    grep -Eq '^\{"id":1,"label":"(pos|neg)","probability":[01](\.[0-9]{1,6})?\}$' body || fail "bad answer: $(cat body)"
    predictions body
    labels
done >got20.tsv
head -20 want.tsv >want20.tsv
same got20.tsv want20.tsv

# explain: the n-grams and weights of imdb-predict --explain.
head -5 reviews.txt >five.txt
imdb-predict --json --explain=3 m.bin five.txt >want.jsonl
printf '{"texts":%s,"explain":3}' "$(json_lines five.txt)" >five.json
req POST /v1/predict --data-binary @five.json
expect_code 200
labels
ngrams() { grep -o '"ngram":"[^"]*","weight":[-0-9.e]*' "$1" | awk -F'"weight":' '{ printf "%s %.6f\n", $1, $2 }'; }
ngrams body >got.ex
ngrams want.jsonl >want.ex
[ "$(wc -l <want.ex)" -eq 15 ] || fail "imdb-predict gave $(wc -l <want.ex) n-grams for 5 reviews"
same got.ex want.ex
req POST /v1/predict -d '{"text":"a great film, a great cast","explain":true}'
expect_code 200
labels
grep -Eq '^\{"id":1,"label":"(pos|neg)","probability":[0-9.]+,"explain":\[\{"ngram":"[^"]+","weight":[-0-9.e]+\}' body \
    || fail "explain true: $(cat body)"
[ "$(grep -o '"ngram"' body | wc -l)" -eq 5 ] || fail "explain true did not give 5 n-grams: $(cat body)"
req POST /v1/predict -d '{"text":"great","explain":false}'
expect_code 200
labels
grep -q explain body && fail "explain false still explains: $(cat body)"

# The page: the bytes of lib/serve/page.html, as HTML, with a strict CSP; HEAD too.
req GET /
expect_code 200
same body "$IMDB_SRCDIR/lib/serve/page.html"
[ "$(header Content-Type)" = "text/html; charset=utf-8" ] || fail "page Content-Type: $(header Content-Type)"
header Content-Security-Policy | grep -q "default-src 'none'" || fail "no CSP on the page"
grep -Eqi '<(script|link|img)[^>]* (src|href)=' body && fail "the page loads an external asset"
req HEAD /
expect_code 200
[ "$(header Content-Length)" -eq "$(wc -c <"$IMDB_SRCDIR/lib/serve/page.html")" ] || fail "HEAD / Content-Length"

# Keep-alive: two requests, one connection.
conns=$(curl -s --max-time 10 -o /dev/null -o /dev/null -w '%{num_connects}\n' "$URL/health" "$URL/health" | tr '\n' ' ')
[ "$conns" = "1 0 " ] || fail "keep-alive: connections per request: $conns"

# /health
req GET /health
expect_code 200
grep -Eq '^\{"status":"ok","version":"[0-9.]+","model":\{"kind":"nblr","path":"m.bin","explain":true,"load_seconds":[0-9.e-]+,"loaded_at":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z","generation":1,"size":'"$(wc -c <m.bin)"'\},"uptime_seconds":[0-9.]+,"threads":2\}$' body \
    || fail "bad /health: $(cat body)"

# /metrics: counters are updated once an answer is sent, so poll briefly for them.
metric() { grep "^$1 " body | awk '{ print $2 }'; }
wait_metric() {
    k=0
    while :; do
        req GET /metrics
        [ "$(metric "$1")" = "$2" ] && return 0
        k=$((k + 1))
        [ $k -lt 50 ] || fail "metric $1 is $(metric "$1"), expected $2"
        sleep 0.1
    done
}
wait_metric 'imdb_predictions_total{label="pos"}' "$(grep -c pos labels)"
[ "$(header Content-Type)" = "text/plain; version=0.0.4; charset=utf-8" ] || fail "metrics Content-Type"
total=$(wc -l <labels)
[ "$total" -eq $((n + 20 + 5 + 2)) ] || fail "$total labels in the answers"
[ "$(( $(metric 'imdb_predictions_total{label="pos"}') + $(metric 'imdb_predictions_total{label="neg"}') ))" -eq $total ] \
    || fail "predictions_total is not $total"
grep -q '^# TYPE imdb_http_request_duration_seconds histogram$' body || fail "no latency histogram"
grep -q '^imdb_model_info{kind="nblr",path="m.bin",generation="1",model_id="[0-9a-f]\{8\}",version="[0-9.]*"} 1$' body || fail "no model info"
grep -q '^imdb_model_reloads_total{result="ok"} 0$' body || fail "no reload counter"
count=$(metric imdb_http_request_duration_seconds_count)
inf=$(metric 'imdb_http_request_duration_seconds_bucket{le="+Inf"}')
ok=$(metric 'imdb_http_requests_total{code="200"}')
[ "$count" = "$inf" ] && [ "$count" -ge "$ok" ] || fail "histogram count $count, +Inf $inf, 200s $ok"
awk '/^imdb_http_request_duration_seconds_bucket/ { if ($2 < prev) exit 1; prev = $2 }' body \
    || fail "histogram buckets are not cumulative"

# The access log: one line per request; odd bytes in the path are escaped.
req GET '/no%20such%0Apath'
expect_code 404
k=0
until grep -q ' GET /no%20such%0Apath 404 ' serve.log; do
    k=$((k + 1)); [ $k -lt 50 ] || fail "no access log line for the 404: $(tail -3 serve.log)"; sleep 0.1
done
grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z 127\.0\.0\.1 POST /v1/predict 200 [0-9]+ [0-9]+\.[0-9]{3}ms$' serve.log \
    || fail "bad access log line: $(grep POST serve.log | head -1)"
[ "$(grep -c ' POST /v1/predict 200 ' serve.log)" -eq 24 ] || fail "expected 24 predict lines in the access log"

serve_stop TERM
grep -q '^imdb-serve: SIGTERM: finishing the requests in flight$' serve.log || fail "no SIGTERM line"
grep -q '^imdb-serve: stopped$' serve.log || fail "no stopped line"

# -q: no access log; SIGINT also stops cleanly.
: >serve.log
serve_start -m m.bin -q --threads 1
req GET /health
expect_code 200
req POST /v1/predict -d '{"text":"fine"}'
expect_code 200
serve_stop INT
grep -q ' GET /health ' serve.log && fail "-q still logs requests"
grep -q '^imdb-serve: stopped$' serve.log || fail "no stopped line after SIGINT"

# The IPv6 loopback, where this machine has one.
if grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6 2>/dev/null; then
    : >serve.log
    serve_start -m m.bin --listen '[::1]:0'
    grep -q "^imdb-serve: listening on http://\[::1\]:$PORT/\$" serve.log || fail "IPv6: $(cat serve.log)"
    URL="http://[::1]:$PORT"
    req POST /v1/predict -g -d '{"text":"fine"}'
    expect_code 200
    serve_stop
    grep -q ' ::1 POST /v1/predict 200 ' serve.log || fail "IPv6 client not logged: $(cat serve.log)"
fi
exit 0
