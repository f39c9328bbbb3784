/* train-mpi.h — imdb-train under MPI (issue 23): when the process was started by an MPI
 * launcher (mpirun, or srun with PMIx), initialise MPI and hand linear_newton.h the
 * communicator, an MPI_Allreduce of int64 sums over MPI_COMM_WORLD. Only imdb-train links
 * MPI (configure --with-mpi; without it these are stubs that say "not under MPI"). */
#ifndef IMDB_TRAIN_MPI_H
#define IMDB_TRAIN_MPI_H

/* 1 if this build has MPI. */
int train_mpi_built(void);
/* Under a launcher: MPI_Init, lnewton_set_comm, and *rank, *size set; returns 1. Otherwise
 * (or without MPI) 0 with rank 0 of 1. Exits with a message if MPI_Init fails. */
int train_mpi_init(int *argc, char ***argv, int *rank, int *size);
/* A rank failed: say so on stderr naming the rank ("imdb-train: rank K of N: MSG") and
 * abort every rank with status (MPI_Abort). Only after train_mpi_init returned 1. */
void train_mpi_fail(const char *msg, int status) __attribute__((noreturn));
/* MPI_Finalize, when train_mpi_init returned 1. */
void train_mpi_finish(void);
#endif
