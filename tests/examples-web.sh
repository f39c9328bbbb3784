#!/bin/sh
# examples-web.sh — the example servers examples/flask_app.py (Flask) and
# examples/wsgi_app.py (wsgiref) against imdb-serve: each is started on a free loopback
# port with the same model, and tests/examples_web.py sends all three the same requests
# (single, batch, explain, malformed JSON, wrong types, bad UTF-8, too big a body, wrong
# method and path) and compares the answers, byte for byte but for the wording of
# "malformed JSON" messages. Runs Debian's python3 (PYTHON) against the extension just
# built, as tests/python.sh does. Skipped (77) when the module is not built, or without
# Flask (Debian package python3-flask) or curl; under the sanitizer build, as
# tests/python.sh, with libasan preloaded.
. "$IMDB_SRCDIR/tests/serve-lib.sh"
BUILDDIR=$(cd "$IMDB_BIN/.." && pwd)
env="$BUILDDIR/python/test-env.sh"
[ -f "$env" ] || { echo "SKIP: $env missing (make check makes it)"; exit 77; }
. "$env"
[ "$BUILD_PYTHON" = yes ] || { echo "SKIP: the Python module is not built"; exit 77; }
"$PYTHON" -c 'import flask' 2>/dev/null || { echo "SKIP: no Flask for $PYTHON (Debian package python3-flask)"; exit 77; }
so="$BUILDDIR/python/.libs/_libimdb$PYTHON_EXT_SUFFIX"
[ -f "$so" ] || fail "$so not built"

# The package as installed: python/libimdb/ and the built extension (as tests/python.sh).
mkdir -p pkg/libimdb
cp "$IMDB_SRCDIR"/python/libimdb/__init__.py pkg/libimdb/
ln -s "$so" pkg/libimdb/
PYTHONPATH="$SCRATCH/pkg"
LD_LIBRARY_PATH="$BUILDDIR/lib/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
PYTHONDONTWRITEBYTECODE=1
export PYTHONPATH LD_LIBRARY_PATH PYTHONDONTWRITEBYTECODE
if [ "$SANITIZERS" = yes ]; then
    asan=$($CC -print-file-name=libasan.so)
    [ -f "$asan" ] || { echo "SKIP: sanitizer build and no libasan.so to preload"; exit 77; }
    PY_PRELOAD="$asan"
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
    export ASAN_OPTIONS
else
    PY_PRELOAD=
fi

serve_model m.bin
imdb-train -q -k mlp -O mlp.bin train.tok.gz     # a kind that cannot explain

# start_py NAME SCRIPT MODEL: the example on 127.0.0.1:0, its port in NAME.port.
APP_PIDS=
cleanup_apps() {
    for p in $APP_PIDS; do kill -KILL "$p" 2>/dev/null || :; done
    serve_cleanup
}
trap cleanup_apps EXIT
start_py() {
    LD_PRELOAD="$PY_PRELOAD${LD_PRELOAD:+ $LD_PRELOAD}" "$PYTHON" \
        "$IMDB_SRCDIR/examples/$2" "$3" --listen 127.0.0.1:0 --max-body 65536 \
        --port-file "$1.port" -q 2>>"$1.log" &
    APP_PIDS="$APP_PIDS $!"
    _pid=$!
    _k=0
    while [ ! -s "$1.port" ]; do
        kill -0 "$_pid" 2>/dev/null || { cat "$1.log" >&2; fail "$2 died at start"; }
        _k=$((_k + 1))
        [ $_k -lt 400 ] || { cat "$1.log" >&2; fail "$2 did not start in 20 s"; }
        sleep 0.05
    done
}

start_py flask flask_app.py m.bin
start_py wsgi wsgi_app.py m.bin
start_py flask-mlp flask_app.py mlp.bin
start_py wsgi-mlp wsgi_app.py mlp.bin
serve_start --max-body 65536 -j2 -q m.bin
SERVE_PORT=$PORT
SERVE_PID_1=$SERVE_PID
rm -f port
imdb-serve --listen 127.0.0.1:0 --port-file port --max-body 65536 -j1 -q mlp.bin 2>>serve.log &
SERVE_PID=$!
APP_PIDS="$APP_PIDS $SERVE_PID_1"
_k=0
while [ ! -s port ]; do
    _k=$((_k + 1)); [ $_k -lt 400 ] || fail "imdb-serve (mlp) did not start"; sleep 0.05
done

"$PYTHON" "$IMDB_SRCDIR/tests/examples_web.py" \
    "imdb-serve=$SERVE_PORT" "flask=$(cat flask.port)" "wsgi=$(cat wsgi.port)" \
    -- "imdb-serve=$(cat port)" "flask=$(cat flask-mlp.port)" "wsgi=$(cat wsgi-mlp.port)" ||
    { tail -n 20 flask.log wsgi.log >&2; fail "the examples' answers differ from imdb-serve's"; }
