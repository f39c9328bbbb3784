#!/bin/sh
# A run killed by SIGTERM or SIGHUP dies of the signal (status 128 + N) and leaves
# neither its output nor the NAME.tmp-XXXXXX it was writing (outfile.h). imdb-clean
# reads a FIFO on its standard input that stays open, so it is still at work when the
# signal comes.
# (SIGINT gets the same handler, but a background job of a script starts with SIGINT
# ignored, and an ignored signal is left ignored.)
. "$IMDB_SRCDIR/tests/common.sh"

for pair in TERM:15 HUP:1; do
    sig=${pair%:*}
    mkfifo "in.$sig"
    imdb-clean --format lines -o "out.$sig.tok.gz" - <"in.$sig" 2>"err.$sig" &
    pid=$!
    exec 9>"in.$sig"
    printf 'a first line that is cleaned\nand a second, not yet finished' >&9
    i=0
    until ls "out.$sig.tok.gz".tmp-* >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -le 100 ] || fail "SIG$sig: no temporary output after 10 s"
        sleep 0.1
    done
    kill -s "$sig" "$pid"
    set +e
    wait "$pid"
    got=$?
    set -e
    exec 9>&-
    want=$((128 + ${pair#*:}))
    [ "$got" -eq "$want" ] || fail "SIG$sig: exit status $got, expected $want"
    left=$(ls | grep "^out\.$sig" || true)
    [ -z "$left" ] || fail "SIG$sig left: $left"
done
