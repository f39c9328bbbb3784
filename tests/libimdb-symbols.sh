#!/bin/sh
# libimdb-symbols.sh — the installed shared library exports exactly the functions that
# lib/api/imdb.h declares (IMDB_API), no more (no internal module leaks), no fewer; its
# soname is libimdb.so.0; it does not pull in the tools' readline.
. "$IMDB_SRCDIR/tests/common.sh"
. "$IMDB_SRCDIR/tests/libimdb-install.sh"

so=$LIBDIR/libimdb.so
[ -f "$so" ] || fail "$so not installed"
# Declared: "IMDB_API type name(" at the start of a line, pointer stars included.
sed -n 's/^IMDB_API[^(]*[ *]\([A-Za-z_][A-Za-z_0-9]*\)(.*/\1/p' "$IMDB_SRCDIR/lib/api/imdb.h" | sort >declared
[ "$(wc -l <declared)" -ge 10 ] || fail "found only $(wc -l <declared) declarations in imdb.h"
# Exported: defined dynamic symbols, without version suffixes, and without the linker's
# own (_init, _fini, _edata, ...: they start with an underscore).
nm -D --defined-only "$so" | awk '{ print $NF }' | sed 's/@.*//' | grep -v '^_' | sort -u >exported
if ! cmp -s declared exported; then
    echo "declared in imdb.h (<) vs exported by $so (>):" >&2
    diff declared exported >&2 || true
    fail "the exported symbols differ from the header's functions"
fi
# Also refused: any exported symbol starting with an underscore other than the linker's.
nm -D --defined-only "$so" | awk '{ print $NF }' | grep '^_' | grep -vxE '_init|_fini|_edata|_end|__bss_start' >extra || true
[ ! -s extra ] || fail "unexpected exported symbols: $(cat extra)"

soname=$(objdump -p "$so" | awk '$1 == "SONAME" { print $2 }')
[ "$soname" = libimdb.so.0 ] || fail "soname is '$soname', expected libimdb.so.0"
[ -e "$LIBDIR/libimdb.so.0" ] || fail "libimdb.so.0 not installed"
! objdump -p "$so" | grep -q 'NEEDED.*libreadline' || fail "libimdb.so needs libreadline"
[ -f "$(dirname "$LIBDIR")/include/imdb.h" ] || [ -n "$(find "$DEST" -name imdb.h)" ] || fail "imdb.h not installed"
echo "libimdb-symbols: $(tr '\n' ' ' <exported)"
