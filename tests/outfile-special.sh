#!/bin/sh
# outfile-special.sh — -o naming a device or a named pipe writes into it in place
# (outfile.h): the atomic temporary + rename would replace the device itself with a
# regular file (as root, /dev/full or /dev/null). A full device is an I/O error (4).
# The device is made in the scratch directory when we may (root), so a regression
# cannot harm the machine's own /dev/full.
. "$IMDB_SRCDIR/tests/common.sh"

imdb-clean -q --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-vocab -q train.tok.gz -o want.vocab

# A named pipe: the reader gets the vocabulary, the pipe stays a pipe.
mkfifo pipe
cat pipe >got.vocab &
reader=$!
timeout 20 imdb-vocab -q train.tok.gz -o pipe || fail "imdb-vocab -o pipe exited $?"
wait $reader
[ -p pipe ] || fail "the named pipe was replaced"
same want.vocab got.vocab

# A full device: status 4, the device still a device.
if mknod full c 1 7 2>/dev/null && [ -c full ]; then
    dev=full
elif [ "$(id -u)" -ne 0 ] && [ -c /dev/full ] && [ -w /dev/full ]; then
    dev=/dev/full   # not root: nothing here may replace it
else
    echo "no full device to try: that part skipped" >&2
    exit 0
fi
expect_status 4 imdb-vocab -q train.tok.gz -o $dev
expect_err "^imdb-vocab: $dev: write error: No space left on device$"
[ -c $dev ] || fail "$dev is no longer a device"
imdb-vocab -q train.tok.gz -o v.gz
expect_status 4 imdb-train -q -V v.gz -O $dev train.tok.gz
[ -c $dev ] || fail "$dev is no longer a device after imdb-train -O"
