"""REST round-trip latency of the running bot: p50/p99 over N messages (default 200).

Starts its own Redis, action server and Rasa (with the current trained model) on free ports,
warms up, then sends a fixed mix of shopper messages over /webhooks/rest/webhook, one at a
time, each conversation a few turns long. Prints a table and writes results/bench/rest_latency.json.

    .venv/vision/bin/python -m bench.rest_latency [--messages 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence

from stack.fingerprint import model_path
from stack.processes import Stack
from stack.redis_server import ROOT
from stack.rest import post_json

MESSAGES: Sequence[str] = (
    "hi",
    "show me leather jackets",
    "I really like the red one",
    "this is so frustrating, the shoes I ordered fell apart",
    "what do you recommend?",
    "I don't like plastic",
    "thanks",
    "bye",
)


def post(url: str, payload: Dict[str, Any], token: str) -> None:
    """POST a JSON body to the REST channel with a session `token` and read the whole answer."""
    post_json(url, payload, {"Authorization": f"Bearer {token}"})


def percentile(values: List[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def measure(stack: Stack, n: int, sender_prefix: str = "bench") -> List[float]:
    """Send n messages (8-turn conversations) and return each round trip in milliseconds.

    Each conversation has its own session token, as the sidecar would mint it; the token is
    made before the clock starts (the channel's check of it is inside the round trip).
    """
    url = f"{stack.rasa_url}/webhooks/rest/webhook"
    warm = stack.session_token(f"{sender_prefix}-warm")
    for i in range(10):  # warm-up: first calls load TensorFlow graphs
        post(url, {"message": MESSAGES[i % len(MESSAGES)]}, warm)
    times = []
    for i in range(n):
        token = stack.session_token(f"{sender_prefix}-{i // len(MESSAGES)}")
        start = time.perf_counter()
        post(url, {"message": MESSAGES[i % len(MESSAGES)]}, token)
        times.append((time.perf_counter() - start) * 1000)
    return times


def summary(times: List[float]) -> Dict[str, float]:
    return {
        "n": len(times),
        "p50_ms": round(statistics.median(times), 1),
        "p99_ms": round(percentile(times, 99), 1),
        "mean_ms": round(statistics.fmean(times), 1),
        "max_ms": round(max(times), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Stack(
        model=model_path(), log_dir=Path(tmp), with_sidecar=False
    ) as stack:
        result = summary(measure(stack, args.messages))
    out = ROOT / "results" / "bench" / "rest_latency.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"REST round trip over {result['n']} messages (Redis tracker store, action server):")
    print(f"  p50 {result['p50_ms']} ms   p99 {result['p99_ms']} ms   "
          f"mean {result['mean_ms']} ms   max {result['max_ms']} ms")
    print(f"  written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
