#!/bin/sh
# libimdb-api.sh — the public C API on bad and odd inputs (tests/unit_api.c), on an nblr
# and an mlp model trained here on the fixtures.
. "$IMDB_SRCDIR/tests/common.sh"

imdb-clean -q --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-vocab -q train.tok.gz -o vocab.gz
imdb-train -q -V vocab.gz -O nblr.model train.tok.gz
imdb-train -q --seed 3 -k mlp -V vocab.gz -o dim=8 -o epochs=1 -o dense=4 -O mlp.model train.tok.gz
mkdir files
"$IMDB_BIN/../tests/unit_api" nblr.model mlp.model files >out 2>err || { cat out err >&2; fail "unit_api failed"; }
