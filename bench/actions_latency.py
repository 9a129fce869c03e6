"""What the emotion work costs per message: REST round trip p50/p99 with the emotion actions
reading Redis (live face state, chat stream, profiles) versus the same model and stack with those
emotion reads switched off (EMOTICAL_EMOTION_READS=0).

Each variant starts its own Redis (also Rasa's tracker and lock store), action server and Rasa on
free ports, writes a fresh sidecar emotion state for every conversation (outside the timing), and
sends the same scripted shopper messages with widget metadata. Writes
results/bench/actions_latency.json. Goal (issue 4): +<= 10 ms at p50, p99 <= 150 ms.

    .venv/bot/bin/python -m bench.actions_latency [--messages 200]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Dict, List

from tqdm import tqdm

from bench.rest_latency import MESSAGES, post, summary
from emotical_shared import redis_schema as keys
from emotical_shared.labels import LABELS, valence_of
from stack.fingerprint import model_path
from stack.processes import Stack
from stack.redis_server import ROOT

FACES = ({"happy": 0.8, "calm": 0.2}, {"angry": 0.7, "calm": 0.3}, {"confused": 0.6, "calm": 0.4})


def face_state(probs: Dict[str, float]) -> Dict[str, str]:
    full = {label: probs.get(label, 0.0) for label in LABELS}
    out = {k: f"{v:.3f}" for k, v in full.items()}
    out.update(dominant=max(full, key=full.__getitem__), valence=f"{valence_of(full):.3f}",
               arousal="0.3", score="0", face_present="1", ts=f"{time.time():.3f}")
    return out


def run_variant(reads: bool, n: int) -> Dict[str, float]:
    """Start a stack with emotion reads on or off and time n messages."""
    import redis

    label = "emotion reads on " if reads else "emotion reads off"
    with tempfile.TemporaryDirectory() as tmp, Stack(
        model=model_path(), log_dir=Path(tmp), with_sidecar=False,
        extra_env={"EMOTICAL_EMOTION_READS": "1" if reads else "0",
                   "EMOTICAL_SPOOL_DIR": str(Path(tmp) / "spool")},
    ) as stack:
        client = redis.Redis.from_url(stack.redis_url, decode_responses=True)
        url = f"{stack.rasa_url}/webhooks/rest/webhook"
        for i in range(10):  # warm-up
            post(url, {"sender": "warm", "message": MESSAGES[i % len(MESSAGES)],
                       "metadata": {"session_id": "warm", "shopper_id": "warm"}})
        times: List[float] = []
        for i in tqdm(range(n), desc=label, unit="msg"):
            conv = i // len(MESSAGES)
            sid = f"bench-{conv}"
            client.hset(keys.session_emotion(sid), mapping=face_state(FACES[conv % len(FACES)]))
            body = {"sender": sid, "message": MESSAGES[i % len(MESSAGES)],
                    "metadata": {"session_id": sid, "shopper_id": f"shopper-{conv % 5}",
                                 "product_id": "shoe-01"}}
            start = time.perf_counter()
            post(url, body)
            times.append((time.perf_counter() - start) * 1000)
        client.close()
    return summary(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args()
    off = run_variant(False, args.messages)
    on = run_variant(True, args.messages)
    result = {"emotion_reads_off": off, "emotion_reads_on": on,
              "added_p50_ms": round(on["p50_ms"] - off["p50_ms"], 1),
              "added_p99_ms": round(on["p99_ms"] - off["p99_ms"], 1),
              "goal": "added p50 <= 10 ms, p99 <= 150 ms"}
    out = ROOT / "results" / "bench" / "actions_latency.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"REST round trip, {args.messages} messages each (Redis tracker store, action server):")
    print(f"  {'variant':<20}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    for name, r in (("emotion reads off", off), ("emotion reads on", on)):
        print(f"  {name:<20}{r['p50_ms']:>9}{r['p99_ms']:>9}{r['mean_ms']:>9}")
    ok = result["added_p50_ms"] <= 10 and on["p99_ms"] <= 150
    print(f"  emotion work adds {result['added_p50_ms']} ms at p50, {result['added_p99_ms']} ms "
          f"at p99; goal {'met' if ok else 'NOT met'} ({result['goal']})")
    print(f"  written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
