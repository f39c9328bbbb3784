# imdb-completion.bash — bash completion for the imdb tools: imdb-clean, imdb-vocab,
# imdb-train, imdb-eval, imdb-predict, imdb-serve and imdb-relabel (see imdb-predict(1),
# BASH COMPLETION). make install puts it in bash-completion's completions directory, once per
# tool name, so bash-completion loads it the first time one of them is completed; or
# source it from ~/.bashrc.
#
# The options are not listed here: they are read from the tool's own --help (once per
# shell and command) the way GNU-style help prints them, "  -m, --model=FILE  text",
# "      --explain[=K]  text", "  -k, --kind KIND  text". So an option added to a tool is
# completed as soon as its --help shows it, and tests/completion.sh checks that every
# option of every --help is offered. What an option's value is comes from its metavar:
# FILE, MODEL, TOKENS complete file names, DIR directories, KIND the kinds listed under
# "Model kinds:" in imdb-train --help; FMT and SPLIT (imdb-clean) complete the words in
# the table below. Other values (N, X, ADDR...) are not completed. The script needs
# bash 4.2 and no other package (bash-completion's helpers are not used).

declare -gA _imdb_opts_cache _imdb_kinds_cache

# _imdb_parse_help CMD: "NAME ARG" lines, one per option of CMD --help, where NAME is
# "--long" or "-s" and ARG is "-" (no value), "=META" (a value) or "[=META]" (optional).
_imdb_parse_help() {
    command "$1" --help 2>/dev/null </dev/null | awk '
        # An option line starts with at most 6 spaces; a continuation line of a
        # description is indented further (to the description column).
        match($0, /^ +-/) && RLENGTH <= 7 && !seen[$0]++ {
            s = substr($0, RLENGTH)
            while (match(s, /^--?[A-Za-z0-9][-A-Za-z0-9]*/)) {
                names[1] = substr(s, 1, RLENGTH); n = 1
                s = substr(s, RLENGTH + 1)
                arg = "-"
                if (match(s, /^\[=[^] ]+\]/)) {
                    arg = substr(s, 1, RLENGTH); s = substr(s, RLENGTH + 1)
                } else if (match(s, /^=[^ ,]+/) || match(s, /^ [A-Z][^ ,]*/)) {
                    arg = "=" substr(s, 2, RLENGTH - 1); s = substr(s, RLENGTH + 1)
                }
                pending[++np] = names[1]
                if (arg != "-") { for (i = 1; i <= np; i++) print pending[i], arg; np = 0 }
                if (s ~ /^, -/) { s = substr(s, 3); continue }
                break
            }
            for (i = 1; i <= np; i++) print pending[i], "-"
            np = 0
        }' | awk '!seen[$1]++'
}

# _imdb_options CMD: the cached table of _imdb_parse_help.
_imdb_options() {
    if [[ -z ${_imdb_opts_cache[$1]+set} ]]; then
        _imdb_opts_cache[$1]=$(_imdb_parse_help "$1")
    fi
    printf '%s\n' "${_imdb_opts_cache[$1]}"
}

# _imdb_kinds CMD: the model kinds CMD --help lists under "Model kinds:".
_imdb_kinds() {
    if [[ -z ${_imdb_kinds_cache[$1]+set} ]]; then
        _imdb_kinds_cache[$1]=$(command "$1" --help 2>/dev/null </dev/null | awk '
            /^Model kinds:/ { on = 1; next }
            on && /^$/ { exit }
            on && /^  [a-z0-9]/ { print $1 }' | tr '\n' ' ')
    fi
    printf '%s\n' "${_imdb_kinds_cache[$1]}"
}

# _imdb_value CMD OPTION META CUR: fill COMPREPLY with the values of OPTION.
_imdb_value() {
    local cmd=${1##*/} opt=$2 meta=$3 cur=$4 words=
    case "$cmd:$opt:$meta" in
    imdb-clean:*:FMT) words="auto tar dir csv tsv lines jsonl" ;;
    imdb-clean:*:SPLIT) words="train test unsup" ;;
    *:*:KIND) words=$(_imdb_kinds "$1") ;;
    *:*:DIR)
        compopt -o filenames 2>/dev/null || :
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        return ;;
    *:*:FILE | *:*:MODEL | *:*:TOKENS | *:*:INPUT)
        compopt -o filenames 2>/dev/null || :
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        return ;;
    *) COMPREPLY=(); return ;;
    esac
    mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
}

# The completion function: bash calls it with COMP_WORDS and COMP_CWORD set.
_imdb() {
    local cmd=${COMP_WORDS[0]} cword=$COMP_CWORD
    local cur=${COMP_WORDS[cword]-} prev=${COMP_WORDS[cword - 1]-} opt= meta= line i attached=1
    local joined=   # "--opt=" when the word is --opt=VALUE: the answers must keep it
    COMPREPLY=()
    # After "--" every word is an operand.
    for ((i = 1; i < cword; i++)); do
        [[ ${COMP_WORDS[i]} == -- ]] && { compopt -o filenames 2>/dev/null || :
            mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return 0; }
    done
    # Which option's value is being completed: --opt=VALUE in one word (no '=' in
    # COMP_WORDBREAKS), --opt = VALUE as bash splits it by default, or --opt VALUE.
    if [[ $cur == --*=* ]]; then
        opt=${cur%%=*} joined=${cur%%=*}= cur=${cur#*=}
    elif [[ $cur == = && $prev == -* ]]; then
        opt=$prev cur=
    elif [[ $prev == = ]] && ((cword >= 2)) && [[ ${COMP_WORDS[cword - 2]} == -* ]]; then
        opt=${COMP_WORDS[cword - 2]}
    elif [[ $prev == -* ]]; then
        opt=$prev attached=0
    fi
    if [[ -n $opt ]]; then
        while read -r line meta; do
            [[ $line == "$opt" ]] || continue
            case "$meta" in
            =*) meta=${meta#=} ;;
            \[=*) # An optional value is only ever given as --opt=VALUE.
                ((attached)) || break
                meta=${meta#\[=} meta=${meta%\]} ;;
            *) break ;;
            esac
            _imdb_value "$cmd" "$opt" "$meta" "$cur"
            [[ -z $joined ]] || COMPREPLY=("${COMPREPLY[@]/#/$joined}")
            return 0
        done < <(_imdb_options "$cmd")
    fi
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_imdb_options "$cmd" | cut -d' ' -f1)" -- "$cur")
        return 0
    fi
    compopt -o filenames 2>/dev/null || :
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    return 0
}

complete -F _imdb imdb-clean imdb-vocab imdb-train imdb-eval imdb-predict imdb-serve imdb-relabel
