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
export EMOTICAL_CACHE_DIR ?= $(HOME)/.cache/emotical

# Every recipe's environment is the child-process environment of emotical_shared/childenv.py
# (project on PYTHONPATH, Rasa and TensorFlow quiet, no telemetry, the project's WordNet), the
# one definition `stack` and `devtools` use too. It is stdlib-only: any interpreter prints it.
CHILDENV_PY := $(firstword $(wildcard $(VIS_PY) $(BOT_PY)) python3)
CHILDENV_MK := $(shell mkdir -p var/tmp && mktemp var/tmp/childenv.XXXXXX.mk)
$(shell cd $(ROOT) && $(CHILDENV_PY) -m emotical_shared.childenv > $(CHILDENV_MK))
-include $(CHILDENV_MK)
$(shell rm -f $(CHILDENV_MK))

# Prefix of every heavy step (train, validate, each test suite, benchmarks, augmentation): they
# take turns on /tmp/emotical-cpu.lock, so a shared 2-core machine is never oversubscribed.
# scripts/cpu-lock runs the step at once when an ancestor already holds the lock (e.g.
# `flock /tmp/emotical-cpu.lock make test`). `make ... CPU_LOCK=` runs without the lock.
CPU_LOCK ?= $(ROOT)/scripts/cpu-lock

# Parts add their own entries to these in mk/*.mk.
TEST_TARGETS  :=
BENCH_TARGETS :=

include $(sort $(wildcard mk/*.mk))

.PHONY: help setup test test-pytest-bot test-pytest-vision test-pytest-shared validate train \
        test-rasa demo shell bench lint typecheck clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(filter-out $(CHILDENV_MK),$(MAKEFILE_LIST)) | sed -E 's/:.*## /\t/' | sort | column -t -s $$'\t'

setup: ## create both Python environments, build native/, fetch shipped models (idempotent)
	@bash scripts/setup.sh

test: setup lint typecheck validate train test-pytest-shared test-pytest-bot test-pytest-vision test-rasa $(TEST_TARGETS) ## everything CI runs
	@echo "make test: all suites passed"

lint: setup ## ruff over the project's Python
	@$(VIS_VENV)/bin/ruff check .

typecheck: setup ## mypy over the project's packages, each under the interpreter that runs it
	@$(BOT_PY) -m mypy --cache-dir var/cache/mypy-bot --python-version 3.10 $$($(BOT_PY) -m stack.environments bot)
	@$(VIS_PY) -m mypy --cache-dir var/cache/mypy-vision --python-version 3.11 $$($(VIS_PY) -m stack.environments vision)

test-pytest-shared: setup ## pytest of the stdlib-only packages (tests/shared), under both interpreters
	@$(CPU_LOCK) $(BOT_PY) -m pytest tests/shared -q -p no:cacheprovider
	@$(CPU_LOCK) $(VIS_PY) -m pytest tests/shared -q -p no:cacheprovider

test-pytest-bot: setup train ## pytest in the bot environment (tests/bot; some use the trained model)
	@$(CPU_LOCK) $(BOT_PY) -m pytest tests/bot -q -p no:cacheprovider --durations=8

test-pytest-vision: setup ## pytest in the vision environment (tests/vision)
	@$(CPU_LOCK) $(VIS_PY) -m pytest tests/vision -q -p no:cacheprovider --durations=8

validate: setup ## rasa data validate, warnings are errors
	@$(CPU_LOCK) $(BOT_PY) -m devtools.validate

train: setup ## train the model if data or config changed (cached by content hash)
	@$(CPU_LOCK) $(BOT_PY) -m devtools.train

test-rasa: train ## rasa test: test stories must all pass; held-out NLU examples print intent macro-F1
	@$(CPU_LOCK) $(BOT_PY) -m devtools.evaluate

demo: setup train ## run the whole product: Redis, Rasa, action server, sidecar; Ctrl-C stops all
	@$(VIS_PY) -m stack demo

shell: setup train ## rasa shell against a running stack (`make demo` in another terminal)
	@$(BOT_PY) -m stack shell

bench: setup train $(BENCH_TARGETS) ## benchmarks: REST latency and each part's own
	@$(CPU_LOCK) $(VIS_PY) -m bench.rest_latency

clean: ## remove built artefacts (keeps the environments and caches)
	rm -rf models/*.tar.gz var/log results .pytest_cache
