#!/bin/sh
# tests/browser/page.sh [OUTDIR] — imdb-serve's web page in real headless Chromium (Debian's
# chromium package, driven by playwright-core from npm; see page.mjs for the checks). Not
# part of make check: it needs chromium and `npm ci` in tests/browser. .ci/run installs
# both and runs it. It trains a model on the fixture corpus, starts imdb-serve on a free
# loopback port, and leaves the screenshots in OUTDIR (default: tests/browser/out).
# IMDB_BIN: the tools (default: src of the checkout). Exit status: 0 passed, 1 failed,
# 77 skipped (no chromium, node or playwright-core; the message says which).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$(mkdir -p "${1:-$here/out}" && cd "${1:-$here/out}" && pwd)
bin=${IMDB_BIN:-$top/src}
chromium=${CHROMIUM:-/usr/bin/chromium}
skip() { echo "page.sh: $*: skipping the browser test" >&2; exit 77; }
[ -x "$chromium" ] || skip "no Chromium at $chromium (Debian package chromium)"
command -v node >/dev/null || skip "no node"
[ -d "$here/node_modules/playwright-core" ] || skip "no playwright-core (run: cd tests/browser && npm ci)"
[ -x "$bin/imdb-serve" ] || { echo "page.sh: $bin/imdb-serve is not built" >&2; exit 1; }
PATH="$bin:$PATH"
LC_ALL=C
export PATH LC_ALL

work=$(mktemp -d "${TMPDIR:-/tmp}/imdb-page.XXXXXX")
pid=
cleanup() {
    [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || :
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

imdb-clean -q --split train "$top/tests/fixtures/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-vocab -q train.tok.gz -o v.gz
imdb-train -q -V v.gz -O m.model train.tok.gz
# What imdb-predict says of the review page.mjs types: the page must show the same.
review="A wonderful, moving film with a superb cast. I loved every minute of it."
expected=$(printf '%s\n' "$review" | imdb-predict -m m.model)

imdb-serve -m m.model --listen 127.0.0.1:0 --port-file port --threads 2 2>serve.log &
pid=$!
k=0
while [ ! -s port ]; do
    kill -0 "$pid" 2>/dev/null || { cat serve.log >&2; echo "page.sh: imdb-serve died" >&2; exit 1; }
    k=$((k + 1))
    [ $k -lt 400 ] || { echo "page.sh: imdb-serve did not start in 20 s" >&2; exit 1; }
    sleep 0.05
done
url="http://127.0.0.1:$(cat port)/"

set +e
CHROMIUM=$chromium timeout 120 node "$here/page.mjs" "$url" "$pid" "$out" "$expected"
st=$?
set -e
# page.mjs stops the server itself (the "server is down" check); it must have exited 0.
if kill -0 "$pid" 2>/dev/null; then
    echo "page.sh: imdb-serve still running after the test" >&2
    st=1
else
    wait "$pid" || { echo "page.sh: imdb-serve exited $?" >&2; st=1; }
fi
pid=
cp serve.log "$out/serve.log"
[ $st -eq 0 ] || { echo "page.sh: FAILED (screenshots and serve.log in $out)" >&2; exit 1; }
echo "page.sh: passed; screenshots in $out"
