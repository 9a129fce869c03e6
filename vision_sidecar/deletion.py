"""Deleting a shopper's data: one session, or a whole profile with every session of it.

A session's deletion is one transaction: its tombstone (`session_tombstone`, for
`TOMBSTONE_TTL_S`) is written together with the DEL of every key it owns, so a writer that
checks the tombstone atomically with its write (the sidecar's `store.WRITE_LUA`, Rasa's
tracker store) can never land after it. A shopper's deletion reads their session set under
WATCH and deletes profile and sessions in one transaction, retrying when a session was added
meanwhile, so a session opened during the deletion is not left behind.

`forget_in_process` then drops what this process holds of the sessions: the smoother's row and
the session's WebSocket (closed with `CLOSE_DELETED`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Iterable, List

from aiohttp import web
from redis.exceptions import WatchError

from emotical_shared import redis_schema as schema
from emotical_shared.logs import event
from vision_sidecar.keys import REGISTRY, SOCKETS

log = logging.getLogger(__name__)

#: WebSocket close code of a deleted session.
CLOSE_DELETED = 4410
#: Attempts at a shopper's deletion while sessions keep being added to their set.
WATCH_ATTEMPTS = 5


@dataclass(frozen=True)
class ShopperDeletion:
    """What deleting a shopper removed."""

    shopper_id: str
    sessions: List[str]
    removed: List[str]


def _queue_session(pipe: Any, sid: str) -> List[str]:
    keys = list(schema.session_keys(sid))
    pipe.set(schema.session_tombstone(sid), "1", ex=schema.TOMBSTONE_TTL_S)
    for key in keys:
        pipe.exists(key)
    pipe.delete(*keys)
    return keys


def _existing(keys: List[str], answers: List[Any]) -> List[str]:
    return [key for key, existed in zip(keys, answers, strict=True) if existed]


async def delete_session(client: Any, sid: str) -> List[str]:
    """Tombstone session `sid`, delete its keys and take it out of its shopper's session set, in
    one transaction; returns the keys that existed."""
    uid = await client.hget(schema.session_meta(sid), "shopper_id")
    pipe = client.pipeline(transaction=True)
    keys = _queue_session(pipe, sid)
    if uid:
        pipe.srem(schema.shopper_sessions(uid), sid)
    answers = await pipe.execute()
    return _existing(keys, answers[1:1 + len(keys)])


async def delete_shopper(client: Any, uid: str) -> ShopperDeletion:
    """Delete the profile of shopper `uid` and every session in their session set."""
    profile = list(schema.shopper_keys(uid))
    for attempt in range(1, WATCH_ATTEMPTS + 1):
        async with client.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(schema.shopper_sessions(uid))
                sessions = sorted(await pipe.smembers(schema.shopper_sessions(uid)))
                pipe.multi()
                spans = []
                for sid in sessions:
                    keys = _queue_session(pipe, sid)
                    spans.append(keys)
                for key in profile:
                    pipe.exists(key)
                pipe.delete(*profile)
                answers = await pipe.execute()
            except WatchError:
                if attempt == WATCH_ATTEMPTS:
                    raise
                continue
        removed: List[str] = []
        pos = 0
        for keys in spans:
            removed += _existing(keys, answers[pos + 1:pos + 1 + len(keys)])
            pos += len(keys) + 2
        removed += _existing(profile, answers[pos:pos + len(profile)])
        return ShopperDeletion(shopper_id=uid, sessions=sessions, removed=removed)
    raise AssertionError("unreachable")


async def forget_in_process(app: web.Application, sids: Iterable[str]) -> None:
    """Drop the sessions' in-memory state and close their WebSockets (4410)."""
    for sid in sids:
        app[REGISTRY].drop(sid)
        ws = app[SOCKETS].of_session(sid)
        if ws is not None and not ws.closed:
            await ws.close(code=CLOSE_DELETED, message=b"session deleted")
            event(log, logging.INFO, "ws_closed_deleted")
