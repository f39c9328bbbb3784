#!/bin/sh
# libimdb-oom.sh — no call of the public API ends the process on out of memory: a fixed
# run of the API (tests/api_oom.c: open by path and from memory, info, scores of ASCII,
# non-ASCII, HTML and invalid UTF-8 texts, explain, a batch on 2 threads) is repeated
# with its N-th malloc failing (tests/failshim.so), for every N up to the number of
# mallocs of the whole run. Each run must exit 0 (exit status 3 is an unexpected status;
# a signal is a crash), every call must report either its result of the run without
# failures or IMDB_ERR_NOMEM, and the calls after a NOMEM must give their usual results.
# Model loading (modelio, clf_open, the kinds' loaders) included: it reports NOMEM too.
. "$IMDB_SRCDIR/tests/common.sh"

shim="$IMDB_BIN/../tests/failshim.so"
prog="$IMDB_BIN/../tests/api_oom"
[ -f "$shim" ] || fail "tests/failshim.so not built"
if ldd "$prog" 2>/dev/null | grep -q 'lib[at]san'; then
    echo "a sanitizer build replaces malloc itself: skipping" >&2
    exit 77
fi

imdb-clean -q --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-vocab -q train.tok.gz -o vocab.gz
imdb-train -q -V vocab.gz -O nblr.model train.tok.gz

"$prog" nblr.model >ref 2>referr || { cat ref referr >&2; fail "api_oom failed without fault injection"; }
grep -q '^mem again ' ref || fail "the reference run did not reach its end"
IMDB_FAIL=malloc:0 IMDB_FAIL_COUNT=count LD_PRELOAD=$shim "$prog" nblr.model >out0 2>&1
same ref out0
n=$(cat count)
[ "$n" -gt 50 ] || fail "only $n mallocs counted: is the shim working?"

i=1 nomem=0 clean=0
while [ "$i" -le "$n" ]; do
    set +e
    IMDB_FAIL=malloc:$i LD_PRELOAD=$shim "$prog" nblr.model >out 2>err
    st=$?
    set -e
    where="malloc $i of $n"
    if [ $st -ne 0 ]; then
        cat out err >&2
        fail "$where: exit status $st"
    fi
    ! grep -q UNEXPECTED out || { cat out >&2; fail "$where: an unexpected status"; }
    # Every other line is the reference's (the same call's result) or a NOMEM report.
    if grep -v -e ' NOMEM$' -e '^mem skipped$' out | grep -vxF -f ref >bad; then
        cat out >&2
        fail "$where: lines not in the reference run: $(head -n 3 bad)"
    fi
    if grep -q ' NOMEM$' out; then nomem=$((nomem + 1)); else clean=$((clean + 1)); fi
    i=$((i + 1))
done
[ "$nomem" -gt 0 ] || fail "no run reported IMDB_ERR_NOMEM"
echo "libimdb-oom: $n mallocs: $nomem runs reported NOMEM, $clean absorbed the failure"
