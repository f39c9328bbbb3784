#!/bin/sh
# json-shape.sh — one JSON shape (issue 14): an imdb-predict --json line and a prediction
# of imdb-serve's POST /v1/predict answer carry the same fields, with the same names and
# types, in the same order, with and without explanations; on the same reviews they
# carry the same values (id: line number / position in the request). tests/json_shape
# prints each prediction's key set and types (or its values) from either output.
. "$IMDB_SRCDIR/tests/serve-lib.sh"
shape="$IMDB_BIN/../tests/json_shape"
[ -x "$shape" ] || fail "tests/json_shape is not built"

serve_model m.bin
gunzip -c train.tok.gz | grep -v '^#' | cut -f3 | head -12 >reviews.txt
serve_start -m m.bin -q

for explain in 0 3; do
    if [ $explain -eq 0 ]; then opt=; else opt=--explain=$explain; fi
    # imdb-predict --json on the reviews, one line each.
    # shellcheck disable=SC2086
    imdb-predict --json $opt -m m.bin reviews.txt >predict.json
    # imdb-serve: the same reviews as one "texts" batch, and one "text" at a time.
    printf '{"texts":%s,"explain":%d}' "$(json_lines reviews.txt)" "$explain" >batch.json
    req POST /v1/predict --data-binary @batch.json
    expect_code 200
    cp body serve-batch.json
    : >serve-one.json
    while IFS= read -r line; do
        printf '%s\n' "$line" >one.txt
        printf '{"text":%s,"explain":%d}' "$(json_lines one.txt | sed 's/^\[//; s/\]$//')" "$explain" >one.json
        req POST /v1/predict --data-binary @one.json
        expect_code 200
        cat body >>serve-one.json
    done <reviews.txt

    # The shapes: one per review, all alike, and the same from both tools.
    "$shape" <predict.json >predict.shape
    "$shape" <serve-batch.json >batch.shape
    [ "$(wc -l <predict.shape)" -eq 12 ] || fail "imdb-predict: not 12 predictions"
    [ "$(sort -u predict.shape | wc -l)" -eq 1 ] || fail "imdb-predict --json lines differ in shape: $(sort -u predict.shape)"
    if [ $explain -eq 0 ]; then
        want='{id:integer,label:string,probability:real}'
    else
        want='{id:integer,label:string,probability:real,explain:[{ngram:string,weight:real}]}'
    fi
    [ "$(sed -n 1p predict.shape)" = "$want" ] || fail "imdb-predict --json $opt: $(sed -n 1p predict.shape), want $want"
    same predict.shape batch.shape
    # A single "text" answer is one prediction of the same shape (id 1).
    "$shape" <serve-one.json >one.shape
    same predict.shape one.shape

    # The values: ids 1..12 in both, the same labels, probabilities and explanations.
    "$shape" --values <predict.json >predict.values
    "$shape" --values <serve-batch.json >batch.values
    same predict.values batch.values
    sed 's/^{"id":[0-9]*,/{/' predict.values >predict.noid
    "$shape" --values <serve-one.json | sed 's/^{"id":1,/{/' >one.noid
    same predict.noid one.noid
done
# The key sets are not the same by accident: an answer without ids would differ.
sed 's/"id":[0-9]*,//' predict.json | "$shape" >noid.shape
! cmp -s noid.shape predict.shape || fail "json_shape does not see the id field"

serve_stop
