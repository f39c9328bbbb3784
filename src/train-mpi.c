/* train-mpi.c — see train-mpi.h. */
#include "train-mpi.h"
#include "cli.h"
#include "linear_newton.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifdef IMDB_MPI
#include <mpi.h>

static int active, the_rank, the_size;
static lnewton_comm comm;

static int mpi_error(int rc, const char *what, imdb_err *e)
{
    char s[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, s, &len);
    return imdb_fail(e, IMDB_EXIT_IO, "%s failed: %s", what, s);
}

/* Wait until every rank has arrived, sleeping: Open MPI's blocking collectives poll, and
 * a rank that polls (even yielding, as with --oversubscribe) takes CPU time from the ranks
 * still computing when there are more ranks than cores. An MPI_Ibarrier tested after
 * sleeps of 20 us growing to 1 ms; then the collective itself finds everyone there. */
static int arrive(imdb_err *e)
{
    MPI_Request rq;
    int rc = MPI_Ibarrier(MPI_COMM_WORLD, &rq), done = 0;
    if (rc != MPI_SUCCESS) return mpi_error(rc, "MPI_Ibarrier", e);
    long ns = 20000;
    for (int spin = 0; !done; spin++) {
        if ((rc = MPI_Test(&rq, &done, MPI_STATUS_IGNORE)) != MPI_SUCCESS) return mpi_error(rc, "MPI_Test", e);
        if (done || spin < 50) continue;
        struct timespec ts = { 0, ns };
        nanosleep(&ts, NULL);
        if (ns < 1000000) ns += ns / 4;
    }
    return 0;
}

/* MPI_Allreduce and MPI_Bcast counts are ints: long vectors go in pieces (the same pieces
 * on every rank). */
static int mpi_sum(void *ctx, int64_t *v, size_t n, imdb_err *e)
{
    (void)ctx;
    const size_t piece = (size_t)1 << 28;
    if (arrive(e) < 0) return -1;
    for (size_t at = 0; at < n; at += piece) {
        int cnt = (int)(n - at < piece ? n - at : piece);
        int rc = MPI_Allreduce(MPI_IN_PLACE, v + at, cnt, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_error(rc, "MPI_Allreduce", e);
    }
    return 0;
}

static int mpi_bcast(void *ctx, void *buf, size_t n, imdb_err *e)
{
    (void)ctx;
    const size_t piece = (size_t)1 << 30;
    if (arrive(e) < 0) return -1;
    for (size_t at = 0; at < n; at += piece) {
        int cnt = (int)(n - at < piece ? n - at : piece);
        int rc = MPI_Bcast((char *)buf + at, cnt, MPI_BYTE, 0, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_error(rc, "MPI_Bcast", e);
    }
    return 0;
}

int train_mpi_built(void) { return 1; }

int train_mpi_init(int *argc, char ***argv, int *rank, int *size)
{
    *rank = 0;
    *size = 1;
    /* Only under a launcher: a singleton MPI_Init would start Open MPI's daemon. */
    if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMIX_RANK") && !getenv("PMI_RANK")) return 0;
    if (MPI_Init(argc, argv) != MPI_SUCCESS) {
        fprintf(stderr, "%s: MPI_Init failed\n", cli_prog);
        exit(IMDB_EXIT_IO);
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &the_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &the_size);
    /* Errors come back as codes (mpi_sum says them), not as Open MPI's abort. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    comm = (lnewton_comm){ .sum = mpi_sum, .bcast = mpi_bcast, .rank = the_rank, .size = the_size };
    lnewton_set_comm(&comm);
    active = 1;
    *rank = the_rank;
    *size = the_size;
    return 1;
}

void train_mpi_fail(const char *msg, int status)
{
    fprintf(stderr, "%s: rank %d of %d: %s\n", cli_prog, the_rank, the_size, msg);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, status ? status : 1);
    exit(status ? status : 1);
}

void train_mpi_finish(void)
{
    if (active) MPI_Finalize();
    active = 0;
}
#else
int train_mpi_built(void) { return 0; }
int train_mpi_init(int *argc, char ***argv, int *rank, int *size)
{
    (void)argc;
    (void)argv;
    *rank = 0;
    *size = 1;
    return 0;
}
void train_mpi_fail(const char *msg, int status)
{
    fprintf(stderr, "%s: %s\n", cli_prog, msg);
    exit(status);
}
void train_mpi_finish(void) {}
#endif
