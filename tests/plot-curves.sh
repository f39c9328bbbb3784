#!/bin/sh
# scripts/plot-curves: curves of several runs (one without validation, as word2vec
# writes them) become one PNG; bad input and usage errors have their exit statuses.
. "$IMDB_SRCDIR/tests/common.sh"
command -v gnuplot >/dev/null 2>&1 || exit 77
plot="$IMDB_SRCDIR/scripts/plot-curves"

tab=$(printf '\t')
header="epoch${tab}train_loss${tab}valid_loss${tab}valid_acc${tab}seconds"
{ echo "$header"; printf '1\t0.60\t0.62\t0.70\t1.0\n2\t0.45\t0.50\t0.80\t2.0\n3\t0.35\t0.46\t0.84\t3.0\n'; } >batch_32.tsv
{ echo "$header"; printf '1\t0.65\t0.66\t0.66\t1.0\n2\t0.55\t0.57\t0.75\t2.0\n'; } >"batch 64's.tsv"
{ echo "$header"; printf '1\t3.1\tnan\tnan\t9.0\n2\t2.7\tnan\tnan\t18.0\n'; } >w2v.tsv

"$plot" -o all.png -t "batch sizes" batch_32.tsv "batch 64's.tsv" w2v.tsv
[ "$(head -c 8 all.png | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "all.png is not a PNG"
[ "$(wc -c <all.png)" -gt 10000 ] || fail "all.png is suspiciously small"
"$plot" -o only-w2v.png w2v.tsv
[ -s only-w2v.png ] || fail "no PNG for a run without validation"

expect_status 0 "$plot" --help
grep -q '^scripts/plot-curves \[-o OUT.png\]' out || fail "--help"
expect_status 2 "$plot"
expect_err "no curves file given"
expect_status 2 "$plot" --bogus x.tsv
expect_err "unknown option '--bogus'"
echo "not a curve" >bad.tsv
expect_status 1 "$plot" -o bad.png bad.tsv
expect_err "bad.tsv:1: not a curves file"
echo "$header" >empty.tsv
expect_status 1 "$plot" -o e.png empty.tsv
expect_err "empty.tsv: no epochs"
expect_status 1 "$plot" missing.tsv
expect_err "missing.tsv: cannot read"
