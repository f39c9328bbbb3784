# clean-aclimdb.sh — the aclImdb layouts on the fixture sample (tests/fixtures/README):
# document counts per split, IDs and labels, order, tarball == directory, plain tar and
# stdin, ustar prefix / GNU long name / pax archives, and the man page's examples.
. "$IMDB_SRCDIR/tests/common.sh"
MINI="$FIXTURES/mini-aclImdb.tar.gz"

imdb-clean "$MINI" >all
[ "$(wc -l <all)" -eq 531 ] || fail "expected a header and 530 documents, got $(wc -l <all) lines"
tail -n +2 all | cut -f1,2 | sed 's|/[^/]*$||' | uniq -c | sed 's/^ *//' >got
cat >want <<'EOF'
100 neg	test/neg
100 pos	test/pos
150 neg	train/neg
150 pos	train/pos
30 -	train/unsup
EOF
same got want
# IDs: SPLIT/DIR/ID_RATING, in byte order (the tarball's), each once.
tail -n +2 all | cut -f2 | grep -Evx '(train|test)/(pos|neg|unsup)/[0-9]+_[0-9]+' >bad || true
[ ! -s bad ] || fail "malformed IDs: $(head -3 bad)"
tail -n +2 all | cut -f2 | LC_ALL=C sort -c
tail -n +2 all | cut -f2 | LC_ALL=C sort -u | wc -l | grep -qx ' *530' || fail "duplicate IDs"
grep -q '^neg	test/neg/0_2	' all || fail "test/neg/0_2 missing"
# Every document has tokens; nothing from aclImdb/README leaks in.
tail -n +2 all | awk -F'\t' '$3 == "" { exit 1 }' || fail "empty document"

# Splits: train = train/pos + train/neg, test = test/pos + test/neg, unsup = train/unsup;
# together, in the order test, train, unsup, they are the whole archive.
imdb-clean --split train "$MINI" >train
imdb-clean -s test "$MINI" >test
imdb-clean --split=unsup "$MINI" >unsup
[ "$(tail -n +2 train | wc -l)" -eq 300 ] || fail "train: $(tail -n +2 train | wc -l) documents"
[ "$(tail -n +2 test | wc -l)" -eq 200 ] || fail "test: $(tail -n +2 test | wc -l) documents"
[ "$(tail -n +2 unsup | wc -l)" -eq 30 ] || fail "unsup: $(tail -n +2 unsup | wc -l) documents"
tail -n +2 train | cut -f2 | grep -v '^train/\(pos\|neg\)/' && fail "train split leaks"
tail -n +2 unsup | cut -f1 | grep -vx -- - && fail "unsup documents must be unlabelled"
{ cat test; tail -n +2 train; tail -n +2 unsup; } >joined
same joined all

# The same from a plain tar, from stdin, and from the extracted directory (given as the
# aclImdb directory itself or as its parent).
gzip -dc "$MINI" >mini.tar
imdb-clean mini.tar >got
same got all
imdb-clean -f tar - <"$MINI" >got
same got all
mkdir x
tar -xzf "$MINI" -C x
imdb-clean x/aclImdb >got
same got all
imdb-clean --format=dir x >got
same got all
imdb-clean --split train x/aclImdb >got
same got train

# Archive variants: long leading directories stored with the ustar prefix field, with GNU
# 'L' long-name records, and with pax 'x' path records; the IDs stay the same.
long=$(printf '%060d/%060d' 0 0)
longer=$(printf '%0200d' 0)
mkdir -p "v/$long" "v/$longer"
cp -R x/aclImdb "v/$long/"
cp -R x/aclImdb "v/$longer/"
(cd v && tar --format=ustar -cf ../ustar.tar "$long")
(cd v && tar --format=gnu -cf ../gnu.tar "$longer")
(cd v && tar --format=pax -cf ../pax.tar "$longer")
tail -n +2 all | LC_ALL=C sort >want
for f in ustar gnu pax; do
    # tar's own directory order is not sorted: compare as sets.
    imdb-clean "$f.tar" | tail -n +2 | LC_ALL=C sort >got
    same got want
done

# The EXAMPLES of imdb-clean(1), on the sample.
cp "$MINI" aclImdb_v1.tar.gz
imdb-clean --split train aclImdb_v1.tar.gz -o train.tok.gz
imdb-clean --split test aclImdb_v1.tar.gz -o test.tok.gz
gzip -dc train.tok.gz >got
same got train
gzip -dc test.tok.gz >got
same got test
(cd x && imdb-clean -v --split unsup aclImdb/ -o unsup.tok.gz) 2>err
[ "$(gzip -dc x/unsup.tok.gz | wc -l)" -eq 31 ] || fail "unsup example"
expect_err '^imdb-clean: 30 documents \(0 pos, 0 neg, 30 unlabelled\), [0-9]+ tokens, [0-9]+ bytes in'
expect_err '^imdb-clean: 0 invalid UTF-8 sequences replaced by U\+FFFD, 0 NUL bytes$'
printf 'What a great film!\nDull and far too long.\n' | imdb-clean >got
cat >want <<'EOF'
-	1	what a great film !
-	2	dull and far too long
EOF
tail -n +2 got >got2
same got2 want
printf 'review,sentiment\n"Loved it, truly.",positive\n' >"IMDB Dataset.csv"
imdb-clean --format=csv "IMDB Dataset.csv" -o kaggle.tok.gz
gzip -dc kaggle.tok.gz | tail -n 1 >got
printf 'pos\t2\tloved it truly\n' >want
same got want
imdb-clean --no-casefold --pattern '\w+' -s test aclImdb_v1.tar.gz | sed -n 1p >got
printf '#imdb-tokens 1 html=1 nfkc=1 casefold=0 pattern=\\w+\n' >want
same got want
