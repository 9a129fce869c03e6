# The bot's own latency (bot/, endpoints.yml): per-turn cost as one conversation grows.
# `make bench-bot` pairs short conversations between endpoints.yml's tracker store and the
# stock-layout one (each message to both), times 160 turns of one shopper in bands, the last
# run going on to 1000 turns for its Redis and memory size; every part 3 times (--runs), each
# run printed, then the spread and the worst run. Events per turn by type at 160 and 1000.
# BOT_BENCH_ARGS=--long-compared also runs the 160 turns on the stock-layout store (about 10
# minutes a run; --compared-runs N for more than one).

BENCH_TARGETS += bench-bot

.PHONY: bench-bot

BOT_BENCH_ARGS ?=

bench-bot: setup train ## per-turn latency over 160 turns in bands, p99, sizes and events/turn at 160/1000 turns, paired vs stock store; 3 runs, spread, worst
	@$(CPU_LOCK) $(VIS_PY) -m bench.bot_turns --compare-stock $(BOT_BENCH_ARGS)

.PHONY: test-parity

test-parity: setup train ## the windowed vs stock tracker store parity test over 300 turns (about 40 min: 37.6 min on 2026-12-02)
	@EMOTICAL_E2E=1 EMOTICAL_PARITY_TURNS=300 $(CPU_LOCK) $(BOT_PY) -m pytest tests/bot/e2e/test_tracker_store_parity.py -q -p no:cacheprovider
