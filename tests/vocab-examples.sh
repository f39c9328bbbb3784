#!/bin/sh
# vocab-examples.sh — the EXAMPLES of imdb-vocab(1), run on a small stream: the bigram
# listing, pruning, and the sharded count merged back (byte-identical to one count).
. "$IMDB_SRCDIR/tests/common.sh"

words='the a movie film good bad plot acting was is not very great awful boring fun'
{
    echo '#imdb-tokens 1 html=1 nfkc=1 casefold=1 pattern=[a-z]+'
    i=0
    while [ $i -lt 60 ]; do
        # A deterministic pseudo-random document of 5 to 24 words.
        set -- $words
        n=$((5 + (i * 7) % 20))
        doc=
        j=0
        while [ $j -lt $n ]; do
            k=$(( (i * 31 + j * j * 17 + j) % 16 + 1 ))
            eval w=\${$k}
            doc="$doc${doc:+ }$w"
            j=$((j + 1))
        done
        [ $((i % 2)) -eq 0 ] && l=pos || l=neg
        printf '%s\t%d\t%s\n' "$l" "$i" "$doc"
        i=$((i + 1))
    done
} | gzip -c >train.tok.gz

imdb-vocab train.tok.gz -o train.vocab.gz
gzip -dc train.vocab.gz | awk -F '\t' 'NF == 3 && split($1, w, " ") == 2' | head -n 20 >bigrams
[ "$(wc -l <bigrams)" -eq 20 ] || fail "bigram example: $(wc -l <bigrams) lines"
awk -F '\t' '{ if (split($1, w, " ") != 2) exit 1 }' bigrams || fail "bigram example: not bigrams"

imdb-vocab --ngrams 1 --min-count 5 --max-size 50000 train.tok.gz -o uni.vocab
sed 1,2d uni.vocab | awk -F '\t' '$1 ~ / / || $2 < 5 { exit 1 }' || fail "unigram example"

gzip -dc train.tok.gz >train.tok
head -n 1 train.tok >header
tail -n +2 train.tok |
    split -n r/4 --filter='cat header - | imdb-vocab -o $FILE.vocab.gz' - shard.
[ "$(ls shard.a?.vocab.gz | wc -l)" -eq 4 ] || fail "expected 4 shards: $(ls)"
imdb-vocab --merge --min-count 2 shard.a?.vocab.gz -o train2.vocab.gz
imdb-vocab --min-count 2 train.tok.gz >whole
gzip -dc train2.vocab.gz >merged
same merged whole

# In a bounded memory: the same file.
mkdir -p vartmp
imdb-vocab --memory 2G --tmpdir vartmp --min-count 3 train.tok.gz -o big.vocab.gz
imdb-vocab --min-count 3 train.tok.gz -o small.vocab.gz
cmp -s big.vocab.gz small.vocab.gz || fail "--memory example differs"
