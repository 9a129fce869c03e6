"""Per-turn latency of the bot as one conversation grows, and old store vs new on short ones.

Starts its own Redis, action server and Rasa (current model, `endpoints.yml`) on free ports,
then, over the REST channel with a session token, one message at a time:

* **long**: one shopper cycles eight ordinary messages for `--turns` turns (160); per band of
  turns (1-20, 21-40, 61-80, 101-120, 141-160) the median and max round trip, and p99 over all.
  With `--turns-max` (1000) the same conversation goes on, for its sizes, unless a band's median
  passes `--give-up-ms` (the conversation is too slow to reach that length in a bench).
* **sizes** at 160 (and `--turns-max`) turns: bytes Redis holds for the conversation (MEMORY
  USAGE of every key naming it), the event count of the full tracker, and Rasa's resident memory.
* **paired** (with `--compare ENDPOINTS`): a second Rasa on the same Redis and action server
  runs the other tracker store; `--short` 8-turn conversations, each message sent to both (the
  order alternating), so both see the same machine load.
* **events per turn** of the 160-turn conversation, by type and, for `slot`, by slot name.

Every part is run `--runs` times (3; the long one on the compared store `--compared-runs`
times, 1: it takes minutes). Each run's figures are kept and printed; the summary gives, per
band, the spread of the runs' medians and the worst run (highest p99), never the best.

    .venv/vision/bin/python -m bench.bot_turns [--turns 160] [--turns-max 1000] [--runs 3]
        [--compare-stock | --compare ENDPOINTS] [--short 25] [--long-compared]
        [--compared-runs 1]

Figures in results/bench/bot_turns.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import redis

from bench.rest_latency import MESSAGES, percentile
from stack.fingerprint import model_path
from stack.processes import Service, Stack, rasa_server, secret_env
from stack.redis_server import ROOT, free_port
from stack.rest import post_json, rest_turn

#: Turn bands reported for the long conversation (1-based, inclusive).
BANDS: Sequence[Tuple[int, int]] = ((1, 20), (21, 40), (61, 80), (101, 120), (141, 160))
WARMUP_TURNS = 10
#: Rasa loads TensorFlow and the model: on a busy 2-core machine that can take minutes.
START_TIMEOUT_S = 600.0
WINDOWED_STORE = "bot.windowed_tracker_store.WindowedRedisTrackerStore"
STOCK_STORE = "bot.tracker_store.TombstoneRedisTrackerStore"


def timed_turn(rasa_url: str, token: str, text: str) -> float:
    """One REST turn; its round trip in milliseconds."""
    start = time.perf_counter()
    rest_turn(rasa_url, token, text)
    return (time.perf_counter() - start) * 1000


def band_figures(times: List[float]) -> List[Dict[str, Any]]:
    """Median and max per band of `BANDS` that `times` (turn 1 first) reaches."""
    out = []
    for lo, hi in BANDS:
        part = times[lo - 1:hi]
        if len(part) == hi - lo + 1:
            out.append({"turns": f"{lo}-{hi}", "median_ms": round(statistics.median(part), 1),
                        "max_ms": round(max(part), 1)})
    return out


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def conversation_sizes(stack: Stack, red: redis.Redis, sender: str,
                       rasa: Service, rasa_url: str) -> Dict[str, Any]:
    """What one conversation costs: Redis bytes of its keys, full-tracker events, Rasa's RSS."""
    keys = [*red.scan_iter(match=f"*:{sender}", count=1000),
            *red.scan_iter(match=f"*:{sender}:*", count=1000)]
    redis_bytes = sum(int(red.memory_usage(k, samples=0) or 0) for k in keys)
    tracker = post_json(f"{rasa_url}/conversations/{sender}/tracker"
                        f"?token={stack.rasa_api_token}", None, method="GET")
    events = tracker.get("events") or []
    assert rasa.proc is not None
    return {"redis_bytes": redis_bytes, "redis_keys": sorted(k.decode() for k in keys),
            "events": len(events), "events_by_type": event_counts(events),
            "rasa_rss_bytes": rss_bytes(rasa.proc.pid)}


def event_counts(events: List[Dict[str, Any]]) -> Dict[str, int]:
    """Events by type, `slot` events also by slot name (`slot:<name>`), and those that set a
    slot to the value an earlier event of the conversation had set it to (`slot_unchanged`:
    they carry nothing), most first."""
    counts = Counter(str(e.get("event")) for e in events)
    held: Dict[str, Any] = {}
    for e in events:
        if e.get("event") != "slot":
            continue
        name = str(e.get("name"))
        counts[f"slot:{name}"] += 1
        if name in held and held[name] == e.get("value"):
            counts["slot_unchanged"] += 1
            counts[f"slot_unchanged:{name}"] += 1
        held[name] = e.get("value")
    return dict(counts.most_common())


def long_conversation(stack: Stack, red: redis.Redis, rasa: Service, turns: int,
                      turns_max: int, give_up_ms: float,
                      rasa_url: Optional[str] = None, suffix: str = "") -> Dict[str, Any]:
    """Run one conversation to `turns` (then on to `turns_max`), timing every turn."""
    rasa_url = rasa_url or stack.rasa_url
    sender = ("bench-long" if rasa_url == stack.rasa_url else "bench-long-compared") + suffix
    token = stack.session_token(sender)
    times: List[float] = []
    sizes: Dict[str, Any] = {}
    given_up_at: Optional[int] = None
    for i in range(max(turns, turns_max)):
        times.append(timed_turn(rasa_url, token, MESSAGES[i % len(MESSAGES)]))
        n = i + 1
        if n in (turns, turns_max):
            sizes[str(n)] = conversation_sizes(stack, red, sender, rasa, rasa_url)
        if n >= turns and n % 20 == 0 and statistics.median(times[-20:]) > give_up_ms:
            given_up_at = n
            break
    head = times[:turns]
    return {"bands": band_figures(head), "p99_ms": round(percentile(head, 99), 1),
            "p50_ms": round(statistics.median(head), 1), "turns": len(head),
            "turns_run": len(times), "given_up_at": given_up_at, "sizes": sizes,
            "bands_of_1000": [{"turns": f"{lo}-{lo + 19}",
                               "median_ms": round(statistics.median(times[lo - 1:lo + 19]), 1)}
                              for lo in (181, 381, 581, 781, 981) if len(times) >= lo + 19]}


def paired_short(stack: Stack, other_url: str, conversations: int,
                 run: int = 0) -> Dict[str, Any]:
    """8-turn conversations, each message to this stack's Rasa and to `other_url`'s.

    Each Rasa talks to its own shopper (session ids `-a` and `-b`), so neither store nor the
    actions' per-session keys are shared.
    """
    mine: List[float] = []
    other: List[float] = []
    for c in range(conversations):
        token_a = stack.session_token(f"bench-short-{run}-{c}-a")
        token_b = stack.session_token(f"bench-short-{run}-{c}-b")
        for i, text in enumerate(MESSAGES):
            if (c + i) % 2:
                other.append(timed_turn(other_url, token_b, text))
                mine.append(timed_turn(stack.rasa_url, token_a, text))
            else:
                mine.append(timed_turn(stack.rasa_url, token_a, text))
                other.append(timed_turn(other_url, token_b, text))

    def figures(times: List[float]) -> Dict[str, float]:
        return {"p50_ms": round(statistics.median(times), 1),
                "p99_ms": round(percentile(times, 99), 1),
                "mean_ms": round(statistics.fmean(times), 1)}

    diffs = [a - b for a, b in zip(mine, other, strict=True)]
    return {"messages": len(mine), "endpoints_yml": figures(mine), "compared": figures(other),
            "median_paired_diff_ms": round(statistics.median(diffs), 1)}


def stock_endpoints(folder: Path) -> Path:
    """endpoints.yml with Rasa's one-string Redis layout (bot.tracker_store) instead."""
    lines = [line.replace(WINDOWED_STORE, STOCK_STORE)
             for line in (ROOT / "endpoints.yml").read_text().splitlines()
             if not line.strip().startswith(("policy_config:", "training_data:"))]
    out = folder / "endpoints-stock.yml"
    out.write_text("\n".join(lines) + "\n")
    return out


def start_other_rasa(stack: Stack, endpoints: Path, log_dir: Path) -> Service:
    """A second Rasa on the stack's Redis and action server, with another endpoints file."""
    log_dir.mkdir(parents=True, exist_ok=True)
    assert stack.redis_url is not None
    service = rasa_server(free_port(), stack.model, stack.redis_url, stack.actions_url, log_dir,
                          extra_env=secret_env(stack.secret))
    service.cmd[service.cmd.index("endpoints.yml")] = str(endpoints)
    return service.start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=160)
    parser.add_argument("--turns-max", type=int, default=1000)
    parser.add_argument("--give-up-ms", type=float, default=1000.0,
                        help="stop the conversation past --turns when 20 turns' median is above")
    parser.add_argument("--compare", type=Path, default=None,
                        help="endpoints file of the store to pair short conversations against")
    parser.add_argument("--compare-stock", action="store_true",
                        help="pair against endpoints.yml with the stock-layout tracker store")
    parser.add_argument("--short", type=int, default=25, help="paired 8-turn conversations")
    parser.add_argument("--long-compared", action="store_true",
                        help="also run the long conversation (to --turns) on the compared store")
    parser.add_argument("--runs", type=int, default=3,
                        help="times each part is run (the long one on the compared store: "
                        "--compared-runs)")
    parser.add_argument("--compared-runs", type=int, default=1)
    parser.add_argument("--model", type=Path, default=None,
                        help="model archive (default: the one for the current data)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench" / "bot_turns.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.compare_stock:
            args.compare = stock_endpoints(Path(tmp))
        stack = Stack(model=args.model or model_path(), log_dir=Path(tmp), with_sidecar=False)
        stack.start(timeout=START_TIMEOUT_S)
        try:
            result = run(stack, Path(tmp), args)
        finally:
            stack.stop()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    report(result)
    print(f"  written to {args.out}")


def run(stack: Stack, tmp: Path, args: argparse.Namespace) -> Dict[str, Any]:
    """Warm up, pair short conversations (with --compare), then the long conversation."""
    result: Dict[str, Any] = {}
    assert stack.redis_url is not None
    red = redis.Redis.from_url(stack.redis_url)
    rasa = next(s for s in stack.services if s.name == "rasa")
    warm = stack.session_token("bench-warm")
    for i in range(WARMUP_TURNS):
        rest_turn(stack.rasa_url, warm, MESSAGES[i % len(MESSAGES)])
    if args.compare:
        other = start_other_rasa(stack, args.compare, tmp / "compared")
        try:
            other.wait_healthy(START_TIMEOUT_S)
            other_url = other.health_url.split("/status")[0]
            warm_other = stack.session_token("bench-warm-compared")
            for i in range(WARMUP_TURNS):
                rest_turn(other_url, warm_other, MESSAGES[i % len(MESSAGES)])
            result["paired_runs"] = [paired_short(stack, other_url, args.short, run)
                                     for run in range(args.runs)]
            if args.long_compared:
                result["long_compared_runs"] = [
                    long_conversation(stack, red, other, args.turns, args.turns,
                                      args.give_up_ms, other_url, f"-{run}")
                    for run in range(args.compared_runs)]
        finally:
            other.stop()
    # The last run goes on to --turns-max for the sizes there.
    result["long_runs"] = [
        long_conversation(stack, red, rasa, args.turns,
                          args.turns_max if run == args.runs - 1 else args.turns,
                          args.give_up_ms, suffix=f"-{run}")
        for run in range(args.runs)]
    result["summary"] = {"long": summary(result["long_runs"])}
    if result.get("long_compared_runs"):
        result["summary"]["long_compared"] = summary(result["long_compared_runs"])
    if result.get("paired_runs"):
        result["summary"]["paired"] = paired_summary(result["paired_runs"])
    return result


def summary(runs: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Across runs of the long conversation: per band the runs' medians (spread) and maxima,
    the p99s, and which run was worst (highest p99)."""
    worst = max(range(len(runs)), key=lambda i: runs[i]["p99_ms"])
    bands = []
    for i, band in enumerate(runs[0]["bands"]):
        medians = [r["bands"][i]["median_ms"] for r in runs if len(r["bands"]) > i]
        maxima = [r["bands"][i]["max_ms"] for r in runs if len(r["bands"]) > i]
        bands.append({"turns": band["turns"], "medians_ms": medians,
                      "median_spread_ms": [min(medians), max(medians)],
                      "worst_max_ms": max(maxima)})
    return {"runs": len(runs), "bands": bands, "p99s_ms": [r["p99_ms"] for r in runs],
            "worst_run": worst + 1}


def paired_summary(runs: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Across paired runs: each run's p50s and paired difference, and the worst difference."""
    return {"p50s_ms": [[r["endpoints_yml"]["p50_ms"], r["compared"]["p50_ms"]] for r in runs],
            "paired_diffs_ms": [r["median_paired_diff_ms"] for r in runs],
            "worst_paired_diff_ms": max(r["median_paired_diff_ms"] for r in runs)}


def report(result: Dict[str, Any]) -> None:
    """Print each run, then the summary, as the README tables them."""
    for i, long in enumerate(result.get("long_compared_runs") or []):
        print(f"Compared store, run {i + 1}:")
        report_long(long)
    for i, long in enumerate(result["long_runs"]):
        print(f"endpoints.yml store, run {i + 1}:")
        report_long(long)
    for name, summ in result["summary"].items():
        if name == "paired":
            continue
        print(f"Summary, {name} ({summ['runs']} runs, worst run {summ['worst_run']}):")
        print("| turns | medians of the runs | worst max |\n| --- | --- | --- |")
        for band in summ["bands"]:
            print(f"| {band['turns']} | {' / '.join(f'{m}' for m in band['medians_ms'])} ms | "
                  f"{band['worst_max_ms']} ms |")
        print(f"  p99 of the runs: {summ['p99s_ms']} ms")
    for i, p in enumerate(result.get("paired_runs") or []):
        print(f"Paired short conversations, run {i + 1} ({p['messages']} messages each):")
        print(f"  endpoints.yml: {p['endpoints_yml']}   compared: {p['compared']}   "
              f"median paired diff {p['median_paired_diff_ms']} ms")
    if "paired" in result["summary"]:
        print(f"Paired summary: {result['summary']['paired']}")


def report_long(long: Dict[str, Any]) -> None:
    """Print one long conversation's bands and sizes."""
    print(f"One conversation, {long['turns']} turns (REST, session token, action server):")
    print("| turns | median | max |\n| --- | --- | --- |")
    for band in long["bands"]:
        print(f"| {band['turns']} | {band['median_ms']} ms | {band['max_ms']} ms |")
    print(f"p50 {long['p50_ms']} ms, p99 {long['p99_ms']} ms over {long['turns']} turns")
    if long["given_up_at"]:
        print(f"  (given up at turn {long['given_up_at']}: too slow to go on)")
    for band in long["bands_of_1000"]:
        print(f"  turns {band['turns']}: median {band['median_ms']} ms")
    for turns, size in long["sizes"].items():
        print(f"  at {turns} turns: {size['events']} events, Redis {size['redis_bytes']} bytes in "
              f"{len(size['redis_keys'])} keys, Rasa RSS {size['rasa_rss_bytes'] / 2**20:.0f} MiB")
        per_turn = {k: round(v / int(turns), 2) for k, v in size["events_by_type"].items()}
        print(f"    events per turn: {per_turn}")


if __name__ == "__main__":
    main()
