# tests/serve-lib.sh — sourced by tests/serve-*.sh: common.sh, a model trained on the
# fixture corpus, and an imdb-serve started on a free loopback port, killed on exit.
# Every wait is bounded, so a hung server fails the test instead of hanging make check.
. "$IMDB_SRCDIR/tests/common.sh"

command -v curl >/dev/null || { echo "curl not found: skipping" >&2; exit 77; }

SERVE_PID=
serve_cleanup() {
    if [ -n "$SERVE_PID" ]; then kill -KILL "$SERVE_PID" 2>/dev/null || :; fi
    cd / && rm -rf "$SCRATCH"
}
trap serve_cleanup EXIT

# serve_model [NAME [IMDB-TRAIN OPTIONS]...]: an nblr model of the fixture training reviews.
serve_model() {
    _name=${1:-m.bin}
    [ $# -gt 0 ] && shift
    [ -f train.tok.gz ] || imdb-clean --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
    [ -f v.gz ] || imdb-vocab train.tok.gz -o v.gz
    imdb-train -q --model nblr --vocab v.gz --output "$_name" "$@" train.tok.gz
}

# serve_start OPTION...: run imdb-serve on 127.0.0.1:0, stderr to serve.log; sets
# SERVE_PID, PORT and URL once the port file is there.
serve_start() {
    rm -f port
    imdb-serve --listen 127.0.0.1:0 --port-file port "$@" 2>>serve.log &
    SERVE_PID=$!
    _k=0
    while [ ! -s port ]; do
        kill -0 "$SERVE_PID" 2>/dev/null || { cat serve.log >&2; SERVE_PID=; fail "imdb-serve died at start"; }
        _k=$((_k + 1))
        [ $_k -lt 400 ] || fail "imdb-serve did not start in 20 s"
        sleep 0.05
    done
    PORT=$(cat port)
    URL="http://127.0.0.1:$PORT"
}

# serve_stop [SIGNAL]: signal the server (default TERM; it may be gone already, having
# been signalled before); it must exit 0 within 20 s.
serve_stop() {
    kill -"${1:-TERM}" "$SERVE_PID" 2>/dev/null || :
    _k=0
    while kill -0 "$SERVE_PID" 2>/dev/null; do
        _k=$((_k + 1))
        [ $_k -lt 400 ] || fail "imdb-serve still running 20 s after SIG${1:-TERM}"
        sleep 0.05
    done
    set +e
    wait "$SERVE_PID"
    _st=$?
    set -e
    SERVE_PID=
    [ "$_st" -eq 0 ] || { cat serve.log >&2; fail "imdb-serve exited $_st after SIG${1:-TERM}"; }
}

# req METHOD PATH [CURL OPTION]...: the answer's body in `body`, headers in `hdr`, the
# status code in $code (000 when there was no answer).
req() {
    _m=$1 _p=$2
    shift 2
    # curl -I writes the headers to -o as well: HEAD answers have no body to check.
    if [ "$_m" = HEAD ]; then set -- -I "$@"; else set -- -X "$_m" "$@"; fi
    code=$(curl -s --max-time 10 -o body -D hdr -w '%{http_code}' "$@" "$URL$_p") || :
    [ -n "$code" ] || code=000
}

# expect_code N: the last req got status N.
expect_code() {
    [ "$code" = "$1" ] || { cat body >&2; fail "got status $code, expected $1"; }
}

# body_is TEXT: the last body is exactly TEXT and a newline.
body_is() {
    printf "%s\n" "$1" >_want
    same body _want
}

# header NAME: the value of a header of the last answer (no CR).
header() { tr -d '\r' <hdr | sed -n "s/^$1: //Ip" | head -1; }

# predictions FILE: "LABEL<TAB>P" lines from the objects of a /v1/predict answer,
# P with six decimals as imdb-predict prints it.
predictions() {
    grep -o '"label":"[a-z]*","probability":[-0-9.e]*' "$1" |
        sed 's/"label":"\([a-z]*\)","probability":/\1 /' |
        awk '{ printf "%s\t%.6f\n", $1, $2 }'
}

# json_lines FILE: the lines of FILE as a JSON array of strings (tabs and backslashes
# and quotes escaped; the fixture reviews have no other control characters).
json_lines() {
    sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/	/\\t/g' -e 's/^/"/' -e 's/$/"/' "$1" |
        awk 'BEGIN { printf "[" } NR > 1 { printf "," } { printf "%s", $0 } END { printf "]" }'
}
