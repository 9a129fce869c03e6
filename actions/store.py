"""Redis access for the actions: emotion state, chat sentiment, shopper profiles, deletion.

Every key comes from `emotical_shared.redis_schema`. Redis trouble never reaches the shopper:
calls raise `RedisUnavailableError`, which the actions turn into a neutral mood, and profile updates
that cannot be written go to the spool and are replayed once Redis answers again. After a failure
Redis is left alone for `redis_retry_s`, so an outage does not add a timeout to every turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple

import redis.asyncio as aioredis
from redis.exceptions import RedisError, WatchError

from emotical_shared import logs
from emotical_shared import redis_schema as keys

from .profiles import TagObservation, apply
from .settings import Settings
from .spool import Spool

logger = logging.getLogger(__name__)


class RedisUnavailableError(RuntimeError):
    """Redis could not be reached (or is being left alone after a recent failure)."""


class Store:
    """Async Redis operations with degradation and a retry spool for profile writes."""

    def __init__(self, settings: Settings, spool: Optional[Spool] = None) -> None:
        self.settings = settings
        self.spool = spool or Spool(settings.spool_dir, settings.spool_max_bytes)
        self._client: Optional[aioredis.Redis] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._down_until = 0.0
        self._warned: Set[str] = set()
        self._flushing = False

    # -- connection and degradation -------------------------------------------------------

    def _redis(self) -> aioredis.Redis:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            t = self.settings.redis_timeout_s
            self._client = aioredis.Redis.from_url(
                self.settings.redis_url, decode_responses=True, socket_connect_timeout=t,
                socket_timeout=max(1.0, 4 * t), health_check_interval=30)
            self._loop = loop
        return self._client

    async def _run(self, op: str, session: str, fn: Callable[[aioredis.Redis], Awaitable[Any]]) -> Any:
        if time.monotonic() < self._down_until:
            raise RedisUnavailableError(f"redis marked down, op={op}")
        try:
            result = await fn(self._redis())
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            self._down_until = time.monotonic() + self.settings.redis_retry_s
            self.warn_once(session, op, exc)
            raise RedisUnavailableError(str(exc)) from exc
        if self._down_until and not self._flushing:
            self._down_until = 0.0
        if not self._flushing and self.spool.pending():
            await self.flush_spool(session)
        return result

    def warn_once(self, session: str, op: str, exc: BaseException) -> None:
        """Log a degradation warning once per session."""
        if session in self._warned:
            return
        self._warned.add(session)
        logs.event(logger, logging.WARNING, "redis_unavailable", session=session, op=op,
                   error=type(exc).__name__, effect="neutral mood")

    async def close(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            await self._client.close()
            self._client = None

    # -- emotion and chat ------------------------------------------------------------------

    async def read_emotion(self, sid: str) -> Dict[str, str]:
        """The sidecar's latest emotion hash for the session ({} when none)."""
        return await self._run("read_emotion", sid, lambda r: r.hgetall(keys.session_emotion(sid)))

    async def chapter_fields(self, sid: str) -> Dict[str, str]:
        """The sidecar's per-chapter counts and learned steps for the session
        (`session:{sid}:chapters`; {} when the video was not watched)."""
        return await self._run("chapter_fields", sid,
                               lambda r: r.hgetall(keys.session_chapters(sid)))

    async def record_message(self, sid: str, uid: str, product_id: Optional[str],
                             message_id: str, fields: Mapping[str, Any]) -> bool:
        """Append one message's sentiment to the chat stream (once per message id) and register
        the session under the shopper. Returns False when the message was already recorded."""
        meta, chat = keys.session_meta(sid), keys.session_chat(sid)
        tombstone, sessions = keys.session_tombstone(sid), keys.shopper_sessions(uid)
        ttl, profile_ttl = keys.SESSION_TTL_S, self.settings.profile_ttl_s

        async def write(r: aioredis.Redis) -> bool:
            async with r.pipeline(transaction=True) as pipe:
                # A deleted session stays deleted: the write fails if the tombstone appears.
                await pipe.watch(tombstone, meta)
                if await pipe.exists(tombstone):
                    return False
                if await pipe.hget(meta, "last_message_id") == message_id:
                    return False
                now = f"{time.time():.3f}"
                pipe.multi()
                pipe.xadd(chat, {k: str(v) for k, v in fields.items()},
                          maxlen=keys.CHAT_MAXLEN, approximate=True)
                pipe.hsetnx(meta, "started", now)
                mapping = {"shopper_id": uid, "last_message_id": message_id, "updated": now}
                if product_id:
                    mapping["product_id"] = product_id
                pipe.hset(meta, mapping=mapping)
                pipe.sadd(sessions, sid)
                pipe.expire(chat, ttl)
                pipe.expire(meta, ttl)
                pipe.expire(sessions, profile_ttl)
                try:
                    await pipe.execute()
                except WatchError:
                    return False  # deleted (or recorded by a twin) meanwhile
            return True

        return await self._run("record_message", sid, write)

    async def said(self, sid: str, rasa_session: str) -> Dict[str, Set[str]]:
        """What the bot said in Rasa session `rasa_session` of `sid` that it must not repeat,
        by kind (`line`, `tag`, `chapter`): a bounded record, not the conversation."""
        raw = await self._run("said", sid, lambda r: r.hgetall(keys.session_said(sid)))
        out: Dict[str, Set[str]] = {}
        for name, when in raw.items():
            kind, _, value = name.partition(":")
            if when == rasa_session:
                out.setdefault(kind, set()).add(value)
        return out

    async def remember_said(self, sid: str, rasa_session: str, kind: str,
                            values: Sequence[str]) -> None:
        """Record lines or tags said in Rasa session `rasa_session`; never recreates the keys of
        a deleted session."""
        key, tombstone = keys.session_said(sid), keys.session_tombstone(sid)

        async def write(r: aioredis.Redis) -> None:
            async with r.pipeline(transaction=True) as pipe:
                await pipe.watch(tombstone)
                if await pipe.exists(tombstone):
                    return
                pipe.multi()
                pipe.hset(key, mapping={f"{kind}:{v}": rasa_session for v in values})
                pipe.expire(key, keys.SESSION_TTL_S)
                with contextlib.suppress(WatchError):
                    await pipe.execute()

        if values:
            await self._run("remember_said", sid, write)

    async def chat_scores(self, sid: str) -> List[float]:
        """Sentiment scores of the session's messages, oldest first."""
        entries = await self._run("chat_scores", sid,
                                  lambda r: r.xrange(keys.session_chat(sid)))
        out = []
        for _id, fields in entries:
            try:
                out.append(float(fields["score"]))
            except (KeyError, ValueError):
                continue
        return out

    async def history(self, sid: str) -> List[Dict[str, str]]:
        """The session's face history (one dict of fields per frame), oldest first."""
        entries = await self._run("history", sid, lambda r: r.xrange(keys.session_history(sid)))
        return [fields for _id, fields in entries]

    # -- profiles ----------------------------------------------------------------------------

    async def profile(self, uid: str, session: str) -> Tuple[Dict[str, float], Dict[str, float]]:
        """(weights, counts) of the shopper's tags."""
        async def read(r: aioredis.Redis) -> Tuple[Dict[str, str], Dict[str, str]]:
            pipe = r.pipeline(transaction=False)
            pipe.hgetall(keys.shopper_tags(uid))
            pipe.hgetall(keys.shopper_tag_counts(uid))
            w, c = await pipe.execute()
            return w, c

        w, c = await self._run("profile", session, read)
        return _floats(w), _floats(c)

    async def seen(self, uid: str, session: str) -> Set[str]:
        """Product ids already shown to the shopper."""
        return set(await self._run("seen", session, lambda r: r.smembers(keys.shopper_seen(uid))))

    async def mark_seen(self, uid: str, session: str, product_ids: Sequence[str]) -> None:
        """Remember products shown to the shopper."""
        if product_ids:
            key, ttl = keys.shopper_seen(uid), self.settings.profile_ttl_s

            async def mark(r: aioredis.Redis) -> None:
                pipe = r.pipeline(transaction=True)
                pipe.sadd(key, *product_ids)
                pipe.expire(key, ttl)
                await pipe.execute()

            await self._run("mark_seen", session, mark)

    async def update_profile(self, uid: str, session: str,
                             obs: Mapping[str, TagObservation]) -> Optional[Dict[str, float]]:
        """Apply observations atomically; returns the new weights of the observed tags, or None
        when Redis is unreachable (the update is then spooled and retried later)."""
        if not obs:
            return {}
        try:
            return await self._run("update_profile", session,
                                   lambda r: self._apply(r, uid, obs, self.settings.profile_ttl_s))
        except RedisUnavailableError:
            if await asyncio.to_thread(self.spool.append, uid, obs):
                logs.event(logger, logging.WARNING, "profile_update_queued", session=session,
                           shopper=logs.id_tag(uid), tags=len(obs))
            return None

    @staticmethod
    async def _apply(r: aioredis.Redis, uid: str, obs: Mapping[str, TagObservation],
                     ttl_s: int) -> Dict[str, float]:
        """Move the observed tags' weights in one optimistic transaction; the profile's idle
        expiry starts again."""
        tags_key, counts_key = keys.shopper_tags(uid), keys.shopper_tag_counts(uid)
        names = list(obs)
        async with r.pipeline(transaction=True) as pipe:
            for _attempt in range(20):
                try:
                    await pipe.watch(tags_key, counts_key)
                    w = dict(zip(names, await pipe.hmget(tags_key, names), strict=False))
                    c = dict(zip(names, await pipe.hmget(counts_key, names), strict=False))
                    new_w, new_c = apply(_floats(w), _floats(c), obs)
                    pipe.multi()
                    pipe.hset(tags_key, mapping={t: repr(v) for t, v in new_w.items()})
                    pipe.hset(counts_key, mapping={t: repr(v) for t, v in new_c.items()})
                    pipe.expire(tags_key, ttl_s)
                    pipe.expire(counts_key, ttl_s)
                    await pipe.execute()
                    return new_w
                except WatchError:
                    continue
        raise RedisError(f"profile of {uid} kept changing under 20 concurrent updates")

    async def flush_spool(self, session: str = "-") -> int:
        """Replay queued profile updates; returns how many landed.

        File work runs in a thread. An entry Redis refuses for a reason other than being
        unreachable (a bad id, say) is moved to the spool's `rejected/` folder, so it never
        fails another shopper's turn.
        """
        if self._flushing:
            return 0
        self._flushing = True
        applied = 0
        try:
            for path in await asyncio.to_thread(self.spool.claim):
                entries = await asyncio.to_thread(self._read_claimed, path)
                for i, entry in enumerate(entries):
                    uid, obs = entry
                    try:
                        await self._apply(self._redis(), uid, obs, self.settings.profile_ttl_s)
                        applied += 1
                    except (RedisError, OSError, asyncio.TimeoutError):
                        await asyncio.to_thread(self.spool.restore, entries[i:])
                        break
                    except (ValueError, TypeError):
                        await asyncio.to_thread(self.spool.reject_entry, entry)
                await asyncio.to_thread(path.unlink, True)
        finally:
            self._flushing = False
        if applied:
            logs.event(logger, logging.INFO, "profile_updates_replayed", session=session,
                       updates=applied)
        return applied

    def _read_claimed(self, path: Path) -> List[Tuple[str, Dict[str, TagObservation]]]:
        return list(self.spool.read(path))

    async def replay_forever(self, stop: asyncio.Event) -> None:
        """Replay the spool now and then every `spool_replay_s` while entries wait, until
        `stop` is set (the action server's background replayer)."""
        while not stop.is_set():
            try:
                if await asyncio.to_thread(self.spool.pending):
                    await self.flush_spool()
            except OSError as exc:  # the folder itself is unusable: say so, keep trying
                logs.event(logger, logging.WARNING, "profile_spool_unreadable",
                           error=type(exc).__name__)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.spool_replay_s)

    # -- deletion ----------------------------------------------------------------------------

    async def delete_shopper(self, uid: str, current_sid: Optional[str]) -> List[str]:
        """Delete the shopper's profile and every session registered to them (plus the current
        one); returns the keys that existed and are now gone.

        Each session gets its tombstone in the same transaction, so nothing can bring it back:
        not Rasa's save of this very conversation once the action returns (the tracker store
        honours tombstones), not a camera still streaming (the sidecar does too).
        """
        await asyncio.to_thread(self.spool.drop_shopper, uid)

        async def delete(r: aioredis.Redis) -> List[str]:
            sessions = keys.shopper_sessions(uid)
            async with r.pipeline(transaction=True) as pipe:
                for _attempt in range(10):
                    # A session registered while this runs (the sidecar mints one) restarts it.
                    await pipe.watch(sessions)
                    sids = set(await pipe.smembers(sessions))
                    if current_sid:
                        sids.add(current_sid)
                    candidates = list(keys.shopper_keys(uid))
                    pipe.multi()
                    for sid in sorted(sids):
                        pipe.set(keys.session_tombstone(sid), "1", ex=keys.TOMBSTONE_TTL_S)
                        candidates.extend(keys.session_keys(sid))
                    for key in candidates:
                        pipe.delete(key)
                    try:
                        replies = await pipe.execute()
                    except WatchError:
                        continue
                    removed = replies[len(sids):]
                    return [k for k, n in zip(candidates, removed, strict=True) if n]
            raise RedisError("the shopper's session list kept changing during deletion")

        return await self._run("delete_shopper", current_sid or uid, delete)


def _floats(raw: Mapping[str, Any]) -> Dict[str, float]:
    out = {}
    for k, v in raw.items():
        if v is None:
            continue
        try:
            out[k] = float(v)
        except (TypeError, ValueError):
            continue
    return out
