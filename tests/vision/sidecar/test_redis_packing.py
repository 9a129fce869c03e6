"""The store's client packs commands and parses replies with hiredis: same bytes as redis-py's
packer, same data."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio.connection import Connection, SSLConnection, UnixDomainSocketConnection
from redis.exceptions import DataError

from emotical_shared import redis_schema as schema
from emotical_shared.labels import LABELS
from vision_sidecar.redis_packing import HiredisPacking, with_hiredis_packing
from vision_sidecar.store import EmotionStore, connect, state_fields

COMMANDS = [
    ("HSET", "emotical:session:s-1:emotion", "happy", "0.91000", "dominant", "happy"),
    ("XADD", "k", "MAXLEN", "~", 20000, "*", "score", 12.5, "face_present", "1"),
    ("EXPIRE", "k", 604800),
    ("CONFIG GET", "maxmemory"),  # a command name with a space is split, as redis-py does
    (b"CLIENT LIST",),
    ("SET", "bytes", b"\x00\xff", "view", memoryview(b"abc"), "ba", bytearray(b"xyz")),
    ("SET", "unicode", "smile 😀 é"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: str(c[0]))
def test_hiredis_packing_gives_the_same_bytes_as_redis_py(command) -> None:
    plain = Connection(decode_responses=True)
    packed = with_hiredis_packing(Connection)(decode_responses=True)
    assert b"".join(packed.pack_command(*command)) == b"".join(plain.pack_command(*command))


def test_bad_arguments_are_refused_as_redis_py_refuses_them() -> None:
    packed = with_hiredis_packing(Connection)()
    for bad in (True, None, {"a": 1}):
        with pytest.raises(DataError):
            packed.pack_command("SET", "k", bad)


def test_another_encoding_falls_back_to_redis_py() -> None:
    plain = Connection(encoding="latin-1")
    packed = with_hiredis_packing(Connection)(encoding="latin-1")
    command = ("SET", "k", "café")
    assert b"".join(packed.pack_command(*command)) == b"".join(plain.pack_command(*command))
    assert b"caf\xe9" in b"".join(packed.pack_command(*command))


def test_every_connection_class_of_a_url_gets_it() -> None:
    for cls in (Connection, UnixDomainSocketConnection, SSLConnection):
        wrapped = with_hiredis_packing(cls)
        assert issubclass(wrapped, cls) and issubclass(wrapped, HiredisPacking)
        assert with_hiredis_packing(wrapped) is wrapped  # not wrapped twice
    for url in ("redis://127.0.0.1:1/0", "unix:///tmp/none.sock", "rediss://127.0.0.1:1/0"):
        assert issubclass(connect(url).connection_pool.connection_class, HiredisPacking), url


def test_a_frame_written_through_it_reads_back_from_a_real_redis(redis_server) -> None:
    """The store's real write path (pipeline of HSET, EXPIRE, XADD, EXPIRE) on a real server."""

    async def run() -> tuple:
        client = connect(redis_server.url)
        store = EmotionStore(client)
        probs = {label: 1 / len(LABELS) for label in LABELS}
        fields = state_fields(probs, "happy", 0.5, 0.25, 42.0, True, ts=1_700_000_000.5)
        assert await store.write("packing-1", fields) is True
        latest = await store.latest("packing-1")
        history = await store.history("packing-1", None, 10)
        ttl = await client.ttl(schema.session_emotion("packing-1"))
        await client.aclose()
        return fields, latest, history, ttl

    fields, latest, history, ttl = asyncio.run(run())
    assert latest is not None and latest["dominant"] == "happy" and latest["score"] == 42.0
    assert latest["ts"] == 1_700_000_000.5 and latest["face_present"] is True
    assert len(history) == 1 and history[0]["valence"] == 0.5
    assert 0 < ttl <= schema.SESSION_TTL_S
    assert set(latest) == set(fields)


def test_the_store_client_parses_replies_with_hiredis() -> None:
    """requirements/vision.lock pins hiredis: without it redis-py falls back to its pure-Python
    parser, and the sidecar's Redis writes cost more on the event loop (bench-vision's
    WebSocket p99 was 23-65 ms over 16 runs without it, 27-43 ms over 7 runs with it)."""
    from redis._parsers.hiredis import _AsyncHiredisParser
    from redis.asyncio.connection import DefaultParser

    from vision_sidecar.store import connect

    client = connect("redis://127.0.0.1:1/0")  # no connection is made here
    kwargs = client.connection_pool.connection_kwargs
    assert kwargs.get("parser_class", DefaultParser) is _AsyncHiredisParser
