# The bot's own latency (bot/, endpoints.yml): per-turn cost as one conversation grows.
# `make bench-bot` times 160 turns of one shopper in bands, then runs the same conversation
# on to 1000 turns for its Redis and memory size; with BOT_BENCH_COMPARE=<endpoints file> it
# also pairs short conversations against a Rasa running that file's tracker store.

BENCH_TARGETS += bench-bot

.PHONY: bench-bot

BOT_BENCH_COMPARE ?=

bench-bot: setup train ## per-turn latency over 160 turns in bands, p99, sizes at 160/1000 turns
	@$(CPU_LOCK) $(VIS_PY) -m bench.bot_turns $(if $(BOT_BENCH_COMPARE),--compare $(BOT_BENCH_COMPARE))
