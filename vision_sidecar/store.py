"""Redis reads and writes of session emotion, exactly as `emotical_shared.redis_schema` says.

Writes from many sessions are coalesced: while one pipeline is on the wire the next ones
queue and go together. Each frame is one `WRITE_LUA` call: it checks the session's tombstone
and, only if there is none, does HSET of `session:{sid}:emotion`, XADD MAXLEN ~ of
`session:{sid}:history` (with the product video's time, playing state and chapter when the
frame carried them, `chapters.FRAME_VIDEO`) and HINCRBYFLOAT of the chapter's counts in
`session:{sid}:chapters`, in one atomic step, so no frame in flight can recreate a deleted
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
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Mapping, Optional, Tuple, cast

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError, WatchError
from redis.exceptions import TimeoutError as RedisTimeoutError

from emotical_shared import redis_schema as schema
from emotical_shared.chapters import Chapter, reaction_from_fields
from emotical_shared.labels import UNCERTAIN
from emotical_shared.logs import Throttled, event, id_tag
from emotical_shared.tag_rule import apply, product_observations
from vision_sidecar import deletion
from vision_sidecar.chapters import FRAME_VIDEO, attribution
from vision_sidecar.errors import SessionDeletedError, StoreUnavailableError
from vision_sidecar.redis_packing import with_hiredis_packing

log = logging.getLogger(__name__)
RETRY_PAUSE_S = 0.2
#: A session's TTLs are set again at most this often (seconds) while frames keep coming.
TTL_REFRESH_S = 60.0
MAX_HISTORY_COUNT = 10_000

#: KEYS: tombstone, emotion hash, history stream, chapters hash. ARGV: ttl, maxlen, ttl due
#: (1/0), then how many values follow of each: the state's field/value pairs (hash and history),
#: the video's (history only), the chapter increments (field/amount); then those values.
#: Returns -1 (tombstoned: nothing written), 1 (written), 2 (written and the TTLs set).
WRITE_LUA = """
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local ns, nv, nc = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local s1 = 6 + ns
local created = redis.call('HSET', KEYS[2], unpack(ARGV, 7, s1))
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 7, s1 + nv))
for i = s1 + nv + 1, s1 + nv + nc, 2 do
  redis.call('HINCRBYFLOAT', KEYS[4], ARGV[i], ARGV[i + 1])
end
if nc > 0 and redis.call('TTL', KEYS[4]) < 0 then
  redis.call('EXPIRE', KEYS[4], ARGV[1])
end
if ARGV[3] == '1' or created > 0 then
  redis.call('EXPIRE', KEYS[2], ARGV[1])
  redis.call('EXPIRE', KEYS[3], ARGV[1])
  if nc > 0 then redis.call('EXPIRE', KEYS[4], ARGV[1]) end
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
        elif key in ("face_present", "uncertain"):
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
    #: The product video's per-chapter counts (`session:{sid}:chapters`).
    chapters: Dict[str, str] = field(default_factory=dict)


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
        self._pending: List[Tuple[str, List[str], asyncio.Future]] = []
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
        """Store one frame's state (latest hash and history entry, with the frame's video stamp
        and its chapter's counts when `FRAME_VIDEO` holds one); False if Redis is down."""
        extra, incr = attribution(FRAME_VIDEO.get(), fields)
        flat = [v for pair in fields.items() for v in pair]
        args = [str(len(flat)), str(len(extra)), str(len(incr)), *flat, *extra, *incr]
        future = asyncio.get_running_loop().create_future()
        self._pending.append((sid, args, future))
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

    async def _send(self, batch: List[Tuple[str, List[str], asyncio.Future]]) -> bool:
        attempt = 0
        while attempt < 2:
            attempt += 1
            now = time.monotonic()
            pipe = self.client.pipeline(transaction=False)
            for sid, args, _ in batch:
                due = now - self._ttl_set_at.get(sid, -TTL_REFRESH_S) >= TTL_REFRESH_S
                pipe.evalsha(WRITE_SHA, 4, schema.session_tombstone(sid),
                             schema.session_emotion(sid), schema.session_history(sid),
                             schema.session_chapters(sid), self.ttl_s, schema.HISTORY_MAXLEN,
                             "1" if due else "0", *args)
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
        pipe.hgetall(schema.session_chapters(sid))
        for key in keys:
            pipe.type(key)
        emotion, history, total, chat, meta, tracker, events, chapters, *types = await self._read(
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
                              history_next=history[-1][0] if more and history else None,
                              chapters=dict(chapters or {}))

    async def product_of(self, sid: str) -> Optional[str]:
        """The product the session was opened for (`session:{sid}:meta`), if any."""
        return await self._read(self.client.hget(schema.session_meta(sid), "product_id"))

    async def learn_chapter(self, sid: str, uid: str, chapter: Chapter, rate: float,
                            min_valence: float, profile_ttl_s: int) -> Optional[Dict[str, float]]:
        """Move `chapter`'s tags in shopper `uid`'s profile by what the session saw while it
        played, once per session (`<i>:learned`), in one optimistic transaction that also
        watches the session's tombstone. Returns the new weights ({} when the reaction was
        unclear: it is recorded as step 0), None when the session is deleted or the chapter was
        learned already."""
        chapters_key, tomb = schema.session_chapters(sid), schema.session_tombstone(sid)
        tags_key, counts_key = schema.shopper_tags(uid), schema.shopper_tag_counts(uid)
        learned = f"{chapter.index}:learned"
        names = list(chapter.tags)
        async with self.client.pipeline(transaction=True) as pipe:
            for _attempt in range(20):
                try:
                    await pipe.watch(tomb, chapters_key, tags_key, counts_key)
                    if await pipe.exists(tomb):
                        return None
                    fields = _decoded(await pipe.hgetall(chapters_key))
                    if learned in fields:
                        return None
                    reaction = reaction_from_fields(fields, chapter.index)
                    if not reaction.frames:
                        return None  # not watched playing: nothing to record
                    step = reaction.step(rate, min_valence)
                    new_w: Dict[str, float] = {}
                    new_c: Dict[str, float] = {}
                    if step:
                        w = _float_map(names, await pipe.hmget(tags_key, names))
                        c = _float_map(names, await pipe.hmget(counts_key, names))
                        obs = product_observations(names, 1 if step > 0 else -1, abs(step),
                                                   share=1.0)
                        # the count an observation adds: the share of frames that had a face
                        obs = {t: replace(o, count=round(reaction.face_share, 3))
                               for t, o in obs.items()}
                        new_w, new_c = apply(w, c, obs)
                    pipe.multi()
                    if new_w:
                        pipe.hset(tags_key, mapping={t: repr(v) for t, v in new_w.items()})
                        pipe.hset(counts_key, mapping={t: repr(v) for t, v in new_c.items()})
                        pipe.expire(tags_key, profile_ttl_s)
                        pipe.expire(counts_key, profile_ttl_s)
                    pipe.hset(chapters_key, mapping={learned: f"{step:.6f}",
                                                     f"{chapter.index}:learned_at":
                                                     f"{time.time():.3f}"})
                    pipe.expire(chapters_key, self.ttl_s)
                    await pipe.execute()
                    event(log, logging.INFO, "chapter_learned", chapter=chapter.index,
                          frames=reaction.frames, face_frames=reaction.face_frames,
                          step=round(step, 4), tags=len(new_w))
                    return new_w
                except WatchError:
                    continue
                except (RedisError, OSError) as exc:
                    raise StoreUnavailableError(
                        f"Redis did not answer: {type(exc).__name__}") from exc
        raise StoreUnavailableError(f"profile of {id_tag(uid)} kept changing under 20 updates")

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


def _float_map(names: List[str], values: Any) -> Dict[str, float]:
    """HMGET's answer for `names` as floats (missing or malformed values left out)."""
    out = {}
    for name, value in zip(names, values or [], strict=False):
        try:
            out[name] = float(value)
        except (TypeError, ValueError):
            continue
    return out


def state_fields(probs: Mapping[str, float], dominant: str, valence: float, arousal: float,
                 score: float, face_present: bool, ts: Optional[float] = None,
                 uncertain: bool = False) -> Dict[str, str]:
    """The hash/stream fields of one state, as strings (schema: redis_schema.EMOTION_FIELDS);
    `uncertain`: a face without a confident reading (`dominant` labels.UNCERTAIN)."""
    fields = {label: f"{p:.5f}" for label, p in probs.items()}
    fields.update(dominant=UNCERTAIN if uncertain else dominant, valence=f"{valence:.5f}",
                  arousal=f"{arousal:.5f}", score=f"{score:.3f}",
                  face_present="1" if face_present else "0", uncertain="1" if uncertain else "0",
                  ts=f"{time.time() if ts is None else ts:.3f}")
    return fields
