/* imdb-train — labelled token streams (+ vocabulary) to one model file. */
#include "cli.h"
#include "conf.h"
#include "linear.h"
#include "modelio.h"
#include "text.h"
#include "train.h"
#include "vocab.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(void)
{
    printf("Usage: %s [OPTION]... -O MODEL [TOKENS]...\n", cli_prog);
    fputs("Train a sentiment model on labelled token streams (from imdb-clean) and write it,\n"
          "with its settings, cleaning settings and vocabulary, to one model file.\n"
          "With no TOKENS, or when TOKENS is -, read standard input. Several TOKENS (e.g. the\n"
          "shards of imdb-clean --shard) are read in turn, never concatenated on disk.\n\n"
          "  -k, --kind KIND           model kind (default nblr); see the list below\n"
          "  -m, --model FILE          a trained model to combine (kind ensemble); may be\n"
          "                            repeated; a KIND of the list below is taken as\n"
          "                            the kind (the old spelling of --kind KIND)\n"
          "      --member FILE         the same as -m FILE; same as the setting members\n"
          "  -V, --vocab FILE          vocabulary from imdb-vocab (required by nblr)\n"
          "  -O, --output FILE         model file to write (atomically); required\n"
          "  -c, --config FILE         read settings from FILE (key = value lines)\n"
          "  -o, --set KEY=VALUE       override one setting; may be repeated\n"
          "      --files-from FILE     read more TOKENS paths from FILE, one a line (after\n"
          "                            the TOKENS operands); may be repeated\n"
          "      --average             the operands are nblr models (trained on shards with\n"
          "                            one merged vocabulary): write the model whose weights\n"
          "                            are their means (parameter averaging) and exit\n"
          "      --sort-by-id          order the documents by id (byte order, stable)\n"
          "                            before the split, so the model does not depend\n"
          "                            on the order or sharding of the inputs\n"
          "      --valid-fraction F    hold out F of the documents for validation and early\n"
          "                            stopping (default 0.1; 0 trains on everything)\n"
          "      --seed N              random seed (default 1)\n"
          "      --threads N           worker threads (default 1); same seed and same\n"
          "                            threads give the same model, byte for byte\n"
          "      --curves FILE         write the learning curve (TSV: epoch, train_loss,\n"
          "                            valid_loss, valid_acc, seconds)\n"
          "      --runs-dir DIR        record the run in an MLflow file store under DIR\n"
          "                            (experiment: $MLFLOW_EXPERIMENT_NAME, else Default)\n"
          "      --unlabelled FILE, --unlabeled FILE\n"
          "                            token stream whose text (never its labels) joins\n"
          "                            the unlabelled pool of the kinds that use one\n"
          "                            (word2vec, dvcos); may be repeated\n"
          "      --init-embeddings FILE  start the embedding from word vectors (word2vec\n"
          "                            text or binary format)\n"
          "      --checkpoint FILE     where checkpoints go (default MODEL.ckpt)\n"
          "      --checkpoint-every N  write a checkpoint every N epochs (default 0: never)\n"
          "      --resume FILE         continue the run saved in checkpoint FILE\n"
          "  -q, --quiet               print only errors\n"
          "  -v, --verbose             say more\n"
          "      --help                display this help and exit\n"
          "      --version             output version information and exit\n\n"
          "Settings of nblr (KEY = default): ngrams = 3, alpha = 1 (NB smoothing),\n"
          "c = 0.1 (inverse L2 strength), prior = 0.05 (weight the L2 term pulls\n"
          "towards, in NB units), beta = 1 (NBSVM interpolation; 1 = off), epochs = 30\n"
          "(passes), patience = 3, tol = 0.01, min_df = 3, heldout_folds = 0 (K: store\n"
          "cross-fitted held-out predictions of the training documents, for an ensemble).\n"
          "Soft labels (token streams whose label is P(pos), from imdb-relabel; kinds nblr,\n"
          "mlp, cnn, lstm, bilstm): soft_temperature = 1 (a soft label p becomes\n"
          "s(logit(p) / T)), soft_min_confidence = 0 (drop documents whose soft label has\n"
          "max(p, 1 - p) below it), soft_hard = 0 (1: round soft labels to pos/neg).\n"
          "Command-line options override the config file; -o overrides both.\n\n"
          "Model kinds:\n", stdout);
    for (int i = 0; train_kinds[i]; i++) printf("  %-10s %s\n", train_kinds[i]->kind, train_kinds[i]->summary);
    fputs("\nExit status: 0 success, 1 bad input data, 2 usage error, 4 I/O error,\n"
          "5 training failed (e.g. the loss became NaN).\n", stdout);
    exit(IMDB_EXIT_OK);
}

static const char *const generic_keys[] = { "model", "valid_fraction", "seed", "threads",
                                             "soft_temperature", "soft_min_confidence", "soft_hard", NULL };

static int known(const conf *cfg, const trainer *t, imdb_err *e)
{
    size_t n = 0;
    const char *all[128];
    for (int i = 0; generic_keys[i]; i++) all[n++] = generic_keys[i];
    for (int i = 0; t->keys[i] && n < 127; i++) all[n++] = t->keys[i];
    all[n] = NULL;
    return conf_check_known(cfg, all, e);
}

/* Append path to the space-separated member list and set "members" to it. */
static void add_member(conf *cli, char **list, size_t *len, const char *path)
{
    size_t l = strlen(path);
    *list = imdb_xrealloc(*list, *len + l + 2);
    if (*len) (*list)[(*len)++] = ' ';
    memcpy(*list + *len, path, l + 1);
    *len += l;
    conf_set(cli, "members", *list);
}

/* --files-from FILE: append its lines (paths, one a line; empty lines skipped) to *v. */
static int read_list(const char *path, char ***v, size_t *n, imdb_err *e)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) return imdb_fail(e, IMDB_EXIT_IO, "%s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (len == 0) continue;
        *v = imdb_xrealloc(*v, (*n + 1) * sizeof **v);
        (*v)[(*n)++] = imdb_xstrdup(line);
    }
    int bad = ferror(f);
    free(line);
    if (f != stdin) fclose(f);
    if (bad) return imdb_fail(e, IMDB_EXIT_IO, "%s: read error", path);
    return 0;
}

int main(int argc, char **argv)
{
    cli_init("imdb-train");
    enum { OPT_VALID = 256, OPT_MEMBER, OPT_SEED, OPT_THREADS, OPT_CURVES, OPT_RUNS, OPT_UNLAB, OPT_INITEMB,
           OPT_CKPT, OPT_CKPT_EVERY, OPT_RESUME, OPT_FILES_FROM, OPT_SORT_ID, OPT_AVERAGE, OPT_HELP, OPT_VERSION };
    static const struct option longopts[] = {
        { "kind", required_argument, NULL, 'k' },
        { "model", required_argument, NULL, 'm' },
        { "vocab", required_argument, NULL, 'V' },
        { "member", required_argument, NULL, OPT_MEMBER },
        { "output", required_argument, NULL, 'O' },
        { "config", required_argument, NULL, 'c' },
        { "set", required_argument, NULL, 'o' },
        { "valid-fraction", required_argument, NULL, OPT_VALID },
        { "seed", required_argument, NULL, OPT_SEED },
        { "threads", required_argument, NULL, OPT_THREADS },
        { "curves", required_argument, NULL, OPT_CURVES },
        { "runs-dir", required_argument, NULL, OPT_RUNS },
        { "unlabelled", required_argument, NULL, OPT_UNLAB },
        { "unlabeled", required_argument, NULL, OPT_UNLAB },
        { "init-embeddings", required_argument, NULL, OPT_INITEMB },
        { "checkpoint", required_argument, NULL, OPT_CKPT },
        { "checkpoint-every", required_argument, NULL, OPT_CKPT_EVERY },
        { "resume", required_argument, NULL, OPT_RESUME },
        { "files-from", required_argument, NULL, OPT_FILES_FROM },
        { "sort-by-id", no_argument, NULL, OPT_SORT_ID },
        { "average", no_argument, NULL, OPT_AVERAGE },
        { "quiet", no_argument, NULL, 'q' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, OPT_HELP },
        { "version", no_argument, NULL, OPT_VERSION },
        { NULL, 0, NULL, 0 }
    };
    imdb_err err = { 0 };
    conf *cfg = conf_new(), *cli = conf_new();
    const char *vocab_path = NULL, *out_path = NULL, *curves = NULL;
    const char *config_path = NULL, *runs_dir = NULL, *init_emb = NULL, *ckpt = NULL, *resume = NULL;
    long ckpt_every = 0;
    char *sets[argc], *unlab_paths[argc], *lists[argc];
    int nsets = 0, nunlab = 0, nlists = 0, c, sort_by_id = 0, average = 0;
    char *members = NULL;   /* --member FILE and -m FILE, joined by spaces */
    const char *first_member = NULL;
    size_t members_len = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":k:m:V:O:c:o:qv", longopts, NULL)) != -1) {
        switch (c) {
        case 'k': conf_set(cli, "model", optarg); break;
        case 'm':
            /* -m FILE names a model file, as in every tool; -m KIND is the old spelling of
             * --kind, kept for scripts (so "-m ensemble -m a.model -m b.model" still works). */
            if (train_find(optarg)) {
                conf_set(cli, "model", optarg);
                break;
            }
            /* fall through */
        case OPT_MEMBER:
            if (!first_member) first_member = optarg;
            add_member(cli, &members, &members_len, optarg);
            break;
        case 'V': vocab_path = optarg; break;
        case 'O': out_path = optarg; break;
        case 'c': config_path = optarg; break;
        case 'o': sets[nsets++] = optarg; break;
        case OPT_VALID: cli_double("--valid-fraction", optarg, 0, 0.9); conf_set(cli, "valid_fraction", optarg); break;
        case OPT_SEED: cli_long("--seed", optarg, 0, 0x7fffffffL); conf_set(cli, "seed", optarg); break;
        case OPT_THREADS: cli_long("--threads", optarg, 1, 256); conf_set(cli, "threads", optarg); break;
        case OPT_CURVES: curves = optarg; break;
        case OPT_RUNS: runs_dir = optarg; break;
        case OPT_UNLAB: unlab_paths[nunlab++] = optarg; break;
        case OPT_INITEMB: init_emb = optarg; break;
        case OPT_CKPT: ckpt = optarg; break;
        case OPT_CKPT_EVERY: ckpt_every = cli_long("--checkpoint-every", optarg, 0, 1000000); break;
        case OPT_RESUME: resume = optarg; break;
        case OPT_FILES_FROM: lists[nlists++] = optarg; break;
        case OPT_SORT_ID: sort_by_id = 1; break;
        case OPT_AVERAGE: average = 1; break;
        case 'q': cli_verbose = -1; break;
        case 'v': cli_verbose++; break;
        case OPT_HELP: usage(); break;
        case OPT_VERSION: cli_version(); break;
        default: cli_bad_option(argv, c);
        }
    }
    if (!out_path) cli_usage_error("no output model file given (-O MODEL)");
    if (average) {
        if (optind >= argc) cli_usage_error("--average needs the nblr MODEL files to average");
        conf_free(cfg);
        conf_free(cli);
        free(members);
        if (linear_average((const char *const *)argv + optind, (size_t)(argc - optind), out_path, &err) < 0)
            cli_die(&err);
        return IMDB_EXIT_OK;
    }
    /* Precedence: config file < command-line options < -o KEY=VALUE. */
    if (config_path && conf_read_file(cfg, config_path, &err) < 0) cli_die(&err);
    char *cli_text = conf_format(cli);
    for (char *line = strtok(cli_text, "\n"); line; line = strtok(NULL, "\n")) {
        char *eq = strstr(line, " = ");
        if (eq) { *eq = '\0'; conf_set(cfg, line, eq + 3); }
    }
    free(cli_text);
    conf_free(cli);
    free(members);
    for (int i = 0; i < nsets; i++)
        if (conf_set_arg(cfg, sets[i], &err) < 0) cli_usage_error("%s", err.msg);

    const char *kind;
    conf_string(cfg, "model", "nblr", &kind);
    const trainer *t = train_find(kind);
    if (!t) cli_usage_error("unknown model kind '%s'", kind);
    if (first_member && strcmp(t->kind, "ensemble") != 0 && access(first_member, F_OK) != 0)
        cli_usage_error("unknown model kind '%s'", first_member);   /* -m KIND, misspelt */
    if (first_member && strcmp(t->kind, "ensemble") != 0)
        cli_usage_error("%s: a model file to combine (-m FILE, --member FILE) needs --kind ensemble; "
                        "it is no model kind either (see --help)", first_member);
    if (known(cfg, t, &err) < 0) cli_usage_error("%s", err.msg);
    double valid_fraction, soft_t, soft_conf;
    long seed, threads, soft_hard;
    if (conf_double(cfg, "valid_fraction", 0.1, 0, 0.9, &valid_fraction, &err) < 0 ||
        conf_long(cfg, "seed", 1, 0, 0x7fffffffL, &seed, &err) < 0 ||
        conf_long(cfg, "threads", 1, 1, 256, &threads, &err) < 0)
        cli_usage_error("%s", err.msg);

    vocab *voc = NULL;
    if (vocab_path && !(voc = vocab_read(vocab_path, &err))) cli_die(&err);
    char *clean = voc && vocab_clean(voc) ? imdb_xstrdup(vocab_clean(voc)) : NULL;

    /* Kinds that write their own output (word2vec) learn from text alone: they keep every
     * document, need no labelled ones, and do not wait on stdin when --unlabelled is given. */
    int standalone = t->writes_output;
    train_docs docs = { 0 };
    char **inputs = NULL;
    size_t nin = 0;
    for (int i = optind; i < argc; i++) {
        inputs = imdb_xrealloc(inputs, (nin + 1) * sizeof *inputs);
        inputs[nin++] = imdb_xstrdup(argv[i]);
    }
    for (int i = 0; i < nlists; i++)
        if (read_list(lists[i], &inputs, &nin, &err) < 0) cli_die(&err);
    size_t nread = nin ? nin : standalone && nunlab ? 0 : nlists ? 0 : 1;
    for (size_t i = 0; i < nread; i++) {
        const char *path = nin ? inputs[i] : "-";
        if (train_docs_read(&docs, path, standalone ? -1 : 1, &clean, &err) < 0) cli_die(&err);
    }
    for (size_t i = 0; i < nin; i++) free(inputs[i]);
    free(inputs);
    if (sort_by_id) train_docs_sort_by_id(&docs);
    /* The soft settings are read (and so recorded in the model) only when there are soft
     * labels, so a model of hard labels is the same, byte for byte, as before they existed. */
    if (docs.nsoft) {
        if (conf_double(cfg, "soft_temperature", 1, 0.01, 100, &soft_t, &err) < 0 ||
            conf_double(cfg, "soft_min_confidence", 0, 0, 1, &soft_conf, &err) < 0 ||
            conf_long(cfg, "soft_hard", 0, 0, 1, &soft_hard, &err) < 0)
            cli_usage_error("%s", err.msg);
        size_t nsoft = docs.nsoft, dropped = train_docs_soften(&docs, soft_t, soft_conf, (int)soft_hard);
        if (cli_verbose >= 0)
            cli_msg("%zu documents with soft labels: %zu kept, %zu below soft_min_confidence %g%s",
                    nsoft, nsoft - dropped, dropped, soft_conf, soft_hard ? ", rounded to pos/neg" : "");
        if (docs.nsoft && !t->soft_labels && !standalone) {
            imdb_fail(&err, IMDB_EXIT_DATA, "%s: soft label: kind %s learns from pos/neg labels only "
                      "(soft labels train nblr, mlp, cnn, lstm and bilstm; or set soft_hard = 1)",
                      docs.soft_at, t->kind);
            cli_die(&err);
        }
    }
    if (docs.n == 0 && !standalone) {
        imdb_fail(&err, IMDB_EXIT_DATA, "no labelled documents in the input");
        cli_die(&err);
    }
    if (!clean) {
        text_settings ts;
        text_settings_default(&ts);
        clean = text_settings_format(&ts);
        text_settings_free(&ts);
        if (cli_verbose >= 0) cli_msg("warning: the input has no #imdb-tokens header; assuming default cleaning");
    }

    train_docs unlab = { 0 };
    for (int i = 0; i < nunlab; i++)
        if (train_docs_read(&unlab, unlab_paths[i], -1, &clean, &err) < 0) cli_die(&err);
    char *ckpt_default = NULL;
    if (!ckpt) {
        size_t l = strlen(out_path) + 6;
        ckpt_default = imdb_xmalloc(l);
        snprintf(ckpt_default, l, "%s.ckpt", out_path);
        ckpt = ckpt_default;
    }
    train_ctx ctx = { .cfg = cfg, .voc = voc, .clean = clean, .docs = &docs, .unlab = &unlab,
                      .seed = (uint64_t)seed, .threads = (int)threads, .init_embeddings = init_emb,
                      .checkpoint = ckpt, .checkpoint_every = ckpt_every, .resume = resume,
                      .output = out_path };
    train_split(&ctx, valid_fraction);
    if (cli_verbose >= 0 && !standalone)
        cli_msg("%s: %zu documents: %zu for training, %zu for validation", t->kind, docs.n, ctx.ntr, ctx.nva);
    modelio_writer *w = NULL;
    if (!standalone && !(w = modelio_create(out_path, &err))) cli_die(&err);
    /* --runs-dir: an MLflow run named after the output file, in the experiment named by
     * MLFLOW_EXPERIMENT_NAME (as MLflow's own clients read it), else "Default". */
    char *given = conf_format(cfg);
    const char *slash = strrchr(out_path, '/');
    trainlog_run run = { .dir = runs_dir, .experiment = getenv("MLFLOW_EXPERIMENT_NAME"),
                         .name = strcmp(out_path, "-") == 0 ? t->kind : slash ? slash + 1 : out_path,
                         .kind = t->kind, .params = given };
    ctx.log = trainlog_new(curves, &run, &err);
    free(given);
    if (!ctx.log) { modelio_abort(w); cli_die(&err); }
    if (t->train(&ctx, w, &err) < 0) {
        trainlog_abort(ctx.log);
        modelio_abort(w);
        cli_die(&err);
    }
    char *params = conf_format(cfg);
    if (w && (modelio_add_str(w, "kind", t->kind, &err) < 0 || modelio_add_str(w, "params", params, &err) < 0 ||
              modelio_add_str(w, "clean", clean, &err) < 0)) {
        trainlog_abort(ctx.log);
        modelio_abort(w);
        cli_die(&err);
    }
    if (w && modelio_commit(w, &err) < 0) { trainlog_abort(ctx.log); cli_die(&err); }
    /* After the commit: the run keeps a copy of the finished model. */
    if (trainlog_finish(ctx.log, params, out_path, &err) < 0) cli_die(&err);
    free(params);
    free(clean);
    free(ctx.tr);
    free(ctx.va);
    train_docs_free(&docs);
    train_docs_free(&unlab);
    free(ckpt_default);
    vocab_free(voc);
    conf_free(cfg);
    return IMDB_EXIT_OK;
}
