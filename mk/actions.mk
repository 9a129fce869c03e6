# Emotion-aware custom actions (actions/, data/catalog/). Unit tests (tests/bot/actions) run in
# `make test-pytest-bot`; the end-to-end test needs the trained model and a running stack, so it has
# its own target. The benchmark compares REST latency with and without the emotion actions'
# Redis reads (EMOTICAL_EMOTION_READS=0).

TEST_TARGETS  += test-actions-e2e
BENCH_TARGETS += bench-actions

.PHONY: actions test-actions test-actions-e2e bench-actions

actions: setup ## run the action server alone on :5055 (needs a Redis at $$REDIS_URL)
	@$(BOT_PY) -m rasa_sdk --actions actions --port 5055

test-actions: setup ## unit tests of the actions against a real Redis
	@$(CPU_LOCK) $(BOT_PY) -m pytest tests/bot/actions -q -p no:cacheprovider

test-actions-e2e: setup train ## Rasa + action server + Redis over REST: sympathy, tag weights, deletion
	@EMOTICAL_E2E=1 $(CPU_LOCK) $(BOT_PY) -m pytest tests/bot/e2e -q -p no:cacheprovider

bench-actions: setup train ## REST p50/p99 with the emotion actions vs with their Redis reads disabled
	@$(CPU_LOCK) $(VIS_PY) -m bench.actions_latency
