"""The Redis key schema: the only contract between the vision sidecar and the bot.

Every key name is built here and nowhere else. `docs/redis-schema.md` describes the same schema
for people; change both together.
"""

from __future__ import annotations

import re
from typing import Tuple

PREFIX = "emotical:"

#: Session and shopper ids: letters, digits, `_`, `-`, `.`, `:` (Rasa sender ids such as
#: socket.io sids fit), 1..128 characters.
_ID_RE = re.compile(r"[A-Za-z0-9_.:-]{1,128}")

#: Time to live of session keys (seconds), refreshed while the session is written: 2 days.
#: A session is one visit to the shop; what outlives it is the profile (its own TTL). Keeping
#: face readings longer than the shopper could want their report only keeps more to leak.
SESSION_TTL_S = 2 * 24 * 3600
#: Approximate cap of the per-session history stream (XADD MAXLEN ~): 6000 entries are the last
#: 10 minutes at 10 frames/s. The report reads and sends the whole stream (in pages); 20,000
#: entries cost 6.8 MB and 0.75 s to build, for a chart that needs far fewer points.
HISTORY_MAXLEN = 6_000
CHAT_MAXLEN = 5_000

#: Fields of the `session:{sid}:emotion` hash besides one probability per label. `uncertain`
#: "1": a face was there but no label was confident (`dominant` is then labels.UNCERTAIN).
EMOTION_FIELDS: Tuple[str, ...] = ("dominant", "valence", "arousal", "score", "face_present",
                                   "uncertain", "ts")
#: Extra fields of a history entry whose frame carried the product video's state: its time
#: (seconds), whether it was playing ("1"/"0"), and the chapter on screen (0-based; absent
#: outside every chapter).
VIDEO_FIELDS: Tuple[str, ...] = ("video_t", "playing", "chapter")


class InvalidIdError(ValueError):
    """A session or shopper id that may not be used in a key."""


def validate_id(value: object, kind: str = "session") -> str:
    """Return `value` if it is a well-formed id, else raise InvalidIdError naming `kind`."""
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        raise InvalidIdError(
            f"invalid {kind} id {value!r}: use 1-128 characters from A-Z a-z 0-9 _ . : -"
        )
    return value


def session_emotion(sid: str) -> str:
    """Hash: latest smoothed emotion state of a session (sidecar writes, actions read)."""
    return f"{PREFIX}session:{validate_id(sid)}:emotion"


def session_history(sid: str) -> str:
    """Stream: every processed frame's state, capped at HISTORY_MAXLEN."""
    return f"{PREFIX}session:{validate_id(sid)}:history"


def session_chat(sid: str) -> str:
    """Stream: sentiment of each shopper message in the session (actions write)."""
    return f"{PREFIX}session:{validate_id(sid)}:chat"


def session_meta(sid: str) -> str:
    """Hash: shopper_id, product_id and start time of a session (actions write)."""
    return f"{PREFIX}session:{validate_id(sid)}:meta"


#: Rasa's RedisTrackerStore names its keys `<key_prefix>:tracker:<sender_id>`; endpoints.yml sets
#: key_prefix to "emotical", and the widget's socket.io channel (bot/channels.py, with
#: session_persistence) makes the sender id the session id.
RASA_TRACKER_PREFIX = f"{PREFIX}tracker:"


def session_said(sid: str) -> str:
    """Hash: what the bot must not repeat within one Rasa session (sympathy lines, preference
    tags asked): field `<kind>:<value>` -> the start time of the Rasa session it was said in
    (actions write, so they need not read the whole conversation)."""
    return f"{PREFIX}session:{validate_id(sid)}:said"


def session_chapters(sid: str) -> str:
    """Hash: what the sidecar saw per chapter of the product video while it played
    (`<i>:frames`, `<i>:face`, `<i>:valence`, `<i>:confidence`, `<i>:emo:<label>`) and what the
    chapter taught (`<i>:learned` the signed step, `<i>:learned_at`)."""
    return f"{PREFIX}session:{validate_id(sid)}:chapters"


def session_tracker(sid: str) -> str:
    """String: Rasa's stored conversation of the session in Rasa's own layout (the stock store;
    the windowed store moves it into the two lists below on first access)."""
    return f"{RASA_TRACKER_PREFIX}{validate_id(sid)}"


def session_tracker_events(sid: str) -> str:
    """List: every event of the session's conversation, one JSON each, appended per turn
    (bot/windowed_tracker_store.py writes; deleted with the session)."""
    return f"{session_tracker(sid)}:events"


def session_tracker_marks(sid: str) -> str:
    """List: the windowed tracker store's per-turn marks (slot state, where each turn ended)."""
    return f"{session_tracker(sid)}:marks"


RASA_LOCK_PREFIX = f"{PREFIX}lock:"

#: How long a deleted session's tombstone lives (seconds): long enough that a camera still
#: streaming, a frame in flight or Rasa's save after the delete action find it and store nothing.
TOMBSTONE_TTL_S = 15 * 60


def session_lock(sid: str) -> str:
    """String: Rasa's lock of the session's conversation (Rasa's RedisLockStore)."""
    return f"{RASA_LOCK_PREFIX}{validate_id(sid)}"


def session_tombstone(sid: str) -> str:
    """String: present for TOMBSTONE_TTL_S after a session was deleted; nothing may recreate it."""
    return f"{PREFIX}session:{validate_id(sid)}:deleted"


def session_keys(sid: str) -> Tuple[str, ...]:
    """Every key a session owns, for reports and deletion (Rasa's conversation included)."""
    return (session_emotion(sid), session_history(sid), session_chat(sid), session_meta(sid),
            session_said(sid), session_chapters(sid), session_tracker(sid),
            session_tracker_events(sid), session_tracker_marks(sid))


def shopper_tags(uid: str) -> str:
    """Hash: tag → weight in [-1, 1]. No TTL: lasts until the shopper deletes it."""
    return f"{PREFIX}shopper:{validate_id(uid, 'shopper')}:tags"


def shopper_tag_counts(uid: str) -> str:
    """Hash: tag → number of observations (how much the profile knows about the tag)."""
    return f"{PREFIX}shopper:{validate_id(uid, 'shopper')}:tagcounts"


def shopper_seen(uid: str) -> str:
    """Set: product ids already shown to the shopper."""
    return f"{PREFIX}shopper:{validate_id(uid, 'shopper')}:seen"


def shopper_sessions(uid: str) -> str:
    """Set: session ids of the shopper, so their data can be found and deleted."""
    return f"{PREFIX}shopper:{validate_id(uid, 'shopper')}:sessions"


def shopper_keys(uid: str) -> Tuple[str, ...]:
    """Every key a shopper profile owns (sessions listed in shopper_sessions come on top)."""
    return (shopper_tags(uid), shopper_tag_counts(uid), shopper_seen(uid), shopper_sessions(uid))
