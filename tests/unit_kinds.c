/* unit_kinds.c — the one registry of model kinds (kinds.h) agrees with the kinds' own
 * names and is what clf_open and train_find look in; the library's log (util.h: levels,
 * long messages, progress hooks, silence); and imdb-train's job (trainjob.h) says what
 * it does through the caller's imdb_log only, in order, at the levels of -q and -v,
 * writes nothing on stderr or stdout itself, and tells usage errors from the others. */
#include "clf.h"
#include "conf.h"
#include "kinds.h"
#include "modelio.h"
#include "train.h"
#include "trainjob.h"
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/unit_kinds.XXXXXX";

/* name in the scratch directory; the caller frees the string. */
static char *in_dir(const char *name)
{
    size_t l = strlen(dir) + strlen(name) + 2;
    char *p = malloc(l);
    if (!p) { printf("FAIL: out of memory\n"); exit(1); }
    snprintf(p, l, "%s/%s", dir, name);
    return p;
}

/* ---- the registry ------------------------------------------------------------------ */

static void test_registry(void)
{
    static const char *const want[] = { "nblr", "word2vec", "lstm", "bilstm", "mlp", "cnn", "regemb", "regcnn",
                                        "dvcos", "ensemble" };
    size_t n = 0;
    for (const kinds_entry *k = kinds_table; k->name; k++, n++) {
        CHECK(n < sizeof want / sizeof *want && strcmp(k->name, want[n]) == 0, "entry %zu is %s", n, k->name);
        CHECK(k->clf || k->train, "%s: neither a classifier nor a trainer", k->name);
        CHECK(!k->clf || strcmp(k->clf->kind, k->name) == 0, "%s: its clf_ops say %s", k->name,
              k->clf ? k->clf->kind : "");
        CHECK(!k->train || strcmp(k->train->kind, k->name) == 0, "%s: its trainer says %s", k->name,
              k->train ? k->train->kind : "");
        CHECK(kinds_find(k->name) == k, "kinds_find(%s) is another entry", k->name);
        CHECK(train_find(k->name) == k->train, "train_find(%s) is not the table's trainer", k->name);
        for (const kinds_entry *j = kinds_table; j != k; j++)
            CHECK(strcmp(j->name, k->name) != 0, "%s is listed twice", k->name);
    }
    CHECK(n == sizeof want / sizeof *want, "%zu kinds, want %zu", n, sizeof want / sizeof *want);
    CHECK(kinds_find("word2vec") && !kinds_find("word2vec")->clf, "word2vec has a classifier");
    CHECK(!kinds_find("nosuch") && !train_find("nosuch") && !kinds_find("ckpt") && !kinds_find(""),
          "unknown kinds are found");

    /* clf_open looks in the same table: a file of kind word2vec or regemb (no classifier)
     * or of an unknown kind is refused by name. */
    CHECK(kinds_find("regemb") && !kinds_find("regemb")->clf, "regemb has a classifier");
    static const char *const refused[] = { "word2vec", "regemb", "ckpt", "nosuch" };
    char *path = in_dir("k.model");
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        imdb_err e = { 0 };
        modelio_writer *w = modelio_create(path, &e);
        CHECK(w && test_model_commit(w, refused[i], "", "", &e) == 0, "write: %s", e.msg);
        clf *c = clf_load(path, &e);
        const char *why = i < 2 ? "does not classify" : "unknown model kind";
        CHECK(!c && e.status == IMDB_EXIT_DATA && strstr(e.msg, why) && strstr(e.msg, refused[i]),
              "kind %s: %s", refused[i], c ? "loaded" : e.msg);
        clf_free(c);
        unlink(path);
    }
    free(path);
}

/* ---- the log ----------------------------------------------------------------------- */

/* What a capturing imdb_log received: one line "LEVEL MESSAGE" each, and the bars. */
typedef struct capture {
    char text[65536];
    size_t len;
    int begun, updates, ended, long_len;
} capture;

static void cap_line(void *ctx, int level, const char *msg)
{
    capture *c = ctx;
    size_t l = strlen(msg);
    if (l > 2000) { c->long_len = (int)l; return; }
    if (c->len + l + 8 < sizeof c->text) c->len += (size_t)snprintf(c->text + c->len, sizeof c->text - c->len,
                                                                    "%d %s\n", level, msg);
}

static void *cap_begin(void *ctx, const char *what, uint64_t total, const char *unit)
{
    capture *c = ctx;
    c->begun++;
    (void)what; (void)total; (void)unit;
    return c;
}
static void cap_update(void *bar, uint64_t done) { ((capture *)bar)->updates++; (void)done; }
static void cap_end(void *bar) { ((capture *)bar)->ended++; }

static void test_log(void)
{
    capture c = { .len = 0 };
    imdb_log l = { .fn = cap_line, .ctx = &c, .level = IMDB_LOG_INFO, .bar_begin = cap_begin,
                   .bar_update = cap_update, .bar_end = cap_end };
    imdb_logf(&l, IMDB_LOG_INFO, "a %d", 1);
    imdb_logf(&l, IMDB_LOG_VERBOSE, "hidden %d", 2);
    l.level = IMDB_LOG_VERBOSE;
    imdb_logf(&l, IMDB_LOG_VERBOSE, "b %s", "x");
    imdb_logf(&l, IMDB_LOG_DEBUG, "hidden too");
    l.level = -1;   /* -q */
    imdb_logf(&l, IMDB_LOG_INFO, "quiet");
    CHECK(strcmp(c.text, "0 a 1\n1 b x\n") == 0, "messages: '%s'", c.text);
    CHECK(imdb_log_on(&l, IMDB_LOG_INFO) == 0 && !imdb_log_on(NULL, IMDB_LOG_INFO), "imdb_log_on when quiet");
    l.level = IMDB_LOG_INFO;
    CHECK(imdb_log_on(&l, IMDB_LOG_INFO) == 1 && imdb_log_on(&l, IMDB_LOG_VERBOSE) == 0, "imdb_log_on");

    /* A message longer than any buffer arrives whole. */
    char path[3001];
    memset(path, 'p', 3000);
    path[3000] = '\0';
    imdb_logf(&l, IMDB_LOG_INFO, "%s: %s", "file", path);
    CHECK(c.long_len == 3006, "a long message has %d bytes, want 3006", c.long_len);

    /* Progress: begin, updates, end once; without hooks (or without a log) nothing. */
    imdb_progress p = imdb_progress_begin(&l, "work", 10, "docs");
    for (int i = 1; i <= 10; i++) imdb_progress_update(&p, (uint64_t)i);
    imdb_progress_end(&p);
    imdb_progress_end(&p);
    imdb_progress_update(&p, 11);
    CHECK(c.begun == 1 && c.updates == 10 && c.ended == 1, "progress: %d begun, %d updates, %d ended",
          c.begun, c.updates, c.ended);
    imdb_log bare = { .fn = cap_line, .ctx = &c, .level = IMDB_LOG_INFO };
    imdb_progress q = imdb_progress_begin(&bare, "work", 10, "docs"), r = imdb_progress_begin(NULL, "w", 1, "");
    imdb_progress_update(&q, 1);
    imdb_progress_update(&r, 1);
    imdb_progress_end(&q);
    imdb_progress_end(&r);
    CHECK(q.bar == NULL && r.bar == NULL && c.begun == 1 && c.updates == 10, "a log without hooks drew a bar");
    imdb_logf(NULL, IMDB_LOG_INFO, "nowhere");   /* must not crash */
}

/* ---- the training job -------------------------------------------------------------- */

/* A token stream without header (so the job warns) of 40 documents. */
static void write_tokens(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) { printf("FAIL: cannot write %s\n", path); exit(1); }
    for (int i = 0; i < 40; i++)
        fprintf(f, "%s\td%02d\t%s movie %s\n", i % 2 ? "pos" : "neg", i, i % 2 ? "good great" : "bad awful",
                i % 3 ? "plot" : "actors");
    fclose(f);
}

/* Run the job with output and stderr/stdout sent to files; the capture gets the log. */
static int run_job(const trainjob_opts *o, int level, capture *c, imdb_err *e, long *printed)
{
    char *out = in_dir("printed");
    memset(c, 0, sizeof *c);
    imdb_log l = { .fn = cap_line, .ctx = c, .level = level, .bar_begin = cap_begin, .bar_update = cap_update,
                   .bar_end = cap_end };
    fflush(stdout);
    fflush(stderr);
    int save1 = dup(1), save2 = dup(2), fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    int rc = trainjob_run(o, &l, e);
    fflush(stdout);
    fflush(stderr);
    dup2(save1, 1);
    dup2(save2, 2);
    close(save1);
    close(save2);
    close(fd);
    struct stat st;
    *printed = stat(out, &st) == 0 ? (long)st.st_size : -1;
    unlink(out);
    free(out);
    return rc;
}

/* The lines of c at level, without the timings of the epoch lines. */
static int has_line(const capture *c, const char *prefix)
{
    for (const char *p = c->text; *p; p = strchr(p, '\n') + 1) {
        if (strncmp(p, prefix, strlen(prefix)) == 0) return 1;
        if (!strchr(p, '\n')) break;
    }
    return 0;
}

static int count_lines(const capture *c)
{
    int n = 0;
    for (const char *p = c->text; *p; p++) n += *p == '\n';
    return n;
}

static void test_job(void)
{
    char *tok = in_dir("t.tok"), *model = in_dir("m.model"), *ckpt = in_dir("m.model.ckpt"),
         *none = in_dir("none.tok");
    write_tokens(tok);
    const char *inputs[] = { tok };
    conf *opts = conf_new();
    conf_set(opts, "model", "mlp");
    conf_set(opts, "seed", "5");
    const char *sets[] = { "dim=4", "dense=4", "epochs=2", "min_count=1", "max_len=20" };
    trainjob_opts o = { .prog = "unit_kinds", .output = model, .options = opts, .sets = sets,
                        .nsets = 5, .inputs = inputs, .ninputs = 1 };
    capture c;
    imdb_err e = { 0 };
    long printed;

    /* Default level: the warning, the split, two epochs, the epoch kept, in this order. */
    int rc = run_job(&o, IMDB_LOG_INFO, &c, &e, &printed);
    CHECK(rc == 0, "job: %s", e.msg);
    CHECK(printed == 0, "the job printed %ld bytes itself", printed);
    CHECK(count_lines(&c) == 5, "%d messages at the default level:\n%s", count_lines(&c), c.text);
    const char *order[] = { "0 warning: the input has no #imdb-tokens header; assuming default cleaning\n",
                            "0 mlp: 40 documents: 36 for training, 4 for validation\n", "0 epoch 1/2  train_loss ",
                            "0 epoch 2/2  train_loss ", "0 mlp: kept epoch " };
    const char *p = c.text;
    for (size_t i = 0; i < 5; i++) {
        const char *q = strstr(p, order[i]);
        CHECK(q == p, "message %zu is not '%s' in:\n%s", i, order[i], c.text);
        p = q ? strchr(q, '\n') + 1 : p;
    }
    CHECK(c.begun == 2 && c.ended == 2 && c.updates > 0, "progress: %d bars, %d ended, %d updates", c.begun,
          c.ended, c.updates);
    struct stat st;
    CHECK(stat(model, &st) == 0 && st.st_size > 0, "no model written");
    size_t n1, n2;
    char *m1 = test_slurp(model, &n1);

    /* -v says more, and the same model comes out; -q says nothing and draws nothing. */
    rc = run_job(&o, IMDB_LOG_VERBOSE, &c, &e, &printed);
    CHECK(rc == 0 && printed == 0 && count_lines(&c) == 6 && has_line(&c, "1 mlp: "),
          "-v: rc %d, printed %ld, messages:\n%s", rc, printed, c.text);
    rc = run_job(&o, -1, &c, &e, &printed);
    CHECK(rc == 0 && printed == 0 && c.len == 0 && c.begun == 0, "-q: rc %d (%s), printed %ld, messages:\n%s",
          rc, e.msg, printed, c.text);
    char *m2 = test_slurp(model, &n2);
    CHECK(n1 == n2 && memcmp(m1, m2, n1) == 0, "the model depends on the log level");
    free(m1);
    free(m2);

    /* Usage errors are told apart (the tool adds its --help line); the others are not. */
    conf_set(opts, "model", "nosuch");
    rc = run_job(&o, IMDB_LOG_INFO, &c, &e, &printed);
    CHECK(rc == TRAINJOB_USAGE && e.status == IMDB_EXIT_USAGE && strcmp(e.msg, "unknown model kind 'nosuch'") == 0,
          "unknown kind: rc %d, status %d, '%s'", rc, e.status, e.msg);
    conf_set(opts, "model", "mlp");
    const char *bad[] = { "dim=4", "bogus" };
    o.sets = bad;
    o.nsets = 2;
    rc = run_job(&o, IMDB_LOG_INFO, &c, &e, &printed);
    CHECK(rc == TRAINJOB_USAGE && e.status == IMDB_EXIT_USAGE, "-o bogus: rc %d, status %d, '%s'", rc, e.status, e.msg);
    o.sets = sets;
    o.nsets = 5;
    const char *missing[] = { none };
    o.inputs = missing;
    unlink(model);
    rc = run_job(&o, IMDB_LOG_INFO, &c, &e, &printed);
    CHECK(rc == -1 && e.status == IMDB_EXIT_IO && strstr(e.msg, "none.tok") && printed == 0 && c.len == 0,
          "missing input: rc %d, status %d, '%s', %zu bytes said", rc, e.status, e.msg, c.len);
    CHECK(access(model, F_OK) != 0, "a failed job left a model");
    conf_free(opts);
    unlink(tok);
    unlink(ckpt);
    free(tok); free(model); free(ckpt); free(none);
}

int main(void)
{
    if (!mkdtemp(dir)) { printf("FAIL: mkdtemp\n"); return 1; }
    test_registry();
    test_log();
    test_job();
    CHECK(rmdir(dir) == 0, "files left in %s", dir);
    return test_status("unit_kinds");
}
