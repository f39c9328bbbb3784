# clean-split.sh — imdb-clean --split-by-hash/--part (imdb-clean(1)): the parts of a table
# are disjoint and cover it, in the proportions asked, pinned to the documented rule
# (the counts below were computed with Python's integers from shard.h's formula); they
# do not move when rows are reordered or added; rows without an id column hash their
# text, so duplicate texts stay together; aclImdb input and --shard combine with it; and
# the man page's example pipeline (fit, validate, test on one's own table) runs.
. "$IMDB_SRCDIR/tests/common.sh"

awk 'BEGIN { print "review_id,review_text,is_recommended"
             for (i = 1; i <= 3000; i++)
                 printf "row%d,%s film number %d,%d\n", i, i % 2 ? "a good" : "a dull", i, i % 2 }' >t.csv
C='--text-column review_text --label-column is_recommended --id-column review_id --labels pos=1;neg=0'
S='--split-by-hash fit=80,valid=10,test=10'
# shellcheck disable=SC2086
imdb-clean $C t.csv >whole.tok
for p in fit valid test; do
    # shellcheck disable=SC2086
    imdb-clean $C $S --part "$p" t.csv >"$p.tok"
    head -n 1 "$p.tok" >h
    head -n 1 whole.tok >hw
    same h hw
done
# Disjoint and covering: the parts' ids, together, are the whole's, each once.
for p in fit valid test; do tail -n +2 "$p.tok"; done | sort >parts
tail -n +2 whole.tok | sort >all
same parts all
# The counts of the documented rule (Python: 2400, 297, 303).
counts=$(for p in fit valid test; do tail -n +2 "$p.tok" | wc -l; done | tr '\n' ' ')
[ "$counts" = "2400 297 303 " ] || fail "part sizes $counts, expected 2400 297 303"
# A part keeps the input's order.
tail -n +2 valid.tok | cut -f 2 | sed 's/row//' >order
sort -n order >sorted
same order sorted

# Stable: reversing the rows, or adding rows, moves no row to another part.
{ head -n 1 t.csv; tail -n +2 t.csv | sort -r; } >rev.csv
awk 'BEGIN { print "review_id,review_text,is_recommended"
             for (i = 1; i <= 6000; i++) printf "row%d,film %d,%d\n", i, i, i % 2 }' >more.csv
for p in fit valid test; do
    # shellcheck disable=SC2086
    imdb-clean $C $S --part "$p" rev.csv | tail -n +2 | cut -f 2 | sort >a
    tail -n +2 "$p.tok" | cut -f 2 | sort >b
    same a b
    # shellcheck disable=SC2086
    imdb-clean $C $S --part "$p" more.csv | tail -n +2 | cut -f 2 | sort >c
    comm -13 c b >lost
    [ ! -s lost ] || fail "$p: adding rows moved $(wc -l <lost) of the old rows away"
done
# Weights are proportions: 8,1,1 is 80,10,10.
# shellcheck disable=SC2086
imdb-clean $C --split-by-hash fit=8,valid=1,test=1 --part valid t.csv >v2.tok
same v2.tok valid.tok

# Without an id column the text is hashed: a duplicated text lands in one part with its
# copies, and shuffling the rows keeps every text in its part.
awk 'BEGIN { print "text,label"; for (i = 1; i <= 2000; i++) printf "review %d,%s\n", i % 700, i % 2 ? "pos" : "neg" }' >dup.csv
for p in fit valid test; do
    imdb-clean --text-column text $S --part "$p" dup.csv | tail -n +2 | cut -f 3 | sort -u >"dup-$p"
done
cat dup-fit dup-valid dup-test | sort | uniq -d >straddle
[ ! -s straddle ] || fail "texts in two parts: $(head -3 straddle)"
[ "$(cat dup-fit dup-valid dup-test | wc -l)" -eq 700 ] || fail "the parts do not cover the 700 texts"
{ head -n 1 dup.csv; tail -n +2 dup.csv | sort; } >dup-sorted.csv
imdb-clean --text-column text $S --part valid dup-sorted.csv | tail -n +2 | cut -f 3 | sort -u >a
same a dup-valid

# aclImdb input hashes its paths: the parts of train are disjoint and cover it.
A=$FIXTURES/mini-aclImdb.tar.gz
imdb-clean --split train "$A" | tail -n +2 | sort >all
for p in a b; do imdb-clean --split train --split-by-hash a=1,b=1 --part "$p" "$A" | tail -n +2; done | sort >parts
same parts all
# --shard and --split-by-hash together: the shards of a part make up the part.
for k in 0 1 2; do imdb-clean --shard "$k/3" --split train --split-by-hash a=1,b=1 --part b "$A" | tail -n +2; done | sort >shards
imdb-clean --split train --split-by-hash a=1,b=1 --part b "$A" | tail -n +2 | sort >whole
same shards whole

# Bad splits: exit 2.
expect_status 2 imdb-clean --split-by-hash fit=80,valid=10 t.csv
expect_err "^imdb-clean: --split-by-hash needs --part NAME: the part to keep$"
expect_status 2 imdb-clean --part valid t.csv
expect_err "^imdb-clean: --part needs --split-by-hash$"
expect_status 2 imdb-clean --split-by-hash fit=80,valid=10 --part test t.csv
expect_err "^imdb-clean: --split-by-hash: unknown part 'test' \(the split 'fit=80,valid=10' has fit, valid\)$"
expect_status 2 imdb-clean --split-by-hash fit=80,valid=0 --part fit t.csv
expect_err "^imdb-clean: --split-by-hash: invalid split 'fit=80,valid=0': the weight of 'valid' must be a whole number from 1"
expect_status 2 imdb-clean --split-by-hash fit=80,fit=10 --part fit t.csv
expect_err "part 'fit' named twice"

# The man page's example: fit, validate and test parts of one's own table.
for part in fit valid test; do
    imdb-clean -q --text-column review_text --label-column is_recommended \
        --id-column review_id --labels 'pos=1;neg=0' \
        --split-by-hash fit=80,valid=10,test=10 --part $part t.csv -o $part.tok.gz
done
imdb-vocab -q fit.tok.gz -o vocab.gz
imdb-train -q --vocab vocab.gz -O model fit.tok.gz
imdb-eval model valid.tok.gz >eval.txt
grep -Eq '^accuracy +1\.0000' eval.txt || { cat eval.txt >&2; fail "the example pipeline's model is not perfect on a separable table"; }
