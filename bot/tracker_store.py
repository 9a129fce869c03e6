"""Rasa's Redis tracker store, made to honour deleted sessions.

When a shopper deletes a session, the deleter (the sidecar's DELETE or the delete action) writes
the session's tombstone (`emotical_shared.redis_schema.session_tombstone`) and removes the
stored conversation. Rasa saves the tracker after every turn, including the turn whose action
did the deleting, and a message already in flight may be saved after the delete. Here a save
whose session has a tombstone writes nothing and removes what is there, in one Lua script, so
no save can race the tombstone and no timer is needed. Retrieval needs no check of its own: the
deleter removed the stored conversation in the tombstone's transaction and no save can write it
again, so a tombstoned session reads as an empty conversation.

Use in `endpoints.yml`: `tracker_store: type: bot.tracker_store.TombstoneRedisTrackerStore`
with the same keys as Rasa's `redis` store (`url`, `port`, `db`, `password`, `key_prefix`,
`record_exp`).
"""

from __future__ import annotations

import logging
from typing import Any, Optional

from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

from emotical_shared import logs
from emotical_shared.redis_schema import InvalidIdError, session_tombstone

logger = logging.getLogger(__name__)

#: Seconds a Redis connect or reply may take before the turn gives up on the store.
SOCKET_TIMEOUT_S = 2.0

#: KEYS[1] tracker, KEYS[2] tombstone; ARGV[1] serialised tracker, ARGV[2] expiry (s, 0: none).
_SAVE_UNLESS_DELETED = """
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('DEL', KEYS[1])
  return 0
end
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
return 1
"""


def _tombstone_key(sender_id: str) -> Optional[str]:
    try:
        return session_tombstone(sender_id)
    except InvalidIdError:
        return None  # not a session id our deleters could name: nothing to honour


class TombstoneRedisTrackerStore(RedisTrackerStore):
    """`RedisTrackerStore` whose saves and reads respect a deleted session's tombstone."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Rasa's Redis store has no socket timeouts: a Redis that accepts but never answers
        # would hang a shopper's turn. Bounded here; the lock store's timeouts are the same.
        self.red.connection_pool.connection_kwargs.update(socket_timeout=SOCKET_TIMEOUT_S,
                                                          socket_connect_timeout=SOCKET_TIMEOUT_S)
        self._save_script = self.red.register_script(_SAVE_UNLESS_DELETED)

    async def save(self, tracker: DialogueStateTracker, timeout: Optional[float] = None) -> None:
        """Save the conversation unless its session was deleted (then remove what is stored)."""
        sender = tracker.sender_id
        tombstone = _tombstone_key(sender)
        if tombstone is None:
            await super().save(tracker, timeout)
            return
        await self.stream_events(tracker)
        expiry = timeout or self.record_exp or 0
        stored = self.red.get(self.key_prefix + sender)
        if stored is not None:
            tracker = self._merge_trackers(self.deserialise_tracker(sender, stored), tracker)
        saved = self._save_script(keys=[self.key_prefix + sender, tombstone],
                                  args=[self.serialise_tracker(tracker), int(expiry)])
        if not saved:
            with logs.session_scope(sender):
                logs.event(logger, logging.INFO, "tracker_save_skipped", reason="deleted")
