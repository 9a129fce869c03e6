"""What the emotion work costs per message: REST round trip p50/p99 with the emotion actions
reading Redis (live face state, chat stream, profiles) versus the same model and stack with those
emotion reads switched off (EMOTICAL_EMOTION_READS=0).

Each variant starts its own Redis (also Rasa's tracker and lock store), action server and Rasa on
free ports; both run at once. Every scripted shopper message (with widget metadata) goes to one
variant and then the other, in alternating order, after a fresh sidecar emotion state is written
for its conversation (outside the timing). Writes
results/bench/actions_latency.json. Goal (issue 4): +<= 10 ms at p50, p99 <= 150 ms.

    .venv/bot/bin/python -m bench.actions_latency [--messages 400]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

from tqdm import tqdm

from bench.rest_latency import MESSAGES, post, summary
from emotical_shared import redis_schema as keys
from emotical_shared.labels import LABELS, valence_of
from stack.fingerprint import model_path
from stack.processes import Stack
from stack.redis_server import ROOT

#: Pause before each timed message. Both stacks share the 2 cores; sent back to back, both
#: variants measured p99 about 160 ms instead of about 140 ms (measured once each way). Likely
#: cause, not proven: the stack that just answered still has threads busy (TensorFlow's pools
#: spin before they sleep). Real shoppers pause between messages too.
PAUSE_S = 0.05

FACES = ({"happy": 0.8, "calm": 0.2}, {"angry": 0.7, "calm": 0.3}, {"confused": 0.6, "calm": 0.4})


def face_state(probs: Dict[str, float]) -> Dict[str, str]:
    full = {label: probs.get(label, 0.0) for label in LABELS}
    out = {k: f"{v:.3f}" for k, v in full.items()}
    out.update(dominant=max(full, key=full.__getitem__), valence=f"{valence_of(full):.3f}",
               arousal="0.3", score="0", face_present="1", ts=f"{time.time():.3f}")
    return out


def message(i: int) -> Tuple[str, str, Dict[str, Any]]:
    """The i-th scripted shopper message: (session, shopper, body with the widget's metadata)."""
    conv = i // len(MESSAGES)
    return (f"bench-{conv}", f"shopper-{conv % 5}",
            {"message": MESSAGES[i % len(MESSAGES)], "metadata": {"product_id": "shoe-01"}})


def run_paired(n: int) -> Dict[str, List[float]]:
    """Both variants side by side, each message sent to one and then the other.

    Two stacks (each its own Redis, action server and Rasa) run at once; the order alternates
    per message, so drift in the machine's load falls on both variants alike.
    """
    import redis

    times: Dict[str, List[float]] = {"off": [], "on": []}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stacks:
        urls, clients, stacks_by_variant = {}, {}, {}
        for variant in ("off", "on"):
            folder = Path(tmp) / variant
            stack = stacks.enter_context(Stack(
                model=model_path(), log_dir=folder, with_sidecar=False,
                extra_env={"EMOTICAL_EMOTION_READS": "1" if variant == "on" else "0",
                           "EMOTICAL_SPOOL_DIR": str(folder / "spool")}))
            urls[variant] = f"{stack.rasa_url}/webhooks/rest/webhook"
            stacks_by_variant[variant] = stack
            assert stack.redis_url, "the stack started without a Redis"
            clients[variant] = stacks.enter_context(
                redis.Redis.from_url(stack.redis_url, decode_responses=True))
            for i in range(10):  # warm-up: the first calls build TensorFlow graphs
                post(urls[variant], message(i)[2], stack.session_token("warm"))
        for i in tqdm(range(n), desc="messages (each to both)", unit="msg"):
            sid, uid, body = message(i)
            tokens = {v: stacks_by_variant[v].session_token(sid, uid) for v in ("off", "on")}
            face = face_state(FACES[(i // len(MESSAGES)) % len(FACES)])
            order = ("off", "on") if i % 2 == 0 else ("on", "off")
            for variant in order:
                clients[variant].hset(keys.session_emotion(sid), mapping=face)
                time.sleep(PAUSE_S)  # let the other stack go idle first (see PAUSE_S)
                start = time.perf_counter()
                post(urls[variant], body, tokens[variant])
                times[variant].append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=400)
    args = parser.parse_args()
    times = run_paired(args.messages)
    off, on = summary(times["off"]), summary(times["on"])
    paired = sorted(b - a for a, b in zip(times["off"], times["on"], strict=True))
    result: Dict[str, Any] = {"emotion_reads_off": off, "emotion_reads_on": on,
              "added_p50_ms": round(on["p50_ms"] - off["p50_ms"], 1),
              "added_p99_ms": round(on["p99_ms"] - off["p99_ms"], 1),
              "median_paired_difference_ms": round(statistics.median(paired), 1),
              "goal": "added p50 <= 10 ms, p99 <= 150 ms"}
    out = ROOT / "results" / "bench" / "actions_latency.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"REST round trip, {args.messages} messages sent to both variants in turn "
          "(Redis tracker store, action server):")
    print(f"  {'variant':<20}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    for name, r in (("emotion reads off", off), ("emotion reads on", on)):
        print(f"  {name:<20}{r['p50_ms']:>9}{r['p99_ms']:>9}{r['mean_ms']:>9}")
    ok = result["added_p50_ms"] <= 10 and on["p99_ms"] <= 150
    print(f"  emotion work adds {result['added_p50_ms']} ms at p50, {result['added_p99_ms']} ms "
          f"at p99 (median of the per-message differences: "
          f"{result['median_paired_difference_ms']} ms); goal {'met' if ok else 'NOT met'} "
          f"({result['goal']})")
    print(f"  written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
