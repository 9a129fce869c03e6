"""Redis reads and writes of session emotion, exactly as `emotical_shared.redis_schema` says.

Writes from many sessions are coalesced: while one pipeline is on the wire the next ones
queue and go together. Each frame is one `WRITE_LUA` call: it checks the session's tombstone
and, only if there is none, does HSET of `session:{sid}:emotion` and XADD MAXLEN ~ of
`session:{sid}:history`, in one atomic step, so no frame in flight can recreate a deleted
session. A session's TTLs are set with its first write (or when the hash comes back new: after
a Redis that lost its data) and refreshed at most every `TTL_REFRESH_S`, inside the same
script.

A failed pipeline is retried once after a short pause, then the frame's write is given up
(logged, throttled) and reported as `stored: false`; redis-py reconnects on the next call, so
frames land again as soon as Redis is back. A frame of a deleted session raises
`SessionDeletedError`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple, cast

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from emotical_shared import redis_schema as schema
from emotical_shared.logs import Throttled, event, id_tag
from vision_sidecar import deletion
from vision_sidecar.errors import SessionDeletedError, StoreUnavailableError
from vision_sidecar.redis_packing import with_hiredis_packing

log = logging.getLogger(__name__)
RETRY_PAUSE_S = 0.2
#: A session's TTLs are set again at most this often (seconds) while frames keep coming.
TTL_REFRESH_S = 60.0
MAX_HISTORY_COUNT = 10_000

#: KEYS: tombstone, emotion hash, history stream. ARGV: ttl, maxlen, ttl due (1/0), then the
#: state's field/value pairs. Returns -1 (tombstoned: nothing written), 1 (written), 2 (written
#: and the TTLs set).
WRITE_LUA = """
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local created = redis.call('HSET', KEYS[2], unpack(ARGV, 4))
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 4))
if ARGV[3] == '1' or created > 0 then
  redis.call('EXPIRE', KEYS[2], ARGV[1])
  redis.call('EXPIRE', KEYS[3], ARGV[1])
  return 2
end
return 1
"""
WRITE_SHA = hashlib.sha1(WRITE_LUA.encode()).hexdigest()


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
    #: Entries in the whole history stream (`history` is one page of it).
    history_total: int = 0
    #: Id of the last entry of this page when more follow, else None.
    history_next: Optional[str] = None


@dataclass
class ProfileRecords:
    """Everything stored under a shopper's profile keys."""

    tags: Dict[str, str]
    tag_counts: Dict[str, str]
    seen: List[str]
    sessions: List[str]


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
        attempt = 0
        while attempt < 2:
            attempt += 1
            now = time.monotonic()
            pipe = self.client.pipeline(transaction=False)
            for sid, fields, _ in batch:
                due = now - self._ttl_set_at.get(sid, -TTL_REFRESH_S) >= TTL_REFRESH_S
                flat = [v for pair in fields.items() for v in pair]
                pipe.evalsha(WRITE_SHA, 3, schema.session_tombstone(sid),
                             schema.session_emotion(sid), schema.session_history(sid),
                             self.ttl_s, schema.HISTORY_MAXLEN, "1" if due else "0", *flat)
            try:
                replies = await pipe.execute()
            except NoScriptError:
                await self.client.script_load(WRITE_LUA)
                attempt -= 1  # a Redis that restarted: not a failed attempt
                continue
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                if attempt == 1:
                    await asyncio.sleep(RETRY_PAUSE_S)
                    continue
                self.failed_writes += len(batch)
                self._warn(log, "redis_write_failed", frames=len(batch),
                           sessions=",".join(sorted({id_tag(s) for s, _, _ in batch}))[:200],
                           error=type(exc).__name__)
                return False
            except RedisError as exc:
                self.failed_writes += len(batch)
                event(log, logging.ERROR, "redis_write_rejected", frames=len(batch),
                      error=str(exc)[:200])
                return False
            for (sid, _, future), reply in zip(batch, replies, strict=True):
                if reply == 2:
                    self._ttl_set_at[sid] = now
                elif reply == -1:
                    self._ttl_set_at.pop(sid, None)
                    if not future.done():
                        future.set_exception(SessionDeletedError(
                            "this session was deleted; its frames are not stored"))
            self._prune_ttl_times(now)
            return True
        return False

    def _prune_ttl_times(self, now: float) -> None:
        """Forget sessions whose refresh is due anyway (bounds the table), once a minute."""
        if now - self._ttl_pruned_at >= TTL_REFRESH_S:
            self._ttl_pruned_at = now
            self._ttl_set_at = {sid: at for sid, at in self._ttl_set_at.items()
                                if now - at < TTL_REFRESH_S}

    async def _read(self, coro: Any) -> Any:
        """The reply of one read; StoreUnavailableError when Redis does not answer."""
        try:
            return await coro
        except (RedisError, OSError) as exc:
            raise StoreUnavailableError(f"Redis did not answer: {type(exc).__name__}") from exc

    async def tombstoned(self, sid: str) -> bool:
        """True when session `sid` was deleted (its tombstone exists)."""
        return bool(await self._read(self.client.exists(schema.session_tombstone(sid))))

    async def register_session(self, sid: str, uid: str, product_id: Optional[str],
                               profile_ttl_s: int) -> float:
        """Record a new session: its meta hash and its place in the shopper's session set."""
        started = time.time()
        meta = {"shopper_id": uid, "started": f"{started:.3f}"}
        if product_id:
            meta["product_id"] = product_id
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(schema.session_meta(sid), mapping=cast(Mapping[Any, Any], meta))
        pipe.expire(schema.session_meta(sid), self.ttl_s)
        pipe.sadd(schema.shopper_sessions(uid), sid)
        pipe.expire(schema.shopper_sessions(uid), profile_ttl_s)
        await self._read(pipe.execute())
        return started

    async def profile(self, uid: str) -> ProfileRecords:
        """Everything of shopper `uid`'s profile, read in one transaction."""
        pipe = self.client.pipeline(transaction=True)
        pipe.hgetall(schema.shopper_tags(uid))
        pipe.hgetall(schema.shopper_tag_counts(uid))
        pipe.smembers(schema.shopper_seen(uid))
        pipe.smembers(schema.shopper_sessions(uid))
        tags, counts, seen, sessions = await self._read(pipe.execute())
        return ProfileRecords(tags=tags, tag_counts=counts, seen=sorted(seen),
                              sessions=sorted(sessions))

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

    async def history_entries(self, sid: str) -> List[Entry]:
        """The whole history stream as Redis holds it (at most about HISTORY_MAXLEN entries)."""
        return list(await self._read(self.client.xrange(schema.session_history(sid))) or [])

    async def records(self, sid: str, after: Optional[str] = None,
                      limit: int = MAX_HISTORY_COUNT) -> SessionRecords:
        """Every record of the session's keys, read in one transaction (for its report); the
        history from after stream id `after`, at most `limit` entries."""
        keys = schema.session_keys(sid)
        pipe = self.client.pipeline(transaction=True)
        pipe.hgetall(schema.session_emotion(sid))
        pipe.xrange(schema.session_history(sid), min=history_start(after), max="+",
                    count=limit + 1)
        pipe.xlen(schema.session_history(sid))
        pipe.xrange(schema.session_chat(sid))
        pipe.hgetall(schema.session_meta(sid))
        pipe.get(schema.session_tracker(sid))
        pipe.lrange(schema.session_tracker_events(sid), 0, -1)
        for key in keys:
            pipe.type(key)
        emotion, history, total, chat, meta, tracker, events, *types = await self._read(
            pipe.execute())
        if events:  # the windowed tracker store's layout: one JSON event per list entry
            tracker = '{"events":[' + ",".join(events) + "]}"
        history = list(history)
        more = len(history) > limit
        history = history[:limit]
        return SessionRecords(emotion=emotion, history=history, chat=list(chat), meta=meta,
                              tracker=tracker,
                              key_types=[(k, t) for k, t in zip(keys, types, strict=True)
                                         if t != "none"],
                              history_total=int(total),
                              history_next=history[-1][0] if more and history else None)

    async def delete(self, sid: str) -> List[str]:
        """Tombstone the session and delete every key of it; returns the keys that existed."""
        self._ttl_set_at.pop(sid, None)
        return await self._read(deletion.delete_session(self.client, sid))

    async def delete_shopper(self, uid: str) -> deletion.ShopperDeletion:
        """Delete shopper `uid`'s profile and every session of theirs (each tombstoned)."""
        result = await self._read(deletion.delete_shopper(self.client, uid))
        for sid in result.sessions:
            self._ttl_set_at.pop(sid, None)
        return result


def state_fields(probs: Mapping[str, float], dominant: str, valence: float, arousal: float,
                 score: float, face_present: bool, ts: Optional[float] = None) -> Dict[str, str]:
    """The hash/stream fields of one state, as strings (schema: redis_schema.EMOTION_FIELDS)."""
    fields = {label: f"{p:.5f}" for label, p in probs.items()}
    fields.update(dominant=dominant, valence=f"{valence:.5f}", arousal=f"{arousal:.5f}",
                  score=f"{score:.3f}", face_present="1" if face_present else "0",
                  ts=f"{time.time() if ts is None else ts:.3f}")
    return fields
