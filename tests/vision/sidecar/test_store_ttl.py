"""Session keys always carry a TTL, though the store sets it once a minute, not every frame;
nothing is written for a deleted session."""

from __future__ import annotations

import asyncio

import redis

from emotical_shared import redis_schema as schema
from emotical_shared.labels import LABELS
from vision_sidecar import store as store_module
from vision_sidecar.errors import SessionDeletedError
from vision_sidecar.store import EmotionStore, connect, state_fields

FIELDS = state_fields({label: 1 / len(LABELS) for label in LABELS}, "happy", 0.5, 0.25, 42.0,
                      True, ts=1_700_000_000.0)


def _keys(sid: str) -> tuple:
    return schema.session_emotion(sid), schema.session_history(sid)


def _ttls(client: redis.Redis, sid: str) -> list:
    return [client.ttl(key) for key in _keys(sid)]


def _run(redis_url: str, steps) -> EmotionStore:
    async def main() -> EmotionStore:
        store = EmotionStore(connect(redis_url))
        for step in steps:
            result = step(store)
            if asyncio.iscoroutine(result):
                await result
        await store.client.aclose()
        return store

    return asyncio.run(main())


def test_the_first_write_sets_both_ttls_and_later_writes_leave_them(redis_server) -> None:
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    sid = "ttl-1"
    for key in _keys(sid):
        client.delete(key)

    def shorten(_store) -> None:  # as if days had passed since the TTLs were set
        for key in _keys(sid):
            client.expire(key, 100)

    _run(redis_server.url, [lambda s: s.write(sid, FIELDS), shorten,
                            lambda s: s.write(sid, FIELDS)])
    assert all(0 < ttl <= 100 for ttl in _ttls(client, sid)), "refreshed on every frame"
    assert client.xlen(schema.session_history(sid)) == 2


def test_ttls_are_refreshed_once_the_refresh_interval_has_passed(redis_server,
                                                                 monkeypatch) -> None:
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    sid = "ttl-2"
    monkeypatch.setattr(store_module, "TTL_REFRESH_S", 0.0)  # every write is due

    def shorten(_store) -> None:
        for key in _keys(sid):
            client.expire(key, 100)

    _run(redis_server.url, [lambda s: s.write(sid, FIELDS), shorten,
                            lambda s: s.write(sid, FIELDS)])
    assert all(ttl > schema.SESSION_TTL_S - 60 for ttl in _ttls(client, sid))


def test_keys_deleted_behind_the_stores_back_get_their_ttls_at_once(redis_server) -> None:
    """Tried: another client deletes both keys (as a Redis that lost its data would); the next
    write recreates them, within the refresh interval, and they must not stay without TTL."""
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    sid = "ttl-3"

    def delete_behind(_store) -> None:
        client.delete(*_keys(sid))

    _run(redis_server.url, [lambda s: s.write(sid, FIELDS), delete_behind,
                            lambda s: s.write(sid, FIELDS)])
    assert client.exists(*_keys(sid)) == 2
    assert all(0 < ttl <= schema.SESSION_TTL_S for ttl in _ttls(client, sid)), _ttls(client, sid)


def test_a_deleted_session_is_not_written_again(redis_server) -> None:
    """A frame after the DELETE finds the tombstone inside the write script: nothing lands."""
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    sid = "ttl-4"
    refused = []

    async def write_after(store) -> None:
        try:
            await store.write(sid, FIELDS)
        except SessionDeletedError as exc:
            refused.append(exc)

    store = _run(redis_server.url, [lambda s: s.write(sid, FIELDS), lambda s: s.delete(sid),
                                    write_after])
    assert refused, "a frame after the delete was stored"
    assert not client.exists(*schema.session_keys(sid))
    assert client.ttl(schema.session_tombstone(sid)) > 0
    assert sid not in store._ttl_set_at
