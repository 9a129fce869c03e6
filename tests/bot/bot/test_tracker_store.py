"""bot.tracker_store: a deleted session's conversation stays deleted, whatever Rasa saves later."""

from __future__ import annotations

import asyncio
from urllib.parse import urlparse

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.tracker_store import TombstoneRedisTrackerStore
from emotical_shared import redis_schema as keys

DOMAIN = Domain.from_yaml("intents: [greet]\nresponses:\n  utter_greet:\n  - text: hi\n")


@pytest.fixture()
def store(redis_url: str) -> TombstoneRedisTrackerStore:
    url = urlparse(redis_url)
    return TombstoneRedisTrackerStore(domain=DOMAIN, host=url.hostname, port=url.port,
                                      key_prefix="emotical", record_exp=600)


def _tracker(sender: str, text: str) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    tracker.update(UserUttered(text, {"name": "greet", "confidence": 1.0}))
    tracker.update(ActionExecuted("utter_greet"))
    tracker.update(BotUttered("hi"))
    return tracker


def test_a_live_session_is_saved_with_its_expiry_and_read_back(store, redis_client):
    asyncio.run(store.save(_tracker("s-live", "hello")))
    assert 0 < redis_client.ttl(keys.session_tracker("s-live")) <= 600
    back = asyncio.run(store.retrieve("s-live"))
    assert back is not None and back.latest_message.text == "hello"


def test_a_save_after_the_tombstone_writes_nothing_and_removes_what_was_there(store, redis_client):
    asyncio.run(store.save(_tracker("s-gone", "my secret words")))
    # The deleter's part: tombstone first, then the stored conversation.
    redis_client.set(keys.session_tombstone("s-gone"), "1", ex=keys.TOMBSTONE_TTL_S)
    # Rasa's save at the end of the deleting turn (and any late message) comes after it.
    asyncio.run(store.save(_tracker("s-gone", "a late message")))
    assert redis_client.exists(keys.session_tracker("s-gone")) == 0, \
        "a save after deletion brought the conversation back"
    assert asyncio.run(store.retrieve("s-gone")) is None


def test_the_tombstone_is_checked_inside_the_same_script_as_the_write(store, redis_client):
    """A tombstone set between Rasa's read of the old tracker and its write still wins."""
    tracker = _tracker("s-race", "hello")
    original_get = store.red.get

    def get_then_delete(key):
        value = original_get(key)
        redis_client.set(keys.session_tombstone("s-race"), "1", ex=60)
        return value

    store.red.get = get_then_delete  # the deleter runs while save is between read and write
    asyncio.run(store.save(tracker))
    store.red.get = original_get
    assert redis_client.exists(keys.session_tracker("s-race")) == 0


def test_a_sender_id_outside_the_key_schema_is_still_saved_like_rasa_does(store, redis_client):
    asyncio.run(store.save(_tracker("not a session id", "hello")))
    assert redis_client.exists("emotical:tracker:not a session id") == 1
