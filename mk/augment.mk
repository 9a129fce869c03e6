# NLU augmentation (nlu_augment, vision environment; it never imports Rasa).
# A designer runs `make augment`, reads results/augment-review.md (every generated example beside
# its source, generator and filter scores), copies unwanted lines into data/augment-rejects.txt,
# reruns, reviews the diff of data/nlu/augmented.yml and commits both; `make train` works with or
# without that file. Options: AUGMENT_ARGS="--max-per-example 6 ..."
# (see `$(VIS_PY) -m nlu_augment --help`). Heavy steps take the shared CPU lock (CPU_LOCK, set in
# the Makefile).

AUGMENT_ARGS ?=
AUGMENT_REVIEW  := results/augment-review.md
AUGMENT_REJECTS := data/augment-rejects.txt
EVAL_AUGMENT_ARGS ?=

BENCH_TARGETS += bench-augment

.PHONY: augment augment-preview eval-augment bench-augment

augment: setup ## grow data/nlu into data/nlu/augmented.yml (entity-safe, filtered); review the diff
	@$(CPU_LOCK) $(VIS_PY) -m nlu_augment data/nlu --out data/nlu/augmented.yml \
	    --review $(AUGMENT_REVIEW) --rejects $(AUGMENT_REJECTS) $(AUGMENT_ARGS)

augment-preview: setup ## print what `make augment` would write, write nothing
	@$(CPU_LOCK) $(VIS_PY) -m nlu_augment data/nlu --out data/nlu/augmented.yml --dry-run \
	    --rejects $(AUGMENT_REJECTS) $(AUGMENT_ARGS)

eval-augment: setup ## 5 examples/intent: NLU trained with vs without augmentation (macro-F1, entity F1)
	@VIS_PY=$(VIS_PY) $(CPU_LOCK) $(BOT_PY) -m devtools.augment_eval $(EVAL_AUGMENT_ARGS)

bench-augment: setup ## augmentation throughput (input examples/s, offline generator + embedding filters)
	@$(CPU_LOCK) $(VIS_PY) -m bench.augment_throughput
