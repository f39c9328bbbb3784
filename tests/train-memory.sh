#!/bin/sh
# train-memory.sh — nblr in bounded memory (issue 22): a --memory just above what the run
# needs forces the document cache to disk, its layout through a scratch file and most blocks
# to be read back on every use, and the model is byte for byte the one of an unlimited
# run (also with cross-fitting, a validation split and --sort-by-id); the peak RSS stays
# within --memory; too small a --memory is a usage error saying how much is needed; a
# full --tmpdir fails with exit 4 and leaves nothing.
. "$IMDB_SRCDIR/tests/common.sh"

imdb-clean -q --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-vocab -q --ngrams 3 train.tok.gz -o vocab.gz
mkdir -p tmp
# The model's part of --memory is measured from the process's resident size, which moves
# by about 1 MB between runs with address-space randomization; the runs that bring the
# cache's room down to a few KiB go without it where setarch can turn it off.
norand=
if setarch "$(uname -m)" -R true 2>/dev/null; then norand="setarch $(uname -m) -R"; fi
export NORAND="$norand"   # full.sh runs with it too
# A full --tmpdir: exit 4, a message naming it, no model, nothing left.
cat >full.sh <<'SH'
d=$1 m=$2; shift 2
$NORAND imdb-train -q "$@" --memory "$m" --tmpdir "$d" -O out.model train.tok.gz 2>err.full
echo "status $?"
[ ! -e out.model ] || echo "out.model exists"
[ -z "$(ls "$d")" ] || echo "left in $d: $(ls "$d")"
ls | grep -q 'out\.model\.tmp' && echo "temporary model left"
exit 0
SH
# full KIB MEMORY WHAT ARGS...: a --tmpdir of KIB KiB that fills up while WHAT is written
full() {
    _k=$1 _m=$2 _what=$3
    shift 3
    if [ "$(id -u)" -eq 0 ] && unshare -m sh -c 'mkdir -p mnt && mount -t tmpfs -o size=4k tmpfs mnt' 2>/dev/null; then
        how="a $_k KiB tmpfs"
        unshare -m sh -c 'mount -t tmpfs -o size=${0}k tmpfs mnt && sh full.sh mnt "$@"' "$_k" "$_m" "$@" >result
    elif unshare -rm sh -c 'mkdir -p mnt && mount -t tmpfs -o size=4k tmpfs mnt' 2>/dev/null; then
        how="a $_k KiB tmpfs (user namespace)"
        unshare -rm sh -c 'mount -t tmpfs -o size=${0}k tmpfs mnt && sh full.sh mnt "$@"' "$_k" "$_m" "$@" >result
    else
        # A limit on each file cannot stand for a full disk of two files: the first only.
        if [ "$_what" != "document cache" ]; then echo "full --tmpdir while writing the $_what: skipped (no tmpfs)"; return 0; fi
        how="ulimit -f $((_k * 2)) (no tmpfs could be mounted here)"
        mkdir -p mnt
        (trap '' XFSZ; ulimit -f $((_k * 2)); sh full.sh mnt "$_m" "$@") >result
    fi
    echo "full --tmpdir while writing the $_what: $how: $(cat result | tr '\n' ' ')"
    grep -qx 'status 4' result || { cat err.full >&2; fail "a full --tmpdir ($how): not exit status 4"; }
    grep -Eq "^imdb-train: mnt/\\($_what\\): write error: (No space left on device|File too large)\$|^imdb-train: mnt/imdb-train-[a-z]+\\.[A-Za-z0-9]+: write error" err.full ||
        { cat err.full >&2; fail "a full --tmpdir ($_what): unclear message"; }
    if grep -q 'exists\|left' result; then fail "a full --tmpdir left files: $(cat result)"; fi
}

set -- -V vocab.gz -o min_df=1 -o block_docs=8 -o epochs=3 -o valid_fraction=0.2
imdb-train -q "$@" -O ref.model train.tok.gz

# Far too little: a usage error with the amount needed.
expect_status 2 imdb-train -q "$@" --memory 1K -O x.model train.tok.gz
grep -Eq '^imdb-train: --memory 1024 is too small: nblr needs at least [0-9]+ bytes \(--memory [0-9]+M\) for its model of [0-9]+ features$' err ||
    fail "--memory 1K: $(cat err)"
grep -q "^Try 'imdb-train --help'" err || fail "--memory 1K: no Try line"
[ ! -e x.model ] || fail "--memory 1K wrote a model"
expect_status 2 imdb-train -q "$@" --memory 12X -O x.model train.tok.gz
grep -q "invalid value '12X' for --memory" err || fail "--memory 12X: $(cat err)"

# What the model needs, then what the documents need besides: each refusal says how
# much; 32 KiB above the last leaves the cache (about 200 KB) almost no room. (The model's
# part is measured from the process's resident size, which moves a little between runs.)
mem=1024
tries=0
while :; do
    mem=$(( $(sed -n 's/.*needs at least \([0-9]*\) bytes.*/\1/p' err) + 32768 ))
    set +e
    $norand imdb-train -v "$@" --memory $mem --tmpdir tmp -O tiny.model train.tok.gz >out 2>err
    st=$?
    set -e
    [ $st -eq 2 ] || break
    tries=$((tries + 1))
    [ $tries -lt 8 ] || fail "--memory never enough: $(cat err)"
    grep -Eq 'needs at least [0-9]+ bytes' err || fail "usage error: $(cat err)"
done
[ $st -eq 0 ] || { cat err >&2; fail "--memory $mem: status $st"; }
# Then down to about 16 KiB of room for cache blocks (a refusal says how much is needed).
tries=0
while :; do
    if [ $st -eq 2 ]; then
        mem=$(( $(sed -n 's/.*needs at least \([0-9]*\) bytes.*/\1/p' err) + 16384 ))
    else
        room=$(sed -n 's/^imdb-train: nblr: --memory [0-9]*: [0-9]* bytes .*, \([0-9]*\) for cache blocks$/\1/p' err)
        [ -n "$room" ] || fail "no --memory line: $(cat err)"
        [ "$room" -gt 40000 ] || break
        mem=$((mem - room + 16384))
    fi
    tries=$((tries + 1))
    [ $tries -lt 20 ] || fail "could not bring the room down: $(cat err)"
    set +e
    $norand imdb-train -v "$@" --memory $mem --tmpdir tmp -O tiny.model train.tok.gz >out 2>err
    st=$?
    set -e
    [ $st -eq 0 ] || [ $st -eq 2 ] || { cat err >&2; fail "--memory $mem: status $st"; }
done
same tiny.model ref.model
line=$(grep 'document cache:' err) || fail "no cache line: $(cat err)"
echo "--memory $mem: $line"
echo "$line" | grep -q 'laid out through a scratch file$' || fail "the layout did not go through a scratch file: $line"
echo "$line" | grep -Eq '38 blocks of 8 documents' || fail "blocks: $line"
total=$(echo "$line" | sed -n 's/.*, \([0-9.]*\) MB (\([0-9.]*\) MB resident).*/\1/p')
res=$(echo "$line" | sed -n 's/.*, \([0-9.]*\) MB (\([0-9.]*\) MB resident).*/\2/p')
awk -v t="$total" -v r="$res" 'BEGIN { exit !(r < t / 2) }' || fail "most blocks stayed resident: $line"
rss=$(sed -n 's/^imdb-train: peak RSS \([0-9]*\) KB$/\1/p' err)
[ -n "$rss" ] || fail "no peak RSS line: $(cat err)"
echo "peak RSS $rss KB within --memory $((mem / 1024)) KB"
# AddressSanitizer's shadow memory and quarantine are no part of the budget: checked
# only in a build without it.
if nm "$(command -v imdb-train)" 2>/dev/null | grep -q __asan_init; then
    echo "peak RSS not checked: a sanitizer build"
else
    [ "$rss" -le $((mem / 1024)) ] || fail "peak RSS $rss KB above --memory $mem"
fi
[ -z "$(ls tmp)" ] || fail "the cache left files in --tmpdir: $(ls tmp)"
# Room for the model's n-gram text and the first cache (about 200 KB), but not for the
# layout's scratch file besides (about 170 KB).
text_kib=$(zcat vocab.gz | LC_ALL=C awk -F '\t' 'NR > 2 { t += length($1) + 1 } END { printf "%d", t / 1024 + 1 }')
full $((text_kib + 300)) "$mem" "layout file" "$@"
# A large budget: everything resident, the same model.
imdb-train -v "$@" --memory 2G --tmpdir tmp -O big.model train.tok.gz 2>err
same big.model ref.model
grep 'document cache:' err | grep -q 'laid out in memory$' || fail "--memory 2G: $(grep 'document cache' err)"

# tight OUT ARGS...: train with --memory $mem, or just what a refusal says is needed
# (plus 16 KiB) when the resident size moved up since.
tight() {
    _out=$1; shift
    _m=$mem
    for _i in 1 2 3 4 5 6 7 8; do
        set +e
        $norand imdb-train -v "$@" --memory $_m --tmpdir tmp -O "$_out" >out 2>err
        _st=$?
        set -e
        [ $_st -eq 0 ] && return 0
        [ $_st -eq 2 ] || { cat err >&2; fail "--memory $_m: status $_st"; }
        _m=$(( $(sed -n 's/.*needs at least \([0-9]*\) bytes.*/\1/p' err) + 16384 ))
    done
    fail "--memory never enough: $(cat err)"
}

# Cross-fitted held-out predictions and --sort-by-id, with shards in another order.
set -- "$@" -o heldout_folds=3
imdb-train -q "$@" -O ref-h.model train.tok.gz
tight tiny-h.model "$@" train.tok.gz
same tiny-h.model ref-h.model
zcat train.tok.gz | sed -n '1p;2,151p' | gzip >a.tok.gz
zcat train.tok.gz | sed -n '1p;152,$p' | gzip >b.tok.gz
imdb-train -q "$@" --sort-by-id -O ref-s.model a.tok.gz b.tok.gz
tight tiny-s.model "$@" --sort-by-id b.tok.gz a.tok.gz
same tiny-s.model ref-s.model

# --tmpdir missing, then full: exit 4, a message naming it, no model, nothing left.
expect_status 4 imdb-train -q "$@" --memory 2G --tmpdir nowhere -O x.model train.tok.gz
grep -q '^imdb-train: nowhere: cannot create a model text file: No such file or directory$' err || fail "no tmpdir: $(cat err)"
[ ! -e x.model ] || fail "a model was written without a tmpdir"
full 64 2G "model text file" "$@"
full $((text_kib + 64)) 2G "document cache" "$@"
exit 0
