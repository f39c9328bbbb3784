#!/bin/sh
# Soft labels end to end (issue 15): imdb-relabel writes a version 2 stream, nblr and mlp
# learn from it, hard labels written as 1/0 train the same model as pos/neg, and bad soft
# labels, kinds that cannot use them, evaluation and a differently cleaned stream are
# refused with the file and line.
. "$IMDB_SRCDIR/tests/common.sh"
imdb-clean --split train -o train.tok.gz "$FIXTURES/mini-aclImdb.tar.gz"
imdb-clean --split unsup -o unsup.tok.gz "$FIXTURES/mini-aclImdb.tar.gz"
imdb-clean --split test -o test.tok.gz "$FIXTURES/mini-aclImdb.tar.gz"
imdb-vocab -n 3 -o vocab.gz train.tok.gz unsup.tok.gz
imdb-train -q -V vocab.gz -o min_df=1 --valid-fraction 0 -O teacher.model train.tok.gz

expect_status 0 imdb-relabel --help
grep -q -- '--require-learned' out || fail "--help lacks --require-learned"
expect_status 0 imdb-relabel --version
expect_status 2 imdb-relabel
expect_status 2 imdb-relabel --bogus teacher.model

# The teacher's P(pos) as label, version 2 header with the teacher's cleaning settings.
expect_status 0 imdb-relabel -o unsup.soft.tok.gz teacher.model unsup.tok.gz
expect_err '30 documents, 30 relabelled: 0 from learned document vectors, 0 inferred'
gzip -dc unsup.soft.tok.gz >soft.tok
head -n 1 soft.tok | sed 's/^#imdb-tokens 2 /#imdb-tokens 1 /' >h2
gzip -dc unsup.tok.gz | head -n 1 >h1
same h1 h2
[ "$(tail -n +2 soft.tok | wc -l)" -eq 30 ] || fail "not one line per document"
tail -n +2 soft.tok | cut -f1 | grep -qv '^[01]\.[0-9]\{6\}$' && fail "a label is not a soft label"
# The labels are the teacher's predictions, the ids and tokens those of the input.
imdb-predict --tokens -j 1 teacher.model unsup.tok.gz | cut -f2 >p1
tail -n +2 soft.tok | cut -f1 >p2
same p1 p2
gzip -dc unsup.tok.gz | tail -n +2 | cut -f2- >t1
tail -n +2 soft.tok | cut -f2- >t2
same t1 t2
# Same output for any thread count; --keep-labels leaves pos/neg as 1/0.
imdb-relabel -q -j 3 teacher.model unsup.tok.gz | gzip -dc -f >soft3.tok
same soft.tok soft3.tok
imdb-relabel -q -k -o kept.tok teacher.model train.tok.gz
gzip -dc train.tok.gz | tail -n +2 | cut -f1 | sed 's/^pos$/1.000000/; s/^neg$/0.000000/' >l1
tail -n +2 kept.tok | cut -f1 >l2
same l1 l2
# Hard labels given as 1/0 train the same nblr weights as pos/neg.
imdb-train -q -V vocab.gz -o min_df=1 --valid-fraction 0 -O a.model train.tok.gz
imdb-train -q -V vocab.gz -o min_df=1 --valid-fraction 0 -O b.model kept.tok
imdb-predict --tokens -j 1 a.model test.tok.gz >pa
imdb-predict --tokens -j 1 b.model test.tok.gz >pb
same pa pb
# nblr and mlp learn from soft labels; the settings are recorded.
expect_status 0 imdb-train -V vocab.gz -o min_df=1 -o soft_temperature=2 -o soft_min_confidence=0.6 \
    --valid-fraction 0 -O s.model train.tok.gz unsup.soft.tok.gz
expect_err '30 documents with soft labels: [0-9]+ kept, [0-9]+ below soft_min_confidence 0.6'
imdb-predict --info s.model | grep -qx '  soft_temperature = 2' || fail "soft_temperature not recorded"
imdb-eval s.model test.tok.gz >/dev/null
expect_status 0 imdb-train -m mlp -o epochs=1 -o dim=8 --valid-fraction 0 -O m.model train.tok.gz unsup.soft.tok.gz
# Soft labels change the nblr model (they are not read as hard ones).
imdb-train -q -V vocab.gz -o min_df=1 -o soft_hard=1 --valid-fraction 0 -O h.model train.tok.gz unsup.soft.tok.gz
imdb-train -q -V vocab.gz -o min_df=1 --valid-fraction 0 -O s1.model train.tok.gz unsup.soft.tok.gz
imdb-predict --tokens -j 1 h.model test.tok.gz >ph
imdb-predict --tokens -j 1 s1.model test.tok.gz >ps
cmp -s ph ps && fail "soft and rounded soft labels gave the same model"

# Kinds that cannot use soft labels, and evaluation, refuse them with the file and line.
expect_status 1 imdb-train -m dvcos -o dim=4 -o epochs=1 --valid-fraction 0 -O d.model train.tok.gz unsup.soft.tok.gz
expect_err 'unsup\.soft\.tok\.gz:2: soft label: kind dvcos learns from pos/neg labels only'
[ -e d.model ] && fail "a refused run left a model"
expect_status 0 imdb-train -q -m dvcos -o dim=4 -o epochs=1 -o min_count=1 -o soft_hard=1 --valid-fraction 0 \
    --unlabelled unsup.tok.gz -O d.model train.tok.gz unsup.soft.tok.gz
expect_status 1 imdb-eval s.model unsup.soft.tok.gz
expect_err 'unsup\.soft\.tok\.gz:2: soft label \(P\(pos\) = [0-9.e-]+\): evaluation needs pos/neg labels'

# Bad soft labels: outside [0, 1], NaN, a sign, or in a version 1 stream.
for bad in 1.5 nan -0.2 +0.5 inf 0.5x; do
    { head -n 1 soft.tok; printf '0.5\ta\tgood film\n%s\tb\tbad film\n' "$bad"; } >bad.tok
    expect_status 1 imdb-train -V vocab.gz -o min_df=1 --valid-fraction 0 -O x.model bad.tok
    expect_err 'bad\.tok:3: (soft label|unknown label)'
done
{ gzip -dc train.tok.gz | head -n 2; printf '0.7\tb\tbad film\n'; } >v1.tok
expect_status 1 imdb-train -V vocab.gz -o min_df=1 --valid-fraction 0 -O x.model v1.tok
expect_err "v1\.tok:3: soft label '0\.7' in a stream without a version 2 header"
printf '#imdb-tokens 3 html=1\npos\ta\tx\n' >v3.tok
expect_status 1 imdb-relabel teacher.model v3.tok
expect_err 'version 3 is not supported'

# A stream cleaned differently from the teacher, or without a header: refused unless --force.
imdb-clean --split unsup --no-casefold -o raw.tok.gz "$FIXTURES/mini-aclImdb.tar.gz"
expect_status 1 imdb-relabel teacher.model raw.tok.gz
expect_err 'raw\.tok\.gz: cleaned with different settings than the teacher'
expect_status 0 imdb-relabel -q --force -o forced.tok teacher.model raw.tok.gz
gzip -dc unsup.tok.gz | tail -n +2 >nohdr.tok
expect_status 1 imdb-relabel teacher.model nohdr.tok
expect_err 'no #imdb-tokens header'
# --require-learned: nblr keeps no document vectors.
expect_status 1 imdb-relabel --require-learned -o r.tok teacher.model unsup.tok.gz
expect_err 'unsup\.tok\.gz:2: document train/unsup/[0-9_]+ has no learned vector in the teacher'
[ -e r.tok ] && fail "a failed relabel left its output"
# A dvcos teacher with the pool: learned vectors for the pool, inferred for other text.
imdb-train -q -m dvcos -o dim=8 -o epochs=1 -o min_count=1 --valid-fraction 0 --unlabelled unsup.tok.gz \
    -O dv.model train.tok.gz
expect_status 0 imdb-relabel --require-learned -o r.tok dv.model unsup.tok.gz
expect_err '30 relabelled: 30 from learned document vectors, 0 inferred'
expect_status 1 imdb-relabel --require-learned -o r.tok dv.model test.tok.gz
expect_err 'test\.tok\.gz:2: document test/neg/[0-9_]+ has no learned vector'
# A failed write is an I/O error.
if [ -w /dev/full ]; then
    expect_status 4 sh -c 'imdb-relabel -q teacher.model unsup.tok.gz >/dev/full'
fi
echo ok
