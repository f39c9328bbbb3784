#!/bin/sh
# tests/deb-install.sh DEBDIR — install the .debs that scripts/build-deb made in DEBDIR
# (imdb, libimdb0, libimdb-dev, python3-libimdb) with apt, run the README's quickstart
# against the installed tools (/usr/bin, the manual pages, the completion and the recipe
# in /usr/share/imdb), build the example program of the installed imdb(3) with
# `cc example.c $(pkg-config --cflags --libs imdb)` and load the quickstart's model with
# it and with /usr/bin/python3's `import libimdb` (both must score as imdb-predict does,
# byte for byte), then purge the packages and every package apt pulled in for them, and
# check that the machine is left as found: the same packages, none of the packages'
# files left behind, no libimdb in the dynamic loader's cache.
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
# Every path the packages ship that is not on the machine yet (directories like /usr/lib
# are): after the purge none of them may be left, byte-compiled Python caches included
# (they would keep /usr/lib/python3/dist-packages/libimdb).
for d in $debs; do
    dpkg-deb --fsys-tarfile "$d" | tar -tf - | sed 's|^\./|/|; s|/$||' | grep -v '^\.\?$'
done | sort -u | while IFS= read -r f; do
    [ -e "$f" ] || [ -L "$f" ] || printf '%s\n' "$f"
done >"$scratch/new-paths"
[ -s "$scratch/new-paths" ] || { rm -rf "$scratch"; fail "the packages ship nothing this machine lacks: is imdb installed by hand?"; }
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
    left=$(while IFS= read -r f; do
        if [ -e "$f" ] || [ -L "$f" ]; then printf ' %s' "$f"; fi
    done <"$scratch/new-paths")
    if [ -n "$left" ]; then
        echo "FAIL: the purge left files of the packages behind:$left" >&2
        status=1
    else
        echo "deb-install: none of the $(wc -l <"$scratch/new-paths") paths the packages added is left"
    fi
    if /sbin/ldconfig -p | grep -q 'libimdb\.so'; then
        echo "FAIL: the dynamic loader's cache still has libimdb after the purge:" >&2
        /sbin/ldconfig -p | grep 'libimdb\.so' >&2
        status=1
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
# Nor any other way to a build tree's library, header, imdb.pc or Python package.
unset LD_LIBRARY_PATH LD_PRELOAD PKG_CONFIG_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR \
    PYTHONPATH PYTHONHOME CPATH C_INCLUDE_PATH LIBRARY_PATH
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

# The texts the C and Python clients score: the two above and every review of the
# fixture sample, one a line (their newlines turned into spaces), as imdb-predict reads
# them. The model is the quickstart's (the real data's shard when it is there).
mkdir fixture
tar -xzf "$fixture" -C fixture
cp examples.txt texts.txt
find fixture -name '*.txt' -type f | sort | while IFS= read -r f; do
    tr '\n' ' ' <"$f"; echo
done >>texts.txt
imdb-predict nblr.model texts.txt >want.txt
ntexts=$(wc -l <texts.txt)
if [ "$(wc -l <want.txt)" -ne "$ntexts" ] || [ "$ntexts" -le 100 ]; then
    fail "imdb-predict scored $(wc -l <want.txt) of $ntexts texts"
fi

echo "== libimdb-dev: the example of imdb(3), cc example.c \$(pkg-config --cflags --libs imdb)"
for t in cc pkg-config; do
    command -v $t >/dev/null || fail "$t is not installed (build-essential, pkgconf)"
done
m3=$(man -w 3 imdb) || fail "no manual page imdb(3)"
[ "$m3" = /usr/share/man/man3/imdb.3.gz ] || fail "man -w 3 imdb gives $m3"
[ "$(dpkg-query -S "$m3" | cut -d: -f1)" = libimdb-dev ] || fail "$m3 is not libimdb-dev's"
# The example as the installed page has it (what a reader copies).
gzip -dc "$m3" | sed -n '/^\.SH EXAMPLES/,/^\.SH /p' | awk '
    /^\.EX/ { f = 1; next }
    /^\.EE/ { exit }
    f { gsub(/\\e/, "\\"); gsub(/\\-/, "-"); print }' >example.c
grep -q imdb_model_open example.c || fail "no example program in the installed imdb(3)"
pkg-config --exists imdb || fail "pkg-config does not find imdb: $(pkg-config --print-errors --exists imdb 2>&1)"
version=$(pkg-config --modversion imdb)
echo "pkg-config --cflags --libs imdb: $(pkg-config --cflags --libs imdb) (version $version)"
# shellcheck disable=SC2046
cc -Wall -Wextra -Werror example.c $(pkg-config --cflags --libs imdb) -o example 2>cc.err ||
    { cat cc.err; fail "the example of imdb(3) does not build against libimdb-dev"; }
# It runs on libimdb0's library, found by the loader's default paths (no LD_LIBRARY_PATH).
so=$(ldd ./example | awk '$1 == "libimdb.so.0" { print $3 }')
[ -n "$so" ] || { ldd ./example; fail "example does not link libimdb.so.0"; }
owner=$(dpkg-query -S "$(readlink -f "$so")" | cut -d: -f1)
[ "$owner" = libimdb0 ] || fail "example runs on $so, which is ${owner:-nobody}'s, not libimdb0's"
./example nblr.model <texts.txt >example.out 2>example.err || { cat example.err; fail "the example failed"; }
[ "$(head -n 1 example.out)" = "kind nblr, libimdb $version" ] ||
    fail "example says '$(head -n 1 example.out)', pkg-config says version $version"
sed -n "2,$((ntexts + 1))p" example.out >example.scores
cmp -s want.txt example.scores || { diff want.txt example.scores | head; fail "the example's scores are not imdb-predict's"; }
tail -n +$((ntexts + 2)) example.out >example.explain
[ "$(wc -l <example.explain)" -eq 3 ] || fail "the example explained $(wc -l <example.explain) n-grams, not 3"
echo "example (on $so): $ntexts texts scored as imdb-predict does; first text: $(tr '\t\n' ' ;' <example.explain)"

echo "== python3-libimdb: /usr/bin/python3 -c 'import libimdb'"
# -I: the installed package only (no PYTHONPATH, no user site, not the current directory).
/usr/bin/python3 -I -c '
import sys
import libimdb
want = "/usr/lib/python3/dist-packages/libimdb/__init__.py"
if libimdb.__file__ != want:
    sys.exit("libimdb is %s, not %s" % (libimdb.__file__, want))
with open(sys.argv[2], encoding="utf-8", newline="") as f:
    texts = f.read().split("\n")
if texts and texts[-1] == "":
    texts.pop()
with libimdb.Model(sys.argv[1]) as m:
    print("python3 %s, libimdb %s, kind %s, %d texts" % (sys.version.split()[0],
          libimdb.__version__, m.kind, len(texts)), file=sys.stderr)
    for label, p in m.predict(texts):
        print("%s\t%.6f" % (label, p))
' nblr.model texts.txt >python.out 2>python.err || { cat python.err; fail "python3 -c 'import libimdb' failed"; }
cat python.err
cmp -s want.txt python.out || { diff want.txt python.out | head; fail "libimdb.Model.predict does not score as imdb-predict"; }
echo "python3-libimdb: $ntexts texts scored as imdb-predict does"
echo "deb-install: passed"
