#!/bin/sh
# eval-model.sh — imdb-eval's command line and failure modes: --help/--version, usage
# errors (2), a missing model (4), a truncated, corrupted, newer or non-model file (1),
# and output that cannot be written (4).
. "$IMDB_SRCDIR/tests/common.sh"

imdb-clean --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-vocab train.tok.gz -o v.gz
imdb-train -q --model nblr --vocab v.gz --output m.bin train.tok.gz

expect_status 0 imdb-eval --help
grep -q '^Usage: imdb-eval ' out || fail "--help"
grep -q 'default: 0.5' out || fail "--help does not show the threshold default"
expect_status 0 imdb-eval --version
grep -Eq '^imdb-eval \(imdb\) [0-9]' out || fail "--version"

expect_status 2 imdb-eval
expect_err "^Try 'imdb-eval --help' for more information.$"
expect_status 2 imdb-eval --no-such-option m.bin train.tok.gz
expect_err "unrecognized .*'--no-such-option'"
expect_status 2 imdb-eval -Z m.bin train.tok.gz
expect_err "invalid option -- 'Z'"
expect_status 2 imdb-eval m.bin train.tok.gz --threads
expect_err "requires an argument"
expect_status 2 imdb-eval --threads 0 m.bin train.tok.gz
expect_status 2 imdb-eval --threshold 2 m.bin train.tok.gz

# Model files that cannot be used.
expect_status 4 imdb-eval missing.bin train.tok.gz
expect_err '^imdb-eval: missing.bin: '
size=$(wc -c <m.bin)
head -c $((size / 2)) m.bin >half.bin
expect_status 1 imdb-eval half.bin train.tok.gz
expect_err '^imdb-eval: half.bin: '
head -c 10 m.bin >tiny.bin
expect_status 1 imdb-eval tiny.bin train.tok.gz
cp m.bin flip.bin
printf '\377' | dd of=flip.bin bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
cmp -s m.bin flip.bin && { printf '\000' | dd of=flip.bin bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null; }
expect_status 1 imdb-eval flip.bin train.tok.gz
expect_err 'CRC'
cp m.bin newer.bin
printf '\377' | dd of=newer.bin bs=1 seek=8 conv=notrunc 2>/dev/null
expect_status 1 imdb-eval newer.bin train.tok.gz
expect_err 'newer.bin: .*version 255 is not supported'
printf 'this is not a model\n' >text.bin
expect_status 1 imdb-eval text.bin train.tok.gz
expect_err 'not an imdb model file'
: >empty.bin
expect_status 1 imdb-eval empty.bin train.tok.gz

# Output that cannot be written: exit 4, and no partial -o file.
if [ -w /dev/full ]; then
    expect_status 4 sh -c 'imdb-eval m.bin train.tok.gz >/dev/full'
    expect_err '^imdb-eval: .*(write error|No space left)'
    expect_status 4 sh -c 'imdb-eval --json m.bin train.tok.gz >/dev/full'
fi
expect_status 4 imdb-eval -o no/such/dir/metrics.json m.bin train.tok.gz
expect_status 4 imdb-eval --errors no/such/dir/e.tsv m.bin train.tok.gz
