#!/bin/sh
# predict-interactive.sh — the readline prompt driven through a pipe with --interactive:
# one verdict per review, "positive (0.97) [####...]" style, --explain lines, --json,
# and no history file when stdin is not a terminal.
. "$IMDB_SRCDIR/tests/common.sh"

imdb-clean --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-vocab train.tok.gz -o v.gz
imdb-train -q --model nblr --vocab v.gz --output m.bin train.tok.gz
HOME=$SCRATCH/home
XDG_STATE_HOME=
export HOME XDG_STATE_HOME
mkdir "$HOME"

printf 'great great great\n\nthe worst waste of time\n' >in.txt
imdb-predict --no-interactive m.bin <in.txt >batch.out

expect_status 0 imdb-predict --interactive m.bin <in.txt
grep -Eo '(positive|negative) \([01]\.[0-9]{2}\) \[[#-]{20}\]' out >verdicts
[ "$(wc -l <verdicts)" -eq 3 ] || fail "3 reviews gave $(wc -l <verdicts) verdicts: $(cat out)"
# The verdicts agree with batch mode.
awk -F'\t' '{ printf "%s (%.2f)\n", $1 == "pos" ? "positive" : "negative", $2 }' batch.out >want
sed 's/ \[.*//' verdicts >got
same want got
# The bar has round(20 p) cells filled.
sed -n 1p verdicts | awk '{ p = substr($2, 2, 4); b = $3; n = gsub(/#/, "", b);
    d = n - 20 * p; if (d > 1 || d < -1) exit 1 }' || fail "bar length: $(sed -n 1p verdicts)"
[ ! -e "$HOME/.imdb_history" ] || fail "history written for piped input"

# --explain: indented n-gram lines under the verdict.
expect_status 0 imdb-predict -i -e5 m.bin <in.txt
grep -Eq '^  great( great)*  [+-][0-9]+\.[0-9]{3}$' out || fail "--explain in the prompt: $(cat out)"

# --json: the same JSON lines as batch mode.
imdb-predict --json m.bin <in.txt >batch.json
expect_status 0 imdb-predict -i --json m.bin <in.txt
grep -o '{"id".*}' out >got.json
same batch.json got.json

# End of input at once: no verdict, exit 0.
expect_status 0 imdb-predict --interactive m.bin </dev/null
grep -q 'positive\|negative' out && fail "verdict without input"
exit 0
