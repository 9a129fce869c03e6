"""bot.windowed_tracker_store against a real Redis: appends, a bounded window that the policies
cannot tell from the full tracker, the full history for reports, tombstones, migration."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import List
from urllib.parse import urlparse

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.tracker_store import TombstoneRedisTrackerStore
from bot.tracker_window import UnboundedHistoryError, policy_lookbacks, window_states
from bot.windowed_tracker_store import WindowedRedisTrackerStore
from emotical_shared import redis_schema as keys
from stack.redis_server import ROOT

DOMAIN = Domain.load(str(ROOT / "domain.yml"))
INTENTS = ["greet", "browse_category", "express_like", "ask_recommendation", "thank"]


def _store(redis_url: str, cls: type = WindowedRedisTrackerStore, **kw):
    url = urlparse(redis_url)
    extra = {"policy_config": str(ROOT / "config.yml"), "training_data": str(ROOT / "data")} \
        if cls is WindowedRedisTrackerStore else {}
    return cls(domain=DOMAIN, host=url.hostname, port=url.port, key_prefix="emotical",
               record_exp=600, **extra, **kw)


@pytest.fixture()
def store(redis_url: str) -> WindowedRedisTrackerStore:
    return _store(redis_url)


def _turn(tracker: DialogueStateTracker, i: int) -> None:
    """One shopper turn as Rasa logs it: message, two actions with slots, listen."""
    intent = INTENTS[i % len(INTENTS)]
    tracker.update(UserUttered(f"message {i}", {"name": intent, "confidence": 1.0}))
    tracker.update(ActionExecuted("action_fuse_mood"))
    tracker.update(SlotSet("mood", ["positive", "neutral", "negative"][i % 3]))
    tracker.update(SlotSet("valence", round(0.1 * (i % 7), 2)))
    tracker.update(ActionExecuted("action_recommend"))
    tracker.update(BotUttered(f"line {i}"))
    tracker.update(ActionExecuted("action_listen"))


def _session_start(tracker: DialogueStateTracker) -> None:
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))


def _converse(store: WindowedRedisTrackerStore, sender: str, turns: int) -> DialogueStateTracker:
    """Run `turns` turns the way Rasa does: retrieve, add the turn, save. Returns the full one."""
    full = DialogueStateTracker(sender, DOMAIN.slots)
    _session_start(full)
    asyncio.run(store.save(full))
    for i in range(turns):
        tracker = asyncio.run(store.retrieve(sender))
        assert tracker is not None
        before = len(full.events)
        _turn(full, i)
        for event in list(full.events)[before:]:
            tracker.update(event)
        asyncio.run(store.save(tracker))
    return full


def _states(tracker: DialogueStateTracker, n: int) -> List[str]:
    return [json.dumps(s, sort_keys=True) for s in tracker.past_states(DOMAIN)[-n:]]


def test_the_window_is_derived_from_config_yml_and_the_stories():
    bounds = policy_lookbacks(ROOT / "config.yml", ROOT / "data")
    assert bounds["TEDPolicy"] == 5  # max_history
    assert bounds["MemoizationPolicy"] >= 5 and bounds["RulePolicy"] >= 3
    assert window_states(ROOT / "config.yml", ROOT / "data") == max(bounds.values()) + 1


@pytest.mark.parametrize("policies, why", [
    ("- name: TEDPolicy\n", "TEDPolicy"),
    ("- name: my.CustomPolicy\n  max_history: 3\n", "CustomPolicy"),
])
def test_a_policy_with_unbounded_history_refuses_to_start(tmp_path: Path, policies, why):
    (tmp_path / "config.yml").write_text("policies:\n" + policies)
    with pytest.raises(UnboundedHistoryError, match=why):
        window_states(tmp_path / "config.yml", ROOT / "data")


def test_stories_glued_by_checkpoints_refuse_to_start(tmp_path: Path):
    (tmp_path / "config.yml").write_text("policies:\n- name: MemoizationPolicy\n")
    (tmp_path / "stories.yml").write_text(
        "stories:\n- story: a\n  steps:\n  - intent: greet\n  - checkpoint: later\n")
    with pytest.raises(UnboundedHistoryError, match="checkpoints"):
        window_states(tmp_path / "config.yml", tmp_path / "stories.yml")


def test_saves_append_and_the_full_history_stays(store, redis_client):
    full = _converse(store, "s-append", 3)
    events_key = keys.session_tracker_events("s-append")
    first = redis_client.lrange(events_key, 0, 2)
    tracker = asyncio.run(store.retrieve("s-append"))
    before = len(tracker.events)
    _turn(tracker, 3)
    for event in list(tracker.events)[before:]:
        full.update(event)
    asyncio.run(store.save(tracker))
    assert redis_client.lrange(events_key, 0, 2) == first, "stored events were rewritten"
    assert redis_client.llen(events_key) == len(full.events)
    back = asyncio.run(store.retrieve_full_tracker("s-append"))
    assert [e.as_dict() for e in back.events] == [e.as_dict() for e in full.events]
    assert 0 < redis_client.ttl(events_key) <= 600
    assert 0 < redis_client.ttl(keys.session_tracker_marks("s-append")) <= 600


def test_a_long_conversation_is_retrieved_as_a_bounded_window_the_policies_cannot_tell_apart(
        store):
    full = _converse(store, "s-long", 60)
    window = asyncio.run(store.retrieve("s-long"))
    assert len(window.events) < 120 < len(full.events), "the window is not bounded"
    assert window.current_slot_values() == full.current_slot_values()
    n = store.window_states - 1
    assert _states(window, n) == _states(full, n)
    assert window.latest_message.text == full.latest_message.text
    # The window begins with the session's start, as Rasa's own store's tracker does.
    assert [e.type_name for e in list(window.events)[:2]] == ["action", "session_started"]


def test_every_turn_of_a_conversation_sees_what_the_full_tracker_shows_the_policies(store):
    sender = "s-each"
    full = DialogueStateTracker(sender, DOMAIN.slots)
    _session_start(full)
    asyncio.run(store.save(full))
    n = store.window_states - 1
    for i in range(40):
        tracker = asyncio.run(store.retrieve(sender))
        assert _states(tracker, n) == _states(full, n), f"turn {i}"
        assert tracker.current_slot_values() == full.current_slot_values(), f"turn {i}"
        before = len(full.events)
        _turn(full, i)
        for event in list(full.events)[before:]:
            tracker.update(event)
        asyncio.run(store.save(tracker))


def test_a_session_started_inside_the_window_is_returned_as_rasas_store_does(store, redis_url):
    full = _converse(store, "s-new-session", 30)
    tracker = asyncio.run(store.retrieve("s-new-session"))
    before = len(tracker.events)
    _session_start(tracker)
    _turn(tracker, 0)
    asyncio.run(store.save(tracker))
    window = asyncio.run(store.retrieve("s-new-session"))
    new_events = list(tracker.events)[before:]
    assert [e.as_dict() for e in window.events] == [e.as_dict() for e in new_events]
    assert len(asyncio.run(store.retrieve_full_tracker("s-new-session")).events) == \
        len(full.events) + len(new_events)


def test_a_save_after_the_tombstone_writes_nothing_and_removes_what_was_there(store, redis_client):
    _converse(store, "s-gone", 3)
    redis_client.set(keys.session_tombstone("s-gone"), "1", ex=keys.TOMBSTONE_TTL_S)
    tracker = DialogueStateTracker("s-gone", DOMAIN.slots)
    _turn(tracker, 0)
    asyncio.run(store.save(tracker))
    assert not redis_client.exists(*keys.session_keys("s-gone")), "a save brought it back"
    assert asyncio.run(store.retrieve("s-gone")) is None


def test_a_conversation_in_rasas_layout_is_migrated_on_first_access(store, redis_url,
                                                                    redis_client):
    stock = _store(redis_url, TombstoneRedisTrackerStore)
    full = DialogueStateTracker("s-old", DOMAIN.slots)
    _session_start(full)
    for i in range(30):
        _turn(full, i)
    asyncio.run(stock.save(full))
    window = asyncio.run(store.retrieve("s-old"))
    assert not redis_client.exists(keys.session_tracker("s-old")), "old string left behind"
    assert redis_client.llen(keys.session_tracker_events("s-old")) == len(full.events)
    assert 0 < redis_client.ttl(keys.session_tracker_events("s-old")) <= 600
    n = store.window_states - 1
    assert _states(window, n) == _states(full, n)
    assert window.current_slot_values() == full.current_slot_values()
    assert len(window.events) < len(full.events)


def test_a_tombstoned_old_style_conversation_is_not_migrated_back(store, redis_url, redis_client):
    stock = _store(redis_url, TombstoneRedisTrackerStore)
    tracker = DialogueStateTracker("s-old-gone", DOMAIN.slots)
    _turn(tracker, 0)
    asyncio.run(stock.save(tracker))
    redis_client.set(keys.session_tombstone("s-old-gone"), "1", ex=60)
    assert asyncio.run(store.retrieve("s-old-gone")) is None
    assert not redis_client.exists(*keys.session_keys("s-old-gone"))


def test_a_domain_with_forms_refuses_to_start(store):
    with pytest.raises(UnboundedHistoryError, match="forms"):
        store.domain = Domain.from_yaml("forms:\n  address_form:\n    required_slots: []\n")


def _rule_turn(tracker: DialogueStateTracker, i: int) -> None:
    """A rule-only turn as RulePolicy logs it: its actions are hidden from TED and Memoization
    (`hide_rule_turn`), whose states skip it and reach further back."""
    tracker.update(UserUttered(f"thanks {i}", {"name": "thank", "confidence": 1.0}))
    tracker.update(SlotSet("valence", round(0.05 * (i % 5), 2)))
    tracker.update(ActionExecuted("utter_you_are_welcome", policy="RulePolicy",
                                  hide_rule_turn=True))
    tracker.update(BotUttered("You're welcome"))
    tracker.update(ActionExecuted("action_listen", policy="RulePolicy", hide_rule_turn=True))


def _ml_states(tracker: DialogueStateTracker, n: int) -> List[str]:
    """The last `n` states as TED and Memoization see them (rule-only turns left out)."""
    return [json.dumps(s, sort_keys=True) for s in
            tracker.past_states(DOMAIN, ignore_rule_only_turns=True)[-n:]]


@pytest.mark.parametrize("pattern", [
    "r" * 12 + "m",            # a long run of rule-only turns, then an ordinary one
    ("m" + "r" * 4) * 6,       # rule-only runs shorter than the window
    ("mm" + "r" * 9) * 3,      # runs as long as the turns first fetched
])
def test_rule_only_turns_do_not_shorten_what_ted_and_memoization_see(store, pattern):
    sender = f"s-hidden-{len(pattern)}-{pattern.count('r')}"
    full = _converse(store, sender, 12)  # history beyond any window before the pattern starts
    bounds = policy_lookbacks(ROOT / "config.yml", ROOT / "data")
    story = bounds["MemoizationPolicy"]  # the longest story's states, and some
    for i, kind in enumerate(pattern):
        tracker = asyncio.run(store.retrieve(sender))
        ted = bounds["TEDPolicy"]
        assert _ml_states(tracker, ted) == _ml_states(full, ted), f"turn {i} ({kind})"
        # Memoization (no max_history) matches whole stories: neither tracker may be short.
        window_ml, full_ml = _ml_states(tracker, 10 ** 6), _ml_states(full, 10 ** 6)
        assert window_ml == full_ml or min(len(window_ml), len(full_ml)) > story, f"turn {i}"
        rule = bounds["RulePolicy"]
        assert _states(tracker, rule) == _states(full, rule), f"turn {i} ({kind})"
        assert tracker.current_slot_values() == full.current_slot_values()
        before = len(full.events)
        (_rule_turn if kind == "r" else _turn)(full, i)
        for event in list(full.events)[before:]:
            tracker.update(event)
        asyncio.run(store.save(tracker))
    window = asyncio.run(store.retrieve(sender))
    assert len(window.events) < len(full.events), "the window grew to the whole session"


def test_events_read_back_are_the_ones_rasa_would_deserialise(store):
    from rasa.shared.core.events import deserialise_events

    from bot.windowed_tracker_store import _deserialise

    full = _converse(store, "s-read", 4)
    _rule_turn(full, 0)
    dicts = [e.as_dict() for e in full.events] + [{"event": "topic"}, {"no": "event"}]
    assert [e.as_dict() for e in _deserialise(dicts)] == \
        [e.as_dict() for e in deserialise_events(dicts)]
    with pytest.raises(ValueError, match="Unknown event name"):
        _deserialise([{"event": "no-such-event"}])


def test_a_turn_never_reads_the_whole_history_to_save(store, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="bot.windowed_tracker_store")
    _converse(store, "s-anchored", 30)
    assert "tracker_save_unanchored" not in caplog.text
    replaced = DialogueStateTracker("s-anchored", DOMAIN.slots)  # the API replacing events
    _session_start(replaced)
    _turn(replaced, 0)
    asyncio.run(store.save(replaced))
    assert "tracker_save_unanchored" in caplog.text
