"""A Redis tracker store whose per-turn cost does not grow with the conversation.

Rasa's Redis store keeps a conversation as one JSON string and, on every message, reads and
replays all of it and writes all of it back. Here a conversation is two Redis lists:

* `<prefix>:tracker:<sender>:events` (`emotical_shared.redis_schema.session_tracker_events`):
  every event, one JSON string each, appended (`RPUSH`) by each save, never rewritten. The full
  history is what `retrieve_full_tracker` returns (Rasa's `GET /conversations/<id>/tracker`,
  export, the report).
* `<prefix>:tracker:<sender>:marks` (`session_tracker_marks`): one small JSON mark per save:
  where the save ended in the event list, the slot values and active loop there, and where the
  current session's `action_session_start` is. Only the last `MARKS_KEPT` stay.

What Rasa retrieves for a turn (`retrieve`) is the latest session's window: the session's
`action_session_start` and `session_started` events, the slot values and loop at the window's
start as `slot`/`active_loop` events, then the events of the last turns: as many turns as it
takes for every configured policy to compute the states it reads exactly as on the full tracker
(`bot.tracker_window.WindowNeeds`, derived from config.yml and the stories/rules at start; a
policy that reads unbounded history refuses to start). TED and Memoization skip rule-only turns,
so a run of those makes the window longer (`exact_states`); the first turns fetched are
`window_turns`, doubled until enough. A session that began inside the window is returned exactly
as Rasa's store returns it.

Deleted sessions stay deleted as in `TombstoneRedisTrackerStore`: the save is one Lua script
that writes nothing (and removes what is there) when the session's tombstone exists. A
conversation stored the old way (one string at `<prefix>:tracker:<sender>`) is moved into the
lists on first access, in a script that honours the tombstone too. Every save refreshes both
lists' TTL (`record_exp`).

Use in endpoints.yml: `type: bot.windowed_tracker_store.WindowedRedisTrackerStore` with the
keys of Rasa's Redis store plus `policy_config` (config.yml) and `training_data` (data).
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Type

from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    Event,
    FollowupAction,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.tracker_store import TombstoneRedisTrackerStore, _tombstone_key
from bot.tracker_window import UnboundedHistoryError, WindowNeeds, window_needs, window_states
from emotical_shared import logs

logger = logging.getLogger(__name__)

#: Marks kept per conversation (one per save): far more turns than any window needs.
MARKS_KEPT = 200

#: KEYS events, marks, tombstone, legacy; ARGV expiry, expected length, mark, marks kept,
#: events... Returns 1 saved, 0 session deleted, -1 the list changed meanwhile.
_APPEND = """
if KEYS[3] ~= '' and redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[4])
  return 0
end
if redis.call('LLEN', KEYS[1]) ~= tonumber(ARGV[2]) then
  return -1
end
if #ARGV > 4 then
  redis.call('RPUSH', KEYS[1], unpack(ARGV, 5))
end
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[4]), -1)
if tonumber(ARGV[1]) > 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  redis.call('EXPIRE', KEYS[2], ARGV[1])
end
return 1
"""

#: KEYS events, marks, tombstone, legacy; ARGV expiry, number of marks, marks..., events...
#: Moves an old-style conversation into the lists (once; a no-op when already moved).
_MIGRATE = """
if KEYS[3] ~= '' and redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[4])
  return 0
end
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[4]) == 0 then
  return -1
end
local n = tonumber(ARGV[2])
if n > 0 then redis.call('RPUSH', KEYS[2], unpack(ARGV, 3, 2 + n)) end
if #ARGV > 2 + n then redis.call('RPUSH', KEYS[1], unpack(ARGV, 3 + n)) end
redis.call('DEL', KEYS[4])
if tonumber(ARGV[1]) > 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  redis.call('EXPIRE', KEYS[2], ARGV[1])
end
return 1
"""


class ConcurrentSaveError(RuntimeError):
    """Another writer appended to the conversation between this save's read and its write."""


@dataclass(frozen=True)
class Mark:
    """The conversation's state where one save ended."""

    #: Events stored when the save ended (the next event's index).
    at: int
    #: Index of the current session's `action_session_start` event (None: no session start).
    session_at: Optional[int]
    #: Slot values there that differ from the slot's initial value.
    slots: Dict[str, Any]
    active_loop: Optional[str]

    def dumps(self) -> str:
        return json.dumps({"at": self.at, "session_at": self.session_at, "slots": self.slots,
                           "loop": self.active_loop}, separators=(",", ":"))

    @classmethod
    def loads(cls, raw: str) -> Mark:
        doc = json.loads(raw)
        return cls(int(doc["at"]), doc.get("session_at"), dict(doc.get("slots") or {}),
                   doc.get("loop"))


def _dumps(event: Event) -> str:
    return json.dumps(event.as_dict(), separators=(",", ":"))


def _session_start_index(events: Sequence[Event], offset: int,
                         previous: Optional[int]) -> Optional[int]:
    """Where the newest `action_session_start` is, counting the stored events before `events`."""
    for i in range(len(events) - 1, -1, -1):
        event = events[i]
        if isinstance(event, ActionExecuted) and event.action_name == ACTION_SESSION_START_NAME:
            return offset + i
    return previous


def mark_of(tracker: DialogueStateTracker, at: int, session_at: Optional[int]) -> Mark:
    """The mark of `tracker`'s current state, `at` events stored."""
    slots = {name: slot.value for name, slot in tracker.slots.items()
             if slot.value != slot.initial_value}
    return Mark(at, session_at, slots, tracker.active_loop_name)


def exact_states(tracker: DialogueStateTracker, prefix: Sequence[Event]) -> WindowNeeds:
    """How many of a window tracker's states the policies compute as on the full tracker.

    Follows `Domain.states_for_tracker_history` without computing a state: a state is exact
    once the tracker before it holds a window action and a window message (not only `prefix`,
    the window's session start and state events), and, for TED and Memoization (rule-only turns
    hidden), once the previous ML action and the user input it carries over came from exact
    states too. Returns trailing exact ML states, all ML states, trailing exact raw states.
    """
    own = {id(e) for e in prefix}
    seen_action = seen_user = False
    latest: Optional[str] = None
    followup: Optional[str] = None
    loop: Optional[str] = None
    hidden = last_ml_exact = False
    previous_user_exact: Optional[bool] = None  # None: no ML state yet
    ml_exact = ml_total = raw_exact = 0
    for event in [*tracker.applied_events(), None]:
        if event is None or isinstance(event, ActionExecuted):
            exact = seen_action and seen_user
            raw_exact = raw_exact + 1 if exact else 0
            if not hidden:
                last_ml_exact = exact
            if followup is None and latest != loop:
                hidden = bool(event.hide_rule_turn) if event is not None else False
            if not hidden:
                ml_total += 1
                user_exact = exact if latest == ACTION_LISTEN_NAME or previous_user_exact is None \
                    else previous_user_exact
                previous_user_exact = user_exact
                ml_exact = ml_exact + 1 if exact and user_exact and last_ml_exact else 0
        if isinstance(event, ActionExecuted):  # both clear a pending followup, as in Rasa
            latest, followup = event.action_name or event.action_text, None
            seen_action = seen_action or id(event) not in own
        elif isinstance(event, UserUttered):
            followup = None
            seen_user = seen_user or id(event) not in own
        elif isinstance(event, FollowupAction):
            followup = event.action_name
        elif isinstance(event, ActiveLoop):
            loop = event.name
    return WindowNeeds(ml_exact, ml_total, raw_exact)


def enough(found: WindowNeeds, needs: WindowNeeds) -> bool:
    """Whether a window's `exact_states` cover what the policies read."""
    return (found.ml_exact >= needs.ml_exact and found.ml_total >= needs.ml_total
            and found.raw_exact >= needs.raw_exact)


class WindowedRedisTrackerStore(TombstoneRedisTrackerStore):
    """Append-only Redis tracker store that hands Rasa a bounded window per turn."""

    def __init__(self, *args: Any, policy_config: str = "config.yml",
                 training_data: str = "data", window_turns: Optional[int] = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: States the policies read (plus the start state), from config.yml and the data.
        self.window_states = window_states(Path(policy_config), Path(training_data))
        #: What a window must hold, per kind of state (see `bot.tracker_window`).
        self.needs = window_needs(Path(policy_config), Path(training_data))
        #: Turns fetched first: every turn holds at least one state, most hold three.
        self.window_turns = window_turns or self.window_states
        _refuse_forms(self._domain)
        self._append = self.red.register_script(_APPEND)
        self._migrate = self.red.register_script(_MIGRATE)

    # The domain arrives after construction (Rasa sets it once the model is loaded).
    @property
    def domain(self) -> Domain:
        return self._domain

    @domain.setter
    def domain(self, domain: Optional[Domain]) -> None:
        _refuse_forms(domain)
        self._domain = domain or Domain.empty()

    # ---- keys ---------------------------------------------------------------------------
    def _keys(self, sender: str) -> Tuple[str, str, str, str]:
        """(events, marks, tombstone or '', legacy string) keys of a conversation."""
        base = self.key_prefix + sender
        return f"{base}:events", f"{base}:marks", _tombstone_key(sender) or "", base

    # ---- save ---------------------------------------------------------------------------
    async def save(self, tracker: DialogueStateTracker, timeout: Optional[float] = None) -> None:
        """Append the events this turn added, and a mark of where the turn ended."""
        await self.stream_events(tracker)
        sender = tracker.sender_id
        self._migrate_if_needed(sender)
        events_key, marks_key, tombstone, legacy = self._keys(sender)
        expiry = int(timeout or self.record_exp or 0)
        for _attempt in range(3):
            pipe = self.red.pipeline(transaction=False)
            pipe.llen(events_key).lindex(events_key, -1).lindex(marks_key, -1)
            stored, last_raw, mark_raw = pipe.execute()
            new = self._new_events(tracker, sender, stored, last_raw)
            previous = Mark.loads(mark_raw) if mark_raw else None
            session_at = _session_start_index(new, stored,
                                              previous.session_at if previous else None)
            mark = mark_of(tracker, stored + len(new), session_at)
            result = self._append(keys=[events_key, marks_key, tombstone, legacy],
                                  args=[expiry, stored, mark.dumps(), MARKS_KEPT,
                                        *(_dumps(e) for e in new)])
            if result == 0:
                with logs.session_scope(sender):
                    logs.event(logger, logging.INFO, "tracker_save_skipped", reason="deleted")
            if result != -1:
                return
        raise ConcurrentSaveError(f"conversation {sender!r} kept changing during its save")

    def _new_events(self, tracker: DialogueStateTracker, sender: str, stored: int,
                    last_raw: Optional[str]) -> List[Event]:
        """The tracker's events after the last stored one (all of them for a new conversation).

        The stored last event is found from the end by type and timestamp (a window's own
        session and slot events come before it). A tracker that does not contain it (Rasa's
        API replacing a conversation's events) adds what the stored history lacks.
        """
        events = list(tracker.events)
        if not stored or last_raw is None:
            return events
        last = json.loads(last_raw)
        for i in range(len(events) - 1, -1, -1):
            event = events[i]
            if event.timestamp == last.get("timestamp") and event.type_name == last.get("event"):
                return events[i + 1:]
        # Reached only when the tracker lacks the stored last event (Rasa's API replacing a
        # conversation's events); a turn's save never gets here. Reads the whole history.
        with logs.session_scope(sender):
            logs.event(logger, logging.INFO, "tracker_save_unanchored", stored=stored)
        known = {json.dumps(e, sort_keys=True) for e in self._stored_dicts(sender, 0)}
        return [e for e in events if json.dumps(e.as_dict(), sort_keys=True) not in known]

    # ---- retrieve -----------------------------------------------------------------------
    def _stored_dicts(self, sender: str, start: int, stop: int = -1) -> List[Dict[str, Any]]:
        events_key = self._keys(sender)[0]
        return [json.loads(raw) for raw in self.red.lrange(events_key, start, stop)]

    def _tracker(self, sender: str, events: Iterable[Event]) -> DialogueStateTracker:
        return DialogueStateTracker.from_events(sender, list(events), self.domain.slots,
                                                self.max_event_history)

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        """The latest session's window: its start, the state before the window, the window."""
        self._migrate_if_needed(sender_id)
        events_key, marks_key, _tombstone, _legacy = self._keys(sender_id)
        turns = self.window_turns
        while True:
            pipe = self.red.pipeline(transaction=False)
            pipe.llen(events_key).llen(marks_key).lrange(marks_key, -(turns + 1), -1)
            stored, n_marks, marks_raw = pipe.execute()
            if not stored:
                return None
            marks = [Mark.loads(raw) for raw in marks_raw]
            tracker, prefix = self._window(sender_id, marks, n_marks, turns)
            if prefix is None or enough(exact_states(tracker, prefix), self.needs):
                return tracker
            if len(marks) >= n_marks:  # the window already reaches the oldest mark
                return await self.retrieve_latest_session(sender_id)
            turns *= 2

    def _window(self, sender: str, marks: List[Mark], n_marks: int,
                turns: int) -> Tuple[DialogueStateTracker, Optional[List[Event]]]:
        """The tracker of the last `turns` turns and the events put before them (None: it is
        the whole latest session)."""
        latest = marks[-1] if marks else None
        session_at = latest.session_at if latest else None
        if len(marks) <= turns and n_marks <= turns:  # a short conversation: all of it
            start: Optional[Mark] = None
            first = session_at or 0
        else:
            start = marks[0]
            first = start.at
            if session_at is not None and session_at >= first:
                start, first = None, session_at  # the session began inside the window
        dicts = self._stored_dicts(sender, first)
        if start is None:
            return self._tracker(sender, _deserialise(dicts)), None
        prefix: List[Event] = []
        if session_at is not None:
            prefix += _deserialise(self._stored_dicts(sender, session_at, session_at + 1))
            prefix = [e for e in prefix if isinstance(e, (ActionExecuted, SessionStarted))]
        prefix += [SlotSet(name, value, timestamp=_ts(dicts)) for name, value in
                   start.slots.items()]
        if start.active_loop:
            prefix.append(ActiveLoop(start.active_loop, timestamp=_ts(dicts)))
        return self._tracker(sender, [*prefix, *_deserialise(dicts)]), prefix

    async def retrieve_latest_session(self, sender_id: str) -> Optional[DialogueStateTracker]:
        """The whole latest session, as Rasa's Redis store returns it (unbounded)."""
        full = await self.retrieve_full_tracker(sender_id)
        return None if full is None else await self._last_session(full)

    @staticmethod
    async def _last_session(full: DialogueStateTracker) -> DialogueStateTracker:
        from rasa.shared.core.trackers import get_trackers_for_conversation_sessions

        sessions = get_trackers_for_conversation_sessions(full)
        return sessions[-1] if len(sessions) > 1 else full

    async def retrieve_full_tracker(self, sender_id: str) -> Optional[DialogueStateTracker]:
        """Every stored event of the conversation, across sessions."""
        self._migrate_if_needed(sender_id)
        dicts = self._stored_dicts(sender_id, 0)
        return self._tracker(sender_id, _deserialise(dicts)) if dicts else None

    async def exists(self, conversation_id: str) -> bool:
        events_key, _marks, _tombstone, legacy = self._keys(conversation_id)
        return bool(self.red.exists(events_key, legacy))

    async def keys(self) -> Iterable[str]:
        """Conversation ids (sender ids) stored, in either layout."""
        out = set()
        for key in self.red.scan_iter(match=self.key_prefix + "*", count=1000):
            name = key[len(self.key_prefix):]
            if name.endswith(":events"):
                out.add(name[:-len(":events")])
            elif not name.endswith(":marks"):
                out.add(name)
        return out

    # ---- migration ----------------------------------------------------------------------
    def _migrate_if_needed(self, sender: str) -> None:
        """Move a conversation stored as Rasa's one JSON string into the lists."""
        events_key, marks_key, tombstone, legacy = self._keys(sender)
        if self.red.type(legacy) != "string":
            return
        raw = self.red.get(legacy)
        if raw is None:
            return
        old = self.deserialise_tracker(sender, raw)
        if old is None:
            return
        events, marks = migrated(old, self.domain)
        ttl = int(self.red.ttl(legacy) or 0)
        expiry = ttl if ttl > 0 else int(self.record_exp or 0)
        done = self._migrate(keys=[events_key, marks_key, tombstone, legacy],
                             args=[expiry, len(marks), *(m.dumps() for m in marks),
                                   *(_dumps(e) for e in events)])
        if done == 1:
            with logs.session_scope(sender):
                logs.event(logger, logging.INFO, "tracker_migrated", events=len(events))


def _refuse_forms(domain: Optional[Domain]) -> None:
    """Forms are refused: a loop's unhappy path looks at where it first ran, however long ago."""
    if domain is not None and domain.form_names:
        raise UnboundedHistoryError(
            f"forms {domain.form_names} need the whole history; use the stock Redis store")


def migrated(old: DialogueStateTracker, domain: Domain) -> Tuple[List[Event], List[Mark]]:
    """An old-style tracker's events and the marks a turn-by-turn save would have left.

    A mark goes before every user message (where a turn's save would have ended); the last one
    where the stored events end.
    """
    events = list(old.events)
    replay = DialogueStateTracker(old.sender_id, domain.slots)
    marks: List[Mark] = []
    session_at: Optional[int] = None
    for i, event in enumerate(events):
        if isinstance(event, UserUttered) and i:
            marks.append(mark_of(replay, i, session_at))
        if isinstance(event, ActionExecuted) and event.action_name == ACTION_SESSION_START_NAME:
            session_at = i
        replay.update(event)
    marks.append(mark_of(replay, len(events), session_at))
    return events, marks[-MARKS_KEPT:]


@functools.cache
def _event_class(type_name: str) -> Optional[Type[Event]]:
    """Rasa's class for an event type name (`Event.resolve_by_type`, which walks every
    subclass of Event on each call: a quarter of a millisecond per event, most of a window's
    read), resolved once per name."""
    return Event.resolve_by_type(type_name)


def _deserialise(dicts: List[Dict[str, Any]]) -> List[Event]:
    """`rasa.shared.core.events.deserialise_events`, with each type's class resolved once."""
    out: List[Event] = []
    for params in dicts:
        name = params.get("event")
        cls = _event_class(name) if name is not None else None
        event = cls._from_parameters(params) if cls is not None else None
        if event is not None:
            out.append(event)
    return out


def _ts(dicts: List[Dict[str, Any]]) -> float:
    """A timestamp for the window's state events: just before its first event."""
    return float(dicts[0].get("timestamp") or 0.0) if dicts else 0.0
