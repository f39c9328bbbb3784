#!/bin/sh
# serve-threshold.sh — imdb-serve labels by the threshold the model stores (imdb-train
# -o threshold), --threshold wins over it, and a reload (SIGHUP) takes the new model's.
# The threshold is chosen so that some reviews score between 0.5 and it: there the
# stored threshold and 0.5 give different labels.
. "$IMDB_SRCDIR/tests/serve-lib.sh"

serve_model plain.bin
mkdir raw
tar -xzf "$FIXTURES/mini-aclImdb.tar.gz" -C raw
find raw -path '*/test/*' -name '*.txt' | sort |
    xargs awk 'FNR == 1 && NR != 1 { print "" } { printf "%s", $0 } END { print "" }' >reviews.txt
# The median of the probabilities above 0.5 (at six decimals, as imdb-predict prints).
t=$(imdb-predict --threads 1 plain.bin reviews.txt | awk -F'\t' '$2 >= 0.5 { print $2 }' | sort -n |
    awk '{ p[NR] = $1 } END { print p[int((NR + 1) / 2)] }')
awk -v t="$t" 'BEGIN { exit !(t > 0.5 && t < 1) }' || fail "no threshold to test with: $t"
serve_model m.bin -o threshold="$t"
imdb-predict --info m.bin | grep -q "^ *threshold = $t\$" || fail "threshold $t not stored"
between=$(imdb-predict --threads 1 plain.bin reviews.txt | awk -F'\t' -v t="$t" '$2 >= 0.5 && $2 < t' | wc -l)
[ "$between" -gt 5 ] || fail "only $between reviews between 0.5 and $t"

printf '{"texts":%s}' "$(json_lines reviews.txt)" >batch.json
# labels_follow T: every label of the last answer is pos exactly when P(pos) >= T.
labels_follow() {
    predictions body >got.tsv
    [ "$(wc -l <got.tsv)" -eq 200 ] || fail "expected 200 predictions, got $(wc -l <got.tsv)"
    awk -F'\t' -v t="$1" '($1 == "pos") != ($2 >= t) { print; bad = 1 } END { exit bad }' got.tsv ||
        fail "labels do not follow the threshold $1"
}

# The stored threshold; imdb-predict gives the same labels and probabilities.
serve_start -m m.bin --threads 2 -q
req POST /v1/predict --data-binary @batch.json
expect_code 200
labels_follow "$t"
imdb-predict --threads 1 m.bin reviews.txt >want.tsv
same got.tsv want.tsv
req GET /metrics
npos=$(awk -F'\t' '$1 == "pos"' got.tsv | wc -l)
grep -q "^imdb_predictions_total{label=\"pos\"} $npos\$" body ||
    fail "/metrics does not count the stored threshold's labels ($npos pos): $(grep predictions_total body)"

# A reload takes the new model's threshold: the plain model labels at 0.5.
cp m.bin stored.bin
cp plain.bin m.tmp && mv m.tmp m.bin
kill -HUP "$SERVE_PID"
k=0
until grep -q 'reloaded nblr model m.bin' serve.log; do
    k=$((k + 1)); [ $k -lt 100 ] || fail "no reload: $(tail -3 serve.log)"; sleep 0.05
done
req POST /v1/predict --data-binary @batch.json
expect_code 200
labels_follow 0.5
serve_stop

# --threshold wins over the stored one (also after a reload).
cp stored.bin m.bin
serve_start -m m.bin --threads 2 -q --threshold 0.5
req POST /v1/predict --data-binary @batch.json
expect_code 200
labels_follow 0.5
imdb-predict --threads 1 --threshold 0.5 m.bin reviews.txt >want.tsv
same got.tsv want.tsv
serve_stop
serve_start -m m.bin --threads 2 -q --threshold 0.95
req POST /v1/predict --data-binary @batch.json
expect_code 200
labels_follow 0.95
serve_stop

expect_status 2 imdb-serve -m m.bin --threshold 1.5
expect_err 'threshold'
exit 0
