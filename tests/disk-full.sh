#!/bin/sh
# disk-full.sh — a real full disk and a real kill -9 (issue 13).
#  - Disk full: clean, vocab and train write to a 64 KiB tmpfs (mounted in a private
#    mount namespace with unshare, as root or in a user namespace); each must exit 4
#    with a message naming the output, leave no file under the output's name and no
#    temporary. Where no tmpfs can be mounted the same runs go to a file size limit
#    (ulimit -f, SIGXFSZ ignored so writes fail with EFBIG), which exercises the same
#    paths but not the file system's own ENOSPC; the test says which it used.
#  - A file size limit whose SIGXFSZ kills the process: no temporary is left.
#  - kill -9 in the middle of writing: the output's old version stays whole (the new
#    one never appears under its name, half written); SIGKILL cannot be caught, so the
#    temporary NAME.tmp-XXXXXX stays, as imdb-clean(1) documents.
. "$IMDB_SRCDIR/tests/common.sh"

imdb-clean -q --split train "$FIXTURES/mini-aclImdb.tar.gz" -o in.tok
imdb-vocab -q --ngrams 2 in.tok -o in.vocab

cat >full.sh <<'SH'
# Runs in the small file system (or under the size limit); $1 is its directory.
d=$1
st=0
for tool in clean vocab train; do
    case $tool in
    clean) out=$d/out.tok; imdb-clean -q --split train "$FIXTURES/mini-aclImdb.tar.gz" -o "$out" 2>err.$tool ;;
    vocab) out=$d/out.vocab; imdb-vocab -q --ngrams 2 in.tok -o "$out" 2>err.$tool ;;
    train) out=$d/out.model; imdb-train -q --threads 1 -V in.vocab -o ngrams=2 -O "$out" in.tok 2>err.$tool ;;
    esac
    s=$?
    echo "$tool $s"
    [ ! -e "$out" ] || echo "$tool: $out exists"
    if ls "$d" | grep -q tmp-; then echo "$tool: temporary left: $(ls "$d")"; fi
done
exit 0
SH
export FIXTURES
if [ "$(id -u)" -eq 0 ] && unshare -m sh -c 'mkdir -p mnt && mount -t tmpfs -o size=64k tmpfs mnt' 2>/dev/null; then
    how="a 64 KiB tmpfs"
    unshare -m sh -c 'mount -t tmpfs -o size=64k tmpfs mnt && sh full.sh mnt' >result
elif unshare -rm sh -c 'mkdir -p mnt && mount -t tmpfs -o size=64k tmpfs mnt' 2>/dev/null; then
    how="a 64 KiB tmpfs (user namespace)"
    unshare -rm sh -c 'mount -t tmpfs -o size=64k tmpfs mnt && sh full.sh mnt' >result
else
    how="ulimit -f (no tmpfs could be mounted here)"
    mkdir -p mnt
    (trap '' XFSZ; ulimit -f 128; sh full.sh mnt) >result
fi
echo "disk full: $how"
cat result
for tool in clean vocab train; do
    grep -qx "$tool 4" result || { cat err.$tool >&2; fail "$tool on a full disk ($how): not exit status 4"; }
    grep -Eq "^imdb-$tool: mnt/out\.[a-z]+: .*(No space left on device|File too large)" err.$tool ||
        { cat err.$tool >&2; fail "$tool on a full disk: unclear message"; }
done
grep -q 'exists\|temporary left' result && fail "a full disk left files: $(cat result)"

# A file size limit with SIGXFSZ at its default: the process dies of the signal, and the
# temporary goes with it (it was left behind before outfile handled SIGXFSZ).
mkdir -p lim
set +e
(ulimit -f 128; exec imdb-clean -q --split train "$FIXTURES/mini-aclImdb.tar.gz" -o lim/out.tok) 2>/dev/null
st=$?
set -e
[ $st -ne 0 ] || fail "imdb-clean passed the file size limit"
[ -z "$(ls lim)" ] || fail "SIGXFSZ left files: $(ls lim)"

# kill -9 mid-write: imdb-clean reads a TSV from a pipe fed slowly, so it is killed with
# its output half written.
imdb-clean -q --split test "$FIXTURES/mini-aclImdb.tar.gz" -o old.tok.gz
cp old.tok.gz keep.tok.gz
mkfifo feed
imdb-clean -q --format tsv feed -o old.tok.gz &
pid=$!
{
    awk 'BEGIN { for (i = 0; i < 100000; i++) printf "pos\treview %d: words enough to fill the output buffers %d %d\n", i, i * 7, i * 13 }'
    sleep 30
} >feed &
feeder=$!
k=0
until [ -n "$(find . -name 'old.tok.gz.tmp-*' -size +0)" ]; do
    k=$((k + 1)); [ $k -lt 500 ] || fail "imdb-clean did not start writing in 25 s"; sleep 0.05
done
kill -9 $pid
wait $pid 2>/dev/null || :
kill $feeder 2>/dev/null || :
cmp -s old.tok.gz keep.tok.gz || fail "kill -9 mid-write changed the previous output"
gzip -t old.tok.gz || fail "the previous output is not whole"
tmp=$(ls | grep '^old\.tok\.gz\.tmp-' || :)
[ -n "$tmp" ] || fail "no temporary after kill -9 (was the write really under way?)"
echo "kill -9: old.tok.gz intact, $tmp left (SIGKILL cannot be caught)"
