# tests/common.sh — sourced by every shell test: strict mode, C locale, a scratch
# directory removed on exit, the tools on PATH, and small assertion helpers.
set -eu
LC_ALL=C
export LC_ALL
: "${IMDB_BIN:?run through make check}"
: "${IMDB_SRCDIR:?run through make check}"
PATH="$IMDB_BIN:$PATH"
export PATH
FIXTURES="$IMDB_SRCDIR/tests/fixtures"
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/imdb-test.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
cd "$SCRATCH"

fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

# expect_status N CMD...: run CMD, fail unless its exit status is N. Output in out/err.
expect_status() {
    want=$1; shift
    set +e
    "$@" >out 2>err
    got=$?
    set -e
    [ "$got" -eq "$want" ] || { cat err >&2; fail "$* exited $got, expected $want"; }
}

# expect_err PATTERN: the last command's stderr matches the extended regex PATTERN.
expect_err() {
    grep -Eq -- "$1" err || { cat err >&2; fail "stderr does not match: $1"; }
}

# same FILE1 FILE2: byte-identical.
same() { cmp -s "$1" "$2" || { diff "$1" "$2" | head -20 >&2; fail "$1 and $2 differ"; }; }
