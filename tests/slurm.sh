#!/bin/sh
# slurm.sh — the Slurm recipes on a real single-node cluster started here by hand: munged,
# slurmctld and slurmd as root, with their config, sockets, spool and logs in the scratch
# directory (SLURM_CONF; nothing under /etc is touched), stopped in the trap. Runs
# scripts/slurm-train on the real tarball with N=4 shards and checks that the model is
# byte for byte the single-process one (and its test metrics the same); runs
# scripts/slurm-score on the 25,000 test reviews and checks the joined output equals one
# imdb-predict; a failing array task fails the job and leaves no joined output. slurm-train
# --mpi 4 (4 MPI ranks, srun --mpi=pmix) gives the one-process solver = tron model, byte for
# byte; a failing rank fails the job with no model.
# Not part of `make check` (root, daemons, the real data, ~1-2 minutes): .ci/run runs it
#   IMDB_BIN=$PWD/src IMDB_SRCDIR=$PWD tests/slurm.sh
# Exit 77 (skipped) when not root or Slurm/munge are not installed.
. "$IMDB_SRCDIR/tests/common.sh"

[ "$(id -u)" -eq 0 ] || { echo "slurm.sh: needs root: skipped"; exit 77; }
for p in munged mungekey slurmctld slurmd; do
    [ -x "/usr/sbin/$p" ] || { echo "slurm.sh: /usr/sbin/$p missing (apt-get install slurm-wlm munge): skipped"; exit 77; }
done
tarball=${IMDB_TARBALL:-$IMDB_SRCDIR/../shared/data/aclImdb_v1.tar.gz}
[ -s "$tarball" ] || tarball=$IMDB_SRCDIR/data/aclImdb_v1.tar.gz
[ -s "$tarball" ] || fail "no aclImdb tarball (set IMDB_TARBALL)"
tarball=$(cd "$(dirname "$tarball")" && pwd)/$(basename "$tarball")

S=$SCRATCH/cluster
mkdir -p "$S/run" "$S/spool/ctld" "$S/spool/d" "$S/log"
chmod 700 "$S/run"
stop() {
    for d in slurmd slurmctld munged; do
        pid=$(cat "$S/run/$d.pid" 2>/dev/null) || continue
        kill -TERM "$pid" 2>/dev/null
        i=0
        while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do
            sleep 0.1; i=$((i + 1))
        done
    done
}
trap 'st=$?; stop; [ $st -eq 0 ] || tail -n 20 "$S"/log/*.log >&2; rm -rf "$SCRATCH"; exit $st' EXIT

t0=$(date +%s)
mungekey --create --keyfile="$S/munge.key"
chmod 600 "$S/munge.key"
munged --force -S "$S/run/munge.sock" --key-file="$S/munge.key" --log-file="$S/log/munged.log" \
    --pid-file="$S/run/munged.pid" --seed-file="$S/munged.seed"
munge -S "$S/run/munge.sock" -n | unmunge -S "$S/run/munge.sock" >/dev/null || fail "munge does not work"
node=$(hostname -s)
cat >"$S/slurm.conf" <<CONF
ClusterName=imdbtest
SlurmctldHost=$node
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$S/run/munge.sock
StateSaveLocation=$S/spool/ctld
SlurmdSpoolDir=$S/spool/d
SlurmctldPidFile=$S/run/slurmctld.pid
SlurmdPidFile=$S/run/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
ReturnToService=2
MailProg=/bin/true
NodeName=$node CPUs=2 State=UNKNOWN
PartitionName=main Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
SLURM_CONF=$S/slurm.conf
export SLURM_CONF
/usr/sbin/slurmctld
/usr/sbin/slurmd
i=0
until [ "$(sinfo -h -o %t 2>/dev/null)" = idle ]; do
    i=$((i + 1))
    [ "$i" -lt 100 ] || fail "the node did not become idle: $(sinfo 2>&1)"
    sleep 0.2
done
echo "slurm.sh: cluster up in $(( $(date +%s) - t0 )) s"

# The single-process recipe (data/imdb.mk's commands with its defaults).
t0=$(date +%s)
imdb-clean -q --split train -o train.tok.gz "$tarball"
imdb-clean -q --split test -o test.tok.gz "$tarball"
imdb-vocab -q --ngrams 3 --min-count 3 -o vocab.gz train.tok.gz
imdb-train -q --vocab vocab.gz --config "$IMDB_SRCDIR/data/nblr.conf" --threads 2 --seed 1 \
    -O single.model train.tok.gz
imdb-eval single.model test.tok.gz >single.metrics
echo "slurm.sh: single process $(( $(date +%s) - t0 )) s"

t0=$(date +%s)
"$IMDB_SRCDIR/scripts/slurm-train" "$tarball" run 4 >sharded.metrics
echo "slurm.sh: slurm-train, 4 shards, $(( $(date +%s) - t0 )) s"
same run/vocab.gz vocab.gz 2>/dev/null || {
    gunzip -c run/vocab.gz >a; gunzip -c vocab.gz >b; same a b; }
same run/nblr.model single.model
same sharded.metrics single.metrics
grep -i '^accuracy' single.metrics

# The train step as one MPI job of 4 ranks (srun --mpi=pmix; --overcommit: 4 tasks on the
# 2 CPUs), on the map step's shards (SKIP_MAP=1): the model of one process with solver =
# tron and the same --threads (the model records it), byte for byte, and the same metrics.
tm=$(date +%s)
imdb-train -q --vocab vocab.gz --config "$IMDB_SRCDIR/data/nblr.conf" -o solver=tron --threads 1 \
    --seed 1 -O tron.model train.tok.gz
imdb-eval tron.model test.tok.gz >tron.metrics
t0=$(date +%s)
SKIP_MAP=1 MPI_SBATCH_OPTS=--overcommit "$IMDB_SRCDIR/scripts/slurm-train" --mpi 4 "$tarball" run 4 >mpi.metrics
echo "slurm.sh: slurm-train --mpi 4 (reduce, 4 ranks, eval) $(( $(date +%s) - t0 )) s"
same run/nblr.model tron.model
same mpi.metrics tron.metrics
grep -q 'srun --mpi=pmix' "$IMDB_SRCDIR/data/slurm/train-mpi.sbatch"
# A failing rank (rank 2 is given a list of inputs that does not exist) fails the job,
# names the rank, and leaves no model.
real=$(command -v imdb-train)
mkdir wrap
cat >wrap/imdb-train <<WRAP
#!/bin/sh
if [ "\${PMIX_RANK:-\${OMPI_COMM_WORLD_RANK:-}}" = 2 ]; then
    for a; do shift; [ "\${prev:-}" = --files-from ] && a=$PWD/no-such.list; set -- "\$@" "\$a"; prev=\$a; done
fi
exec "$real" "\$@"
WRAP
chmod +x wrap/imdb-train
set +e
IMDB_BIN=$PWD/wrap SKIP_MAP=1 MPI_SBATCH_OPTS=--overcommit "$IMDB_SRCDIR/scripts/slurm-train" --mpi 4 "$tarball" run 4 >/dev/null 2>err
st=$?
set -e
[ "$st" -ne 0 ] || fail "slurm-train --mpi 4 with a failing rank exited 0"
[ ! -e run/nblr.model ] || fail "a failed MPI job left run/nblr.model"
grep -q 'rank 2 of 4: .*no-such\.list' run/imdb-train-mpi-*.out || fail "the MPI job's log does not name the failing rank: $(cat run/imdb-train-mpi-*.out)"
echo "slurm.sh: the MPI part (one-process tron, --mpi 4, a failing rank) $(( $(date +%s) - tm )) s"

# Batch scoring: 25,000 test reviews (their token text as lines) in 4 array tasks.
gunzip -c test.tok.gz | sed 1d | cut -f3 >reviews.txt
imdb-predict -j2 single.model reviews.txt >single.scores
t0=$(date +%s)
"$IMDB_SRCDIR/scripts/slurm-score" single.model reviews.txt score 4
echo "slurm.sh: slurm-score, 4 shards, $(( $(date +%s) - t0 )) s"
same score/scores.tsv single.scores

# A failed array task (here: no model file) fails the whole job, and no joined file appears.
set +e
"$IMDB_SRCDIR/scripts/slurm-score" no-such.model reviews.txt bad 4 2>err
st=$?
set -e
[ "$st" -ne 0 ] || fail "slurm-score with a missing model exited 0"
[ ! -e bad/scores.tsv ] || fail "a failed scoring job left bad/scores.tsv"
grep -q "slurm-score: the job failed" err || fail "slurm-score: $(cat err)"
grep -q "no-such.model" bad/imdb-score-*_0.out || fail "the task's log does not name the missing model"
echo "slurm.sh: ok"
