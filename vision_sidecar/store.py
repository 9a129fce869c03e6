"""Redis reads and writes of session emotion, exactly as `emotical_shared.redis_schema` says.

Writes from many sessions are coalesced: while one pipeline is on the wire the next ones
queue and go together (HSET of `session:{sid}:emotion`, XADD MAXLEN ~ of
`session:{sid}:history`). A session's TTLs are set with its first write and refreshed at most
every `TTL_REFRESH_S`, not on every frame (that halved the commands per frame). A key that
comes back new (HSET created its fields: after a DELETE, or a Redis that lost its data) gets
its TTLs in a second round trip at once, or, if that fails, with the session's next write.

A failed pipeline is retried once after a short pause, then the frame's write is given up
(logged, throttled) and reported as `stored: false`; redis-py reconnects on the next call, so
frames land again as soon as Redis is back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Set, Tuple, cast

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from emotical_shared import redis_schema as schema
from emotical_shared.logs import Throttled, event, id_tag
from vision_sidecar.errors import StoreUnavailableError
from vision_sidecar.redis_packing import with_hiredis_packing

log = logging.getLogger(__name__)
RETRY_PAUSE_S = 0.2
#: A session's TTLs are set again at most this often (seconds) while frames keep coming.
TTL_REFRESH_S = 60.0
MAX_HISTORY_COUNT = 10_000


def connect(url: str) -> aioredis.Redis:
    """An asyncio Redis client with short timeouts (a stopped Redis must not stall frames) that
    packs commands with hiredis."""
    client = aioredis.Redis.from_url(url, decode_responses=True, socket_timeout=2.0,
                                     socket_connect_timeout=1.0, retry_on_timeout=False)
    pool = client.connection_pool
    pool.connection_class = with_hiredis_packing(pool.connection_class)
    return client


def history_start(since: Optional[str]) -> str:
    """XRANGE start for `since`: a stream id (exclusive), unix seconds, or nothing (all)."""
    if not since:
        return "-"
    if "-" in since:
        ms, _, seq = since.partition("-")
        if not (ms.isdigit() and seq.isdigit()):
            raise ValueError(f"since={since!r} is neither a stream id nor unix seconds")
        return "(" + since
    try:
        seconds = float(since)
    except ValueError:
        raise ValueError(f"since={since!r} is neither a stream id nor unix seconds") from None
    if not 0 <= seconds < 1e11:
        raise ValueError(f"since={since!r} is out of range")
    return str(int(seconds * 1000))


def _decoded(fields: Any) -> Mapping[str, str]:
    """A reply of the store's client, which decodes responses: str keys and values."""
    return cast(Mapping[str, str], fields or {})


def parse_state(fields: Mapping[str, str]) -> Dict[str, Any]:
    """A stored emotion hash or stream entry as typed JSON values."""
    out: Dict[str, Any] = {}
    for key, value in fields.items():
        if key == "dominant":
            out[key] = value
        elif key == "face_present":
            out[key] = value == "1"
        else:
            try:
                out[key] = float(value)
            except ValueError:
                out[key] = value
    return out


Entry = Tuple[str, Dict[str, str]]


@dataclass
class SessionRecords:
    """Everything stored under a session's keys, as Redis returned it (strings)."""

    emotion: Dict[str, str]
    history: List[Entry]
    chat: List[Entry]
    meta: Dict[str, str]
    tracker: Optional[str]
    #: The session's keys that exist, with their Redis types.
    key_types: List[Tuple[str, str]]


class EmotionStore:
    """The sidecar's view of Redis."""

    def __init__(self, client: aioredis.Redis, ttl_s: int = schema.SESSION_TTL_S) -> None:
        self.client = client
        self.ttl_s = ttl_s
        self._pending: List[Tuple[str, Dict[str, str], asyncio.Future]] = []
        self._flushing = False
        self._warn = Throttled(5.0)
        self.failed_writes = 0
        self._ttl_set_at: Dict[str, float] = {}  # sid -> monotonic time its TTLs were set
        self._ttl_pruned_at = time.monotonic()

    async def ping(self) -> bool:
        try:
            return bool(await self.client.ping())
        except (RedisError, OSError):
            return False

    async def write(self, sid: str, fields: Dict[str, str]) -> bool:
        """Store one frame's state (latest hash and history entry); False if Redis is down."""
        future = asyncio.get_running_loop().create_future()
        self._pending.append((sid, fields, future))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                ok = await self._send(batch)
                for _, _, future in batch:
                    if not future.done():
                        future.set_result(ok)
        finally:
            self._flushing = False

    async def _send(self, batch: List[Tuple[str, Dict[str, str], asyncio.Future]]) -> bool:
        for attempt in (1, 2):
            now = time.monotonic()
            due = {sid for sid, _, _ in batch
                   if now - self._ttl_set_at.get(sid, -TTL_REFRESH_S) >= TTL_REFRESH_S}
            pipe = self.client.pipeline(transaction=False)
            for sid, fields, _ in batch:
                pipe.hset(schema.session_emotion(sid), mapping=cast(Mapping[Any, Any], fields))
                pipe.xadd(schema.session_history(sid), cast(Dict[Any, Any], fields), maxlen=schema.HISTORY_MAXLEN,
                          approximate=True)
            self._queue_expires(pipe, due)
            try:
                replies = await pipe.execute()
                self._ttl_set_at.update(dict.fromkeys(due, now))
                created = {sid for i, (sid, _, _) in enumerate(batch)
                           if replies[2 * i] and sid not in due}
                if created:
                    await self._set_ttls(created)
                self._prune_ttl_times(now)
                return True
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                if attempt == 1:
                    await asyncio.sleep(RETRY_PAUSE_S)
                    continue
                self.failed_writes += len(batch)
                self._warn(log, "redis_write_failed", frames=len(batch),
                           sessions=",".join(sorted({id_tag(s) for s, _, _ in batch}))[:200],
                           error=type(exc).__name__)
            except RedisError as exc:
                self.failed_writes += len(batch)
                event(log, logging.ERROR, "redis_write_rejected", frames=len(batch),
                      error=str(exc)[:200])
                return False
        return False

    def _queue_expires(self, pipe: Any, sids: Iterable[str]) -> None:
        for sid in sids:
            pipe.expire(schema.session_emotion(sid), self.ttl_s)
            pipe.expire(schema.session_history(sid), self.ttl_s)

    async def _set_ttls(self, sids: Set[str]) -> None:
        """Give keys that were just created their TTLs; on failure the next write tries again."""
        pipe = self.client.pipeline(transaction=False)
        self._queue_expires(pipe, sids)
        try:
            await pipe.execute()
            now = time.monotonic()
            self._ttl_set_at.update(dict.fromkeys(sids, now))
        except (RedisError, OSError):
            for sid in sids:
                self._ttl_set_at.pop(sid, None)

    def _prune_ttl_times(self, now: float) -> None:
        """Forget sessions whose refresh is due anyway (bounds the table), once a minute."""
        if now - self._ttl_pruned_at >= TTL_REFRESH_S:
            self._ttl_pruned_at = now
            self._ttl_set_at = {sid: at for sid, at in self._ttl_set_at.items()
                                if now - at < TTL_REFRESH_S}

    async def latest(self, sid: str) -> Optional[Dict[str, Any]]:
        """The session's latest state, or None if nothing is stored."""
        try:
            fields = await self.client.hgetall(schema.session_emotion(sid))
        except (RedisError, OSError) as exc:
            raise StoreUnavailableError(f"Redis did not answer: {type(exc).__name__}") from exc
        return parse_state(_decoded(fields)) if fields else None

    async def history(self, sid: str, since: Optional[str], count: int) -> List[Dict[str, Any]]:
        """History entries after `since` (oldest first, at most `count`)."""
        start = history_start(since)
        try:
            entries = await self.client.xrange(schema.session_history(sid), min=start, max="+",
                                               count=min(count, MAX_HISTORY_COUNT))
        except (RedisError, OSError) as exc:
            raise StoreUnavailableError(f"Redis did not answer: {type(exc).__name__}") from exc
        return [{"id": entry_id, **parse_state(_decoded(fields))} for entry_id, fields in entries or []]

    async def records(self, sid: str) -> SessionRecords:
        """Every record of the session's keys, read in one transaction (for its report)."""
        keys = schema.session_keys(sid)
        try:
            pipe = self.client.pipeline(transaction=True)
            pipe.hgetall(schema.session_emotion(sid))
            pipe.xrange(schema.session_history(sid))
            pipe.xrange(schema.session_chat(sid))
            pipe.hgetall(schema.session_meta(sid))
            pipe.get(schema.session_tracker(sid))
            for key in keys:
                pipe.type(key)
            emotion, history, chat, meta, tracker, *types = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise StoreUnavailableError(f"Redis did not answer: {type(exc).__name__}") from exc
        return SessionRecords(emotion=emotion, history=list(history), chat=list(chat), meta=meta,
                              tracker=tracker,
                              key_types=[(k, t) for k, t in zip(keys, types, strict=True)
                                         if t != "none"])

    async def delete(self, sid: str) -> List[str]:
        """Delete every key of the session; returns the keys that existed."""
        keys = list(schema.session_keys(sid))
        self._ttl_set_at.pop(sid, None)
        try:
            pipe = self.client.pipeline(transaction=True)
            for key in keys:
                pipe.exists(key)
            pipe.delete(*keys)
            answers = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise StoreUnavailableError(f"Redis did not answer: {type(exc).__name__}") from exc
        return [key for key, existed in zip(keys, answers[:-1], strict=False) if existed]


def state_fields(probs: Mapping[str, float], dominant: str, valence: float, arousal: float,
                 score: float, face_present: bool, ts: Optional[float] = None) -> Dict[str, str]:
    """The hash/stream fields of one state, as strings (schema: redis_schema.EMOTION_FIELDS)."""
    fields = {label: f"{p:.5f}" for label, p in probs.items()}
    fields.update(dominant=dominant, valence=f"{valence:.5f}", arousal=f"{arousal:.5f}",
                  score=f"{score:.3f}", face_present="1" if face_present else "0",
                  ts=f"{time.time() if ts is None else ts:.3f}")
    return fields
