# Conversation designers' loop beyond train/validate/test-rasa: cross-validation, the story
# graph and interactive learning (devtools/cv.py, devtools/designer.py, bot environment).
# CV_ARGS="--folds 5 --arms augmented ..." (see `$(BOT_PY) -m devtools.cv --help`).

CV_ARGS ?=

.PHONY: cv visualize interactive

cv: setup ## NLU cross-validation (3 folds, without and with augmentation): results/cv/summary.md
	@VIS_PY=$(VIS_PY) $(CPU_LOCK) $(BOT_PY) -m devtools.cv $(CV_ARGS)

visualize: setup ## story graph of data/stories.yml and rules: results/story-graph.html
	@$(CPU_LOCK) $(BOT_PY) -m devtools.designer visualize

interactive: setup train ## rasa interactive against the running stack (`make demo` in another terminal)
	@$(BOT_PY) -m devtools.designer interactive
