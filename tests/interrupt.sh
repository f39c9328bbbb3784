#!/bin/sh
# A run killed by SIGTERM or SIGHUP dies of the signal (status 128 + N) and leaves
# neither its output nor the NAME.tmp-XXXXXX it was writing (outfile.h). imdb-clean
# reads a FIFO on its standard input that stays open, so it is still at work when the
# signal comes. A signal the environment ignores (SIGHUP under nohup; SIGINT for every
# background job of a script) stays ignored, so it is skipped: the tool's SigIgn mask
# in /proc says which.
. "$IMDB_SRCDIR/tests/common.sh"

for pair in TERM:15 HUP:1; do
    sig=${pair%:*} num=${pair#*:}
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
    ign=$(sed -n 's/^SigIgn:[[:space:]]*//p' "/proc/$pid/status" 2>/dev/null || true)
    if [ -n "$ign" ] && [ $(((0x$ign >> (num - 1)) & 1)) -eq 1 ]; then
        echo "SIG$sig is ignored here: skipped"
        exec 9>&-   # end of input: the run completes
        wait "$pid" || fail "SIG$sig skipped, but the run failed: $(cat "err.$sig")"
        continue
    fi
    kill -s "$sig" "$pid"
    set +e
    wait "$pid"
    got=$?
    set -e
    exec 9>&-
    [ "$got" -eq $((128 + num)) ] || fail "SIG$sig: exit status $got, expected $((128 + num))"
    left=$(ls | grep "^out\.$sig" || true)
    [ -z "$left" ] || fail "SIG$sig left: $left"
done
