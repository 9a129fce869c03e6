"""Rasa's Redis lock store, made to keep answering shoppers while Redis is down.

Rasa takes a per-conversation lock before every turn. With its `redis` lock store an
unreachable Redis raises a `LockError` that the REST and socket.io channels swallow: the
shopper gets an empty reply. This store tries Redis briefly (`retry_s`, default 1.5 s, only
for the first turn of an outage), then serves the turn with a lock local to this Rasa
process and says so in the log once per outage (`lock_store_degraded`, and
`lock_store_recovered` when Redis answers again). The turn then runs as usual: Rasa's
fail-safe tracker store reads no history and keeps the turn's events in memory, the action
server degrades on its own, and the shopper gets a real answer (without the context of
earlier turns). Every turn tries Redis first, so nothing needs a restart when it comes back:
redis-py opens a new connection on the next command.

While Redis is down the local lock orders turns of one conversation within one Rasa process
only; several Rasa processes sharing one Redis lose that ordering for the outage, when they
can store nothing anyway.

Socket timeouts (`socket_timeout`, default 2 s, connect and read) bound a turn against a
Redis that accepts connections but does not answer.

Use in `endpoints.yml`: `lock_store: type: bot.lock_store.ResilientRedisLockStore` with the
keys of Rasa's `redis` lock store (`url`, `port`, `db`, `password`, `key_prefix`) plus the
optional `retry_s` and `socket_timeout`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Optional

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig
from redis.exceptions import RedisError

from emotical_shared import logs

logger = logging.getLogger(__name__)

#: Pause between attempts while Redis is first found unreachable.
RETRY_PAUSE_S = 0.25


class ResilientRedisLockStore(RedisLockStore):
    """`RedisLockStore` with bounded timeouts that falls back to a process-local lock."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        kwargs: dict[str, Any] = dict(endpoint_config.kwargs)
        self.retry_s = float(kwargs.pop("retry_s", 1.5))
        timeout = float(kwargs.pop("socket_timeout", 2.0))
        super().__init__(host=endpoint_config.url or "localhost", socket_timeout=timeout,
                         **kwargs)
        self.red.connection_pool.connection_kwargs["socket_connect_timeout"] = timeout
        self._local = InMemoryLockStore()
        self._degraded_since: Optional[float] = None

    @property
    def degraded(self) -> bool:
        """Whether the last attempt found Redis unreachable."""
        return self._degraded_since is not None

    async def _issue(self, conversation_id: str, lock_lifetime: float) -> Optional[int]:
        """A ticket from Redis, or None when Redis stays unreachable."""
        deadline = time.monotonic() + (0.0 if self.degraded else self.retry_s)
        while True:
            try:
                lock = self.get_or_create_lock(conversation_id)
                ticket = lock.issue_ticket(lock_lifetime)
                self.save_lock(lock)
            except (RedisError, OSError) as exc:
                if time.monotonic() + RETRY_PAUSE_S > deadline:
                    self._mark_down(exc)
                    return None
                await asyncio.sleep(RETRY_PAUSE_S)
                continue
            self._mark_up()
            return ticket

    def _mark_down(self, exc: BaseException) -> None:
        if self._degraded_since is None:
            self._degraded_since = time.monotonic()
            logs.event(logger, logging.WARNING, "lock_store_degraded",
                       error=type(exc).__name__, fallback="process-local lock",
                       effect="turns answered without stored history")

    def _mark_up(self) -> None:
        if self._degraded_since is not None:
            logs.event(logger, logging.WARNING, "lock_store_recovered",
                       outage_s=round(time.monotonic() - self._degraded_since, 1))
            self._degraded_since = None

    @asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = 1) -> AsyncGenerator[TicketLock, None]:
        """The conversation's lock: Redis's, or this process's while Redis is unreachable."""
        ticket = await self._issue(conversation_id, lock_lifetime)
        if ticket is None:
            async with self._local.lock(conversation_id, lock_lifetime,
                                        wait_time_in_seconds) as local:
                yield local
            return
        try:
            yield await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        finally:
            self.cleanup(conversation_id, ticket)

    async def _acquire_lock(self, conversation_id: str, ticket: int,
                            wait_time_in_seconds: float) -> TicketLock:
        try:
            return await super()._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        except (RedisError, OSError) as exc:  # Redis went away while this turn waited
            self._mark_down(exc)
            return self._local.create_lock(conversation_id)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Release the ticket; if Redis went away meanwhile the lock expires on its own."""
        try:
            super().cleanup(conversation_id, ticket_number)
        except (RedisError, OSError) as exc:
            self._mark_down(exc)
