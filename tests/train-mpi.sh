#!/bin/sh
# train-mpi.sh — nblr under MPI (issue 23): mpirun -np 1, 2 and 4 with one command line
# give the model of one process with solver = tron, byte for byte (ranks hold the
# documents whose id hashes to them; the solver's sums are exact integers); a rank that
# cannot read its input fails the job naming the rank and the file, with no model; ranks
# with other settings, or inputs cleaned otherwise than rank 0's vocabulary, are refused
# before training; per-rank input files (rank K of N reads inputs K, K + N, ...) give the
# same model as hash shares and as one process. Skipped (77) without Open MPI's
# mpirun or an imdb-train built with MPI.
. "$IMDB_SRCDIR/tests/common.sh"

command -v mpirun >/dev/null 2>&1 || { echo "no mpirun (Debian: openmpi-bin)"; exit 77; }
imdb-train --help | grep -q mpirun || { echo "imdb-train was built without MPI (configure --with-mpi)"; exit 77; }
# As root mpirun needs --allow-run-as-root; more ranks than cores, --oversubscribe. Under
# AddressSanitizer, Open MPI's own allocations (libmpi and its plugins, never freed at
# MPI_Finalize) would fail every rank: no leak check under mpirun (the one-process runs
# here keep it, and they run the same solver).
run() {
    if ldd "$train" | grep -q libasan; then
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
        export ASAN_OPTIONS
    fi
    if [ "$(id -u)" = 0 ]; then mpirun --allow-run-as-root --oversubscribe "$@"
    else mpirun --oversubscribe "$@"; fi
}
train=$(command -v imdb-train)

tar="$FIXTURES/mini-aclImdb.tar.gz"
imdb-clean -q --split train "$tar" -o train.tok.gz
imdb-vocab -q train.tok.gz -o one.vocab
imdb-vocab -q --min-count 3 train.tok.gz -o other.vocab
set -- -q -o min_df=2 -o solver=tron -o newton_eps=1e-6 --valid-fraction 0 -V one.vocab

imdb-train "$@" -O single.model train.tok.gz
for n in 1 2 4; do
    run -np "$n" "$train" "$@" -O "mpi$n.model" train.tok.gz >out 2>err || { cat err >&2; fail "mpirun -np $n failed"; }
    same "mpi$n.model" single.model
done
# Each rank within --memory (the solver then reads the cache block by block on every pass
# instead of holding the documents): the same model.
imdb-train "$@" -o block_docs=16 -O single16.model train.tok.gz
# The least --memory, as one MPI rank says it (an MPI process, and AddressSanitizer, need
# more; rank 0, which reads the vocabulary, more than the others), and 4M for blocks.
run -np 1 "$train" "$@" -o block_docs=16 --memory 1M -O x.model train.tok.gz >out 2>err || :
least=$(sed -n 's/.*(--memory \([0-9]*\)M).*/\1/p' err | sort -n | tail -1)
[ -n "$least" ] || { cat err >&2; fail "imdb-train did not say the least --memory"; }
run -np 2 "$train" "$@" -o block_docs=16 --memory "$((least + 4))M" -O mem.model train.tok.gz
same mem.model single16.model
# --threads in the solver's passes: the model records --threads, so 2 threads are
# compared by their predictions with 1, and byte for byte with 2 ranks of 2 threads.
imdb-train "$@" --threads 2 -O t2.model train.tok.gz
run -np 2 "$train" "$@" --threads 2 -O mt2.model train.tok.gz
same mt2.model t2.model
imdb-predict -q --tokens --id-field single.model train.tok.gz >p1
imdb-predict -q --tokens --id-field t2.model train.tok.gz >p2
same p1 p2
# Under MPI tron is the default solver: the same model without -o solver=tron.
run -np 2 "$train" -q -o min_df=2 -o newton_eps=1e-6 --valid-fraction 0 -V one.vocab -O dflt.model train.tok.gz
same dflt.model single.model
# The ranks' log says how many took part.
run -np 2 "$train" "$@" -v -O log.model train.tok.gz >out 2>err
grep -q 'over 2 ranks' err || { cat err >&2; fail "rank 0 did not say it trained over 2 ranks"; }

# A rank that cannot read its input (MPMD: rank 1 is given another file) fails the job.
set +e
run -np 1 "$train" "$@" -O bad.model train.tok.gz : -np 1 "$train" "$@" -O bad.model no-such.tok.gz >out 2>err
st=$?
set -e
[ "$st" -ne 0 ] || fail "a rank without its input did not fail the job"
expect_err 'rank 1 of 2: .*no-such\.tok\.gz'
[ ! -e bad.model ] || fail "a failed job wrote a model"
# Ranks with different settings are refused before training.
set +e
run -np 1 "$train" "$@" -O bad.model train.tok.gz : -np 1 "$train" "$@" -o min_df=3 -O bad.model train.tok.gz >out 2>err
st=$?
set -e
[ "$st" -ne 0 ] || fail "ranks with different settings trained"
expect_err 'rank [01] of 2: .*differ'
[ ! -e bad.model ] || fail "a refused job wrote a model"
# Only rank 0 reads the vocabulary and sends the others its features: another -V on rank 1
# is not read (the model is rank 0's).
run -np 1 "$train" "$@" -O v.model train.tok.gz : -np 1 "$train" "$@" -V other.vocab -O v.model train.tok.gz
same v.model single.model

# Per-rank files: when the ranks divide the number of inputs, rank K reads the inputs K,
# K + N, ... only (here the shards of imdb-clean --shard); otherwise every rank reads all
# and keeps its hash share. Either way the model of one process on all the documents.
for k in 0 1 2 3; do imdb-clean -q --split train --shard "$k/4" "$tar" -o "s$k.tok.gz"; done
for k in 0 1; do imdb-clean -q --split train --shard "$k/2" "$tar" -o "h$k.tok.gz"; done
imdb-train "$@" -O files.model s0.tok.gz s1.tok.gz s2.tok.gz s3.tok.gz
same files.model single.model
run -np 2 "$train" "$@" -v -v -O f2.model h0.tok.gz h1.tok.gz >out 2>err
grep -q 'rank 0 of 2 reads its inputs' err || { cat err >&2; fail "rank 0 did not say it reads its inputs only"; }
same f2.model single.model
for n in 2 3 4; do   # 3 ranks, 4 inputs: hash shares
    run -np "$n" "$train" "$@" -O "f4.$n.model" s0.tok.gz s1.tok.gz s2.tok.gz s3.tok.gz
    same "f4.$n.model" single.model
done
# A rank whose input has no document (its header only) takes part with none.
gunzip -c s0.tok.gz | head -1 >empty.tok
run -np 2 "$train" "$@" -O e.model train.tok.gz empty.tok
same e.model single.model
# Rank 1's missing input fails the job, naming the rank and the file; no model.
set +e
run -np 2 "$train" "$@" -O bad.model h0.tok.gz no-such.tok.gz >out 2>err
st=$?
set -e
[ "$st" -ne 0 ] || fail "a rank without its input did not fail the job"
expect_err 'rank 1 of 2: .*no-such\.tok\.gz'
[ ! -e bad.model ] || fail "a failed job wrote a model"
# Rank 1's input cleaned with other settings than rank 0's vocabulary: refused, named.
imdb-clean -q --no-casefold --split train --shard 1/2 "$tar" -o case1.tok.gz
set +e
run -np 2 "$train" "$@" -O bad.model h0.tok.gz case1.tok.gz >out 2>err
st=$?
set -e
[ "$st" -ne 0 ] || fail "an input cleaned otherwise trained"
expect_err 'rank 1 of 2: case1\.tok\.gz: cleaned with different settings'
[ ! -e bad.model ] || fail "a refused job wrote a model"
# A validation split would differ by rank count: refused (usage) with more than one rank.
set +e
run -np 2 "$train" "$@" --valid-fraction 0.1 -O bad.model train.tok.gz >out 2>err
st=$?
set -e
[ "$st" -ne 0 ] || fail "--valid-fraction 0.1 was accepted under MPI"
expect_err 'valid-fraction 0'
[ ! -e bad.model ] || fail "a refused job wrote a model"
exit 0
