#!/bin/sh
# serve-reload.sh — SIGHUP swaps the model atomically (a bad or missing file is refused
# and the old model keeps serving; under load every answer comes whole from one model or
# the other), and SIGTERM drains: a request in flight is answered, new connections are
# refused, the exit status is 0.
. "$IMDB_SRCDIR/tests/serve-lib.sh"

serve_model m1.bin
serve_model m2.bin -o ngrams=1 -o c=1
cp m1.bin m.bin

mkdir raw
tar -xzf "$FIXTURES/mini-aclImdb.tar.gz" -C raw
find raw -path '*/test/*' -name '*.txt' | sort | head -8 |
    xargs awk 'FNR == 1 && NR != 1 { print "" } { printf "%s", $0 } END { print "" }' >eight.txt
imdb-predict m1.bin eight.txt >want1.tsv
imdb-predict m2.bin eight.txt >want2.tsv
cmp -s want1.tsv want2.tsv && fail "the two models predict the same: the test cannot tell them apart"
printf '{"texts":%s}' "$(json_lines eight.txt)" >eight.json

# model_is N: /v1/predict gives the predictions of model N.
model_is() {
    req POST /v1/predict --data-binary @eight.json
    expect_code 200
    predictions body >got.tsv
    same got.tsv "want$1.tsv"
    cp body "answer$1"
}
# wait_log REGEX: until serve.log has a line matching (5 s at most).
wait_log() {
    k=0
    until grep -Eq "$1" serve.log; do
        k=$((k + 1)); [ $k -lt 100 ] || fail "no log line matching $1: $(tail -3 serve.log)"; sleep 0.05
    done
}
generation_is() {
    req GET /health
    grep -q "\"generation\":$1," body || fail "expected generation $1: $(cat body)"
}
# replace SRC: put SRC in place of m.bin the safe way (rename over it).
replace() { cp "$1" m.tmp && mv m.tmp m.bin; }

serve_start -m m.bin --threads 2
model_is 1
generation_is 1

replace m2.bin
kill -HUP "$SERVE_PID"
wait_log '^imdb-serve: reloaded nblr model m.bin in [0-9.]+ s$'
model_is 2
generation_is 2

# A corrupt file and a missing one are refused; model 2 keeps serving.
head -c 3000 m1.bin >m.tmp && mv m.tmp m.bin
kill -HUP "$SERVE_PID"
wait_log '^imdb-serve: reload refused, still serving the previous model: m.bin: '
model_is 2
generation_is 2
rm m.bin
kill -HUP "$SERVE_PID"
k=0
until [ "$(grep -c 'reload refused' serve.log)" -eq 2 ]; do
    k=$((k + 1)); [ $k -lt 100 ] || fail "a missing model was not refused: $(tail -3 serve.log)"; sleep 0.05
done
model_is 2
req GET /metrics
grep -q '^imdb_model_reloads_total{result="failed"} 2$' body || fail "failed reloads not counted: $(grep reloads body)"
grep -q '^imdb_model_reloads_total{result="ok"} 1$' body || fail "reloads not counted: $(grep reloads body)"
grep -q '^imdb_model_info{kind="nblr",path="m.bin",generation="2",' body || fail "model info: $(grep model_info body)"

# Under load: two clients on keep-alive connections while the model flips every 50 ms.
replace m1.bin
{
    echo silent
    echo 'data-binary = "@eight.json"'
    printf '%s\n' 'write-out = "\nCODE %{http_code}\n"'   # not echo: dash's echo expands \n
    i=0
    while [ $i -lt 1000 ]; do echo "url = \"$URL/v1/predict\""; i=$((i + 1)); done
} >load.cfg
curl -K load.cfg --max-time 60 >load1.out 2>&1 &
c1=$!
curl -K load.cfg --max-time 60 >load2.out 2>&1 &
c2=$!
i=0
while kill -0 $c1 2>/dev/null || kill -0 $c2 2>/dev/null; do
    if [ $((i % 2)) -eq 0 ]; then replace m2.bin; else replace m1.bin; fi
    kill -HUP "$SERVE_PID"
    sleep 0.05
    i=$((i + 1))
done
wait $c1 || fail "client 1 failed: $(tail -3 load1.out)"
wait $c2 || fail "client 2 failed: $(tail -3 load2.out)"
cat load1.out load2.out >load.out
[ "$(grep -c '^CODE 200$' load.out)" -eq 2000 ] || fail "not 2000 answers with status 200: $(grep CODE load.out | sort | uniq -c)"
# Each answer is one model's, whole: never a mix of the two; and both models answered.
grep '^{' load.out | sort -u >distinct
cat answer1 answer2 >answers
grep -vxF -f answers distinct >odd || :
[ ! -s odd ] || fail "an answer from neither model: $(head -1 odd)"
[ "$(wc -l <distinct)" -eq 2 ] || fail "$i reloads under load, but only one model answered"
[ "$(grep -c 'reload refused' serve.log)" -eq 2 ] || fail "a good reload was refused: $(grep 'reload refused' serve.log)"

# SIGTERM drains: a slow upload in flight is answered; new connections are refused.
head -c 1500 /dev/zero | tr '\0' a >slow.txt
printf '{"text":"%s"}' "$(cat slow.txt)" >slow.json
curl -s --max-time 20 --limit-rate 1000 -o slow.out -w '%{http_code}' --data-binary @slow.json \
    "$URL/v1/predict" >slow.code &
slow=$!
sleep 0.5
kill -TERM "$SERVE_PID"
wait_log '^imdb-serve: SIGTERM: finishing the requests in flight$'
code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$URL/health") || :
[ "$code" = 000 ] || fail "a new request was answered while draining: $code"
wait $slow || fail "the request in flight failed"
[ "$(cat slow.code)" = 200 ] || fail "the request in flight got $(cat slow.code)"
grep -q '^{"id":1,"label":"' slow.out || fail "the request in flight got: $(cat slow.out)"
serve_stop TERM
grep -q '^imdb-serve: stopped$' serve.log || fail "not a clean drain: $(tail -2 serve.log)"
exit 0
