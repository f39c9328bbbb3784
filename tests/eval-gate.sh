#!/bin/sh
# eval-gate.sh — --min-accuracy: status 3 with a clear message below the floor, status 0
# at or above it, and the metrics are written either way.
. "$IMDB_SRCDIR/tests/common.sh"

imdb-clean --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-clean --split test "$FIXTURES/mini-aclImdb.tar.gz" -o test.tok.gz
imdb-vocab train.tok.gz -o v.gz
imdb-train -q --model nblr --vocab v.gz --output m.bin train.tok.gz

imdb-eval --json m.bin test.tok.gz >metrics.json
acc=$(sed -n 's/.*"accuracy": \([^,]*\),/\1/p' metrics.json)

# The floor 0 always passes, and so does the accuracy itself (>=).
expect_status 0 imdb-eval --min-accuracy 0 m.bin test.tok.gz
expect_status 0 imdb-eval --min-accuracy "$acc" m.bin test.tok.gz

# A floor of 1 fails unless the model is perfect.
if [ "$acc" != 1 ]; then
    expect_status 3 imdb-eval --json -o gated.json --min-accuracy 1 m.bin test.tok.gz
    expect_err '^imdb-eval: accuracy 0\.[0-9]{4} is below the required minimum 1\.0000 \(--min-accuracy\)$'
    same gated.json metrics.json
    expect_status 3 imdb-eval --min-accuracy=0.9999999 m.bin test.tok.gz
    grep -q '^accuracy ' out || fail "the table was not written before the gate failed"
fi

# A hand-made stream: its own accuracy passes the gate, a hundredth more fails it.
printf 'pos\t1\tgreat great great\npos\t2\tgreat great\nneg\t3\tgreat great great great\nneg\t4\t\n' >four.tok
imdb-eval --json m.bin four.tok >four.json
right=$(sed -n 's/.*"tp": \([0-9]*\), "fp": [0-9]*, "tn": \([0-9]*\).*/\1 \2/p' four.json)
set -- $right
a=$(awk -v c=$(($1 + $2)) 'BEGIN { printf "%.2f", c / 4 }')
expect_status 0 imdb-eval --min-accuracy "$a" m.bin four.tok
if [ "$a" != 1.00 ]; then
    expect_status 3 imdb-eval --min-accuracy "$(awk -v a="$a" 'BEGIN { print a + 0.01 }')" m.bin four.tok
fi

# Out-of-range or malformed floors are usage errors.
expect_status 2 imdb-eval --min-accuracy 1.5 m.bin test.tok.gz
expect_err "Try 'imdb-eval --help'"
expect_status 2 imdb-eval --min-accuracy abc m.bin test.tok.gz
