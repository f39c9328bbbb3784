#!/bin/sh
# imdb-train --runs-dir: the run recorded in MLflow's file-store layout (what
# `mlflow ui --backend-store-uri DIR` reads): experiment and run meta.yaml, params, tags,
# metrics per epoch, the model and the curve as artifacts; named experiments
# (MLFLOW_EXPERIMENT_NAME); a failed run is marked FAILED.
. "$IMDB_SRCDIR/tests/common.sh"

imdb-clean -q --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-vocab -q --ngrams 2 train.tok.gz -o vocab.gz
unset MLFLOW_EXPERIMENT_NAME
imdb-train -q -V vocab.gz -o ngrams=2 -o min_df=1 -o epochs=4 -o patience=10 --runs-dir runs --curves c.tsv \
    -O m.model train.tok.gz
root=$(cd runs && pwd -P)

# The Default experiment, as MLflow creates it, and its trash folder.
[ -d runs/.trash ] || fail "no runs/.trash"
sed 's/^\(creation_time\|last_update_time\): [0-9]\{13\}$/\1: T/' runs/0/meta.yaml >exp.yaml
cat >exp.want <<EOF
artifact_location: file://$root/0
creation_time: T
experiment_id: '0'
last_update_time: T
lifecycle_stage: active
name: 'Default'
EOF
same exp.yaml exp.want

# One run: 32 hex digits, FINISHED (3), times in milliseconds, start <= end.
set -- runs/0/*/
[ $# -eq 1 ] || fail "expected one run, found $*"
run=${1%/}
id=${run##*/}
echo "$id" | grep -Eqx '[0-9a-f]{32}' || fail "run id '$id'"
start=$(sed -n 's/^start_time: //p' "$run/meta.yaml")
end=$(sed -n 's/^end_time: //p' "$run/meta.yaml")
[ "$start" -le "$end" ] || fail "start_time $start > end_time $end"
sed 's/^\(start_time\|end_time\): [0-9]\{13\}$/\1: T/; s/^user_id: .*/user_id: U/' "$run/meta.yaml" >run.yaml
cat >run.want <<EOF
artifact_uri: file://$root/0/$id/artifacts
end_time: T
entry_point_name: ''
experiment_id: '0'
lifecycle_stage: active
run_id: $id
run_name: 'm.model'
run_uuid: $id
source_name: ''
source_type: 4
source_version: ''
start_time: T
status: 3
tags: []
user_id: U
EOF
same run.yaml run.want

# Params: one file per effective setting, the value without a newline.
[ "$(cat "$run/params/model")" = nblr ] || fail "params/model"
[ "$(cat "$run/params/epochs")" = 4 ] || fail "params/epochs"
[ "$(cat "$run/params/ngrams")" = 2 ] || fail "params/ngrams"
[ "$(cat "$run/params/alpha")" = 1 ] || fail "params/alpha (a default)"
[ "$(wc -c <"$run/params/seed")" -eq 1 ] || fail "params/seed has a newline"
# Tags.
[ "$(cat "$run/tags/mlflow.runName")" = m.model ] || fail "tags/mlflow.runName"
[ "$(cat "$run/tags/mlflow.source.name")" = imdb-train ] || fail "tags/mlflow.source.name"
[ "$(cat "$run/tags/mlflow.source.type")" = LOCAL ] || fail "tags/mlflow.source.type"
[ "$(cat "$run/tags/model_kind")" = nblr ] || fail "tags/model_kind"
# Metrics: "TIMESTAMP VALUE STEP" per epoch, one per line of the curve.
epochs=$(($(wc -l <c.tsv) - 1))
for m in train_loss valid_loss valid_acc; do
    [ "$(wc -l <"$run/metrics/$m")" -eq "$epochs" ] || fail "metrics/$m: not $epochs lines"
    grep -Evq '^[0-9]{13} -?[0-9.]+(e[-+][0-9]+)? [0-9]+$' "$run/metrics/$m" && fail "metrics/$m: bad line"
    [ "$(cut -d' ' -f3 "$run/metrics/$m" | tr '\n' ' ')" = "$(seq 1 "$epochs" | tr '\n' ' ')" ] ||
        fail "metrics/$m: steps are not 1..$epochs"
done
acc=$(sed -n 2p c.tsv | cut -f4)
awk -v a="$acc" -v b="$(head -n1 "$run/metrics/valid_acc" | cut -d' ' -f2)" 'BEGIN { exit !(a - b < 1e-6 && b - a < 1e-6) }' ||
    fail "metrics/valid_acc differs from the curve"
# Artifacts: the model and the curve.
same m.model "$run/artifacts/m.model"
same c.tsv "$run/artifacts/curves.tsv"

# The YAML parses (when PyYAML is around) to what MLflow expects.
if python3 -c 'import yaml' 2>/dev/null; then
    python3 - "$run/meta.yaml" runs/0/meta.yaml <<'PY' || fail "meta.yaml does not parse as expected"
import sys, yaml
r = yaml.safe_load(open(sys.argv[1]))
x = yaml.safe_load(open(sys.argv[2]))
assert r["status"] == 3 and r["experiment_id"] == "0" and r["tags"] == [] and r["end_time"] >= r["start_time"]
assert x["name"] == "Default" and x["experiment_id"] == "0" and x["lifecycle_stage"] == "active"
PY
fi

# A named experiment gets the next id and is found again by name.
MLFLOW_EXPERIMENT_NAME="it's new" imdb-train -q -m word2vec -o min_count=2 -o epochs=1 -o dim=8 \
    --runs-dir runs -O v.vec train.tok.gz
MLFLOW_EXPERIMENT_NAME="it's new" imdb-train -q -m word2vec -o min_count=2 -o epochs=1 -o dim=8 \
    --runs-dir runs -O v2.vec train.tok.gz
grep -qx "name: 'it''s new'" runs/1/meta.yaml || fail "experiment 1 is not \"it's new\""
grep -qx "experiment_id: '1'" runs/1/meta.yaml || fail "experiment 1: experiment_id"
[ "$(ls runs/1 | grep -c '^[0-9a-f]\{32\}$')" -eq 2 ] || fail "experiment 1 should have two runs"
for r in runs/1/*/; do
    grep -qx 'status: 3' "$r/meta.yaml" || fail "$r: not FINISHED"
    [ "$(cat "$r/params/model")" = word2vec ] || fail "$r: params/model"
    [ "$(wc -l <"$r/metrics/train_loss")" -eq 1 ] || fail "$r: metrics/train_loss"
    [ ! -e "$r/metrics/valid_loss" ] || fail "$r: NaN metrics recorded"
done
same v.vec "$(ls runs/1/*/artifacts/v.vec)"

# A run that fails after it started is kept, marked FAILED (4), without the model.
expect_status 1 imdb-train -q -m word2vec -o min_count=100000 --runs-dir runs -O f.vec train.tok.gz
failed=$(grep -l "run_name: 'f.vec'" runs/0/*/meta.yaml)
grep -qx 'status: 4' "$failed" || fail "the failed run is not FAILED"
[ ! -e "${failed%meta.yaml}artifacts/f.vec" ] || fail "the failed run has an artifact"

# A runs dir that cannot be created is an I/O error.
echo file >notadir
expect_status 4 imdb-train -q -V vocab.gz -o ngrams=2 --runs-dir notadir/runs -O x.model train.tok.gz
expect_err "notadir"
[ ! -e x.model ] || fail "x.model written although the run could not be recorded"
# An experiment name MLflow's YAML could not hold is a usage error.
expect_status 2 env MLFLOW_EXPERIMENT_NAME="$(printf 'a\tb')" imdb-train -q -V vocab.gz -o ngrams=2 \
    --runs-dir runs -O x.model train.tok.gz
expect_err "experiment name 'a.b' has control characters"
