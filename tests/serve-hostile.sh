#!/bin/sh
# serve-hostile.sh — imdb-serve against hostile clients, on 127.0.0.1 only (issue 13):
#  - 1,000 slow connections (a POST whose body trickles in a byte a second, reopened as
#    soon as the server closes one) from 127.0.0.2: with the default limits a normal
#    client on 127.0.0.1 gets each of 100 answers within 100 ms (p99), because
#    --max-per-client lets that address hold only 64 connections; without the limits
#    (and --max-connections 1000) the same attack starves it (or slows it past the bound);
#  - the same attack spread over 10 addresses, which the per-client limit does not stop:
#    --request-timeout cuts each slow connection at its deadline, so the normal client
#    is still answered, and the cuts are counted in /metrics;
#  - 10,000 slow connections over 100 addresses (127.0.0.2 to .101, 100 each; issue 26),
#    with --max-per-client 128 stated so that every one of them is held: the default
#    connection limit, sized from the limit of open files, holds them all, the request
#    deadline cuts them (in paced batches) and they reconnect, and a normal client's p99
#    over 15 s (two rounds of cuts) stays below 100 ms (measured a second time when the
#    first misses, as a loaded machine's one stall can). The memory an idle connection
#    costs is printed (conn_kb). Skipped in sanitizer builds (ASan's memory and speed are
#    not the figure) and where the open-files hard limit is below 10,300;
#  - 100,000 texts in one request, JSON nested 100,000 deep, invalid UTF-8: answered,
#    bounded in time;
#  - SIGHUP with a corrupt model file while wrk loads the server: the reload is
#    refused and no request fails.
# IMDB_HOSTILE_P99_MS overrides the 100 ms bound (a very loaded machine).
. "$IMDB_SRCDIR/tests/serve-lib.sh"

hostile="$IMDB_BIN/../tests/serve_hostile"
[ -x "$hostile" ] || fail "tests/serve_hostile not built"
bound=${IMDB_HOSTILE_P99_MS:-100}
serve_model m.bin

# field NAME: a NAME=VALUE field of serve_hostile's line in out.
field() { tr ' ' '\n' <out | sed -n "s/^$1=//p"; }

# 1. The slow-client attack, with the default limits.
serve_start -m m.bin --threads 2 -q
expect_status 0 "$hostile" "$PORT" 1000 100 5000
cat out
[ "$(field failed)" -eq 0 ] || fail "normal requests failed under 1,000 slow connections: $(cat out)"
awk -v p="$(field p99_ms)" -v b="$bound" 'BEGIN { exit !(p < b) }' ||
    fail "p99 $(field p99_ms) ms under 1,000 slow connections is not below $bound ms"
req GET /health
expect_code 200
serve_stop

# ... and without them the same attack starves the normal client, or (when the attacker
# is slow to fill the server, as under ASan) at least pushes it past the bound.
serve_start -m m.bin --threads 2 -q --max-per-client 0 --request-timeout 0 --max-connections 1000
expect_status 0 "$hostile" "$PORT" 1100 3 1000
cat out
[ "$(field failed)" -ge 1 ] ||
    awk -v p="$(field p99_ms)" -v b="$bound" 'BEGIN { exit !(p >= b) }' ||
    fail "without the limits the attack should starve the client or slow it past $bound ms: $(cat out)"
serve_stop

# 1b. 10,000 slow connections from 100 addresses, with the default connection limit.
if ldd "$IMDB_BIN/imdb-serve" 2>/dev/null | grep -q 'lib[at]san'; then
    echo "sanitizer build: skipping the 10,000-connection case" >&2
elif [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt 10300 ]; then
    echo "open-files hard limit $(ulimit -Hn) < 10,300: skipping the 10,000-connection case" >&2
else
    serve_start -m m.bin --threads 2 -q --max-per-client 128
    grep -Eq 'up to [0-9]+ connections$' serve.log || fail "no connection limit in the start message"
    # A second measurement (a new server) when the first misses the bound: on a machine
    # loaded by other jobs one stall of the scheduler is the p99 of 150 requests. Both
    # lines are printed; the test fails when both miss.
    for try in 1 2; do
        HOSTILE_SOURCES=100 HOSTILE_RAMP_MS=20000 HOSTILE_INTERVAL_MS=100 HOSTILE_PID=$SERVE_PID \
            expect_status 0 "$hostile" "$PORT" 10000 150 5000
        cat out
        [ "$(field failed)" -eq 0 ] || fail "normal requests failed under 10,000 slow connections: $(cat out)"
        [ "$(field server_open)" -gt 10000 ] || fail "the server did not hold the 10,000 slow connections: $(cat out)"
        awk -v p="$(field p99_ms)" -v b="$bound" 'BEGIN { exit !(p < b) }' && break
        [ $try -eq 1 ] ||
            fail "p99 $(field p99_ms) ms under 10,000 slow connections from 100 addresses is not below $bound ms (twice; load: $(cut -d' ' -f1-3 /proc/loadavg))"
        echo "p99 $(field p99_ms) ms is not below $bound ms (load $(cut -d' ' -f1-3 /proc/loadavg)): measuring again" >&2
        serve_stop
        serve_start -m m.bin --threads 2 -q --max-per-client 128
    done
    req GET /metrics
    grep -Eq '^imdb_http_request_timeouts_total [1-9][0-9]{3}' body ||
        fail "the run did not span the request deadline: $(grep timeouts_total body)"
    serve_stop
fi

# 2. A distributed attack: the request deadline frees the connections.
serve_start -m m.bin --threads 2 -q --max-connections 50 --request-timeout 1
HOSTILE_SOURCES=10 expect_status 0 "$hostile" "$PORT" 100 10 4000
cat out
[ "$(field failed)" -eq 0 ] || fail "normal requests failed under a distributed slow attack: $(cat out)"
req GET /metrics
grep -Eq '^imdb_http_request_timeouts_total [1-9]' body || fail "no request deadline was counted"
serve_stop

# The deadline does not grow with a byte sent now and then (unlike --timeout).
serve_start -m m.bin --threads 1 --request-timeout 2 --timeout 10
t0=$(date +%s)
{ printf 'POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{'
  i=0; while [ $i -lt 16 ]; do sleep 0.5; printf ' '; i=$((i + 1)); done; } |
    curl -s --max-time 12 telnet://127.0.0.1:"$PORT" >/dev/null 2>&1 || :
dt=$(( $(date +%s) - t0 ))
[ "$dt" -le 5 ] || fail "a trickling request held its connection for $dt s (deadline 2 s)"
grep -q ' POST /v1/predict - 0 ' serve.log || fail "the cut request was not logged as unanswered"

# 3. Big, deep and broken requests: answered, within bounds.
awk 'BEGIN { printf "{\"texts\":["; for (i = 0; i < 100000; i++) printf "%s\"a fine film\"", i ? "," : ""; printf "]}" }' >big.json
t0=$(date +%s)
req POST /v1/predict --data-binary @big.json
expect_code 413    # 1.4 MB: over --max-body (1 MiB)
serve_stop
serve_start -m m.bin --threads 1 --max-body 2M -q
req POST /v1/predict --data-binary @big.json
expect_code 200
[ "$(grep -o '"label"' body | wc -l)" -eq 100000 ] || fail "100,000 texts: not 100,000 predictions"
dt=$(( $(date +%s) - t0 ))
[ "$dt" -le 30 ] || fail "100,000 texts took $dt s"
awk 'BEGIN { for (i = 0; i < 100000; i++) printf "["; for (i = 0; i < 100000; i++) printf "]" }' >deep.json
req POST /v1/predict --data-binary @deep.json
expect_code 400
grep -q 'malformed JSON' body || fail "deep JSON: $(cat body)"
printf '{"text":"caf\351 \377\376"}' >bad.json
req POST /v1/predict --data-binary @bad.json
expect_code 400
grep -q 'not valid UTF-8' body || fail "invalid UTF-8: $(cat body)"
printf '{"text":"a \\ud800 lone surrogate"}' >sur.json
req POST /v1/predict --data-binary @sur.json
expect_code 400
req POST /v1/predict -d '{"text":"still fine"}'
expect_code 200
serve_stop

# 4. SIGHUP with a corrupt model under load: refused, no request fails.
if command -v wrk >/dev/null; then
    serve_start -m m.bin --threads 2 -q
    cat >post.lua <<'LUA'
wrk.method = "POST"
wrk.body = '{"texts": ["a wonderful, moving film", "dull and far too long"]}'
wrk.headers["Content-Type"] = "application/json"
LUA
    cp m.bin good.bin
    head -c 2000 good.bin >bad.bin
    wrk -t 1 -c 8 -d 4s -s post.lua "$URL/v1/predict" >wrk.out 2>&1 &
    wrk_pid=$!
    sleep 1
    for i in 1 2 3; do
        cp bad.bin m.bin.new && mv m.bin.new m.bin
        kill -HUP "$SERVE_PID"
        sleep 0.5
    done
    wait "$wrk_pid" || fail "wrk failed: $(cat wrk.out)"
    cat wrk.out
    grep -q 'Non-2xx' wrk.out && fail "requests failed during the corrupt reloads: $(cat wrk.out)"
    grep -q 'Socket errors' wrk.out && fail "socket errors during the corrupt reloads: $(cat wrk.out)"
    grep -Eq '^ +[1-9][0-9]* requests in' wrk.out || fail "wrk sent no request"
    req GET /metrics
    grep -Eq '^imdb_model_reloads_total\{result="failed"\} [1-9]' body || fail "no failed reload counted"
    req POST /v1/predict -d '{"text":"still serving"}'
    expect_code 200
    serve_stop
else
    echo "wrk not found: skipping the reload under load" >&2
fi
