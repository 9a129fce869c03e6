"""The current turn's fused mood: read the face state from Redis, fuse it with the sentiment.

Used by `action_fuse_mood` (which stores it in slots) and by later actions of the same turn (which
reuse those slots instead of reading Redis again).
"""

from __future__ import annotations

import time
from typing import Optional, Tuple

from rasa_sdk import Tracker

from .context import TurnContext
from .fusion import FaceReading, Mood, TextReading, fuse
from .runtime import Runtime
from .store import RedisUnavailableError


async def read_face(rt: Runtime, ctx: TurnContext) -> Optional[FaceReading]:
    """The session's face reading, or None (reads disabled, no sidecar data, Redis down)."""
    if not rt.settings.emotion_reads:
        return None
    try:
        raw = await rt.store.read_emotion(ctx.session_id)
    except RedisUnavailableError:
        return None
    return FaceReading.from_hash(raw)


async def read_mood(rt: Runtime, ctx: TurnContext,
                    now: Optional[float] = None) -> Tuple[Mood, Optional[FaceReading], Optional[TextReading]]:
    """Fuse the live face reading with the message sentiment."""
    face = await read_face(rt, ctx)
    text = TextReading.from_sentiment(ctx.sentiment)
    mood = fuse(face, text, rt.settings, time.time() if now is None else now, ctx.intent)
    return mood, face, text


#: Set by the first `action_fuse_mood` of a conversation (it has no initial value) and by nothing
#: else: while it is unset the mood slots hold no fused mood yet.
FUSED_SLOT = "dominant_emotion"


def mood_from_slots(tracker: Tracker) -> Optional[Mood]:
    """This turn's mood as `action_fuse_mood` left it in the slots; None before its first run.

    Rasa runs `action_fuse_mood` (the mood slots' custom mapping) after every shopper message,
    before it predicts anything, so in a turn the slots already hold that turn's mood: the fuse
    sets only the slots that changed, and a slot it leaves alone holds the value it computed.
    No marker event is needed to tell, and the mood the actions answer is the one the policies
    branched on.
    """
    if tracker.get_slot(FUSED_SLOT) is None:
        return None
    valence = float(tracker.get_slot("valence") or 0.0)
    level = round(float(tracker.get_slot("sympathy_level") or 0.0))
    return Mood(
        mood=str(tracker.get_slot("mood") or "neutral"),
        valence=valence,
        dominant_emotion=str(tracker.get_slot(FUSED_SLOT)),
        sympathy_level=level,
        intensity=min(1.0, abs(valence)),
        face_used=False,
        text_used=True,
    )


async def current_mood(rt: Runtime, tracker: Tracker, ctx: TurnContext) -> Mood:
    """This turn's mood: from the slots once fused, else (an action run without Rasa's
    extraction, as in tests) fused now."""
    stored = mood_from_slots(tracker)
    if stored is not None:
        return stored
    mood, _face, _text = await read_mood(rt, ctx)
    return mood
