"""Redis killed (SIGKILL) and restarted mid-conversation, under the running Rasa and action server.

During the outage every turn gets a real answer, quickly; afterwards turns work again without
restarting either server; the conversation's earlier events and the shopper's profile survive
(AOF); a like made during the outage is replayed from the spool once Redis is back.
"""

from __future__ import annotations

import json
import os
import signal
import time
from typing import Any, Dict, List, Tuple

import redis

from emotical_shared import redis_schema as keys
from stack.processes import Stack
from stack.redis_server import RedisServer
from stack.rest import rest_turn

SESSION, SHOPPER = "s-outage", "u-outage"
#: A turn during the outage must answer within this (Rasa's lock store retries 1.5 s once).
OUTAGE_TURN_S = 15.0


def _turn(stack: Stack, text: str) -> Tuple[List[Dict[str, Any]], float]:
    start = time.monotonic()
    replies = rest_turn(stack.rasa_url, stack.session_token(SESSION, SHOPPER), text, timeout=30)
    return replies, time.monotonic() - start


def _tracker_texts(client: redis.Redis[str]) -> List[str]:
    events = [json.loads(item) for item in client.lrange(keys.session_tracker_events(SESSION), 0, -1)]
    return [e.get("text") or "" for e in events if e.get("event") == "user"]


def _wait_for(check: Any, timeout: float, step: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return bool(check())


def test_redis_killed_and_restarted_mid_conversation(stack: Stack,
                                                     redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    pids = {s.name: s.proc.pid for s in stack.services if s.proc is not None}
    replies, _ = _turn(stack, "hi")
    assert replies, "no answer before the outage"
    replies, _ = _turn(stack, "I really like the red one")
    assert replies
    assert _wait_for(lambda: client.hget(keys.shopper_tags(SHOPPER), "red"), 5)
    before = _tracker_texts(client)
    assert "I really like the red one" in before, before
    client.close()
    time.sleep(1.5)  # appendfsync everysec: what is older than a second is on disk

    os.kill(redis_server.pid, signal.SIGKILL)
    assert redis_server.proc is not None
    redis_server.proc.wait(timeout=10)
    timings: Dict[str, float] = {}
    try:
        for text in ("hi", "that blue colour is lovely", "show me something"):
            replies, took = _turn(stack, text)
            timings[text] = round(took, 2)
            assert replies, f"empty reply to {text!r} while Redis is down"
            assert all(r.get("text") or r.get("buttons") or r.get("custom") for r in replies)
            assert took < OUTAGE_TURN_S, timings
        spool = stack.log_dir / "spool"
        assert any(spool.glob("*.jsonl")), "the like made during the outage was not spooled"
    finally:
        redis_server.start()  # same port, same data folder: loads the AOF

    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        assert float(client.hget(keys.shopper_tags(SHOPPER), "red") or 0) > 0, "profile lost"
        assert "I really like the red one" in _tracker_texts(client), "conversation lost"
        ok = []
        for _ in range(10):  # bounded: the first turns may still find connections closing
            replies, took = _turn(stack, "hi")
            ok.append(bool(replies))
            if replies:
                break
            time.sleep(1)
        assert ok and ok[-1], f"no answer after Redis came back: {ok}"
        assert _wait_for(lambda: _tracker_texts(client)[-1:] == ["hi"], 10), \
            "turns after the outage are not stored again"
        assert _wait_for(lambda: client.hget(keys.shopper_tags(SHOPPER), "blue"), 30), \
            "the spooled like was not replayed after Redis returned"
        assert {s.name: s.proc.pid for s in stack.services if s.proc is not None} == pids, \
            "a service was restarted"
        assert all(s.alive() for s in stack.services)
        print(f"outage turn timings (s): {timings}")
    finally:
        client.close()
