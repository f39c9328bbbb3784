#!/bin/sh
# imdb-predict as a coprocess: each line sent through a pipe is answered before the next
# one arrives (it does not wait to fill a buffer).
. "$IMDB_SRCDIR/tests/common.sh"
imdb-clean -q --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-vocab -q train.tok.gz -o vocab.gz
imdb-train -q -V vocab.gz -o min_df=1 -O m.model train.tok.gz
mkfifo in
imdb-predict m.model <in >answers &
pid=$!
exec 3>in
echo "a great film" >&3
# The answer must come while the pipe is still open (give it up to 10 s).
i=0
while [ ! -s answers ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s answers ] || { kill $pid; fail "no answer while the input pipe stayed open"; }
echo "a boring film" >&3
exec 3>&-
wait $pid
[ "$(wc -l <answers)" -eq 2 ] || fail "expected 2 answers, got $(wc -l <answers)"
echo ok
