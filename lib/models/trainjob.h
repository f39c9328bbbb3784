/* trainjob.h — the whole job of imdb-train(1), as a library call: the settings (config
 * file < command-line options < -o KEY=VALUE), the token streams read in turn, the
 * vocabulary, soft labels, the seeded train/validation split, the kind's trainer (kinds.h),
 * the learning curve and the MLflow run (trainlog.h), and the model file written
 * atomically; or, with average, the mean of nblr models (linear_average).
 *
 * imdb-train's main fills a trainjob_opts from its options and calls trainjob_run with
 * the imdb_log that prints on stderr; what the job says goes there, in the order it
 * happens (the messages of imdb-train(1)). */
#ifndef IMDB_TRAINJOB_H
#define IMDB_TRAINJOB_H
#include <stddef.h>
#include "util.h"
#include "conf.h"

typedef struct trainjob_opts {
    const char *prog;             /* the program, recorded as the run's source: "imdb-train" */
    const char *output;           /* -O: the model file ("-" = stdout), or the kind's output */
    const char *config;           /* -c FILE, or NULL */
    const conf *options;          /* the settings given as options (--kind, --member,
                                     --seed, ...), in the order given; NULL for none */
    const char *const *sets;      /* (nsets) -o KEY=VALUE, applied last */
    size_t nsets;
    const char *first_member;     /* the first -m/--member FILE, or NULL: checked against
                                     the kind (a misspelt -m KIND) */
    const char *vocab;            /* -V FILE, or NULL */
    const char *const *inputs;    /* (ninputs) TOKENS operands; with average the models */
    size_t ninputs;
    const char *const *lists;     /* (nlists) --files-from FILEs: more TOKENS, one a line */
    size_t nlists;
    const char *const *unlabelled;  /* (nunlabelled) --unlabelled FILEs */
    size_t nunlabelled;
    const char *curves;           /* --curves FILE, or NULL */
    const char *runs_dir;         /* --runs-dir DIR, or NULL */
    const char *experiment;       /* the MLflow experiment (NULL: "Default") */
    const char *init_embeddings;  /* --init-embeddings FILE, or NULL */
    int force;                    /* --force (train_ctx.force) */
    const char *checkpoint;       /* --checkpoint FILE, or NULL for OUTPUT.ckpt */
    long checkpoint_every;        /* --checkpoint-every N (0: none) */
    const char *resume;           /* --resume FILE, or NULL */
    int sort_by_id;               /* --sort-by-id */
    int average;                  /* --average: write the mean of the nblr models inputs */
    size_t memory;                /* --memory SIZE in bytes (0: no limit; kinds that stream) */
    const char *tmpdir;           /* --tmpdir DIR, or NULL ($TMPDIR, else /tmp) */
} trainjob_opts;

/* The status trainjob_run returns when the fault is in the command line or the settings
 * (an unknown kind or setting, a value out of range): e->status is IMDB_EXIT_USAGE and the
 * tool adds its "Try --help" line, as for its own usage errors. */
#define TRAINJOB_USAGE (-2)

/* Run the job. Returns 0 when the output is complete; -1 with e filled on failure (no
 * output then: the model file is written atomically), or TRAINJOB_USAGE. log may be NULL
 * (silent). With no inputs and no lists, the job reads standard input ("-"), except for a
 * kind that writes its own output (word2vec) given unlabelled streams. */
int trainjob_run(const trainjob_opts *o, const imdb_log *log, imdb_err *e);
#endif
