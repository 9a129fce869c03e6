"""Augmentation throughput: input examples per second with the offline generator and the
embedding filters (all-MiniLM-L6-v2 on the CPU), on the project's data/nlu.

Reports: one-off start-up (loading the sentence model and WordNet), a cold run (nothing
cached: every candidate embedded, every WordNet look-up done), a warm run (same inputs again,
embeddings and look-ups from the cache), the first run including start-up, and the command
line as a fresh process with an empty and then a warm cache (a warm run loads neither model).
The goal (>= 20 input examples/s) applies to the cold run. Exit status 1 if missed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL = 20.0


def main() -> int:
    """Run the benchmark and print the table."""
    import torch

    from nlu_augment.cache import BlobCache
    from nlu_augment.embeddings import Embedder
    from nlu_augment.generators.offline import OfflineGenerator
    from nlu_augment.nlu_yaml import load_nlu, nlu_files
    from nlu_augment.pipeline import AugmentConfig, Augmenter

    root = Path(__file__).resolve().parent.parent
    data = load_nlu(nlu_files(root / "data" / "nlu"))
    n_in = sum(len(v) for v in data.intents.values())
    config = AugmentConfig(seed=0, progress=False)

    t0 = time.perf_counter()
    embedder = Embedder(BlobCache(None), progress=False)
    embedder.model.encode(["warm up"])
    warm_gen = OfflineGenerator(cache=None)
    assert warm_gen.synonyms is not None
    warm_gen.synonyms._wordnet()
    startup = time.perf_counter() - t0

    t1 = time.perf_counter()
    cold = Augmenter([OfflineGenerator(cache=None)], embedder, config).run(data)
    cold_s = time.perf_counter() - t1
    encoded = embedder.encoded

    t2 = time.perf_counter()
    warm = Augmenter([OfflineGenerator(cache=embedder.cache)], embedder, config).run(data)
    warm_s = time.perf_counter() - t2
    assert cold.examples == warm.examples, "a warm run must give the same output"

    cli_cold, cli_warm = _cli_runs(root)
    n_out = sum(s.total for s in cold.stats.values())
    rows = [
        ("start-up (sentence model + WordNet load)", startup, None),
        ("cold run (nothing cached)", cold_s, n_in / cold_s),
        ("warm run (embeddings cached)", warm_s, n_in / warm_s),
        ("first run incl. start-up", startup + cold_s, n_in / (startup + cold_s)),
        ("CLI process, empty cache (all loads)", cli_cold, n_in / cli_cold),
        ("CLI process, cache from the run before", cli_warm, n_in / cli_warm),
    ]
    print(f"augment throughput: {n_in} input examples -> {n_out} generated; {encoded} texts "
          f"embedded; torch threads {torch.get_num_threads()}, {os.cpu_count()} CPUs")
    for name, secs, rate in rows:
        per = f"{rate:7.1f} examples/s" if rate is not None else ""
        print(f"  {name:<42} {secs:7.2f} s  {per}")
    rate = n_in / cold_s
    verdict = "met" if rate >= GOAL else "NOT met"
    print(f"  goal >= {GOAL:g} input examples/s (cold run): {verdict}")
    return 0 if rate >= GOAL else 1


def _cli_runs(root: Path) -> tuple[float, float]:
    """Wall time of `python -m nlu_augment` as a fresh process: empty cache, then warm cache."""
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(2):
            t = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "nlu_augment", str(root / "data" / "nlu"), "--out",
                 str(Path(tmp) / "augmented.yml"), "--no-progress", "--cache-dir", tmp],
                cwd=root, check=True, capture_output=True,
            )
            times.append(time.perf_counter() - t)
    return times[0], times[1]


if __name__ == "__main__":
    sys.exit(main())
