#!/bin/sh
# tests/deb-install.sh DEBDIR — install the .debs that scripts/build-deb made in DEBDIR
# with apt, run the README's quickstart against the installed tools (/usr/bin, the
# manual pages, the completion and the recipe in /usr/share/imdb), then purge the
# packages and every package apt pulled in for them, so the machine is left as found.
#
# Not part of make check, since it installs into the machine: .ci/run runs it, as root.
# Data: IMDB_TARBALL, else ../shared/data/aclImdb_v1.tar.gz beside the checkout when it
# exists: the train and test splits are cut to one shard in 50 (about 500 reviews each)
# and nblr trained on them must reach 65% on the test shard. Without the real data the
# mini fixture (tests/fixtures) is used and only the outputs' shape is checked. The make
# recipe always runs on the fixture, since on the real data it is CI's accuracy gate.
# Exit status: 0 passed, 1 failed, 77 skipped (not root, no apt, or imdb already installed).
set -eu
LC_ALL=C
export LC_ALL
[ $# -eq 1 ] || { echo "usage: tests/deb-install.sh DEBDIR" >&2; exit 2; }
top=$(cd "$(dirname "$0")/.." && pwd)
debdir=$(cd "$1" && pwd)
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "deb-install: needs root (it installs packages): skipping"; exit 77; }
command -v apt-get >/dev/null || { echo "deb-install: no apt-get: skipping"; exit 77; }
ls "$debdir"/*.deb >/dev/null 2>&1 || fail "no .deb in $debdir (run scripts/build-deb $debdir)"
# The packages built there, without the debug symbols.
pkgs=
for d in "$debdir"/*.deb; do
    p=$(dpkg-deb -f "$d" Package)
    case $p in *-dbgsym) continue ;; esac
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
        echo "deb-install: $p is already installed: not touching this machine's copy; skipping"
        exit 77
    fi
    pkgs="$pkgs $p"
    debs="${debs:-} $d"
done
export DEBIAN_FRONTEND=noninteractive
scratch=$(mktemp -d "${TMPDIR:-/tmp}/imdb-deb-test.XXXXXX")
dpkg-query -W -f='${Package}:${Architecture}\n' | sort >"$scratch/before"
cleanup() {
    status=$?
    # shellcheck disable=SC2086
    apt-get purge -y -qq $pkgs >"$scratch/purge.log" 2>&1 || { cat "$scratch/purge.log"; status=1; }
    # Whatever apt installed for them (libraries they depend on, when missing before).
    dpkg-query -W -f='${Package}:${Architecture}\n' | sort >"$scratch/after"
    extra=$(comm -13 "$scratch/before" "$scratch/after" | tr '\n' ' ')
    if [ -n "$extra" ]; then
        # shellcheck disable=SC2086
        apt-get purge -y -qq $extra >>"$scratch/purge.log" 2>&1 || { cat "$scratch/purge.log"; status=1; }
    fi
    dpkg-query -W -f='${Package}:${Architecture}\n' | sort >"$scratch/after"
    if ! cmp -s "$scratch/before" "$scratch/after"; then
        echo "FAIL: the installed packages differ from before the test:" >&2
        diff "$scratch/before" "$scratch/after" >&2 || true
        status=1
    else
        echo "deb-install: purged$pkgs${extra:+ and $extra}; installed packages as before"
    fi
    rm -rf "$scratch"
    exit $status
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

echo "== apt-get install$debs"
# Local files must be given as paths (./x.deb or /dir/x.deb) for apt to take them.
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $debs >"$scratch/install.log" 2>&1 ||
    { cat "$scratch/install.log"; fail "apt-get install failed"; }
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" | grep -q 'install ok installed' || fail "$p is not installed"
done

# From here on only the installed tools: a PATH without the build tree, a new directory.
PATH=/usr/bin:/bin
export PATH
cd "$scratch"
for t in imdb-clean imdb-vocab imdb-train imdb-eval imdb-predict imdb-serve imdb-relabel; do
    [ "$(command -v $t)" = "/usr/bin/$t" ] || fail "$t is not /usr/bin/$t"
    $t --version >/dev/null || fail "$t --version failed"
    m=$(man -w "$t") || fail "no manual page for $t"
    case $m in /usr/share/man/man1/"$t".1.gz) ;; *) fail "man -w $t gives $m" ;; esac
done
for p in imdb-tokens imdb-vocab imdb-model; do
    [ "$(man -w 5 "$p")" = "/usr/share/man/man5/$p.5.gz" ] || fail "no $p(5)"
done
# The manual renders without warnings from groff.
man --warnings -l "$(man -w imdb-predict)" 2>"$scratch/man.err" >/dev/null
[ ! -s "$scratch/man.err" ] || { cat "$scratch/man.err"; fail "imdb-predict(1) renders with warnings"; }
echo "man -w imdb-predict: $(man -w imdb-predict)"
# Bash completion, loaded as bash-completion would, by command name.
for t in imdb-clean imdb-vocab imdb-train imdb-eval imdb-predict imdb-serve imdb-relabel; do
    comp=/usr/share/bash-completion/completions/$t
    [ -f "$comp" ] || fail "no completion in $comp"
    bash -c ". $comp && complete -p $t" >/dev/null 2>&1 || fail "$comp does not define a completion for $t"
done

fixture=$top/tests/fixtures/mini-aclImdb.tar.gz
tarball=${IMDB_TARBALL:-$top/../shared/data/aclImdb_v1.tar.gz}
if [ -s "$tarball" ]; then
    shard=--shard=0/50 floor=0.65
else
    tarball=$fixture shard= floor=0
fi
echo "== the quickstart on $tarball ${shard:+($shard of each split)}"
imdb-clean --split train $shard "$tarball" -o train.tok.gz
imdb-clean --split test $shard "$tarball" -o test.tok.gz
ntrain=$(gzip -dc train.tok.gz | sed 1d | wc -l)
ntest=$(gzip -dc test.tok.gz | sed 1d | wc -l)
echo "cleaned $ntrain train and $ntest test reviews"
[ "$ntrain" -gt 0 ] && [ "$ntest" -gt 0 ] || fail "imdb-clean kept no reviews"
imdb-vocab --ngrams 3 train.tok.gz -o vocab.gz
imdb-train --vocab vocab.gz --config /usr/share/imdb/nblr.conf -o min_df=1 -O nblr.model train.tok.gz \
    2>train.err || { cat train.err; fail "imdb-train failed"; }
imdb-eval --json nblr.model test.tok.gz >metrics.json
acc=$(sed -n 's/.*"accuracy": *\([0-9.]*\).*/\1/p' metrics.json)
[ -n "$acc" ] || { cat metrics.json; fail "no accuracy in imdb-eval --json"; }
echo "accuracy on the test reviews: $acc (floor $floor)"
awk -v a="$acc" -v f="$floor" 'BEGIN { exit !(a >= f) }' || fail "accuracy $acc is below $floor"
printf '%s\n' "One of the best films I have seen this year, wonderful acting." \
    "A boring, predictable mess. I want my two hours back." >examples.txt
imdb-predict nblr.model examples.txt >pred.txt
paste pred.txt examples.txt
[ "$(wc -l <pred.txt)" -eq 2 ] || fail "imdb-predict did not write one line per review"
grep -Evq '^(pos|neg)	[01]\.[0-9]{6}$' pred.txt && fail "imdb-predict line is not LABEL<TAB>P"
if [ -n "$shard" ]; then
    [ "$(cut -f1 pred.txt | tr '\n' ' ')" = "pos neg " ] || fail "the two obvious reviews were misread"
fi

echo "== the recipe /usr/share/imdb/imdb.mk on the fixture"
command -v make >/dev/null || fail "make is not installed (the package recommends it)"
printf 'min_df = 1\nepochs = 5\n' >my.conf
make -s -f /usr/share/imdb/imdb.mk -j2 DATA="$fixture" OUT=w CONFIG=my.conf MIN_ACCURACY=0 all gate \
    >recipe.log 2>&1 || { cat recipe.log; fail "the installed recipe failed"; }
for f in train.tok.gz test.tok.gz vocab.gz nblr.model nblr.metrics.json; do
    [ -s "w/$f" ] || fail "the recipe did not make $f"
done
echo "recipe: $(grep -o '"accuracy": *[0-9.]*' w/nblr.metrics.json)"
if command -v pkg-config >/dev/null && dpkg-query -W -f='${Status}' libimdb-dev 2>/dev/null | grep -q 'ok installed'; then
    echo "pkg-config --modversion imdb: $(pkg-config --modversion imdb)"
fi
echo "deb-install: passed"
