/* runlog.c — see runlog.h. The layout and the meta.yaml fields follow MLflow's FileStore
 * (mlflow/store/tracking/file_store.py: _create_experiment_with_id, create_run,
 * _make_persisted_run_info_dict, _log_run_metric, _set_run_tag). The YAML is written the
 * way PyYAML's safe_dump writes those dictionaries: keys sorted, one per line; strings
 * that come from users are single-quoted so that no name can change the structure. */
#include "runlog.h"
#include "outfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { RUN_RUNNING = 1, RUN_FINISHED = 3, RUN_FAILED = 4, SOURCE_LOCAL = 4 };

struct runlog {
    char *path;           /* DIR/EXP/RUN */
    char *exp_id;
    char id[33];
    char *run_name, *user, *artifact_uri;
    long long start_ms;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = imdb_xmalloc(la + lb + 2);
    memcpy(s, a, la);
    s[la] = '/';
    memcpy(s + la + 1, b, lb + 1);
    return s;
}

static int make_dir(const char *path, imdb_err *e)
{
    if (mkdir(path, 0777) == 0 || errno == EEXIST) return 0;
    return imdb_fail(e, IMDB_EXIT_IO, "%s: cannot create directory: %s", path, strerror(errno));
}

/* mkdir -p */
static int make_dirs(const char *path, imdb_err *e)
{
    char *p = imdb_xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            imdb_fail(e, IMDB_EXIT_IO, "%s: cannot create directory: %s", p, strerror(errno));
            free(p);
            return -1;
        }
        *s = '/';
    }
    free(p);
    return make_dir(path, e);
}

static int write_file(const char *path, const void *data, size_t n, imdb_err *e)
{
    outfile *o = outfile_open(path, 0, e);
    if (!o) return -1;
    if (outfile_write(o, data, n, e) < 0) {
        outfile_abort(o);
        return -1;
    }
    return outfile_commit(o, e);
}

/* A YAML single-quoted scalar: ' doubles; newlines (refused earlier) cannot occur. */
static void yaml_quote(char *out, size_t cap, const char *s)
{
    size_t k = 0;
    out[k++] = '\'';
    for (; *s && k + 3 < cap; s++) {
        if (*s == '\'') out[k++] = '\'';
        out[k++] = *s;
    }
    out[k++] = '\'';
    out[k] = '\0';
}

/* "file://" + the absolute path, percent-encoding what a URI path cannot hold. */
static char *file_uri(const char *abs)
{
    size_t n = strlen(abs);
    char *u = imdb_xmalloc(7 + 3 * n + 1), *p = u;
    memcpy(p, "file://", 7);
    p += 7;
    for (const unsigned char *s = (const unsigned char *)abs; *s; s++) {
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
            strchr("/-._~", *s))
            *p++ = (char)*s;
        else
            p += sprintf(p, "%%%02X", *s);
    }
    *p = '\0';
    return u;
}

/* The value of "key: VALUE" in a meta.yaml, unquoted; malloc'd, or NULL. */
static char *yaml_get(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char line[2048];
    size_t kl = strlen(key);
    char *val = NULL;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl) != 0 || line[kl] != ':') continue;
        char *v = line + kl + 1;
        while (*v == ' ') v++;
        v[strcspn(v, "\r\n")] = '\0';
        size_t l = strlen(v);
        if (l >= 2 && v[0] == '\'' && v[l - 1] == '\'') {
            val = imdb_xmalloc(l);
            size_t k = 0;
            for (size_t i = 1; i + 1 < l; i++) {
                val[k++] = v[i];
                if (v[i] == '\'' && v[i + 1] == '\'') i++;
            }
            val[k] = '\0';
        } else if (l >= 2 && v[0] == '"' && v[l - 1] == '"') {
            val = imdb_xstrndup(v + 1, l - 2);
        } else {
            val = imdb_xstrdup(v);
        }
        break;
    }
    fclose(f);
    return val;
}

static int write_experiment_meta(const char *root_abs, const char *dir, const char *id, const char *name,
                                 imdb_err *e)
{
    char *loc = join(root_abs, id), *uri = file_uri(loc), qname[1100], qid[100];
    yaml_quote(qname, sizeof qname, name);
    yaml_quote(qid, sizeof qid, id);
    long long t = now_ms();
    char *meta = join(dir, "meta.yaml");
    size_t cap = strlen(uri) + 2048;
    char *text = imdb_xmalloc(cap);
    int n = snprintf(text, cap,
                     "artifact_location: %s\ncreation_time: %lld\nexperiment_id: %s\n"
                     "last_update_time: %lld\nlifecycle_stage: active\nname: %s\n",
                     uri, t, qid, t, qname);
    int rc = write_file(meta, text, (size_t)n, e);
    free(text);
    free(meta);
    free(uri);
    free(loc);
    return rc;
}

/* Find the experiment called name under root, or create it; *id receives its id. */
static int find_experiment(const char *root, const char *root_abs, const char *name, char **id, imdb_err *e)
{
    if (strcmp(name, "Default") == 0) {
        *id = imdb_xstrdup("0");
        return 0;   /* created by runlog_start */
    }
    for (int attempt = 0; attempt < 100; attempt++) {
        DIR *d = opendir(root);
        if (!d) return imdb_fail(e, IMDB_EXIT_IO, "%s: cannot read directory: %s", root, strerror(errno));
        unsigned long long max = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.') continue;
            char *sub = join(root, de->d_name), *meta = join(sub, "meta.yaml");
            char *n = yaml_get(meta, "name"), *stage = yaml_get(meta, "lifecycle_stage");
            int match = n && strcmp(n, name) == 0 && (!stage || strcmp(stage, "active") == 0);
            free(n);
            free(stage);
            free(meta);
            free(sub);
            if (match) {
                *id = imdb_xstrdup(de->d_name);
                closedir(d);
                return 0;
            }
            char *end;
            errno = 0;
            unsigned long long v = strtoull(de->d_name, &end, 10);
            if (!*end && !errno && v > max && v < ULLONG_MAX) max = v;
        }
        closedir(d);
        char buf[32];
        snprintf(buf, sizeof buf, "%llu", max + 1);
        char *dir = join(root, buf);
        if (mkdir(dir, 0777) != 0) {
            int err = errno;
            free(dir);
            if (err == EEXIST) continue;   /* another run took this id: look again */
            return imdb_fail(e, IMDB_EXIT_IO, "%s/%s: cannot create directory: %s", root, buf, strerror(err));
        }
        int rc = write_experiment_meta(root_abs, dir, buf, name, e);
        free(dir);
        if (rc < 0) return -1;
        *id = imdb_xstrdup(buf);
        return 0;
    }
    return imdb_fail(e, IMDB_EXIT_IO, "%s: cannot create the experiment '%s'", root, name);
}

static void random_hex(char out[33])
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        /* No entropy source: time and process id, mixed (splitmix64). */
        uint64_t x = (uint64_t)now_ms() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)clock();
        for (int i = 0; i < 2; i++) {
            x += 0x9e3779b97f4a7c15ULL;
            uint64_t z = x;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
            z ^= z >> 31;
            put_u64le(b + 8 * i, z);
        }
    }
    for (int i = 0; i < 16; i++) sprintf(out + 2 * i, "%02x", b[i]);
}

static int write_run_meta(runlog *r, int status, long long end_ms, imdb_err *e)
{
    char qname[1100], quser[600], qexp[100], end[32];
    yaml_quote(qname, sizeof qname, r->run_name);
    yaml_quote(quser, sizeof quser, r->user);
    yaml_quote(qexp, sizeof qexp, r->exp_id);
    if (end_ms < 0) snprintf(end, sizeof end, "null");
    else snprintf(end, sizeof end, "%lld", end_ms);
    size_t cap = strlen(r->artifact_uri) + 4096;
    char *text = imdb_xmalloc(cap);
    int n = snprintf(text, cap,
                     "artifact_uri: %s\nend_time: %s\nentry_point_name: ''\nexperiment_id: %s\n"
                     "lifecycle_stage: active\nrun_id: %s\nrun_name: %s\nrun_uuid: %s\n"
                     "source_name: ''\nsource_type: %d\nsource_version: ''\nstart_time: %lld\n"
                     "status: %d\ntags: []\nuser_id: %s\n",
                     r->artifact_uri, end, qexp, r->id, qname, r->id, SOURCE_LOCAL, r->start_ms, status, quser);
    char *meta = join(r->path, "meta.yaml");
    int rc = write_file(meta, text, (size_t)n, e);
    free(meta);
    free(text);
    return rc;
}

static void runlog_free(runlog *r)
{
    if (!r) return;
    free(r->path);
    free(r->exp_id);
    free(r->run_name);
    free(r->user);
    free(r->artifact_uri);
    free(r);
}

/* A one-line copy of s, at most max bytes, control characters as spaces (YAML refuses
 * them even quoted). */
static char *one_line(const char *s, size_t max)
{
    char *c = imdb_xstrndup(s, max);
    for (unsigned char *p = (unsigned char *)c; *p; p++)
        if (*p < 0x20 || *p == 0x7f) *p = ' ';
    return c;
}

runlog *runlog_start(const char *dir, const char *experiment, const char *run_name, const char *source,
                     imdb_err *e)
{
    if (!experiment || !*experiment) experiment = "Default";
    int ctrl = 0;
    for (const unsigned char *p = (const unsigned char *)experiment; *p; p++) ctrl |= *p < 0x20 || *p == 0x7f;
    if (strlen(experiment) > 500 || ctrl) {
        imdb_fail(e, IMDB_EXIT_USAGE, "experiment name '%.40s' has control characters or is over 500 bytes",
                  experiment);
        return NULL;
    }
    runlog *r = imdb_xcalloc(1, sizeof *r);
    char *abs = NULL, *trash = NULL, *def = NULL, *defmeta = NULL;
    if (make_dirs(dir, e) < 0) goto fail;
    if (!(abs = realpath(dir, NULL))) {
        imdb_fail(e, IMDB_EXIT_IO, "%s: %s", dir, strerror(errno));
        goto fail;
    }
    trash = join(dir, ".trash");
    def = join(dir, "0");
    defmeta = join(def, "meta.yaml");
    if (make_dir(trash, e) < 0) goto fail;
    if (access(defmeta, F_OK) != 0 &&
        (make_dir(def, e) < 0 || write_experiment_meta(abs, def, "0", "Default", e) < 0))
        goto fail;
    if (find_experiment(dir, abs, experiment, &r->exp_id, e) < 0) goto fail;
    random_hex(r->id);
    char *expdir = join(dir, r->exp_id);
    r->path = join(expdir, r->id);
    free(expdir);
    r->run_name = one_line(run_name && *run_name ? run_name : r->id, 250);
    const char *user = getenv("USER");
    struct passwd *pw;
    if (!user || !*user) user = (pw = getpwuid(getuid())) ? pw->pw_name : "unknown";
    r->user = one_line(user, 250);
    char *exp_abs = join(abs, r->exp_id), *run_abs = join(exp_abs, r->id), *art_abs = join(run_abs, "artifacts");
    r->artifact_uri = file_uri(art_abs);
    free(exp_abs);
    free(run_abs);
    free(art_abs);
    r->start_ms = now_ms();
    if (make_dir(r->path, e) < 0) goto fail;
    static const char *const subs[] = { "metrics", "params", "tags", "artifacts" };
    for (int i = 0; i < 4; i++) {
        char *s = join(r->path, subs[i]);
        int rc = make_dir(s, e);
        free(s);
        if (rc < 0) goto fail;
    }
    if (write_run_meta(r, RUN_RUNNING, -1, e) < 0 || runlog_tag(r, "mlflow.runName", r->run_name, e) < 0 ||
        runlog_tag(r, "mlflow.source.name", source ? source : "", e) < 0 ||
        runlog_tag(r, "mlflow.source.type", "LOCAL", e) < 0 || runlog_tag(r, "mlflow.user", r->user, e) < 0)
        goto fail;
    free(abs);
    free(trash);
    free(def);
    free(defmeta);
    return r;
fail:
    free(abs);
    free(trash);
    free(def);
    free(defmeta);
    runlog_free(r);
    return NULL;
}

const char *runlog_id(const runlog *r) { return r->id; }
const char *runlog_path(const runlog *r) { return r->path; }

/* MLflow's _validate_param_name / _validate_tag_name / _validate_metric_name. */
static int check_key(const char *what, const char *key, imdb_err *e)
{
    size_t n = strlen(key);
    int ok = n > 0 && n <= 250 && key[0] != '/' && !strstr(key, "..");
    for (const char *p = key; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
             strchr("_-. /", *p);
    if (!ok) return imdb_fail(e, IMDB_EXIT_USAGE, "'%.60s' cannot be an MLflow %s name", key, what);
    return 0;
}

/* path/sub/key, creating the directories of a key with slashes. */
static char *key_path(runlog *r, const char *sub, const char *key, imdb_err *e)
{
    char *d = join(r->path, sub), *p = join(d, key);
    free(d);
    char *slash = strrchr(p, '/');
    *slash = '\0';
    int rc = make_dirs(p, e);
    *slash = '/';
    if (rc < 0) {
        free(p);
        return NULL;
    }
    return p;
}

static int put_value(runlog *r, const char *what, const char *sub, const char *key, const char *value,
                     imdb_err *e)
{
    if (check_key(what, key, e) < 0) return -1;
    char *p = key_path(r, sub, key, e);
    if (!p) return -1;
    int rc = write_file(p, value, strlen(value), e);
    free(p);
    return rc;
}

int runlog_tag(runlog *r, const char *key, const char *value, imdb_err *e)
{
    return put_value(r, "tag", "tags", key, value, e);
}

int runlog_param(runlog *r, const char *key, const char *value, imdb_err *e)
{
    return put_value(r, "param", "params", key, value, e);
}

int runlog_params_text(runlog *r, const char *text, imdb_err *e)
{
    char *copy = imdb_xstrdup(text);
    int rc = 0;
    for (char *line = copy, *next; line && *line && rc == 0; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        char *eq = strstr(line, " = ");
        if (!eq) continue;
        *eq = '\0';
        rc = runlog_param(r, line, eq + 3, e);
    }
    free(copy);
    return rc;
}

int runlog_metric(runlog *r, const char *name, double value, long step, imdb_err *e)
{
    if (isnan(value)) return 0;
    if (check_key("metric", name, e) < 0) return -1;
    char *p = key_path(r, "metrics", name, e);
    if (!p) return -1;
    char line[128];
    int n = snprintf(line, sizeof line, "%lld %.17g %ld\n", now_ms(), value, step);
    int fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666), rc = 0;
    if (fd < 0 || write(fd, line, (size_t)n) != n)
        rc = imdb_fail(e, IMDB_EXIT_IO, "%s: cannot write: %s", p, strerror(errno));
    if (fd >= 0 && close(fd) != 0 && rc == 0)
        rc = imdb_fail(e, IMDB_EXIT_IO, "%s: cannot write: %s", p, strerror(errno));
    free(p);
    return rc;
}

static int check_artifact_name(const char *name, imdb_err *e)
{
    if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return imdb_fail(e, IMDB_EXIT_USAGE, "'%.60s' cannot be an artifact name", name);
    return 0;
}

int runlog_artifact_data(runlog *r, const char *name, const void *data, size_t n, imdb_err *e)
{
    if (check_artifact_name(name, e) < 0) return -1;
    char *d = join(r->path, "artifacts"), *p = join(d, name);
    int rc = write_file(p, data, n, e);
    free(p);
    free(d);
    return rc;
}

int runlog_artifact_file(runlog *r, const char *path, const char *name, imdb_err *e)
{
    if (check_artifact_name(name, e) < 0) return -1;
    char *d = join(r->path, "artifacts"), *p = join(d, name);
    free(d);
    unlink(p);
    if (link(path, p) == 0) {   /* the model is replaced by rename, never rewritten: sharing is safe */
        free(p);
        return 0;
    }
    int rc = -1, fd = open(path, O_RDONLY | O_CLOEXEC);
    outfile *o = NULL;
    if (fd < 0) {
        imdb_fail(e, IMDB_EXIT_IO, "%s: cannot open: %s", path, strerror(errno));
        goto done;
    }
    if (!(o = outfile_open(p, 0, e))) goto done;
    char buf[65536];
    for (;;) {
        ssize_t k = read(fd, buf, sizeof buf);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            imdb_fail(e, IMDB_EXIT_IO, "%s: read error: %s", path, strerror(errno));
            goto done;
        }
        if (k == 0) break;
        if (outfile_write(o, buf, (size_t)k, e) < 0) goto done;
    }
    rc = outfile_commit(o, e);
    o = NULL;
done:
    outfile_abort(o);
    if (fd >= 0) close(fd);
    free(p);
    return rc;
}

int runlog_end(runlog *r, int ok, imdb_err *e)
{
    if (!r) return 0;
    int rc = write_run_meta(r, ok ? RUN_FINISHED : RUN_FAILED, now_ms(), e);
    runlog_free(r);
    return rc;
}
