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
IMDB_BIN ?=
bin = $(if $(IMDB_BIN),$(IMDB_BIN)/,)

train_tok = $(OUT)/train.tok.gz
test_tok = $(OUT)/test.tok.gz
vocab = $(OUT)/vocab.gz
model = $(OUT)/$(MODEL).model
metrics = $(OUT)/$(MODEL).metrics.json

.PHONY: all gate clean
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

clean:
	rm -rf $(OUT)
