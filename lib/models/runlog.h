/* runlog.h — one training run recorded in an MLflow file store, the directory layout that
 * `mlflow ui --backend-store-uri DIR` browses (mlflow/store/tracking/file_store.py):
 *
 *   DIR/.trash/                        (MLflow creates it too)
 *   DIR/EXP/meta.yaml                  experiment: artifact_location, creation_time,
 *                                      experiment_id, last_update_time, lifecycle_stage, name
 *   DIR/EXP/RUN/meta.yaml              run: artifact_uri, end_time, entry_point_name,
 *                                      experiment_id, lifecycle_stage, run_id, run_name,
 *                                      run_uuid, source_name, source_type, source_version,
 *                                      start_time, status, tags, user_id
 *   DIR/EXP/RUN/params/KEY             the value, no newline
 *   DIR/EXP/RUN/tags/KEY               the value, no newline
 *   DIR/EXP/RUN/metrics/NAME           one "TIMESTAMP_MS VALUE STEP" line per value
 *   DIR/EXP/RUN/artifacts/...          files
 *
 * EXP is "0" for the experiment "Default" (created as MLflow creates it); another name is
 * looked up in the experiments' meta.yaml files, or created with the next free integer
 * id. RUN is 32 random hex digits. Times are milliseconds since the epoch; status is
 * MLflow's RunStatus number: 1 RUNNING, 3 FINISHED, 4 FAILED. */
#ifndef IMDB_RUNLOG_H
#define IMDB_RUNLOG_H
#include <stddef.h>
#include "util.h"

typedef struct runlog runlog;

/* Create dir if needed, find or create the experiment (NULL or "" = "Default"), and start
 * a run named run_name with status RUNNING and the tags mlflow.runName, mlflow.source.name
 * = source, mlflow.source.type = LOCAL and mlflow.user. Subdirectories without a readable
 * meta.yaml are not experiments and are left alone. Errors: IMDB_EXIT_IO (cannot create
 * or write), IMDB_EXIT_USAGE (an experiment name with control characters or over 500
 * bytes). */
runlog *runlog_start(const char *dir, const char *experiment, const char *run_name, const char *source,
                     imdb_err *e);
const char *runlog_id(const runlog *r);    /* the 32 hex digits */
const char *runlog_path(const runlog *r);  /* DIR/EXP/RUN */

/* Keys are MLflow names: letters, digits and "_-. /", no "..", no leading "/", at most
 * 250 bytes (IMDB_EXIT_USAGE otherwise). A param or tag file is replaced if it exists. */
int runlog_tag(runlog *r, const char *key, const char *value, imdb_err *e);
int runlog_param(runlog *r, const char *key, const char *value, imdb_err *e);
/* One param per "key = value" line of text (conf_format's output). */
int runlog_params_text(runlog *r, const char *text, imdb_err *e);
/* Append "TIMESTAMP VALUE STEP" to metrics/name; NaN values are skipped. */
int runlog_metric(runlog *r, const char *name, double value, long step, imdb_err *e);
/* Store a file under artifacts/name (a hard link when possible, else a copy), or bytes. */
int runlog_artifact_file(runlog *r, const char *path, const char *name, imdb_err *e);
int runlog_artifact_data(runlog *r, const char *name, const void *data, size_t n, imdb_err *e);
/* Set status FINISHED (ok != 0) or FAILED and end_time, and free r. NULL is fine. */
int runlog_end(runlog *r, int ok, imdb_err *e);
#endif
