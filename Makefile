# eMotical: the verbs a developer and a conversation designer use. `make help` lists them.
# Part-specific targets live in mk/*.mk (vision, actions, augmentation, widget); this file
# holds the shared ones.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT       := $(CURDIR)
BOT_VENV   := $(ROOT)/.venv/bot
VIS_VENV   := $(ROOT)/.venv/vision
BOT_PY     := $(BOT_VENV)/bin/python
VIS_PY     := $(VIS_VENV)/bin/python
RASA       := $(BOT_VENV)/bin/rasa
export PYTHONPATH := $(ROOT)
export NLTK_DATA ?= $(ROOT)/var/nltk_data
export EMOTICAL_CACHE_DIR ?= $(HOME)/.cache/emotical
# Rasa and TensorFlow: quiet, no telemetry, deterministic CPU work.
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

# Prefix for heavy steps. Empty by default; on a shared 2-core machine run e.g.
# `make bench CPU_LOCK="flock /tmp/emotical-cpu.lock"` so that heavy jobs take turns.
CPU_LOCK ?=

# Parts add their own entries to these in mk/*.mk.
TEST_TARGETS  :=
BENCH_TARGETS :=

include $(sort $(wildcard mk/*.mk))

.PHONY: help setup test test-py-bot test-py-vision validate train test-bot demo shell bench lint clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | sort | column -t -s $$'\t'

setup: ## create both Python environments, build native/, fetch shipped models (idempotent)
	@bash scripts/setup.sh

test: setup lint validate train test-py-bot test-py-vision test-bot $(TEST_TARGETS) ## everything CI runs
	@echo "make test: all suites passed"

lint: setup ## ruff over the project's Python
	@$(VIS_VENV)/bin/ruff check .

test-py-bot: setup train ## pytest in the bot environment (tests/bot; some use the trained model)
	@$(BOT_PY) -m pytest tests/bot -q -p no:cacheprovider --durations=8

test-py-vision: setup ## pytest in the vision environment (tests/vision)
	@$(VIS_PY) -m pytest tests/vision -q -p no:cacheprovider --durations=8

validate: setup ## rasa data validate, warnings are errors
	@$(BOT_PY) -m devtools.validate

train: setup ## train the model if data or config changed (cached by content hash)
	@$(BOT_PY) -m devtools.train

test-bot: train ## rasa test: test stories must all pass; NLU cross-check prints intent macro-F1
	@$(BOT_PY) -m devtools.evaluate

demo: setup train ## run the whole product: Redis, Rasa, action server, sidecar; Ctrl-C stops all
	@$(VIS_PY) -m stack demo

shell: setup train ## rasa shell against a running stack (`make demo` in another terminal)
	@$(BOT_PY) -m stack shell

bench: setup train $(BENCH_TARGETS) ## benchmarks: REST latency and each part's own
	@$(VIS_PY) -m bench.rest_latency

clean: ## remove built artefacts (keeps the environments and caches)
	rm -rf models/*.tar.gz var/log results .pytest_cache
