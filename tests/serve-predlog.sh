#!/bin/sh
# serve-predlog.sh — imdb-serve --prediction-log (issue 26): the lines' schema and values,
# X-Request-Id, --log-text, SIGUSR1 after a rename (logrotate), the /metrics histograms
# and counters; and bad conditions, in which the server must go on answering: a stalled
# disk (a FIFO nobody reads: lines are dropped, requests are not delayed), a full disk
# (/dev/full, and a 64 KiB tmpfs as tests/disk-full.sh mounts one: lines fail, the file
# keeps whole lines only), the log's directory removed (lines fail until it is back).
. "$IMDB_SRCDIR/tests/serve-lib.sh"
command -v jq >/dev/null || { echo "jq not found: skipping" >&2; exit 77; }
serve_model m.bin
crc=$(gzip -c m.bin | tail -c 8 | od -An -tx4 -N4 | tr -d ' ')   # CRC-32 of m.bin (gzip trailer)

# metric NAME: its value in the last /metrics body (NAME may hold a {label} part).
metric() { awk -v n="$1" '$1 == n { print $2 }' body; }

# Usage and start errors.
expect_status 2 imdb-serve -m m.bin --log-text
expect_err 'needs --prediction-log'
expect_status 2 imdb-serve -m m.bin --prediction-log=
expect_status 4 imdb-serve -m m.bin -l 127.0.0.1:0 --prediction-log nodir/p.log
expect_err 'cannot open the prediction log nodir/p.log: No such file or directory'

# 1. The lines: one per text, in the order scored, with the answer's label and P(pos).
serve_start -m m.bin --threads 2 -q --prediction-log p.log
req POST /v1/predict -H 'X-Request-Id: job-7.a:1' -d '{"texts":["a wonderful, moving film","dull and far too long","a wonderful, moving film"]}'
expect_code 200
[ "$(header X-Request-Id)" = job-7.a:1 ] || fail "the client's X-Request-Id was not returned: $(cat hdr)"
cp body batch.json
req POST /v1/predict -d '{"text":"fine"}'
gen=$(header X-Request-Id)
printf '%s\n' "$gen" | grep -Eqx '[0-9a-f]{16}' || fail "no request id made up: '$gen'"
req POST /v1/predict -H 'X-Request-Id: has space' -d '{"text":"fine"}'
bad=$(header X-Request-Id)
printf '%s\n' "$bad" | grep -Eqx '[0-9a-f]{16}' || fail "an unusable X-Request-Id was kept: '$bad'"
[ "$bad" != "$gen" ] || fail "two requests got the same id"
req GET /metrics
k=0
until [ "$(metric 'imdb_prediction_log_lines_total{result="written"}')" = 5 ]; do
    k=$((k + 1)); [ $k -lt 100 ] || fail "5 lines not written in 5 s: $(grep prediction_log body)"
    sleep 0.05; req GET /metrics
done
grep -q "^imdb_model_info{.*model_id=\"$crc\"" body || fail "no model_id=\"$crc\" in imdb_model_info: $(grep model_info body)"
[ "$(wc -l <p.log)" -eq 5 ] || fail "p.log has $(wc -l <p.log) lines, not 5"
re='^\{"time":"20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\.[0-9]{3}Z","request_id":"[^"]+","index":[1-9][0-9]*,"text_length":[0-9]+,"text_hash":"[0-9a-f]{16}","label":"(pos|neg)","probability":[0-9.e-]+,"model_id":"[0-9a-f]{8}","latency_ms":[0-9.e-]+\}$'
grep -Evq "$re" p.log && fail "a line does not follow the schema: $(grep -Ev "$re" p.log | head -1)"
head -3 p.log | jq -r '[.request_id, .index, .text_length, .label, .probability, .model_id] | @tsv' >got
jq -r --arg c "$crc" '.predictions[] | ["job-7.a:1", .id, 0, .label, .probability, $c] | @tsv' batch.json |
    awk -F'\t' -v OFS='\t' 'NR == 1 || NR == 3 { $3 = 24 } NR == 2 { $3 = 21 } { print }' >want
same got want
h1=$(sed -n 1p p.log | jq -r .text_hash) h2=$(sed -n 2p p.log | jq -r .text_hash) h3=$(sed -n 3p p.log | jq -r .text_hash)
[ "$h1" = "$h3" ] && [ "$h1" != "$h2" ] || fail "text hashes: same text $h1/$h3, another $h2"
[ "$(sed -n 4p p.log | jq -r .request_id)" = "$gen" ] || fail "the made-up id is not the one logged"
grep -q '"text":' p.log && fail "the texts were logged without --log-text"
# The histograms: the 5 texts, in Prometheus's histogram shape.
[ "$(metric imdb_prediction_probability_count)" = 5 ] || fail "probability histogram count: $(grep probability_count body)"
[ "$(metric 'imdb_prediction_probability_bucket{le="+Inf"}')" = 5 ] || fail "no +Inf bucket of 5"
[ "$(metric imdb_prediction_text_bytes_sum)" = 77.000000 ] || fail "text bytes sum: $(grep text_bytes_sum body)"   # 24+21+24+4+4
grep -q '^# TYPE imdb_prediction_text_bytes histogram$' body || fail "no histogram TYPE line"
awk '/^imdb_prediction_probability_bucket/ { split($1, a, "\""); if ($2 < last) exit 1; last = $2 } END { exit 0 }' body ||
    fail "probability buckets are not cumulative"

# 2. SIGUSR1 after a rename: the old file keeps its lines, new ones go to a new file.
mv p.log p.log.1
kill -USR1 "$SERVE_PID"
k=0
until grep -q 'reopened the prediction log p.log' serve.log; do
    k=$((k + 1)); [ $k -lt 100 ] || fail "no reopen message"; sleep 0.05
done
req POST /v1/predict -d '{"text":"after the rotation"}'
expect_code 200
k=0
until [ -s p.log ]; do k=$((k + 1)); [ $k -lt 100 ] || fail "no new p.log after SIGUSR1"; sleep 0.05; done
[ "$(wc -l <p.log.1)" -eq 5 ] && [ "$(wc -l <p.log)" -eq 1 ] || fail "rotation: $(wc -l p.log.1 p.log)"
grep -q '"text_length":18,' p.log || fail "the new file does not have the new line"
req GET /metrics
[ "$(metric 'imdb_prediction_log_reopens_total{result="ok"}')" = 1 ] || fail "the reopen was not counted"
serve_stop

# --log-text: the text, escaped as JSON, gives the line back.
serve_start -m m.bin --threads 1 -q --prediction-log t.log --log-text
printf '{"text":"quote \\" tab \\t newline \\n caf\303\251"}' >odd.json
req POST /v1/predict --data-binary @odd.json
expect_code 200
serve_stop   # drains the queue
[ "$(jq -r .text t.log)" = "$(jq -r .text odd.json)" ] || fail "logged text: $(cat t.log)"

# 3. A stalled disk: the log is a FIFO whose reader never reads. The writer blocks, the
# 4 KiB queue fills, lines are dropped; requests are answered as quickly as ever.
mkfifo stall.log
sleep 60 <stall.log &
reader=$!
serve_start -m m.bin --threads 2 -q --prediction-log stall.log --prediction-log-queue 4K
texts=$(awk 'BEGIN { printf "["; for (i = 0; i < 200; i++) printf "%s\"review number %d, a dull and far too long film\"", i ? "," : "", i; printf "]" }')
t0=$(date +%s)
i=0
while [ $i -lt 20 ]; do
    req POST /v1/predict -d "{\"texts\":$texts}"
    expect_code 200
    i=$((i + 1))
done
dt=$(( $(date +%s) - t0 ))
[ "$dt" -le 5 ] || fail "20 requests took $dt s with the log's disk stalled"
req GET /metrics
dropped=$(metric 'imdb_prediction_log_lines_total{result="dropped"}')
[ "${dropped:-0}" -gt 1000 ] || fail "lines dropped with the disk stalled: ${dropped:-none} (of 4,000)"
q=$(metric imdb_prediction_log_queue_bytes)
[ "$q" -le 4096 ] || fail "the queue holds $q bytes, above its 4 KiB bound"
kill "$reader"
wait "$reader" 2>/dev/null || :   # the writer's write fails (EPIPE): counted as failed
serve_stop

# 4. A full disk: /dev/full, then a real file system that fills up.
serve_start -m m.bin --threads 1 -q --prediction-log /dev/full
i=0
while [ $i -lt 5 ]; do req POST /v1/predict -d '{"text":"fine"}'; expect_code 200; i=$((i + 1)); done
k=0
until [ "$(metric 'imdb_prediction_log_lines_total{result="failed"}')" = 5 ]; do
    k=$((k + 1)); [ $k -lt 100 ] || fail "/dev/full: 5 failed lines not counted: $(grep lines_total body)"
    sleep 0.05; req GET /metrics
done
[ "$(metric 'imdb_prediction_log_lines_total{result="written"}')" = 0 ] || fail "/dev/full: lines written?"
serve_stop

# The tmpfs of tests/disk-full.sh (64 KiB), in a mount namespace of the server's own
# (unshare execs it: SERVE_PID is the server's); else a file size limit (ulimit -f),
# which imdb-serve survives (SIGXFSZ is ignored: the write fails with EFBIG).
mkdir -p mnt
if [ "$(id -u)" -eq 0 ] && unshare -m sh -c 'mount -t tmpfs -o size=64k tmpfs mnt' 2>/dev/null; then
    how="a 64 KiB tmpfs"
    set -- unshare -m sh -c 'mount -t tmpfs -o size=64k tmpfs mnt && exec "$0" "$@"'
elif unshare -rm sh -c 'mount -t tmpfs -o size=64k tmpfs mnt' 2>/dev/null; then
    how="a 64 KiB tmpfs (user namespace)"
    set -- unshare -rm sh -c 'mount -t tmpfs -o size=64k tmpfs mnt && exec "$0" "$@"'
else
    how="ulimit -f 128"
    set -- sh -c 'ulimit -f 128 && exec "$0" "$@"'
fi
rm -f port
"$@" "$IMDB_BIN/imdb-serve" --listen 127.0.0.1:0 --port-file port -m m.bin -q --threads 1 \
    --prediction-log mnt/p.log 2>>serve.log &
SERVE_PID=$!
k=0
until [ -s port ]; do
    kill -0 "$SERVE_PID" 2>/dev/null || { cat serve.log >&2; SERVE_PID=; fail "imdb-serve died at start ($how)"; }
    k=$((k + 1)); [ $k -lt 400 ] || fail "imdb-serve did not start"; sleep 0.05
done
PORT=$(cat port) URL="http://127.0.0.1:$(cat port)"
texts100=$(awk 'BEGIN { printf "["; for (i = 0; i < 100; i++) printf "%s\"review number %d, a dull and far too long film\"", i ? "," : "", i; printf "]" }')
i=0
while [ $i -lt 60 ]; do   # 60 x 100 lines of ~230 bytes: 1.4 MB into 64 KiB
    req POST /v1/predict -d "{\"texts\":$texts100}"
    expect_code 200
    i=$((i + 1))
done
sleep 1.2
req GET /metrics
failed=$(metric 'imdb_prediction_log_lines_total{result="failed"}') written=$(metric 'imdb_prediction_log_lines_total{result="written"}')
echo "full disk ($how): written=$written failed=$failed"
[ "${failed:-0}" -gt 0 ] && [ "${written:-0}" -gt 0 ] || fail "full disk ($how): written=$written failed=$failed"
req POST /v1/predict -d '{"text":"still answering"}'
expect_code 200
# Once that line has its fate too, the file (seen from the server's namespace) holds the
# lines counted as written, whole.
k=0
while :; do
    req GET /metrics
    f=$(metric 'imdb_prediction_log_lines_total{result="failed"}') w=$(metric 'imdb_prediction_log_lines_total{result="written"}')
    [ $((${f:-0} + ${w:-0})) -eq 6001 ] && break
    k=$((k + 1)); [ $k -lt 100 ] || fail "full disk: not 6,001 lines counted: $(grep lines_total body)"; sleep 0.05
done
written=$(metric 'imdb_prediction_log_lines_total{result="written"}')
nsfile=/proc/$SERVE_PID/root$SCRATCH/mnt/p.log
[ "$(wc -l <"$nsfile")" -eq "$written" ] || fail "full disk: $(wc -l <"$nsfile") lines in the file, $written counted"
[ "$(tail -c 1 "$nsfile" | od -An -c | tr -d ' ')" = '\n' ] || fail "full disk: the file ends inside a line"
serve_stop

# 5. The log's directory removed: the server answers, lines fail (the file is gone) until
# the directory is back, then go to a new file there.
mkdir d
serve_start -m m.bin --threads 1 -q --prediction-log d/p.log
req POST /v1/predict -d '{"text":"before"}'
rm -rf d
kill -USR1 "$SERVE_PID"
k=0
until grep -q 'cannot reopen the prediction log d/p.log: No such file or directory; still writing to the previous file' serve.log; do
    k=$((k + 1)); [ $k -lt 100 ] || fail "no message for the failed reopen: $(tail -3 serve.log)"; sleep 0.05
done
sleep 1.2   # the writer's check: the file has no name left and cannot be opened again
req GET /metrics
[ "$(metric imdb_prediction_log_open)" = 0 ] || fail "the removed file is still open: $(grep log_open body)"
i=0
while [ $i -lt 3 ]; do req POST /v1/predict -d '{"text":"into the void"}'; expect_code 200; i=$((i + 1)); done
k=0
until [ "$(metric 'imdb_prediction_log_lines_total{result="failed"}')" = 3 ]; do
    k=$((k + 1)); [ $k -lt 100 ] || fail "removed directory: 3 failed lines not counted: $(grep lines_total body)"
    sleep 0.05; req GET /metrics
done
mkdir d
sleep 1.2
req POST /v1/predict -d '{"text":"back again"}'
expect_code 200
k=0
until [ -s d/p.log ]; do k=$((k + 1)); [ $k -lt 100 ] || fail "no new d/p.log once the directory was back"; sleep 0.05; done
grep -q '"text_length":10,' d/p.log || fail "the new file lacks the new line: $(cat d/p.log)"
serve_stop

# 6. text_hash is XXH64 (seed 0): xxHash's own test values; and the log's numbers are
# written as the answer writes them (its own formatter, checked against json_num's text
# on the reviews of the fixture: every probability, byte for byte).
serve_start -m m.bin --threads 1 -q --prediction-log h.log
gunzip -c train.tok.gz | grep -v '^#' | cut -f3 | head -300 >texts.txt
{ printf 'abc\nNobody inspects the spammish repetition\n'; cat texts.txt; } |
    jq -R -s '{texts: (split("\n") | map(select(length > 0)) | (["a"] + .))}' >batch6.json
req POST /v1/predict --data-binary @batch6.json
expect_code 200
n6=$(jq '.predictions | length' body)
[ "$n6" -eq 303 ] || fail "section 6: $n6 predictions, not 303"
k=0
until [ -f h.log ] && [ "$(wc -l <h.log)" -eq 303 ]; do
    k=$((k + 1)); [ $k -lt 100 ] || fail "section 6: h.log has $(wc -l <h.log) lines, not 303"; sleep 0.05
done
[ "$(sed -n 1p h.log | jq -r .text_hash)" = d24ec4f1a98c6e5b ] || fail "XXH64(\"a\"): $(sed -n 1p h.log)"
[ "$(sed -n 2p h.log | jq -r .text_hash)" = 44bc2cf5ad770999 ] || fail "XXH64(\"abc\"): $(sed -n 2p h.log)"
[ "$(sed -n 3p h.log | jq -r .text_hash)" = fbcea83c8a378bf1 ] || fail "XXH64 of 39 bytes: $(sed -n 3p h.log)"
sed 's/.*"probability":\([^,]*\),.*/\1/' h.log >got
tr '{' '\n' <body | sed -n 's/.*"probability":\([^,}]*\).*/\1/p' >want
same got want
[ "$(sort -u got | wc -l)" -gt 100 ] || fail "section 6: too few distinct probabilities to test the formatter"
lat='"latency_ms":(0|[1-9][0-9]*)\.([0-9]{0,2}[1-9]|0)\}$'
grep -Evq "$lat" h.log && fail "latency_ms not in json_num's style: $(grep -Ev "$lat" h.log | head -1)"
serve_stop
