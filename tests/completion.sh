#!/bin/sh
# completion.sh — data/imdb-completion.bash, called as bash calls it (COMP_WORDS and
# COMP_CWORD set, the answer in COMPREPLY): every option that a tool's --help shows is
# offered, so a new option cannot go without completion; option values (files,
# directories, kinds, formats, splits) and operands; both spellings of --unlabelled.
# Sourced by bash: re-run under bash when make check's shell is another one.
if [ -z "${BASH_VERSION-}" ]; then
    command -v bash >/dev/null || { echo "bash not found: skipping" >&2; exit 77; }
    exec bash "$0" "$@"
fi
. "$IMDB_SRCDIR/tests/common.sh"
[ "${BASH_VERSINFO[0]}" -gt 4 ] || { [ "${BASH_VERSINFO[0]}" -eq 4 ] && [ "${BASH_VERSINFO[1]}" -ge 2 ]; } ||
    { echo "bash $BASH_VERSION is older than 4.2: skipping" >&2; exit 77; }

# shellcheck source=../data/imdb-completion.bash
. "$IMDB_SRCDIR/data/imdb-completion.bash"
for t in imdb-clean imdb-vocab imdb-train imdb-eval imdb-predict imdb-serve imdb-relabel; do
    complete -p "$t" 2>/dev/null | grep -q -- '-F _imdb' || fail "$t has no completion"
done

# comp WORD...: complete the last WORD of the command line WORD...; the answers, sorted,
# one a line, in `got`.
comp() {
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMPREPLY=()
    _imdb
    got=$(printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | LC_ALL=C sort)
}
# want WORD...: `got` is exactly the WORDs.
want() {
    w=$(printf '%s\n' "$@" | sed '/^$/d' | LC_ALL=C sort)
    [ "$got" = "$w" ] || fail "completing '${COMP_WORDS[*]}': got [$(echo $got)], want [$(echo $w)]"
}

# Every option a --help shows (an option line, or one named in the text, but for
# another tool's, "imdb-clean --shard") is offered
# after "-", and nothing else is. The options come from --help itself, so this fails only
# when a help line has a shape the completion does not read: then it names the option.
for t in imdb-clean imdb-vocab imdb-train imdb-eval imdb-predict imdb-serve imdb-relabel; do
    "$t" --help >help.txt
    { sed -E 's/imdb-[a-z]+ --[a-z0-9][-a-z0-9]*//g' help.txt |
          grep -oE -- '(^|[^-[:alnum:]])--[a-z0-9][-a-z0-9]*' | sed 's/^[^-]*//'
      grep -oE '^  -[[:alnum:]],' help.txt | sed 's/^  //; s/,$//'; } | LC_ALL=C sort -u >want.txt
    [ "$(wc -l <want.txt)" -ge 5 ] || fail "$t --help: fewer than 5 options found"
    comp "$t" -
    printf '%s\n' "$got" >got.txt
    missing=$(LC_ALL=C comm -23 want.txt got.txt)
    [ -z "$missing" ] || fail "$t --help shows $(echo $missing), but the bash completion does not offer it:" \
        "data/imdb-completion.bash reads option lines like '  -x, --name=ARG  text' or" \
        "'      --name ARG  text' (at most 6 spaces before the first dash); fix the help line's shape"
    extra=$(LC_ALL=C comm -13 want.txt got.txt)
    [ -z "$extra" ] || fail "$t: the bash completion offers $(echo $extra), which $t --help does not show"
    comp "$t" --he
    want --help
done

# Both spellings, and prefixes.
comp imdb-train --unlab
want --unlabeled --unlabelled
comp imdb-predict --mod
want --model

# Values. Files and directories of a directory of their own:
mkdir files
cd files
mkdir runs
: >m.model
: >test.tok.gz
comp imdb-predict --model m
want m.model
comp imdb-predict -m ''
want m.model runs test.tok.gz
comp imdb-eval --model = m          # bash splits --model=m at the '='
want m.model
comp imdb-eval --model=m            # ... unless '=' is not in COMP_WORDBREAKS
want --model=m.model
comp imdb-train --runs-dir ''
want runs
comp imdb-train --unlabeled t
want test.tok.gz
comp imdb-serve --listen ''          # HOST:PORT: nothing to offer
want
comp imdb-train --threads ''
want
# Operands: files, also after options without a value and after --.
comp imdb-eval -m m.model --json te
want test.tok.gz
comp imdb-predict -- --js
want
# --explain[=K] takes its value only after '=': a separate word is an operand.
comp imdb-predict --explain m
want m.model
comp imdb-predict --explain = ''
want

# The kinds are those imdb-train --help lists, and imdb-train takes each of them.
cd ..
imdb-train --help | sed -n '/^Model kinds:/,/^$/s/^  \([a-z0-9][a-z0-9]*\) .*/\1/p' >kinds.txt
[ "$(wc -l <kinds.txt)" -ge 3 ] || fail "imdb-train --help lists fewer than 3 kinds"
grep -qx nblr kinds.txt || fail "nblr is not among the kinds"
comp imdb-train --kind ''
# shellcheck disable=SC2046
want $(cat kinds.txt)
comp imdb-train -k = d
want $(grep '^d' kinds.txt)
comp imdb-train --model=dv           # the old -m KIND: a model file, files offered
want
while read -r k; do
    set +e
    imdb-train -q --kind "$k" -O "k-$k.model" </dev/null >out 2>err
    st=$?
    set -e
    [ "$st" -ne 2 ] || fail "imdb-train --kind $k (a completed kind) is a usage error: $(cat err)"
done <kinds.txt
# imdb-clean's formats and splits: each one offered is accepted (the lists are in the
# completion script: this is where they would drift).
comp imdb-clean --format ''
want auto csv dir jsonl lines tar tsv
for f in $got; do
    expect_status 0 imdb-clean -q --format="$f" --help
    set +e
    imdb-clean -q --format="$f" </dev/null >out 2>err
    set -e
    ! grep -q "invalid format" err || fail "imdb-clean --format=$f (completed): $(cat err)"
done
comp imdb-clean --split ''
want test train unsup
for s in $got; do
    set +e
    imdb-clean -q --split="$s" "$FIXTURES/mini-aclImdb.tar.gz" >out 2>err
    st=$?
    set -e
    [ "$st" -eq 0 ] || fail "imdb-clean --split=$s (completed) exited $st: $(cat err)"
done
