#!/bin/sh
# vocab-memory.sh — imdb-vocab --memory (issue 22): counting and merging in a small
# budget, which forces many spills and merges, gives the bytes of counting in memory, with
# and without --min-count/--min-df/--max-size, on the fixture corpus and on a few
# thousand reviews from scripts/imdb-synth, and through a tree of merges; a budget below
# the minimum is a usage error that says how much is needed; a full disk while spilling
# fails with exit 4 and leaves nothing behind; a signal leaves no spill file.
. "$IMDB_SRCDIR/tests/common.sh"
synth="$IMDB_BIN/../scripts/imdb-synth"

# The smallest budget, from the usage error itself.
expect_status 2 imdb-vocab --memory 1K /dev/null
expect_err "^imdb-vocab: --memory 1K is too small: imdb-vocab needs at least [0-9]+ bytes \(--memory [0-9]+K\) for its merge buffers"
expect_err "Try 'imdb-vocab --help'"
min=$(sed -n 's/.*(--memory \([0-9]*K\)).*/\1/p' err)
[ -n "$min" ] || fail "no minimum in: $(cat err)"
for bad in 0 -5 12Q 1.5M M ''; do
    expect_status 2 imdb-vocab --memory "$bad" /dev/null
done
expect_err "invalid value '' for --memory"

imdb-clean -q "$FIXTURES/mini-aclImdb.tar.gz" -o all.tok
# A budget just above the minimum: the table holds about 1,000 n-grams.
mem=$(( ${min%K} + 400 ))K

need=20    # spills at least (more than FANIN = 16: merges of merges)
check() {   # check FILE OPTIONS...: --memory gives the in-memory bytes, and really spilled
    f=$1; shift
    imdb-vocab "$@" "$f" -o want
    expect_status 0 imdb-vocab -v --memory "$mem" --tmpdir . "$@" "$f" -o got
    same got want
    spills=$(sed -n 's/.*: \([0-9]*\) spills,.*/\1/p' err)
    [ "${spills:-0}" -ge "$need" ] || fail "$f $*: only ${spills:-0} spills (err: $(cat err))"
    [ -z "$(ls | grep imdb-vocab-run || true)" ] || fail "spill files left: $(ls)"
}
check all.tok
check all.tok --min-count 2
check all.tok --min-df 3 --max-size 500
check all.tok --max-size 20000
need=3
check all.tok --ngrams 1 --min-count 2
need=20
mem0=$mem mem=$(( ${min%K} + 800 ))K   # the longest review's 5-grams need more
check all.tok --ngrams 5 --min-df 2
mem=$mem0

# A few thousand synthetic reviews fitted on the fixture's train and unsup reviews.
imdb-clean -q --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok
imdb-clean -q --split unsup "$FIXTURES/mini-aclImdb.tar.gz" -o unsup.tok
"$synth" --docs 3000 --seed 7 train.tok unsup.tok -o syn.tok
"$synth" --docs 3000 --seed 7 train.tok unsup.tok -o syn2.tok
same syn.tok syn2.tok
[ "$(sed 1d syn.tok | wc -l)" -eq 3000 ] || fail "imdb-synth wrote $(sed 1d syn.tok | wc -l) documents"
check syn.tok
check syn.tok --min-count 3 --min-df 2
check syn.tok --max-size 1000
# Test reviews are refused.
imdb-clean -q --split test "$FIXTURES/mini-aclImdb.tar.gz" -o test.tok
expect_status 1 "$synth" --docs 10 train.tok test.tok
expect_err "test.tok:2: a test review"

# A tree of merges: 6 shards counted in the budget, merged in pairs in the budget, then
# the root with thresholds; every level is the in-memory result.
head -n 1 syn.tok >hdr
for k in 0 1 2 3 4 5; do
    { cat hdr; sed 1d syn.tok | awk -v k=$k 'NR % 6 == k'; } >sh$k.tok
    imdb-vocab -q --memory "$mem" --tmpdir . sh$k.tok -o sh$k.vocab
    imdb-vocab -q sh$k.tok -o sh$k.want
    same sh$k.vocab sh$k.want
done
for p in 0 2 4; do
    imdb-vocab -q --merge --memory "$mem" --tmpdir . sh$p.vocab sh$((p + 1)).vocab -o m$p.vocab
done
imdb-vocab syn.tok -o whole
imdb-vocab --min-count 2 --min-df 2 --max-size 3000 syn.tok -o whole.pruned
for opts in "" "--min-count 2 --min-df 2 --max-size 3000"; do
    # shellcheck disable=SC2086
    expect_status 0 imdb-vocab -v --merge --memory "$mem" --tmpdir . $opts m0.vocab m2.vocab m4.vocab -o root
    spills=$(sed -n 's/.*: \([0-9]*\) spills,.*/\1/p' err)
    [ "${spills:-0}" -ge 20 ] || fail "merge: only ${spills:-0} spills"
    if [ -z "$opts" ]; then same root whole; else same root whole.pruned; fi
done
# A line repeated in one operand is found even when a spill falls between the copies.
{ sed -n 1,2p m0.vocab; sed -n 3p m0.vocab; sed 1,2d m0.vocab; } >dup.vocab
expect_status 1 imdb-vocab -q --merge --memory "$mem" --tmpdir . m2.vocab dup.vocab -o dupout
expect_err "dup.vocab(:[0-9]+)?: duplicate n-gram"
[ ! -e dupout ] || fail "output written despite a duplicate"

# A full disk while spilling: exit 4, the spill directory and the output left empty, the
# input untouched. A 64 KiB tmpfs as --tmpdir (as tests/disk-full.sh), else a file size
# limit (which also stops the spill files).
cksum all.tok >before
mkdir -p mnt outdir
cat >full.sh <<'SH'
imdb-vocab -q --memory "$2" --tmpdir "$1" all.tok -o outdir/out.vocab 2>err.full
echo "status $?"
ls -A "$1" | sed 's/^/left in tmpdir: /'
ls -A outdir | sed 's/^/left in outdir: /'
SH
if [ "$(id -u)" -eq 0 ] && unshare -m sh -c 'mount -t tmpfs -o size=64k tmpfs mnt' 2>/dev/null; then
    how="a 64 KiB tmpfs"
    unshare -m sh -c "mount -t tmpfs -o size=64k tmpfs mnt && sh full.sh mnt $mem" >result
elif unshare -rm sh -c 'mount -t tmpfs -o size=64k tmpfs mnt' 2>/dev/null; then
    how="a 64 KiB tmpfs (user namespace)"
    unshare -rm sh -c "mount -t tmpfs -o size=64k tmpfs mnt && sh full.sh mnt $mem" >result
else
    how="ulimit -f"
    (trap '' XFSZ; ulimit -f 128; sh full.sh mnt "$mem") >result
fi
echo "disk full while spilling: $how"
grep -qx 'status 4' result || { cat result err.full >&2; fail "full disk ($how): not exit status 4"; }
grep -Eq '^imdb-vocab: mnt/(\(spill file\)|imdb-vocab-run\.[A-Za-z0-9]+): write error: (No space left on device|File too large)$' err.full ||
    { cat err.full >&2; fail "full disk: unclear message"; }
! grep -q '^left in' result || fail "a full disk left files: $(cat result)"
cksum all.tok | cmp -s - before || fail "the input changed"

# Killed while spilling: no spill file and no output are left (spill files are unlinked
# from the start, so this holds for SIGKILL too).
mkdir -p sig
mkfifo feed
imdb-vocab -q --memory "$mem" --tmpdir sig feed -o sig.vocab &
pid=$!
exec 9>feed
sed -n 1,200p all.tok >&9
i=0
until [ "$(ls /proc/$pid/fd 2>/dev/null | wc -l)" -gt 6 ] || [ $i -ge 100 ]; do i=$((i + 1)); sleep 0.1; done
[ $i -lt 100 ] || fail "imdb-vocab did not spill"
kill -9 $pid
wait $pid 2>/dev/null || :
exec 9>&-
[ -z "$(ls -A sig)" ] || fail "kill -9 left spill files: $(ls -A sig)"
