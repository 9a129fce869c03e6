# Vision sidecar: the service on its own, and its benchmark (tests run in `make test-pytest-vision`).

BENCH_TARGETS += bench-vision

.PHONY: sidecar bench-vision native eval-vision

sidecar: setup ## run the vision sidecar alone (needs a Redis at $$REDIS_URL; port 8765)
	@$(VIS_PY) -m vision_sidecar

native: ## rebuild the Cython core in place (make setup does this when it is out of date)
	@$(VIS_PY) setup.py -q build_ext --inplace

bench-vision: setup ## sidecar benchmark: pipeline frames/s (1 and 2 threads), numpy and classic paths; 5 runs of 40 WebSocket shoppers with real faces at random phases (p50/p99, steal, CPU)
	@$(CPU_LOCK) $(VIS_PY) -m bench.vision_sidecar

eval-vision: setup ## every face detector × expression model on the labelled real-face set → results/vision-eval.md
	@$(CPU_LOCK) $(VIS_PY) -m vision_eval
