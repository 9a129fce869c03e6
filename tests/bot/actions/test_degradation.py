"""Redis down or the sidecar silent: the bot still answers, warns once, loses no profile update."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Dict

import pytest

from actions.mood_actions import ActionExpressSympathy, ActionFuseMood
from actions.preference_actions import ActionUpdateTagWeights
from actions.recommend_actions import ActionRecommend
from actions.runtime import Runtime, set_runtime
from actions.session_actions import ActionDeleteMyData
from emotical_shared import logs
from emotical_shared import redis_schema as keys
from stack.redis_server import RedisServer, free_port
from tests.bot.actions.conftest import make_runtime
from tests.bot.actions.helpers import make_tracker, run_action, slots_of, user_event


@pytest.fixture()
def down_runtime(_shared_runtime: Runtime, tmp_path: Path) -> Any:
    """A runtime whose Redis URL points at a port nobody listens on."""
    rt = make_runtime(_shared_runtime, redis_url=f"redis://127.0.0.1:{free_port()}/0",
                      spool_dir=tmp_path / "spool", redis_retry_s=0.0)
    set_runtime(rt)
    yield rt
    set_runtime(None)


def test_redis_down_gives_mood_from_words_and_one_warning(down_runtime: Runtime,
                                                          domain: Dict[str, Any],
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="actions")
    for text_score in (0.0, 0.0, -0.9):
        event = user_event("complain", "hmm", score=text_score, metadata={"session_id": "s-down"})
        events, messages = run_action(ActionFuseMood(), make_tracker([event]), domain)
        assert messages == []
    assert slots_of(events)["mood"] == "negative"  # the words still count
    warnings = [r for r in caplog.records if logs.id_tag("s-down") in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    neutral = user_event("complain", "hmm", score=0.0, metadata={"session_id": "s-down2"})
    events, _ = run_action(ActionFuseMood(), make_tracker([neutral]), domain)
    assert slots_of(events)["mood"] == "neutral" and slots_of(events)["sympathy_level"] == 0.0
    tracker = make_tracker([neutral, *events], slots_of(events))
    assert run_action(ActionExpressSympathy(), tracker, domain)[1] == []


def test_redis_down_recommend_still_answers(down_runtime: Runtime, domain: Dict[str, Any]) -> None:
    _, messages = run_action(ActionRecommend(), make_tracker([user_event("ask_recommendation")]),
                             domain)
    assert len(messages[0]["text"].splitlines()) == 1 + down_runtime.settings.top_k


def test_delete_while_redis_down_says_nothing_was_deleted(down_runtime: Runtime,
                                                          domain: Dict[str, Any]) -> None:
    _, messages = run_action(ActionDeleteMyData(),
                             make_tracker([user_event("affirm")], {"pending_delete": True}), domain)
    assert "nothing was deleted" in messages[0]["text"]


def test_profile_update_is_queued_and_replayed_when_redis_returns(
        _shared_runtime: Runtime, tmp_path: Path, domain: Dict[str, Any]) -> None:
    server = RedisServer(data_dir=tmp_path / "redis").start()
    rt = make_runtime(_shared_runtime, redis_url=server.url, spool_dir=tmp_path / "spool",
                      redis_retry_s=0.0)
    set_runtime(rt)
    like = user_event("express_like", "I love red", score=0.6,
                      entities=[{"entity": "attribute", "value": "red"}],
                      metadata={"shopper_id": "u-q", "session_id": "s-q"})
    try:
        server.stop()
        run_action(ActionUpdateTagWeights(), make_tracker([like]), domain)
        run_action(ActionUpdateTagWeights(), make_tracker([like]), domain)
        assert rt.store.spool.pending(), "the update must wait in the spool"
        server.start()  # same port, same data folder
        # Any later Redis call replays the queue first.
        run_action(ActionFuseMood(), make_tracker([user_event("greet")]), domain)
        import redis

        client = redis.Redis.from_url(server.url, decode_responses=True)
        weights = client.hgetall(keys.shopper_tags("u-q"))
        counts = client.hgetall(keys.shopper_tag_counts("u-q"))
        client.close()
        assert float(weights["red"]) > 0 and float(counts["red"]) == 2.0, (weights, counts)
        assert not rt.store.spool.pending()
    finally:
        set_runtime(None)
        server.stop()


def test_queued_updates_survive_an_action_server_restart(
        _shared_runtime: Runtime, redis_url: str, redis_client: Any, tmp_path: Path,
        domain: Dict[str, Any]) -> None:
    spool = tmp_path / "spool"
    down = make_runtime(_shared_runtime, redis_url=f"redis://127.0.0.1:{free_port()}/0",
                        spool_dir=spool)
    set_runtime(down)
    like = user_event("express_like", "wool", score=0.5,
                      entities=[{"entity": "attribute", "value": "wool"}],
                      metadata={"shopper_id": "u-r"})
    run_action(ActionUpdateTagWeights(), make_tracker([like]), domain)
    # A new process (new store, same spool folder) replays it.
    fresh = make_runtime(_shared_runtime, redis_url=redis_url, spool_dir=spool)
    replayed = asyncio.run(fresh.store.flush_spool())
    set_runtime(None)
    assert replayed == 1
    assert float(redis_client.hget(keys.shopper_tags("u-r"), "wool")) > 0


def test_emotion_reads_switched_off_ignore_the_face(runtime: Runtime, redis_client: Any,
                                                    domain: Dict[str, Any]) -> None:
    from tests.bot.actions.helpers import emotion_hash

    off = make_runtime(runtime, emotion_reads=False)
    set_runtime(off)
    redis_client.hset(keys.session_emotion("s-off"), mapping=emotion_hash({"angry": 1.0}))
    event = user_event("complain", "meh", score=0.0, metadata={"session_id": "s-off"})
    events, _ = run_action(ActionFuseMood(), make_tracker([event]), domain)
    assert slots_of(events)["mood"] == "neutral"
    assert not redis_client.exists(keys.session_chat("s-off"))


def test_spool_takes_over_files_of_a_crashed_replay(tmp_path: Path) -> None:
    import os
    import time

    from actions.profiles import TagObservation
    from actions.spool import ORPHAN_AGE_S, Spool

    spool = Spool(tmp_path)
    spool.append("u-1", {"red": TagObservation("red", 0.2, 1.0)})
    (claimed,) = spool.claim()
    assert spool.claim() == [], "a fresh claim belongs to a replay in progress"
    old = time.time() - ORPHAN_AGE_S - 1
    os.utime(claimed, (old, old))
    (again,) = spool.claim()
    assert [uid for uid, _ in spool.read(again)] == ["u-1"]


def _obs(tag: str = "red") -> Dict[str, Any]:
    from actions.profiles import TagObservation

    return {tag: TagObservation(tag, 0.2, 1.0)}


def test_full_spool_drops_new_updates_with_one_warning_without_tag_words(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from actions.spool import Spool

    caplog.set_level(logging.WARNING, logger="actions")
    spool = Spool(tmp_path, max_bytes=200)
    kept = [spool.append(f"u-{i}", _obs("crimson")) for i in range(10)]
    assert kept[0] and not kept[-1], kept
    assert spool.size() <= 200
    full = [r.getMessage() for r in caplog.records if "profile_spool_full" in r.getMessage()]
    assert len(full) == 1, full
    assert "crimson" not in full[0] and "u-" not in full[0].replace(logs.id_tag("u-0"), "")
    assert logs.id_tag(f"u-{kept.index(False)}") in full[0]
    lines = sum(len(list(spool.read(p))) for p in spool.claim())
    assert lines == kept.count(True)


def test_store_spools_through_a_thread_and_respects_the_cap(
        _shared_runtime: Runtime, tmp_path: Path, domain: Dict[str, Any]) -> None:
    rt = make_runtime(_shared_runtime, redis_url=f"redis://127.0.0.1:{free_port()}/0",
                      spool_dir=tmp_path / "spool", redis_retry_s=0.0, spool_max_bytes=120)
    set_runtime(rt)
    try:
        like = user_event("express_like", "I love red", score=0.6,
                          entities=[{"entity": "attribute", "value": "red"}],
                          metadata={"shopper_id": "u-cap", "session_id": "s-cap"})
        for _ in range(5):
            run_action(ActionUpdateTagWeights(), make_tracker([like]), domain)
        assert 0 < rt.store.spool.size() <= 120
    finally:
        set_runtime(None)


def test_a_bad_line_is_moved_aside_and_the_others_are_replayed(
        _shared_runtime: Runtime, redis_url: str, redis_client: Any, tmp_path: Path) -> None:
    from actions.spool import REJECTED

    spool_dir = tmp_path / "spool"
    rt = make_runtime(_shared_runtime, redis_url=redis_url, spool_dir=spool_dir)
    rt.store.spool.append("u-good1", _obs("red"))
    with open(spool_dir / "999.jsonl", "a", encoding="utf-8") as f:
        f.write('{"uid": "u-x", "obs": {"red": "not a pair"}}\n{torn\n')
    rt.store.spool.append("bad id with spaces", _obs("red"))  # parses, but no key can name it
    rt.store.spool.append("u-good2", _obs("blue"))
    assert asyncio.run(rt.store.flush_spool()) == 2
    assert float(redis_client.hget(keys.shopper_tags("u-good1"), "red")) > 0
    assert float(redis_client.hget(keys.shopper_tags("u-good2"), "blue")) > 0
    rejected = sorted((spool_dir / REJECTED).glob("*.jsonl"))
    text = "".join(p.read_text() for p in rejected)
    assert text.count("\n") == 3 and "{torn" in text and "bad id with spaces" in text
    assert not rt.store.spool.pending()


def test_replayer_replays_at_start_and_while_entries_wait_without_any_request(
        _shared_runtime: Runtime, tmp_path: Path) -> None:
    import time

    import redis

    from actions.runtime import Replayer

    server = RedisServer(data_dir=tmp_path / "redis")
    server.port = free_port()
    spool_dir = tmp_path / "spool"
    settings = make_runtime(_shared_runtime, redis_url=server.url, spool_dir=spool_dir,
                            spool_replay_s=0.2).settings
    from actions.spool import Spool

    spool = Spool(spool_dir)
    spool.append("u-start", _obs("red"))  # left by an earlier process
    replayer = Replayer(settings, spool).start()  # Redis is not up yet: returns at once
    try:
        time.sleep(0.5)
        assert spool.pending(), "nothing can land while Redis is down"
        server.start()
        client = redis.Redis.from_url(server.url, decode_responses=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not client.exists(keys.shopper_tags("u-start")):
            time.sleep(0.1)
        assert client.hget(keys.shopper_tags("u-start"), "red"), "not replayed at start"
        spool.append("u-later", _obs("blue"))  # queued while the server runs
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not client.exists(keys.shopper_tags("u-later")):
            time.sleep(0.1)
        assert client.hget(keys.shopper_tags("u-later"), "blue"), "not replayed periodically"
        assert not spool.pending()
        client.close()
    finally:
        replayer.stop()
        server.stop()
