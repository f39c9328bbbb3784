#!/bin/sh
# load-nomem.sh — loading a model never exits on out of memory (issue 21): tiny models of
# every kind are loaded (tests/loadfail: clf_load, and clf_load_lazy then clf_verify)
# while the N-th malloc fails (tests/failshim.so), for every N up to the number of
# mallocs a load makes. Each run must load (the failure absorbed) or report out of
# memory cleanly: exit 3 with "out of memory" on stderr; never imdb_xmalloc's exit 5, a
# crash or another error.
. "$IMDB_SRCDIR/tests/common.sh"

shim="$IMDB_BIN/../tests/failshim.so"
loadfail="$IMDB_BIN/../tests/loadfail"
[ -f "$shim" ] || fail "tests/failshim.so not built"
if ldd "$loadfail" 2>/dev/null | grep -q 'lib[at]san'; then
    echo "a sanitizer build replaces malloc itself: skipping" >&2
    exit 77
fi

imdb-clean -q --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok
imdb-vocab -q --ngrams 2 train.tok -o v.gz
awk -F'\t' 'NR > 1 { print "-\tu" NR "\t" $3 }' train.tok >unsup.tok
trn() { imdb-train -q --seed 7 --threads 1 "$@"; }
nn='-o dim=4 -o epochs=1 -o min_count=2 -o max_len=30'
trn -V v.gz -o ngrams=2 -o heldout_folds=2 -O nblr.model train.tok
# shellcheck disable=SC2086
{ trn -m lstm -V v.gz $nn -o hidden=4 -O lstm.model train.tok
  trn -m bilstm -V v.gz $nn -o hidden=4 -o dense=4 -O bilstm.model train.tok
  trn -m mlp -V v.gz $nn -o dense=4 -o ngrams=2 -O mlp.model train.tok
  trn -m cnn -V v.gz $nn -o filters=4 -o widths=2,3 -O cnn.model train.tok
  trn -m dvcos -o dim=4 -o epochs=1 -o min_count=3 -o infer_epochs=1 -o heldout_folds=2 --unlabelled unsup.tok -O dvcos.model train.tok; }
trn -m ensemble -m nblr.model -m dvcos.model -O ensemble.model train.tok

summary=
for model in nblr lstm bilstm mlp cnn dvcos ensemble; do
    for mode in "" --lazy; do
        # shellcheck disable=SC2086
        IMDB_FAIL=malloc:0 IMDB_FAIL_COUNT=count LD_PRELOAD=$shim "$loadfail" $mode $model.model ||
            fail "$model $mode: does not load without faults"
        n=$(cat count)
        [ "$n" -gt 0 ] || fail "$model $mode: no malloc seen"
        nomem=0 i=1
        while [ "$i" -le "$n" ]; do
            set +e
            # shellcheck disable=SC2086
            IMDB_FAIL=malloc:$i LD_PRELOAD=$shim "$loadfail" $mode $model.model 2>err
            st=$?
            set -e
            case $st in
            0) ;;
            3) grep -q '^loadfail: status 6: .*out of memory' err ||
                   fail "$model $mode, malloc $i of $n: exit 3 without the message: $(cat err)"
               nomem=$((nomem + 1)) ;;
            *) fail "$model $mode, malloc $i of $n: exit status $st: $(cat err)" ;;
            esac
            i=$((i + 1))
        done
        [ "$nomem" -gt 0 ] || fail "$model $mode: no failed malloc was reported"
        summary="$summary $model${mode:+ lazy}: $nomem/$n;"
    done
done
echo "out of memory reported cleanly (runs / mallocs):$summary"
