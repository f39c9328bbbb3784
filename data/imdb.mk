# imdb.mk — a make recipe for the whole training run, as file targets: make rebuilds only
# what changed, and -j runs independent steps (cleaning train and test) in parallel.
#
#   make -f imdb.mk DATA=aclImdb_v1.tar.gz                 # nblr model, metrics
#   make -f imdb.mk -j2 DATA=... MODEL=nblr OUT=run1 SET='c=0.1 epochs=20'
#   make -f imdb.mk DATA=... MIN_ACCURACY=0.915 gate        # fail if accuracy regressed
#
# Variables: DATA (aclImdb tarball or directory; required), MODEL (kind, default nblr),
# OUT (output directory, default imdb-work), NGRAMS (vocabulary n, default 3),
# MIN_COUNT (drop n-grams seen fewer times, default 3: since a document frequency never
# exceeds the count, this loses nothing for nblr's default min_df = 3),
# CONFIG (imdb-train config file, optional), SET (space-separated KEY=VALUE overrides),
# THREADS (default 2), SEED (default 1), VALID (validation fraction; default: the
# config's, else 0.1),
# IMDB_BIN (directory of the imdb tools; default: found on PATH).
#
# The best model, from the raw tarball in one call (target best, about 45 minutes on two
# cores): nblr with held-out predictions (data/nblr.conf), dvcos document vectors learned
# from the text of the training reviews, the 50,000 unlabelled ones and, with
# TRANSDUCTIVE=1 (the default), the test reviews' text (never their labels), and a
# logistic-regression ensemble of the two fitted on their held-out predictions:
#
#   make -f imdb.mk -j2 DATA=aclImdb_v1.tar.gz best            # OUT/best.model, metrics
#   make -f imdb.mk -j2 DATA=... TRANSDUCTIVE=0 OUT=ind best    # strictly inductive
#
# (TRANSDUCTIVE=0 trains dvcos with inductive=1: its head is fitted on inferred vectors.)
#
# The best model users can deploy (target distill, issue 15): knowledge distillation,
# inductive end to end. The training reviews are split by movie (VALID_MOVIES of the
# movies, default 0.2, go to a valid part). The teacher is the ensemble of nblr and a
# dvcos whose pool is the fit part's reviews and the 50,000 unlabelled ones (never the
# test text, nor the valid part's), which keeps the vector it learned for every pool
# review; imdb-relabel scores the unlabelled reviews from those learned vectors
# (--require-learned) into soft labels, and the student, an nblr trained on all 25,000
# labelled reviews plus the 50,000 softly labelled ones with a vocabulary of both, needs
# no test text and no document vectors at prediction time:
#
#   make -f imdb.mk -j2 DATA=aclImdb_v1.tar.gz OUT=dist distill   # OUT/distill.model, metrics
#   make -f imdb.mk -j2 DATA=... OUT=dist distill-valid   # figures on the valid part
#
# The best strictly inductive model (target best-inductive, issue 24): nblr with held-out
# predictions, a region embedding learned from the text of the training reviews and the
# 50,000 unlabelled ones (data/regemb.conf; never the test text), a one-hot region CNN
# with it as a side input (data/regcnn.conf, the last epoch kept) on BI_VALID of the
# training reviews held out (default 0.1, seeded), and the stack of the two fitted on
# that held-out part; BI_DVCOS=1 adds the inductive dvcos as a third member:
#
#   make -f imdb.mk -j2 DATA=aclImdb_v1.tar.gz OUT=bi best-inductive  # OUT/best-inductive.model
#
# REGEMB_SET, REGCNN_SET (KEY=VALUE overrides, e.g. 'epochs=1' for a quick run),
# BI_MIN_ACCURACY, REGCNN_MIN_ACCURACY (the floors of target best-inductive-gate).
#
# The distillation teacher stacks the same region CNN (trained on the fit part, its
# embedding on the fit part's and the unlabelled text) with nblr and dvcos; TEACHER_CNN=0
# gives the teacher of nblr and dvcos alone.
#
# DISTILL_SET (the student's KEY=VALUE settings on top of nblr.conf; default: the ones
# chosen on the movie-grouped validation split, README), DISTILL_MIN_COUNT (the student
# vocabulary's count floor), DISTILL_MIN_ACCURACY (the floor of target distill-gate).
#
# DV_SET (KEY=VALUE overrides for dvcos, e.g. 'epochs=5' for a quick run),
# DV_MIN_ACCURACY, BEST_MIN_ACCURACY (the floors of target best-gate for dvcos and for the
# ensemble, default 0.5).

DATA ?= $(error set DATA=path/to/aclImdb_v1.tar.gz)
MODEL ?= nblr
OUT ?= imdb-work
NGRAMS ?= 3
MIN_COUNT ?= 3
THREADS ?= 2
SEED ?= 1
VALID ?=
CONFIG ?=
SET ?=
MIN_ACCURACY ?= 0.5
TRANSDUCTIVE ?= 1
DV_SET ?=
BEST_MIN_ACCURACY ?= 0.5
DV_MIN_ACCURACY ?= 0.5
# DISTILL_SET: chosen on the movie-grouped valid part (README, issue 15): hard pseudo-labels
# with confidence >= 0.7 gave 0.9288 (soft labels T=1 0.9224, T=0.5 0.9280; confidence 0.8
# 0.9276, 0.9 0.9290; c 0.03/0.3 0.9286/0.9282; prior 0.1 0.9290; 2 epochs 0.9282; 1-4-grams
# 0.9286; nblr on the fit part alone 0.9215), all within noise of each other, so it stayed.
DISTILL_SET ?= soft_hard=1 soft_min_confidence=0.7
DISTILL_MIN_COUNT ?= 5
DISTILL_MIN_ACCURACY ?= 0.5
VALID_MOVIES ?= 0.2
BI_VALID ?= 0.1
BI_DVCOS ?= 0
REGEMB_SET ?=
REGCNN_SET ?=
BI_MIN_ACCURACY ?= 0.5
REGCNN_MIN_ACCURACY ?= 0.5
TEACHER_CNN ?= 1
IMDB_BIN ?=
bin = $(if $(IMDB_BIN),$(IMDB_BIN)/,)

train_tok = $(OUT)/train.tok.gz
test_tok = $(OUT)/test.tok.gz
vocab = $(OUT)/vocab.gz
model = $(OUT)/$(MODEL).model
metrics = $(OUT)/$(MODEL).metrics.json

here := $(dir $(lastword $(MAKEFILE_LIST)))
unsup_tok = $(OUT)/unsup.tok.gz
best_nblr = $(OUT)/best-nblr.model
best_dvcos = $(OUT)/best-dvcos.model
best_model = $(OUT)/best.model
pool = $(unsup_tok) $(if $(filter 1,$(TRANSDUCTIVE)),$(test_tok))

.PHONY: all gate clean best best-gate best-inductive best-inductive-gate distill distill-gate distill-valid
.DELETE_ON_ERROR:

all: $(metrics)

$(OUT)/.dir:
	mkdir -p $(OUT) && touch $@

$(train_tok): $(DATA) | $(OUT)/.dir
	$(bin)imdb-clean --split train -o $@ $(DATA)

$(test_tok): $(DATA) | $(OUT)/.dir
	$(bin)imdb-clean --split test -o $@ $(DATA)

$(vocab): $(train_tok)
	$(bin)imdb-vocab --ngrams $(NGRAMS) --min-count $(MIN_COUNT) -o $@ $(train_tok)

$(model): $(train_tok) $(vocab) $(CONFIG)
	$(bin)imdb-train --model $(MODEL) --vocab $(vocab) $(if $(CONFIG),--config $(CONFIG)) \
	  $(foreach s,$(SET),-o $(s)) --seed $(SEED) --threads $(THREADS) $(if $(VALID),--valid-fraction $(VALID)) \
	  --curves $(OUT)/$(MODEL).curves.tsv -O $@ $(train_tok)

$(metrics): $(model) $(test_tok)
	$(bin)imdb-eval --json -o $@ $(model) $(test_tok)
	$(bin)imdb-eval $(model) $(test_tok)

gate: $(model) $(test_tok)
	$(bin)imdb-eval --min-accuracy $(MIN_ACCURACY) $(model) $(test_tok)

$(unsup_tok): $(DATA) | $(OUT)/.dir
	$(bin)imdb-clean --split unsup -o $@ $(DATA)

$(best_nblr): $(train_tok) $(vocab) $(here)nblr.conf
	$(bin)imdb-train --model nblr --vocab $(vocab) --config $(here)nblr.conf -o heldout_folds=5 \
	  --seed $(SEED) --threads $(THREADS) -O $@ $(train_tok)

$(best_dvcos): $(train_tok) $(pool)
	$(bin)imdb-train --model dvcos --valid-fraction 0 $(if $(filter 1,$(TRANSDUCTIVE)),,-o inductive=1) \
	  $(foreach s,$(DV_SET),-o $(s)) \
	  $(foreach p,$(pool),--unlabelled $(p)) --seed $(SEED) --threads $(THREADS) \
	  --curves $(OUT)/best-dvcos.curves.tsv -O $@ $(train_tok)

$(best_model): $(best_nblr) $(best_dvcos) $(train_tok)
	$(bin)imdb-train --model ensemble --member $(best_nblr) --member $(best_dvcos) \
	  --valid-fraction 0 --seed $(SEED) -O $@ $(train_tok)

$(OUT)/best.metrics.json: $(best_model) $(best_nblr) $(best_dvcos) $(test_tok)
	for m in $(best_nblr) $(best_dvcos) $(best_model); do \
	  $(bin)imdb-eval --json -o $${m%.model}.metrics.json $$m $(test_tok) || exit; \
	  printf '%s: ' "$$m"; $(bin)imdb-eval $$m $(test_tok) | grep -i '^accuracy'; done

best: $(OUT)/best.metrics.json

best-gate: $(best_model) $(best_dvcos) $(test_tok)
	$(bin)imdb-eval --min-accuracy $(DV_MIN_ACCURACY) $(best_dvcos) $(test_tok)
	$(bin)imdb-eval --min-accuracy $(BEST_MIN_ACCURACY) $(best_model) $(test_tok)

# Region nets (issue 24): a word vocabulary of the labelled and unlabelled text, which the
# embedding and the CNN share; the embedding learns from text only, the CNN keeps its
# last epoch and holds out BI_VALID of its reviews for the stacker.
region_emb = $(bin)imdb-train --config $(here)regemb.conf $(foreach s,$(REGEMB_SET),-o $(s)) --valid-fraction 0 \
	  --seed $(SEED) --threads $(THREADS)
region_cnn = $(bin)imdb-train --config $(here)regcnn.conf -o keep=last $(foreach s,$(REGCNN_SET),-o $(s)) \
	  --valid-fraction $(BI_VALID) --seed $(SEED) --threads $(THREADS)
bi_vocab = $(OUT)/region-vocab.gz
bi_emb = $(OUT)/regemb.model
bi_cnn = $(OUT)/regcnn.model
bi_dvcos = $(OUT)/inductive-dvcos.model
bi_model = $(OUT)/best-inductive.model
bi_members = $(best_nblr) $(bi_cnn) $(if $(filter 1,$(BI_DVCOS)),$(bi_dvcos))

$(bi_vocab): $(train_tok) $(unsup_tok)
	$(bin)imdb-vocab --ngrams 1 -o $@ $(train_tok) $(unsup_tok)

$(bi_emb): $(train_tok) $(unsup_tok) $(bi_vocab) $(here)regemb.conf
	$(region_emb) --vocab $(bi_vocab) --unlabelled $(unsup_tok) --curves $(OUT)/regemb.curves.tsv -O $@ $(train_tok)

$(bi_cnn): $(train_tok) $(bi_vocab) $(bi_emb) $(here)regcnn.conf
	$(region_cnn) --vocab $(bi_vocab) -o embeddings=$(bi_emb) --curves $(OUT)/regcnn.curves.tsv -O $@ $(train_tok)

$(bi_dvcos): $(train_tok) $(unsup_tok)
	$(bin)imdb-train --model dvcos --valid-fraction 0 -o inductive=1 $(foreach s,$(DV_SET),-o $(s)) \
	  --unlabelled $(unsup_tok) --seed $(SEED) --threads $(THREADS) -O $@ $(train_tok)

$(bi_model): $(bi_members) $(train_tok)
	$(bin)imdb-train --model ensemble $(foreach m,$(bi_members),--member $(m)) \
	  --valid-fraction $(BI_VALID) --seed $(SEED) -O $@ $(train_tok)

$(OUT)/best-inductive.metrics.json: $(bi_model) $(bi_members) $(test_tok)
	for m in $(bi_members) $(bi_model); do \
	  $(bin)imdb-eval --threads $(THREADS) --json -o $${m%.model}.metrics.json $$m $(test_tok) || exit; \
	  printf '%s: ' "$$m"; grep -o '"accuracy": *[0-9.]*' $${m%.model}.metrics.json; done

best-inductive: $(OUT)/best-inductive.metrics.json

best-inductive-gate: $(bi_model) $(bi_cnn) $(test_tok)
	$(bin)imdb-eval --threads $(THREADS) --min-accuracy $(REGCNN_MIN_ACCURACY) $(bi_cnn) $(test_tok)
	$(bin)imdb-eval --threads $(THREADS) --min-accuracy $(BI_MIN_ACCURACY) $(bi_model) $(test_tok)

fit_tok = $(OUT)/fit.tok.gz
valid_tok = $(OUT)/valid.tok.gz
teacher_vocab = $(OUT)/teacher-vocab.gz
teacher_nblr = $(OUT)/teacher-nblr.model
teacher_dvcos = $(OUT)/teacher-dvcos.model
teacher = $(OUT)/teacher.model
teacher_rvocab = $(OUT)/teacher-region-vocab.gz
teacher_emb = $(OUT)/teacher-regemb.model
teacher_cnn = $(OUT)/teacher-regcnn.model
teacher_members = $(teacher_nblr) $(teacher_dvcos) $(if $(filter 1,$(TEACHER_CNN)),$(teacher_cnn))
unsup_soft = $(OUT)/unsup.soft.tok.gz
distill_vocab = $(OUT)/distill-vocab.gz
distill_model = $(OUT)/distill.model
student_flags = --model nblr --config $(here)nblr.conf $(foreach s,$(DISTILL_SET),-o $(s)) \
	  --seed $(SEED) --threads $(THREADS)

# The training reviews split by movie (imdb-clean --movie-split): the teacher learns from
# the fit part only, so the valid part measures it, and the students, as on unseen movies.
$(fit_tok): $(DATA) | $(OUT)/.dir
	$(bin)imdb-clean --split train --movie-split fit:$(VALID_MOVIES) -o $@ $(DATA)

$(valid_tok): $(DATA) | $(OUT)/.dir
	$(bin)imdb-clean --split train --movie-split valid:$(VALID_MOVIES) -o $@ $(DATA)

$(teacher_vocab): $(fit_tok)
	$(bin)imdb-vocab --ngrams $(NGRAMS) --min-count $(MIN_COUNT) -o $@ $(fit_tok)

$(teacher_nblr): $(fit_tok) $(teacher_vocab) $(here)nblr.conf
	$(bin)imdb-train --model nblr --vocab $(teacher_vocab) --config $(here)nblr.conf -o heldout_folds=5 \
	  --seed $(SEED) --threads $(THREADS) -O $@ $(fit_tok)

# The teacher's dvcos: inductive = 0 keeps the learned vectors; the pool has no test text
# (and no valid text).
$(teacher_dvcos): $(fit_tok) $(unsup_tok)
	$(bin)imdb-train --model dvcos --valid-fraction 0 -o inductive=0 $(foreach s,$(DV_SET),-o $(s)) \
	  --unlabelled $(unsup_tok) --seed $(SEED) --threads $(THREADS) \
	  --curves $(OUT)/teacher-dvcos.curves.tsv -O $@ $(fit_tok)

# The teacher's region nets: the same recipe on the fit part (its embedding on the fit
# part's and the unlabelled text); its stacker learns on the CNN's held-out BI_VALID.
$(teacher_rvocab): $(fit_tok) $(unsup_tok)
	$(bin)imdb-vocab --ngrams 1 -o $@ $(fit_tok) $(unsup_tok)

$(teacher_emb): $(fit_tok) $(unsup_tok) $(teacher_rvocab) $(here)regemb.conf
	$(region_emb) --vocab $(teacher_rvocab) --unlabelled $(unsup_tok) -O $@ $(fit_tok)

$(teacher_cnn): $(fit_tok) $(teacher_rvocab) $(teacher_emb) $(here)regcnn.conf
	$(region_cnn) --vocab $(teacher_rvocab) -o embeddings=$(teacher_emb) -O $@ $(fit_tok)

$(teacher): $(teacher_members) $(fit_tok)
	$(bin)imdb-train --model ensemble $(foreach m,$(teacher_members),--member $(m)) \
	  --valid-fraction $(if $(filter 1,$(TEACHER_CNN)),$(BI_VALID),0) --seed $(SEED) -O $@ $(fit_tok)

$(unsup_soft): $(teacher) $(unsup_tok)
	$(bin)imdb-relabel --require-learned --threads $(THREADS) -o $@ $(teacher) $(unsup_tok)

$(distill_vocab): $(train_tok) $(unsup_tok)
	$(bin)imdb-vocab --ngrams $(NGRAMS) --min-count $(DISTILL_MIN_COUNT) -o $@ $(train_tok) $(unsup_tok)

# The student: every labelled training review and the softly labelled unlabelled ones.
$(distill_model): $(train_tok) $(unsup_soft) $(distill_vocab) $(here)nblr.conf
	$(bin)imdb-train $(student_flags) --vocab $(distill_vocab) -O $@ $(train_tok) $(unsup_soft)

$(OUT)/distill.metrics.json: $(distill_model) $(teacher) $(test_tok)
	$(bin)imdb-eval --json -o $@ $(distill_model) $(test_tok)
	for m in $(teacher) $(distill_model); do \
	  printf '%s: ' "$$m"; $(bin)imdb-eval $$m $(test_tok) | grep -i '^accuracy'; done

distill: $(OUT)/distill.metrics.json

distill-gate: $(distill_model) $(test_tok)
	$(bin)imdb-eval --min-accuracy $(DISTILL_MIN_ACCURACY) $(distill_model) $(test_tok)

# Validation figures on the movie-grouped valid part (no test data): the teacher, nblr
# on the fit part alone, and the student trained on the fit part plus the soft labels.
$(OUT)/distill-valid.txt: $(teacher) $(teacher_members) $(unsup_soft) $(fit_tok) $(valid_tok) $(unsup_tok)
	$(bin)imdb-vocab --ngrams $(NGRAMS) --min-count $(DISTILL_MIN_COUNT) -o $(OUT)/valid-student-vocab.gz \
	  $(fit_tok) $(unsup_tok)
	$(bin)imdb-train -q $(student_flags) --vocab $(OUT)/valid-student-vocab.gz \
	  -O $(OUT)/valid-student.model $(fit_tok) $(unsup_soft)
	for m in $(teacher) $(teacher_members) $(OUT)/valid-student.model; do \
	  printf '%s: ' "$$m"; $(bin)imdb-eval $$m $(valid_tok) | grep -i '^accuracy'; done >$@.tmp
	mv $@.tmp $@; cat $@

distill-valid: $(OUT)/distill-valid.txt

clean:
	rm -rf $(OUT)
