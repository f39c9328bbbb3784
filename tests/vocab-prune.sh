#!/bin/sh
# vocab-prune.sh — --min-count and --max-size, alone and together, and the tie order:
# count, then document frequency, then bytes (so the cut of --max-size is deterministic).
. "$IMDB_SRCDIR/tests/common.sh"

# b and c tie on count 3; c is in more documents. x, y, z, Z tie on count and df: bytes
# decide ("Z" < "x" < "y" < "z").
printf 'pos\t1\tb b b c x Z\nneg\t2\tc c y z\n-\t3\ta a a a\n' >t.tok

cat >want <<'END'
#imdb-vocab 1 ngrams=1 docs=3 tokens=14
a	4	1
c	3	2
b	3	1
Z	1	1
x	1	1
y	1	1
z	1	1
END
imdb-vocab -n 1 t.tok >all
same all want

imdb-vocab -n 1 --min-count 3 t.tok >o
head -n 4 want >w
same o w

imdb-vocab -n 1 --max-size 5 t.tok >o
head -n 6 want >w
same o w

imdb-vocab -n 1 -m 2 -s 2 t.tok >o
head -n 3 want >w
same o w

imdb-vocab -n 1 --max-size 100 t.tok >o
same o want

imdb-vocab -n 1 --min-count 5 t.tok >o
[ "$(cat o)" = "#imdb-vocab 1 ngrams=1 docs=3 tokens=14" ] || fail "min-count above all counts"

# The same data in another document order gives the same bytes.
printf -- '-\t3\ta a a a\nneg\t2\tc c y z\npos\t1\tb b b c x Z\n' >r.tok
imdb-vocab -n 1 r.tok >o
same o want
imdb-vocab t.tok >o3
imdb-vocab r.tok >r3
same o3 r3
