#!/bin/sh
# python.sh — the Python package libimdb (python/tests/test_libimdb.py) under PYTHON
# -m pytest (Debian's /usr/bin/python3 by default), against the extension just built in
# this tree (python/.libs) and the shared library beside it (lib/.libs), never an
# installed copy. Skipped (77) when configure left the module out (--disable-python, no
# Python headers) or pytest is missing (Debian package python3-pytest).
#
# Sanitizer builds (configure --enable-sanitizers): the extension is then built with
# ASan, whose runtime must be the first library of the process, and python3 is not; so
# the test runs python3 with LD_PRELOAD=$(CC -print-file-name=libasan.so) (skipped if
# that library is not found). Leak detection is off there: CPython frees little at exit,
# and the C library's own leaks are the business of its C tests.
. "$IMDB_SRCDIR/tests/common.sh"
BUILDDIR=$(cd "$IMDB_BIN/.." && pwd)
env="$BUILDDIR/python/test-env.sh"
[ -f "$env" ] || { echo "SKIP: $env missing (make check makes it)"; exit 77; }
. "$env"
[ "$BUILD_PYTHON" = yes ] || { echo "SKIP: the Python module is not built (configure found no Python headers, or --disable-python)"; exit 77; }
"$PYTHON" -c 'import pytest' 2>/dev/null || { echo "SKIP: no pytest for $PYTHON (Debian package python3-pytest)"; exit 77; }
so="$BUILDDIR/python/.libs/_libimdb$PYTHON_EXT_SUFFIX"
[ -f "$so" ] || fail "$so not built"

# The package as it is installed: the sources' python/libimdb/ plus the built extension.
mkdir -p pkg/libimdb
cp "$IMDB_SRCDIR"/python/libimdb/__init__.py "$IMDB_SRCDIR"/python/libimdb/__init__.pyi pkg/libimdb/
ln -s "$so" pkg/libimdb/
PYTHONPATH="$SCRATCH/pkg"
LD_LIBRARY_PATH="$BUILDDIR/lib/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
PYTHONDONTWRITEBYTECODE=1
PYTEST_DISABLE_PLUGIN_AUTOLOAD=1
IMDB_BUILDDIR="$BUILDDIR"
export PYTHONPATH LD_LIBRARY_PATH PYTHONDONTWRITEBYTECODE PYTEST_DISABLE_PLUGIN_AUTOLOAD IMDB_BUILDDIR

if [ "$SANITIZERS" = yes ]; then
    asan=$($CC -print-file-name=libasan.so)
    [ -f "$asan" ] || { echo "SKIP: sanitizer build and no libasan.so to preload"; exit 77; }
    LD_PRELOAD="$asan${LD_PRELOAD:+ $LD_PRELOAD}"
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"   # the last one wins
    export LD_PRELOAD ASAN_OPTIONS
fi

"$PYTHON" -m pytest -q --tb=short -p no:cacheprovider --rootdir="$SCRATCH" \
    --basetemp="$SCRATCH/pytest" \
    "$IMDB_SRCDIR/python/tests/test_libimdb.py"
