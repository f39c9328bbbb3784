#!/bin/sh
# cli-model.sh — one way to name the model in every tool (issue 14): -m FILE and
# --model=FILE in imdb-eval, imdb-predict and imdb-serve, the old forms (the model as the
# first operand; imdb-train -m KIND) still working with the same results, imdb-train
# --kind, -m FILE for ensemble members, and both spellings of --unlabelled.
. "$IMDB_SRCDIR/tests/common.sh"

imdb-clean -q --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-clean -q --split test "$FIXTURES/mini-aclImdb.tar.gz" -o test.tok.gz
imdb-vocab -q train.tok.gz -o v.gz

# imdb-train: --kind, -k, and the old -m KIND / --model=KIND give the same bytes.
imdb-train -q -V v.gz --kind nblr -O kind.model train.tok.gz
imdb-train -q -V v.gz -k nblr -O k.model train.tok.gz
imdb-train -q -V v.gz -m nblr -O m.model train.tok.gz
imdb-train -q -V v.gz --model=nblr -O model.model train.tok.gz
imdb-train -q -V v.gz -O default.model train.tok.gz
for f in k m model default; do same kind.model $f.model; done
# The last kind given wins, whichever spelling.
expect_status 0 imdb-train -q -V v.gz -m word2vec --kind nblr -O last.model train.tok.gz
same kind.model last.model

# Ensemble members: -m FILE, --model=FILE and --member FILE, before or after the kind.
imdb-train -q -V v.gz -o heldout_folds=3 -O a.model train.tok.gz
imdb-train -q -V v.gz -o heldout_folds=3 -o ngrams=2 -O b.model train.tok.gz
imdb-train -q --model ensemble -m a.model -m b.model -O e1.model train.tok.gz   # the old form
imdb-train -q -m a.model --model=b.model --kind ensemble -O e2.model train.tok.gz
imdb-train -q -k ensemble --member a.model --member b.model -O e3.model train.tok.gz
same e1.model e2.model
same e1.model e3.model
# A model file named like a kind is a member when written as a path.
cp a.model nblr
imdb-train -q -k ensemble -m ./nblr -m b.model -O e4.model train.tok.gz
imdb-predict --info e4.model | grep -qx '  members = ./nblr b.model' || fail "./nblr is not a member"
# A model file without --kind ensemble, or a misspelt kind: usage errors naming it.
expect_status 2 imdb-train -q -V v.gz -m a.model -O x.model train.tok.gz
expect_err "^imdb-train: a\.model: a model file to combine \(-m FILE, --member FILE\) needs --kind ensemble"
expect_status 2 imdb-train -q -V v.gz -m nbrl -O x.model train.tok.gz
expect_err "^imdb-train: unknown model kind 'nbrl'$"
expect_status 2 imdb-train -q -V v.gz --kind nbrl -O x.model train.tok.gz
expect_err "^imdb-train: unknown model kind 'nbrl'"
[ ! -e x.model ] || fail "a refused run wrote x.model"

# --unlabeled (US spelling) is --unlabelled: the same word2vec vectors.
w2v="imdb-train -q -k word2vec -o dim=8 -o min_count=3 -o epochs=1"
$w2v --unlabelled test.tok.gz -O gb.vec
$w2v --unlabeled test.tok.gz -O us.vec
$w2v --unlabeled=test.tok.gz -O us2.vec
same gb.vec us.vec
same gb.vec us2.vec
# Abbreviations of either spelling are not ambiguous.
$w2v --unlabel test.tok.gz -O ab.vec
same gb.vec ab.vec

# imdb-predict: -m, --model=, --model FILE and the old first operand; FILE operands
# after -m are all inputs.
gunzip -c test.tok.gz | grep -v '^#' | cut -f3 | head -40 >reviews.txt
imdb-predict kind.model reviews.txt >old.out
imdb-predict -m kind.model reviews.txt >m.out
imdb-predict --model=kind.model reviews.txt >model.out
imdb-predict reviews.txt --model kind.model >after.out   # options may follow operands
imdb-predict -m kind.model <reviews.txt >stdin.out
[ "$(wc -l <old.out)" -eq 40 ] || fail "imdb-predict: not 40 lines"
for f in m model after stdin; do same old.out $f.out; done
imdb-predict -m kind.model reviews.txt reviews.txt >two.out
[ "$(wc -l <two.out)" -eq 80 ] || fail "imdb-predict -m: the operands are not all inputs"
imdb-predict --info -m kind.model | grep -qx 'kind: nblr' || fail "imdb-predict --info -m"
expect_status 2 imdb-predict --json
expect_err "^imdb-predict: missing model: use -m MODEL$"
expect_status 1 imdb-predict -m reviews.txt reviews.txt
expect_err "^imdb-predict: reviews\.txt: "

# imdb-eval: the same.
imdb-eval kind.model test.tok.gz >old.out
imdb-eval -m kind.model test.tok.gz >m.out
imdb-eval --model=kind.model test.tok.gz >model.out
imdb-eval -m kind.model <test.tok.gz >stdin.out
grep -q '^accuracy' old.out || fail "imdb-eval printed no accuracy"
for f in m model stdin; do same old.out $f.out; done
expect_status 2 imdb-eval --json
expect_err "^imdb-eval: missing model: use -m MODEL$"

# imdb-serve: -m, --model= and the model as the one operand.
command -v curl >/dev/null || { echo "curl not found: imdb-serve part skipped" >&2; exit 0; }
for form in "-m kind.model" "--model=kind.model" "kind.model"; do
    rm -f port
    # shellcheck disable=SC2086
    imdb-serve -q --listen 127.0.0.1:0 --port-file port $form 2>serve.log &
    pid=$!
    k=0
    while [ ! -s port ]; do
        kill -0 $pid 2>/dev/null || { cat serve.log >&2; fail "imdb-serve $form died"; }
        k=$((k + 1)); [ $k -lt 400 ] || { kill $pid; fail "imdb-serve $form did not start"; }
        sleep 0.05
    done
    curl -s --max-time 10 "http://127.0.0.1:$(cat port)/health" >health.json || :
    kill -TERM $pid
    wait $pid || fail "imdb-serve $form exited $?"
    grep -q '"path":"kind.model"' health.json || fail "imdb-serve $form: $(cat health.json)"
done
expect_status 2 imdb-serve -q a.model b.model
expect_err "^imdb-serve: unexpected operand 'b\.model' \(one model only\)$"
expect_status 2 imdb-serve -q
expect_err "^imdb-serve: missing model: use -m MODEL$"
