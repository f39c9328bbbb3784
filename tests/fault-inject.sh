#!/bin/sh
# fault-inject.sh — every malloc, write, fsync and rename of a small clean, vocab and
# train run fails in turn (tests/failshim.so, LD_PRELOAD; jq's inject_errors idea).
# Each run must either succeed with the very same output, or fail cleanly: exit status 5
# (out of memory) or 4 (I/O; also when a library reports the lack of memory as a failure
# to open, "cannot open: out of memory"), a message on stderr, no file under the output's name, no
# temporary left, and the input untouched. IMDB_FAULT_ALL=1 tries every malloc point;
# by default a spread of them (the first 20, then every 40th) to keep make check quick.
. "$IMDB_SRCDIR/tests/common.sh"

shim="$IMDB_BIN/../tests/failshim.so"
[ -f "$shim" ] || fail "tests/failshim.so not built"
if ldd "$IMDB_BIN/imdb-train" 2>/dev/null | grep -q 'lib[at]san'; then
    echo "a sanitizer build replaces malloc itself: skipping" >&2
    exit 77
fi

imdb-clean -q --split test "$FIXTURES/mini-aclImdb.tar.gz" -o in.tok
imdb-vocab -q --ngrams 2 in.tok -o in.vocab
cp in.tok in.tok.orig
cp in.vocab in.vocab.orig
cp "$FIXTURES/mini-aclImdb.tar.gz" in.tar.gz

# The three runs; each writes out/OUT. run NAME: the command line of run NAME.
run() {
    case $1 in
    clean) set -- imdb-clean -q --split test in.tar.gz -o out/clean.tok ;;
    vocab) set -- imdb-vocab -q --ngrams 2 in.tok -o out/vocab.gz ;;
    train) set -- imdb-train -q --threads 1 --seed 3 -V in.vocab -o ngrams=2 -O out/train.model in.tok ;;
    esac
    "$@"
}
outname() { case $1 in clean) echo out/clean.tok ;; vocab) echo out/vocab.gz ;; train) echo out/train.model ;; esac; }

mkdir out
total=0
summary=
for tool in clean vocab train; do
    rm -rf out && mkdir out
    run $tool
    mv "$(outname $tool)" ref.$tool
    for fn in malloc write fsync rename; do
        rm -rf out && mkdir out
        IMDB_FAIL=$fn:0 IMDB_FAIL_COUNT=count LD_PRELOAD=$shim run $tool
        n=$(cat count)
        rm -f "$(outname $tool)"
        tried=0 failed_clean=0 survived=0
        i=1
        while [ "$i" -le "$n" ]; do
            rm -rf out && mkdir out
            set +e
            IMDB_FAIL=$fn:$i LD_PRELOAD=$shim run $tool >stdout 2>err
            st=$?
            set -e
            out=$(outname $tool)
            where="$tool, $fn call $i of $n"
            if [ $st -eq 0 ]; then
                # The failure was absorbed (a retry, or a call whose result is optional):
                # then the output must be whole.
                cmp -s "$out" ref.$tool || fail "$where: exit 0 but the output differs"
                survived=$((survived + 1))
            else
                case $fn:$st in
                malloc:5|malloc:4|write:4|fsync:4|rename:4) ;;
                *) cat err >&2; fail "$where: exit status $st" ;;
                esac
                grep -Eq '^imdb(-[a-z]+)?: ' err || fail "$where: no message (stderr: $(head -c 200 err))"
                [ ! -e "$out" ] || fail "$where: $out exists after a failed run"
                failed_clean=$((failed_clean + 1))
            fi
            left=$(find out -name '*.tmp-*' | head -n 1)
            [ -z "$left" ] || fail "$where: temporary $left left behind"
            cmp -s in.tok in.tok.orig && cmp -s in.vocab in.vocab.orig &&
                cmp -s in.tar.gz "$FIXTURES/mini-aclImdb.tar.gz" || fail "$where: an input changed"
            tried=$((tried + 1))
            if [ "$fn" = malloc ] && [ "${IMDB_FAULT_ALL:-0}" != 1 ] && [ "$i" -ge 20 ]; then
                i=$((i + 40))
            else
                i=$((i + 1))
            fi
        done
        total=$((total + tried))
        summary="$summary$tool $fn: $tried of $n points ($failed_clean failed cleanly, $survived succeeded)
"
    done
done
printf '%s' "$summary"
echo "fault-inject: $total points, all clean"
