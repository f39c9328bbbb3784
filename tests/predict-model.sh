#!/bin/sh
# predict-model.sh — imdb-predict's command line and failure modes: --help/--version,
# usage errors (2), a missing model (4), a truncated, corrupted, newer or non-model file
# (1), and standard output that cannot be written (4).
. "$IMDB_SRCDIR/tests/common.sh"

imdb-clean --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-vocab train.tok.gz -o v.gz
imdb-train -q --model nblr --vocab v.gz --output m.bin train.tok.gz
echo 'a fine film' >r.txt

expect_status 0 imdb-predict --help
grep -q '^Usage: imdb-predict ' out || fail "--help"
grep -q 'default: 0.5' out || fail "--help does not show the threshold default"
expect_status 0 imdb-predict --version
grep -Eq '^imdb-predict \(imdb\) [0-9]' out || fail "--version"

expect_status 2 imdb-predict
expect_err "^Try 'imdb-predict --help' for more information.$"
expect_status 2 imdb-predict --bogus m.bin r.txt
expect_err "unrecognized .*'--bogus'"
expect_status 2 imdb-predict --explain=0 m.bin r.txt
expect_status 2 imdb-predict --explain=x m.bin r.txt
expect_status 2 imdb-predict -j 0 m.bin r.txt
expect_status 2 imdb-predict -t -0.1 m.bin r.txt
expect_status 2 imdb-predict --interactive m.bin r.txt
expect_err 'no FILE operands'
expect_status 2 imdb-predict --interactive --tokens m.bin

# Model files that cannot be used.
expect_status 4 imdb-predict missing.bin r.txt
expect_err '^imdb-predict: missing.bin: '
[ ! -s out ] || fail "output without a model"
size=$(wc -c <m.bin)
head -c $((size - 1)) m.bin >cut.bin
expect_status 1 imdb-predict cut.bin r.txt
expect_err '^imdb-predict: cut.bin: '
head -c 20 m.bin >tiny.bin
expect_status 1 imdb-predict tiny.bin r.txt
cp m.bin flip.bin
off=$((size - 100))
printf '\125' | dd of=flip.bin bs=1 seek=$off conv=notrunc 2>/dev/null
cmp -s m.bin flip.bin && { printf '\252' | dd of=flip.bin bs=1 seek=$off conv=notrunc 2>/dev/null; }
expect_status 1 imdb-predict flip.bin r.txt
expect_err 'CRC'
# --verify checks every byte; scoring checks the parts a review reaches when it first
# reaches them (lazy loading): a flipped byte anywhere is refused by --verify, and a
# review either gets the good model's answer or exit status 1 naming the damage, never
# an answer from damaged bytes.
expect_status 0 imdb-predict --verify m.bin
[ "$(cat out)" = "m.bin: ok" ] || fail "--verify on a good model: $(cat out)"
imdb-predict m.bin r.txt >good
for off in 40 $((size / 4)) $((size / 2)) $((3 * size / 4)) $((size - 100)); do
    cp m.bin flip.bin
    printf '\125' | dd of=flip.bin bs=1 seek=$off conv=notrunc 2>/dev/null
    cmp -s m.bin flip.bin && { printf '\252' | dd of=flip.bin bs=1 seek=$off conv=notrunc 2>/dev/null; }
    expect_status 1 imdb-predict --verify flip.bin
    expect_err '^imdb-predict: flip.bin: .*(CRC|corrupt)'
    set +e
    imdb-predict flip.bin r.txt >got 2>err
    st=$?
    set -e
    case $st in
    0) same got good ;;
    1) grep -Eq '^imdb-predict: flip.bin: .*(CRC|corrupt)' err || fail "byte $off: $(cat err)"
       [ ! -s got ] || fail "byte $off: exit 1 after printing $(cat got)" ;;
    *) fail "byte $off flipped: exit status $st" ;;
    esac
done
cp m.bin newer.bin
printf '\003' | dd of=newer.bin bs=1 seek=8 conv=notrunc 2>/dev/null
expect_status 1 imdb-predict newer.bin r.txt
expect_err 'newer.bin: .*version 3 is not supported'
expect_status 1 imdb-predict r.txt r.txt
expect_err 'not an imdb model file'
expect_status 1 imdb-predict train.tok.gz r.txt

# Standard output that cannot be written.
if [ -w /dev/full ]; then
    expect_status 4 sh -c 'imdb-predict m.bin r.txt >/dev/full'
    expect_err '^imdb-predict: .*(write error|No space left)'
    yes 'a review' | head -n 50000 >many.txt
    expect_status 4 sh -c 'imdb-predict --json m.bin many.txt >/dev/full'
    expect_err '^imdb-predict: .*(write error|No space left)'
fi
