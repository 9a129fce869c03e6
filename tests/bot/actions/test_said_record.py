"""The bounded record of what the bot said in a Rasa session (actions/store.py `said`)."""

from __future__ import annotations

import asyncio

from actions.runtime import Runtime
from emotical_shared import redis_schema as keys


def test_lines_said_count_only_in_the_rasa_session_they_were_said_in(runtime: Runtime):
    store = runtime.store
    asyncio.run(store.remember_said("s-said", "100.000000", "line", ["Sorry to hear that."]))
    asyncio.run(store.remember_said("s-said", "100.000000", "tag", ["leather"]))
    assert asyncio.run(store.said("s-said", "100.000000")) == {
        "line": {"Sorry to hear that."}, "tag": {"leather"}}
    assert asyncio.run(store.said("s-said", "200.000000")) == {}, "a new session starts afresh"


def test_a_deleted_session_gets_no_record_back(runtime: Runtime, redis_client):
    redis_client.set(keys.session_tombstone("s-said-gone"), "1", ex=60)
    asyncio.run(runtime.store.remember_said("s-said-gone", "1.0", "line", ["hello"]))
    assert not redis_client.exists(keys.session_said("s-said-gone"))
