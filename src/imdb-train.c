/* imdb-train — labelled token streams (+ vocabulary) to one model file. The job is
 * trainjob_run (trainjob.h); this file parses the options, prints what the job says and
 * chooses the exit status. */
#include "cli.h"
#include "conf.h"
#include "kinds.h"
#include "trainjob.h"
#include "train-mpi.h"

#include <getopt.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
          "  -S, --memory SIZE         nblr: train in about SIZE bytes of memory (suffix K,\n"
          "                            M, G; the peak RSS, all included), the documents'\n"
          "                            features in a block cache in --tmpdir (default: no\n"
          "                            limit, the cache in memory); the model does not\n"
          "                            depend on it\n"
          "  -T, --tmpdir DIR          directory of the cache (default: $TMPDIR, else /tmp)\n"
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
          "      --force               accept region embeddings (regcnn's embeddings)\n"
          "                            made with another vocabulary or cleaning\n"
          "  -q, --quiet               print only errors\n"
          "  -v, --verbose             say more\n"
          "      --help                display this help and exit\n"
          "      --version             output version information and exit\n\n"
          "Settings of nblr (KEY = default): ngrams = 3, alpha = 1 (NB smoothing),\n"
          "c = 0.1 (inverse L2 strength), prior = 0.05 (weight the L2 term pulls\n"
          "towards, in NB units), beta = 1 (NBSVM interpolation; 1 = off), epochs = 30\n"
          "(passes), patience = 3, tol = 0.01, min_df = 3, heldout_folds = 0 (K: store\n"
          "cross-fitted held-out predictions of the training documents, for an ensemble),\n"
          "block_docs = 1024 (documents a block of the cache, laid out in a seeded random\n"
          "order; each epoch visits the blocks, and each block's documents, shuffled),\n"
          "solver = dual (tron: the same objective by trust-region Newton, run to\n"
          "newton_eps = 1e-4 or newton_iter = 100, with newton_c, newton_prior; exact over\n"
          "MPI ranks).\n"
          "Soft labels (token streams whose label is P(pos), from imdb-relabel; kinds nblr,\n"
          "mlp, cnn, lstm, bilstm): soft_temperature = 1 (a soft label p becomes\n"
          "s(logit(p) / T)), soft_min_confidence = 0 (drop documents whose soft label has\n"
          "max(p, 1 - p) below it), soft_hard = 0 (1: round soft labels to pos/neg).\n"
          "Imbalanced classes (set only when given): class_weight = balanced or\n"
          "pos:W,neg:W (nblr, lstm, bilstm, mlp, cnn, regcnn), class_weight_nb = 0 (nblr:\n"
          "1 weights the NB counts too), undersample = RATIO (the larger class at most\n"
          "RATIO times the smaller in the training part), threshold = auto (nblr: chosen\n"
          "on held-out predictions, for balanced accuracy) or X: stored in the model.\n"
          "Command-line options override the config file; -o overrides both.\n\n"
          "Model kinds:\n", stdout);
    for (const kinds_entry *k = kinds_table; k->name; k++)
        if (k->train) printf("  %-10s %s\n", k->name, k->train->summary);
    if (train_mpi_built())
        fputs("\nUnder mpirun (this build has MPI): every rank runs the same command line, rank K\n"
              "of N trains nblr on the documents whose id hashes to K (as imdb-clean --shard K/N),\n"
              "or, when N divides the number of TOKENS, on the TOKENS K, K+N, ... only, with\n"
              "solver = tron; rank 0 reads the vocabulary, sends the others its features, and\n"
              "writes MODEL.\n", stdout);
    fputs("\nExit status: 0 success, 1 bad input data, 2 usage error, 4 I/O error,\n"
          "5 training failed (e.g. the loss became NaN).\n", stdout);
    exit(IMDB_EXIT_OK);
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

int main(int argc, char **argv)
{
    cli_init("imdb-train");
    int mpi_rank, mpi_size, mpi = train_mpi_init(&argc, &argv, &mpi_rank, &mpi_size);
    enum { OPT_VALID = 256, OPT_MEMBER, OPT_SEED, OPT_THREADS, OPT_CURVES, OPT_RUNS, OPT_UNLAB, OPT_INITEMB,
           OPT_CKPT, OPT_CKPT_EVERY, OPT_RESUME, OPT_FILES_FROM, OPT_SORT_ID, OPT_AVERAGE, OPT_FORCE, OPT_HELP, OPT_VERSION };
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
        { "memory", required_argument, NULL, 'S' },
        { "tmpdir", required_argument, NULL, 'T' },
        { "average", no_argument, NULL, OPT_AVERAGE },
        { "force", no_argument, NULL, OPT_FORCE },
        { "quiet", no_argument, NULL, 'q' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, OPT_HELP },
        { "version", no_argument, NULL, OPT_VERSION },
        { NULL, 0, NULL, 0 }
    };
    imdb_err err = { 0 };
    conf *cli = conf_new();
    trainjob_opts o = { .prog = cli_prog, .options = cli, .experiment = getenv("MLFLOW_EXPERIMENT_NAME") };
    const char *sets[argc], *unlab_paths[argc], *lists[argc];
    int c;
    char *members = NULL;   /* --member FILE and -m FILE, joined by spaces */
    size_t members_len = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":k:m:V:O:c:o:S:T:qv", longopts, NULL)) != -1) {
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
            if (!o.first_member) o.first_member = optarg;
            add_member(cli, &members, &members_len, optarg);
            break;
        case 'V': o.vocab = optarg; break;
        case 'O': o.output = optarg; break;
        case 'c': o.config = optarg; break;
        case 'o': sets[o.nsets++] = optarg; break;
        case OPT_VALID: cli_double("--valid-fraction", optarg, 0, 0.9); conf_set(cli, "valid_fraction", optarg); break;
        case OPT_SEED: cli_long("--seed", optarg, 0, 0x7fffffffL); conf_set(cli, "seed", optarg); break;
        case OPT_THREADS: cli_long("--threads", optarg, 1, 256); conf_set(cli, "threads", optarg); break;
        case OPT_CURVES: o.curves = optarg; break;
        case OPT_RUNS: o.runs_dir = optarg; break;
        case OPT_UNLAB: unlab_paths[o.nunlabelled++] = optarg; break;
        case OPT_INITEMB: o.init_embeddings = optarg; break;
        case OPT_CKPT: o.checkpoint = optarg; break;
        case OPT_CKPT_EVERY: o.checkpoint_every = cli_long("--checkpoint-every", optarg, 0, 1000000); break;
        case OPT_RESUME: o.resume = optarg; break;
        case OPT_FILES_FROM: lists[o.nlists++] = optarg; break;
        case OPT_SORT_ID: o.sort_by_id = 1; break;
        case 'S': o.memory = cli_size("--memory", optarg, 1); break;
        case 'T': o.tmpdir = optarg; break;
        case OPT_AVERAGE: o.average = 1; break;
        case OPT_FORCE: o.force = 1; break;
        case 'q': cli_verbose = -1; break;
        case 'v': cli_verbose++; break;
        case OPT_HELP: usage(); break;
        case OPT_VERSION: cli_version(); break;
        default: cli_bad_option(argv, c);
        }
    }
    if (!o.output) cli_usage_error("no output model file given (-O MODEL)");
    if (o.average && optind >= argc) cli_usage_error("--average needs the nblr MODEL files to average");
    o.sets = sets;
    o.unlabelled = unlab_paths;
    o.lists = lists;
    o.inputs = (const char *const *)argv + optind;
    o.ninputs = (size_t)(argc - optind);
    if (!o.tmpdir) o.tmpdir = getenv("TMPDIR");
    if (mpi && mpi_rank != 0) {
        /* Rank 0 writes the model and says what happened; the others only their errors. */
        o.output = "/dev/null";
        o.curves = o.runs_dir = NULL;
        cli_verbose = -1;
        /* nblr: only rank 0 reads the vocabulary; it sends the others its features. */
        if (mpi_size > 1) o.vocab = NULL;
    }
    int rc = trainjob_run(&o, cli_log(), &err);
    if (rc == 0 && cli_verbose > 0) {
        struct rusage ru;
        if (getrusage(RUSAGE_SELF, &ru) == 0) cli_msg("peak RSS %ld KB", ru.ru_maxrss);
    }
    conf_free(cli);
    free(members);
    if (mpi && rc < 0) train_mpi_fail(err.msg, rc == TRAINJOB_USAGE ? IMDB_EXIT_USAGE : err.status);
    if (rc == TRAINJOB_USAGE) cli_usage_error("%s", err.msg);
    if (rc < 0) cli_die(&err);
    train_mpi_finish();
    return IMDB_EXIT_OK;
}
