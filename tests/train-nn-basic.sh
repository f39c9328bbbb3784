#!/bin/sh
# train-nn-basic.sh — the neural kinds (lstm, bilstm, mlp, cnn) through imdb-train on
# the fixture corpus with tiny dimensions: the training loss falls, the settings are
# recorded, a seed gives the same model bytes with one thread and with two, and the
# models work in imdb-eval and imdb-predict (the same output for any --threads).
. "$IMDB_SRCDIR/tests/common.sh"

imdb-clean --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-clean --split test "$FIXTURES/mini-aclImdb.tar.gz" -o test.tok.gz
imdb-vocab train.tok.gz -o v.gz

tiny='-o dim=8 -o epochs=3 -o min_count=1 -o lr=0.01 -o max_len=100'
for kind in lstm bilstm mlp cnn; do
    case $kind in
    lstm) extra='-o hidden=8' ;;
    bilstm) extra='-o hidden=8 -o dense=8' ;;
    mlp) extra='-o dense=8 -o ngrams=2' ;;
    cnn) extra='-o filters=8 -o widths=2,3' ;;
    esac
    # shellcheck disable=SC2086
    expect_status 0 imdb-train -q -m $kind -V v.gz $tiny $extra --curves $kind.tsv -O $kind.bin train.tok.gz
    [ -s $kind.bin ] || fail "$kind: no model"
    [ "$(wc -l <$kind.tsv)" -ge 3 ] || fail "$kind: the curve has fewer than 2 epochs"
    awk -F'\t' 'NR == 2 { first = $2 } END { exit !($2 < first) }' $kind.tsv \
        || fail "$kind: the training loss did not fall: $(cut -f2 $kind.tsv | tr '\n' ' ')"

    # The effective settings, defaults included, are in the model.
    imdb-predict --info $kind.bin >info
    grep -q "^kind: $kind\$" info || fail "$kind: --info lacks the kind"
    grep -q '^  dim = 8$' info || fail "$kind: dim not recorded"
    grep -q '^  vocab_size = ' info || fail "$kind: the default vocab_size is not recorded"

    # Same seed: same bytes, with one thread and with two.
    # shellcheck disable=SC2086
    imdb-train -q -m $kind -V v.gz $tiny $extra -O again.bin train.tok.gz
    same $kind.bin again.bin
    # shellcheck disable=SC2086
    imdb-train -q -m $kind -V v.gz $tiny $extra --threads 2 -O t2a.bin train.tok.gz
    # shellcheck disable=SC2086
    imdb-train -q -m $kind -V v.gz $tiny $extra --threads 2 -O t2b.bin train.tok.gz
    same t2a.bin t2b.bin

    # Evaluation and prediction.
    expect_status 0 imdb-eval -q $kind.bin test.tok.gz
    grep -Eq '^accuracy +0\.[0-9]+$' out || fail "$kind: imdb-eval printed no accuracy"
    imdb-predict --tokens --threads 1 $kind.bin test.tok.gz >p1
    imdb-predict --tokens --threads 2 $kind.bin test.tok.gz >p2
    same p1 p2
    [ "$(wc -l <p1)" -eq "$(gunzip -c test.tok.gz | grep -vc '^#')" ] || fail "$kind: wrong number of predictions"
    grep -Evq '^(pos|neg)	[01]\.[0-9]{6}$' p1 && fail "$kind: malformed prediction: $(head -1 p1)"
    # Empty and unknown-only reviews still get a probability.
    printf '\nzzzqqq xxyyzz\n' | imdb-predict $kind.bin >p3
    [ "$(wc -l <p3)" -eq 2 ] || fail "$kind: empty or unknown reviews gave no prediction"
done

# No vocabulary: the trainer counts the words itself.
# shellcheck disable=SC2086
expect_status 0 imdb-train -q -m mlp $tiny -o dense=8 -o ngrams=2 -O novocab.bin train.tok.gz
