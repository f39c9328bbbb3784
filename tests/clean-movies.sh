#!/bin/sh
# imdb-clean --movie-split (issue 15): the two parts partition the split, no movie has
# reviews on both sides, the same reviews from a directory and from a tarball, and a
# missing url list or url line is a data error.
. "$IMDB_SRCDIR/tests/common.sh"
command -v tar >/dev/null || exit 77
tar -xzf "$FIXTURES/mini-aclImdb.tar.gz"
# The fixture has no url lists: give review i of each side the movie tt(i / 7), so
# neighbouring ids share a movie, as in aclImdb, and pos and neg share movies too.
for side in pos neg; do
    awk 'BEGIN { for (i = 0; i < 12500; i++) printf "http://www.imdb.com/title/tt%07d/usercomments\n", int(i / 7) }' \
        >aclImdb/train/urls_$side.txt
done
expect_status 0 imdb-clean --split train --movie-split valid -o valid.tok aclImdb
expect_status 0 imdb-clean --split train --movie-split fit:0.2 -o fit.tok aclImdb
imdb-clean --split train -o all.tok aclImdb
nv=$(tail -n +2 valid.tok | wc -l) nf=$(tail -n +2 fit.tok | wc -l) na=$(tail -n +2 all.tok | wc -l)
[ "$nv" -gt 0 ] && [ "$nf" -gt 0 ] || fail "an empty part: valid $nv, fit $nf"
[ $((nv + nf)) -eq "$na" ] || fail "parts $nv + $nf do not add up to $na"
# Together, in order, they are the whole split.
{ tail -n +2 valid.tok; tail -n +2 fit.tok; } | sort >both
tail -n +2 all.tok | sort >every
same both every
# No movie on both sides.
movie() { tail -n +2 "$1" | cut -f2 | sed 's|.*/\([0-9]*\)_.*|\1|' | awk '{ print int($1 / 7) }' | sort -u; }
movie valid.tok >mv
movie fit.tok >mf
[ -z "$(comm -12 mv mf)" ] || fail "movies on both sides: $(comm -12 mv mf | head -3)"
# A larger fraction moves whole movies into valid; F = 0 and 1 leave one side empty.
imdb-clean -q --split train --movie-split valid:0.5 -o v5.tok aclImdb
[ "$(tail -n +2 v5.tok | wc -l)" -gt "$nv" ] || fail "valid:0.5 is not larger than valid:0.2"
imdb-clean -q --split train --movie-split valid:0 -o v0.tok aclImdb
[ "$(tail -n +2 v0.tok | wc -l)" -eq 0 ] || fail "valid:0 is not empty"
# The same reviews from a tarball (whose url lists come after the reviews; this tar
# need not sort its members, so compare sorted).
tar -czf mini.tar.gz aclImdb
imdb-clean --split train --movie-split valid -o valid2.tok mini.tar.gz
sort valid.tok >s1
sort valid2.tok >s2
same s1 s2
# Usage and data errors.
expect_status 2 imdb-clean --split train --movie-split half aclImdb
expect_status 2 imdb-clean --split train --movie-split valid:2 aclImdb
expect_status 2 imdb-clean --movie-split valid aclImdb
expect_status 2 imdb-clean --split unsup --movie-split valid aclImdb
expect_status 1 imdb-clean --split test --movie-split valid aclImdb
expect_err 'aclImdb/test/urls_neg\.txt: cannot read'
expect_status 1 imdb-clean --split train --movie-split valid "$FIXTURES/mini-aclImdb.tar.gz"
expect_err 'no train/urls_(neg|pos)\.txt in the archive'
head -n 100 aclImdb/train/urls_neg.txt >short && mv short aclImdb/train/urls_neg.txt
expect_status 1 imdb-clean --split train --movie-split valid aclImdb
expect_err 'review train/neg/[0-9_]+ has no line in train/urls_neg\.txt'
echo bogus >aclImdb/train/urls_neg.txt
expect_status 1 imdb-clean --split train --movie-split valid aclImdb
expect_err 'urls_neg\.txt:1: no movie'
echo ok
