#!/bin/sh
# mlflow-layout.sh — a --runs-dir store checked, field by field, against MLflow's
# FileStore: what mlflow/store/tracking/file_store.py writes and what its readers accept.
# Read from github.com/mlflow/mlflow, file mlflow/store/tracking/file_store.py at commit
# 001cc178a1442b488da41853c497adc5285a284d (an MLflow 2.x with traces and datasets, so
# 2.14 or later), and mlflow/entities/run_info.py (RunInfo's required fields). None of
# MLflow's code is used: the rules are restated here, each with the function it is from.
#
# The store holds finished, failed and killed (still RUNNING) runs in the Default
# experiment and in a named one; check_store walks it the way FileStore reads it.
. "$IMDB_SRCDIR/tests/common.sh"

imdb-clean -q --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-vocab -q --ngrams 2 train.tok.gz -o v.gz
unset MLFLOW_EXPERIMENT_NAME
imdb-train -q -V v.gz -o ngrams=2 -o min_df=1 -o epochs=3 --runs-dir runs -O ok.model train.tok.gz
expect_status 1 imdb-train -q -k word2vec -o min_count=100000 --runs-dir runs -O failed.vec train.tok.gz
MLFLOW_EXPERIMENT_NAME="it's named" imdb-train -q -k word2vec -o min_count=2 -o epochs=1 -o dim=8 \
    --runs-dir runs -O named.vec train.tok.gz
# Killed while training: the run stays RUNNING, as MLflow leaves a run whose process died.
imdb-train -q -k mlp -V v.gz -o epochs=100000 --runs-dir runs -O killed.model train.tok.gz &
pid=$!
k=0
# Killed once the run is under way: its meta.yaml, tags and params written.
until r=$(grep -lx "run_name: 'killed.model'" runs/0/*/meta.yaml 2>/dev/null) &&
      [ -f "${r%meta.yaml}params/model" ]; do
    k=$((k + 1))
    [ $k -lt 600 ] || { kill -KILL $pid; fail "the killed run never started"; }
    sleep 0.05
done
kill -KILL $pid
wait $pid 2>/dev/null || :
root=$(cd runs && pwd -P)

# load PREFIX FILE: each "KEY: VALUE" line of FILE as the variable PREFIX_KEY (unquoted
# as PyYAML reads a scalar: '...' with '' for a quote; null stays "null"), the raw text
# as PREFIX_raw_KEY, and the keys in file order in PREFIX_keys. One awk, no fork per
# field (the machine may be loaded).
load() {
    eval "$(awk -v p="$1" '
        function q(s) { gsub(/\047/, "\047\\\047\047", s); return "\047" s "\047" }
        match($0, /^[a-z_]+: /) {
            k = substr($0, 1, RLENGTH - 2); v = substr($0, RLENGTH + 1)
            print p "_raw_" k "=" q(v)
            if (v ~ /^\047.*\047$/) { v = substr(v, 2, length(v) - 2); gsub(/\047\047/, "\047", v) }
            print p "_" k "=" q(v)
            keys = keys (keys == "" ? "" : " ") k
        }
        END { print p "_keys=" q(keys) }' "$2")"
}
is_ms() { [ ${#1} -eq 13 ] && case $1 in *[!0-9]*) return 1 ;; esac; }

# _create_experiment_with_id: dict(Experiment) without "tags", written by write_yaml
# (yaml.safe_dump, keys sorted). _get_experiment: read back, and ignored with a warning
# when the id inside differs from the folder's name.
EXP_KEYS="artifact_location creation_time experiment_id last_update_time lifecycle_stage name"
# create_run + _make_persisted_run_info_dict: RunInfo's fields plus the legacy ones
# (tags: [], source_type LOCAL = 4, empty source_name, entry_point_name, source_version).
# create_run writes deleted_time: null first, but its own set_tag(mlflow.runName) goes
# through update_run_info -> _overwrite_run_info, which writes the dict without it: only
# delete_run adds deleted_time. So a live store's run has exactly these keys.
RUN_KEYS="artifact_uri end_time entry_point_name experiment_id lifecycle_stage run_id run_name run_uuid source_name source_type source_version start_time status tags user_id"

check_experiment() {   # DIR
    e=$1 id=${1##*/}
    [ -f "$e/meta.yaml" ] || fail "$e: no meta.yaml (FileStore: malformed experiment)"
    load x "$e/meta.yaml"
    [ "$x_keys" = "$EXP_KEYS" ] || fail "$e/meta.yaml keys: $x_keys; want $EXP_KEYS"
    [ "$x_experiment_id" = "$id" ] || fail "$e: experiment_id is not the folder's name $id"
    # A string ('0'), not a number: experiment_id was changed from int to string.
    [ "$x_raw_experiment_id" = "'$id'" ] || fail "$e: experiment_id is not a quoted string"
    case $id in '' | *[!0-9]*) fail "$e: experiment id '$id' is not an integer" ;; esac   # _generate_unique_integer_id, DEFAULT_EXPERIMENT_ID
    [ "$x_artifact_location" = "file://$root/$id" ] ||
        fail "$e: artifact_location is not append_to_uri_path(path_to_local_file_uri(root), id)"
    [ "$x_lifecycle_stage" = active ] || fail "$e: lifecycle_stage"
    is_ms "$x_creation_time" || fail "$e: creation_time is not get_current_time_millis()"
    is_ms "$x_last_update_time" || fail "$e: last_update_time"
    [ -n "$x_name" ] || fail "$e: empty name"
}

check_run() {   # EXPDIR RUNDIR
    e=$1 r=$2 id=${2##*/} m=$2/meta.yaml
    case $id in *[!0-9a-f]*) fail "$r: run folder is not uuid.uuid4().hex" ;; esac
    [ ${#id} -eq 32 ] || fail "$r: run folder is not uuid.uuid4().hex"
    [ -f "$m" ] || fail "$r: no meta.yaml"
    load x "$e/meta.yaml"
    load y "$m"
    [ "$y_keys" = "$RUN_KEYS" ] || fail "$m keys: $y_keys; want $RUN_KEYS"
    [ "$y_run_id" = "$id" ] && [ "$y_run_uuid" = "$id" ] || fail "$m: run_id/run_uuid are not the folder's name"
    # _get_run_info / _list_run_infos: a run whose experiment_id is not its folder's is ignored.
    [ "$y_raw_experiment_id" = "'${e##*/}'" ] || fail "$m: experiment_id is not '${e##*/}'"
    [ "$y_artifact_uri" = "$x_artifact_location/$id/artifacts" ] ||
        fail "$m: artifact_uri is not _get_artifact_dir (artifact_location/RUN/artifacts)"
    [ "$y_lifecycle_stage" = active ] || fail "$m: lifecycle_stage"
    [ "$y_tags" = "[]" ] || fail "$m: tags is not []"
    [ "$y_source_type" = 4 ] || fail "$m: source_type is not SourceType.LOCAL (4)"
    [ "$y_raw_source_name$y_raw_entry_point_name$y_raw_source_version" = "''''''" ] ||
        fail "$m: source_name, entry_point_name, source_version are not ''"
    # RunInfo(...) refuses None for user_id, status and start_time.
    [ "$y_user_id" != null ] || fail "$m: user_id is null"
    is_ms "$y_start_time" || fail "$m: start_time"
    case "$y_status" in   # RunStatus: RUNNING 1, SCHEDULED 2, FINISHED 3, FAILED 4, KILLED 5
    1) [ "$y_end_time" = null ] || fail "$m: a RUNNING run with an end_time" ;;
    3 | 4) is_ms "$y_end_time" || fail "$m: end_time $y_end_time"
        [ "$y_end_time" -ge "$y_start_time" ] || fail "$m: end_time before start_time" ;;
    *) fail "$m: status $y_status" ;;
    esac
    # create_run makes metrics/, params/ and artifacts/.
    for d in metrics params artifacts tags; do [ -d "$r/$d" ] || fail "$r: no $d/"; done
    # set_tag / _set_run_tag: one file per tag, the value without a newline;
    # mlflow.runName agrees with run_name (update_run_info keeps them in step).
    [ "$(cat "$r/tags/mlflow.runName")" = "$y_run_name" ] || fail "$r: tags/mlflow.runName is not run_name"
    [ "$(cat "$r/tags/mlflow.source.name")" = imdb-train ] || fail "$r: tags/mlflow.source.name"
    [ "$(cat "$r/tags/mlflow.source.type")" = LOCAL ] || fail "$r: tags/mlflow.source.type"
    [ "$(cat "$r/tags/mlflow.user")" = "$y_user_id" ] || fail "$r: tags/mlflow.user is not user_id"
    [ -f "$r/params/model" ] || fail "$r: no params/model"
    # _VALID_PARAM_AND_METRIC_NAMES (mlflow/utils/validation.py): ^[/\w.\- ]*$; a value
    # is write_to(path, value): the text itself, no newline added. The last bytes of all
    # the files together hold no newline.
    for f in "$r"/params/* "$r"/tags/* "$r"/metrics/*; do
        [ -e "$f" ] || continue
        n=${f##*/}
        case $n in *[!A-Za-z0-9_./\ -]*) fail "$f: not a valid MLflow name" ;; esac
    done
    [ "$(tail -q -c 1 "$r"/params/* "$r"/tags/* | tr -dc '\n' | wc -c)" -eq 0 ] ||
        fail "$r: a param or tag value ends with a newline, which MLflow would read as part of it"
    # _get_metric_from_line: "TIMESTAMP VALUE [STEP]" split on single spaces, int(),
    # float(), int(); _get_metric_from_file: a file without lines is malformed.
    set -- "$r"/metrics/*
    [ -f "$1" ] || return 0
    awk '
        FNR == 1 { if (prev != "" && !lines) { print prev ": no data (MLflow: metric is malformed)"; exit 1 }
                   prev = FILENAME; lines = 0 }
        { lines++; n = split($0, p, " ")
          if ($0 ~ /  / || (n != 2 && n != 3)) { print FILENAME ":" FNR ": " n " fields"; exit 1 }
          if (p[1] !~ /^[0-9]+$/ || length(p[1]) != 13) { print FILENAME ":" FNR ": timestamp " p[1]; exit 1 }
          if (p[2] !~ /^-?(inf|[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?)$/) { print FILENAME ":" FNR ": value " p[2]; exit 1 }
          if (n == 3 && p[3] !~ /^-?[0-9]+$/) { print FILENAME ":" FNR ": step " p[3]; exit 1 } }' "$@" >bad ||
        fail "$(cat bad)"
    for f; do [ -s "$f" ] || fail "$f: no data (MLflow: metric is malformed)"; done
}

# FileStore.__init__: the root and its .trash; _get_active_experiments: every folder but
# .trash (and the model registry's "models"); _list_run_infos: every folder of an
# experiment but the reserved tags, datasets and traces.
check_store() {   # ROOT
    [ -d "$1/.trash" ] || fail "$1: no .trash folder"
    [ -f "$1/0/meta.yaml" ] || fail "$1: no Default experiment (id 0)"
    load x "$1/0/meta.yaml"; [ "$x_name" = Default ] || fail "$1/0 is not named Default"
    nexp=0 nrun=0
    for e in "$1"/*/; do
        e=${e%/}
        case "${e##*/}" in models) continue ;; esac
        check_experiment "$e"
        nexp=$((nexp + 1))
        for r in "$e"/*/; do
            r=${r%/}
            case "${r##*/}" in tags | datasets | traces) continue ;; esac
            check_run "$e" "$r"
            nrun=$((nrun + 1))
        done
    done
}

check_store runs
[ "$nexp" -eq 2 ] || fail "expected 2 experiments, found $nexp"
[ "$nrun" -eq 4 ] || fail "expected 4 runs, found $nrun"
run_of() { grep -lx "run_name: '$1'" runs/*/*/meta.yaml | sed 's,/meta.yaml$,,'; }
ok=$(run_of ok.model) failed=$(run_of failed.vec) named=$(run_of named.vec) killed=$(run_of killed.model)
load y "$ok/meta.yaml"; [ "$y_status" = 3 ] || fail "ok.model: not FINISHED"
load y "$failed/meta.yaml"; [ "$y_status" = 4 ] || fail "failed.vec: not FAILED"
load y "$killed/meta.yaml"; [ "$y_status" = 1 ] || fail "killed.model: not RUNNING"
[ "${named%/*}" != runs/0 ] || fail "named.vec is in the Default experiment"
load x "${named%/*}/meta.yaml"; [ "$x_name" = "it's named" ] || fail "the named experiment's name: $x_name"
# The metrics of the finished run: one line per epoch, steps from 1.
[ "$(cut -d' ' -f3 "$ok/metrics/train_loss" | tr '\n' ' ')" = "1 2 3 " ] || fail "ok.model: steps of train_loss"
same ok.model "$ok/artifacts/ok.model"

# The checker is not blind: each of these breaks one rule MLflow relies on.
okr=${ok#runs/}
cp -R runs good
broken() {   # WHAT CMD...: CMD breaks a copy of the store; checking it must fail
    what=$1; shift
    rm -rf runs && cp -R good runs
    "$@"
    if (check_store_or_run) >/dev/null 2>&1; then fail "the check accepts a store with $what"; fi
}
check_store_or_run() { check_run "runs/${okr%/*}" "runs/$okr"; }
broken "a metric line of 4 fields" sh -c "echo '1700000000000 0.5 1 2' >>runs/$okr/metrics/train_loss"
broken "a timestamp in seconds" sh -c "echo '1700000000 0.5 1' >>runs/$okr/metrics/train_loss"
broken "an empty metric file" sh -c ": >runs/$okr/metrics/train_loss"
broken "a param with a newline" sh -c "echo nblr >runs/$okr/params/model"
broken "a missing run key" sed -i '/^source_type:/d' "runs/$okr/meta.yaml"
broken "an unknown run key" sed -i 's/^tags: \[\]$/tags: []\nfoo: 1/' "runs/$okr/meta.yaml"
broken "a deleted run's deleted_time" sed -i 's/^artifact_uri: .*/&\ndeleted_time: null/' "runs/$okr/meta.yaml"
broken "an unquoted experiment_id" sed -i "s/^experiment_id: '0'\$/experiment_id: 0/" "runs/$okr/meta.yaml"
broken "runName out of step" sh -c "printf x >runs/$okr/tags/mlflow.runName"
check_store_or_run() { check_store runs; }
broken "no .trash" rmdir runs/.trash
broken "an experiment id unlike its folder" sed -i "s/^experiment_id: '0'\$/experiment_id: '7'/" runs/0/meta.yaml
rm -rf runs && mv good runs
