#!/bin/sh
# imdb-train on the fixture corpus: the model works end to end, settings are recorded,
# the same seed and threads give the same bytes, config precedence, learning curves.
. "$IMDB_SRCDIR/tests/common.sh"

imdb-clean -q --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-clean -q --split test "$FIXTURES/mini-aclImdb.tar.gz" -o test.tok.gz
imdb-vocab -q --ngrams 3 train.tok.gz -o vocab.gz

# Two runs with the same seed and threads: byte-identical models.
imdb-train -q -V vocab.gz --seed 7 --threads 2 -o min_df=1 -O a.model train.tok.gz
imdb-train -q -V vocab.gz --seed 7 --threads 2 -o min_df=1 -O b.model train.tok.gz
same a.model b.model
# Another seed gives another validation split, hence (almost surely) other weights.
imdb-train -q -V vocab.gz --seed 8 --threads 2 -o min_df=1 -O c.model train.tok.gz
cmp -s a.model c.model && fail "seed 7 and seed 8 gave the same model"

# The model beats chance on the held-out fixture test split (200 reviews).
expect_status 0 imdb-eval --json a.model test.tok.gz
acc=$(sed -n 's/^ *"accuracy": *\([0-9.]*\).*/\1/p' out)
awk -v a="$acc" 'BEGIN { exit !(a > 0.6) }' || fail "fixture accuracy $acc is not above 0.6"

# Effective settings (defaults included) are stored; the config file < options < -o.
cat > t.conf <<'CONF'
# a comment
c = 0.5
seed = 3
prior = 0
CONF
imdb-train -q -V vocab.gz -c t.conf --seed 4 -o c=0.25 -O d.model --curves curves.tsv train.tok.gz
imdb-predict --info d.model >info
grep -q '^kind: nblr$' info || fail "--info: kind"
grep -q '^  c = 0.25$' info || fail "-o c=0.25 did not win over the config file"
grep -a -q 'seed = 4' d.model || fail "--seed did not win over the config file"
grep -a -q 'prior = 0$' d.model || fail "config file setting not recorded"
grep -a -q 'ngrams = 3' d.model || fail "default setting not recorded"
head -n1 curves.tsv | grep -qx "$(printf 'epoch\ttrain_loss\tvalid_loss\tvalid_acc\tseconds')" ||
    fail "curves header"
[ "$(wc -l <curves.tsv)" -ge 2 ] || fail "no epoch in curves.tsv"

# The model reads the way it was written: raw text predicts like the token stream.
echo "A wonderful film, I loved it!" | imdb-predict a.model >p1
grep -Eq '^(pos|neg)	[01]\.[0-9]{6}$' p1 || fail "unexpected prediction: $(cat p1)"
echo ok
