#!/bin/sh
# imdb-train --model ensemble refuses what it cannot stack, with one clear message and
# the documented status, and leaves no model behind; a damaged ensemble file (outer or a
# member inside it) is refused by the tools that load it.
. "$IMDB_SRCDIR/tests/common.sh"

imdb-clean -q --split train "$FIXTURES/mini-aclImdb.tar.gz" -o train.tok.gz
imdb-clean -q --split test "$FIXTURES/mini-aclImdb.tar.gz" -o test.tok.gz
imdb-vocab -q --ngrams 3 train.tok.gz -o vocab.gz
imdb-train -q -V vocab.gz -o heldout_folds=5 -O a.model train.tok.gz
imdb-train -q -V vocab.gz -o heldout_folds=3 -o ngrams=2 -O b.model train.tok.gz

# Rewrite a model file's CRCs after editing it (its own, not those of its members).
fix_crc() { "$IMDB_BIN/../tests/model-reseal" --outer "$1"; }

# heldout_folds: 0 or 2..20.
expect_status 2 imdb-train -V vocab.gz -o heldout_folds=1 -O m train.tok.gz
expect_err "^imdb-train: setting heldout_folds: 1 is not allowed"
expect_status 2 imdb-train -V vocab.gz -o heldout_folds=21 -O m train.tok.gz
expect_err "heldout_folds"

# Usage: no member, one member, a setting of another kind.
expect_status 2 imdb-train -m ensemble -O m train.tok.gz
expect_err "^imdb-train: an ensemble needs at least two members \(-m FILE or --member FILE, with --kind ensemble\); got none$"
expect_status 2 imdb-train -m ensemble -m a.model -O m train.tok.gz
expect_err "at least two members.*got one$"
expect_status 2 imdb-train -m ensemble -m a.model -m b.model -o ngrams=2 -O m train.tok.gz
expect_err "unknown setting 'ngrams'"
expect_status 2 imdb-train -m ensemble -m a.model -m b.model -o stack_lambda=0 -O m train.tok.gz
expect_err "stack_lambda"
# -m FILE is a member wherever it stands (-m KIND, the old spelling of --kind, too).
expect_status 2 imdb-train -m a.model -m ensemble -O m train.tok.gz
expect_err "got one$"

# Members that cannot be loaded: missing (I/O), foreign, corrupt, of an unknown kind.
expect_status 4 imdb-train -m ensemble -m a.model -m missing.model -O m train.tok.gz
expect_err "^imdb-train: member missing.model: No such file"
echo 'not a model' >foreign.model
expect_status 1 imdb-train -m ensemble -m a.model -m foreign.model -O m train.tok.gz
expect_err "^imdb-train: foreign.model: not an imdb model file"
cp b.model corrupt.model
printf 'X' | dd of=corrupt.model bs=1 seek=1000 conv=notrunc 2>/dev/null
expect_status 1 imdb-train -m ensemble -m a.model -m corrupt.model -O m train.tok.gz
expect_err "^imdb-train: corrupt.model: corrupt model file \(CRC mismatch in section [a-z.]+, bytes [0-9]+ to [0-9]+\)$"
cp b.model kind.model
LC_ALL=C sed -i 's/nblr/zzzz/g' kind.model
fix_crc kind.model
expect_status 1 imdb-train -m ensemble -m a.model -m kind.model -O m train.tok.gz
expect_err "^imdb-train: kind.model: unknown model kind 'zzzz'"
[ ! -e m ] || fail "a failed run left a model"

# Members cleaned differently: from each other, or from the training tokens.
imdb-clean -q --no-casefold --split train "$FIXTURES/mini-aclImdb.tar.gz" -o nocase.tok.gz
imdb-vocab -q --ngrams 3 nocase.tok.gz -o nocase.vocab.gz
imdb-train -q -V nocase.vocab.gz -o heldout_folds=5 -O n1.model nocase.tok.gz
imdb-train -q -V nocase.vocab.gz -o heldout_folds=5 -o ngrams=2 -O n2.model nocase.tok.gz
expect_status 1 imdb-train -m ensemble -m a.model -m n1.model -O m train.tok.gz
expect_err "^imdb-train: members a.model and n1.model were trained on text cleaned with different settings"
expect_status 1 imdb-train -m ensemble -m n1.model -m n2.model -O m train.tok.gz
expect_err "^imdb-train: member n1.model was trained on text cleaned with other settings than the training tokens"
expect_status 0 imdb-train -q -m ensemble -m n1.model -m n2.model -O n.model nocase.tok.gz

# No held-out predictions and not the ensemble's validation split: another seed, no
# validation part at all.
imdb-train -q -V vocab.gz --seed 2 -O s2.model train.tok.gz
expect_status 1 imdb-train -m ensemble -m a.model -m s2.model -O m train.tok.gz
expect_err "^imdb-train: member s2.model has no held-out predictions .*\(its valid_fraction = 0.1, seed = 2; the ensemble's 0.1, 1\).*-o heldout_folds=5"
imdb-train -q -V vocab.gz --valid-fraction 0 -O v0.model train.tok.gz
expect_status 1 imdb-train -m ensemble -m a.model -m v0.model --valid-fraction 0 -O m train.tok.gz
expect_err "member v0.model has no held-out predictions"

# Held-out predictions of other documents (the test split) or other labels.
expect_status 1 imdb-train -m ensemble -m a.model -m b.model -O m test.tok.gz
expect_err "^imdb-train: only 0 labelled documents \(0 pos, 0 neg\) have held-out predictions from every member"
zcat train.tok.gz | sed 's/^pos	/POS	/; s/^neg	/pos	/; s/^POS	/neg	/' >flipped.tok
expect_status 1 imdb-train -m ensemble -m a.model -m b.model -O m flipped.tok
expect_err "^imdb-train: member a.model holds a held-out prediction for document '[^']+' labelled (pos|neg), but the training tokens label it (pos|neg)"

# An ensemble is not a member.
imdb-train -q -m ensemble -m a.model -m b.model -O e.model train.tok.gz
expect_status 1 imdb-train -m ensemble -m a.model -m e.model -O m train.tok.gz
expect_err "^imdb-train: member e.model is itself an ensemble"
[ ! -e m ] || fail "a failed run left a model"

# Damaged ensemble files: truncated, or a member damaged inside a file whose own CRC is
# right: the loader checks the members like any model file.
head -c 1000 e.model >trunc.model
expect_status 1 imdb-eval trunc.model test.tok.gz
expect_err "trunc.model"
cp e.model inner.model
off=$(grep -obUa IMDBMODL inner.model | tail -n 1 | cut -d: -f1)
[ "$off" -gt 0 ] || fail "no member found in the ensemble file"
printf 'X' | dd of=inner.model bs=1 seek=$((off + 200)) conv=notrunc 2>/dev/null
fix_crc inner.model
expect_status 1 imdb-predict --info inner.model
expect_err "^imdb-predict: inner.model:member.1: corrupt model file \(CRC mismatch( in the head| in section [a-z.]+, bytes [0-9]+ to [0-9]+)\)$"
expect_status 1 imdb-eval inner.model test.tok.gz
expect_err "inner.model:member.1: corrupt"
echo ok
