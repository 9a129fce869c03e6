"""Mood fusion: the face reading from the vision sidecar and the message sentiment, made one.

Pure functions, no Rasa and no Redis: `FaceReading.from_hash` parses what the sidecar writes to
`session:{sid}:emotion`, `TextReading.from_sentiment` what the NLU component puts in the parse
data, and `fuse` weighs them into the slots the dialogue branches on.

Rule: valence = (w_face·v_face + w_text·v_text) / (w_face + w_text), where a missing, faceless,
uncertain (a face without a confident label: the sidecar's `uncertain`) or stale face reading
(older than `face_stale_s`) has weight 0, and a message without sentiment likewise.
|valence| ≥ t1 makes the mood positive/negative; a negative mood asks for sympathy level
1, 2 or 3 as |valence| passes t1, t2, t3. A face that is clearly confused or fearful asks for at
least level 1 even when the valence is mild (they need help more than comfort).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional

from emotical_shared.labels import LABELS, NEUTRAL_LABEL, UNCERTAIN, VALENCE_AROUSAL, valence_of

from .settings import Settings

#: Emotions whose clear presence asks for help even at mild valence.
HELP_EMOTIONS = ("confused", "fearful")


@dataclass(frozen=True)
class FaceReading:
    """The latest smoothed face state of a session."""

    probs: Mapping[str, float]
    dominant: str
    valence: float
    arousal: float
    face_present: bool
    ts: float
    #: A face was there but the sidecar had no confident reading of it: no reading to use.
    uncertain: bool = False

    @classmethod
    def from_hash(cls, raw: Mapping[str, Any]) -> Optional[FaceReading]:
        """Parse the sidecar's emotion hash; None when it is empty or malformed."""
        if not raw:
            return None
        try:
            probs = {label: float(raw.get(label, 0.0) or 0.0) for label in LABELS}
            ts = float(raw["ts"])
        except (KeyError, TypeError, ValueError):
            return None
        dominant = str(raw.get("dominant") or max(probs, key=probs.__getitem__))
        uncertain = (dominant == UNCERTAIN
                     or str(raw.get("uncertain", "0")).strip().lower() in ("1", "true", "yes"))
        if dominant not in LABELS:
            dominant = max(probs, key=probs.__getitem__)
        try:
            valence = float(raw["valence"])
        except (KeyError, TypeError, ValueError):
            valence = valence_of(probs)
        try:
            arousal = float(raw.get("arousal", 0.0))
        except (TypeError, ValueError):
            arousal = 0.0
        present = str(raw.get("face_present", "1")).strip().lower() in ("1", "true", "yes")
        return cls(probs=probs, dominant=dominant, valence=_clip(valence), arousal=_clip(arousal),
                   face_present=present, ts=ts, uncertain=uncertain)

    def age(self, now: float) -> float:
        """Seconds since the reading was taken."""
        return max(0.0, now - self.ts)

    def usable(self, now: float, stale_s: float) -> bool:
        """A face was seen, read with confidence, and the reading is fresh enough to count."""
        return self.face_present and not self.uncertain and self.age(now) <= stale_s


@dataclass(frozen=True)
class TextReading:
    """The sentiment of the shopper's latest message (from the NLU component)."""

    score: float
    label: str

    @classmethod
    def from_sentiment(cls, sentiment: Optional[Mapping[str, Any]]) -> Optional[TextReading]:
        """Parse `parse_data["sentiment"]`; None when absent or malformed."""
        if not isinstance(sentiment, Mapping):
            return None
        try:
            score = float(sentiment["score"])
        except (KeyError, TypeError, ValueError):
            return None
        return cls(score=_clip(score), label=str(sentiment.get("label", "")))


@dataclass(frozen=True)
class Mood:
    """The fused state that fills the `mood`, `valence`, `dominant_emotion` and
    `sympathy_level` slots."""

    mood: str
    valence: float
    dominant_emotion: str
    sympathy_level: int
    intensity: float
    face_used: bool
    text_used: bool

    def slots(self) -> Dict[str, Any]:
        """Slot name → value."""
        return {
            "mood": self.mood,
            "valence": round(self.valence, 4),
            "dominant_emotion": self.dominant_emotion,
            "sympathy_level": float(self.sympathy_level),
        }


NEUTRAL_MOOD = Mood("neutral", 0.0, NEUTRAL_LABEL, 0, 0.0, False, False)


def fuse(face: Optional[FaceReading], text: Optional[TextReading], settings: Settings,
         now: float, intent: Optional[str] = None) -> Mood:
    """Fuse a face reading and a message sentiment into a Mood (see the module docstring)."""
    face_ok = face is not None and settings.face_weight > 0 and face.usable(now, settings.face_stale_s)
    text_ok = text is not None and settings.text_weight > 0
    w_face = settings.face_weight if face_ok else 0.0
    w_text = settings.text_weight if text_ok else 0.0
    if w_face + w_text <= 0:
        return NEUTRAL_MOOD
    v_face = face.valence if face_ok and face is not None else 0.0
    v_text = text.score if text_ok and text is not None else 0.0
    valence = _clip((w_face * v_face + w_text * v_text) / (w_face + w_text))

    t1, t2, t3 = settings.sympathy_thresholds
    mood = "positive" if valence >= t1 else "negative" if valence <= -t1 else "neutral"
    dominant = _dominant(face if face_ok else None, mood, intent)

    level = 0
    if mood == "negative":
        level = 3 if valence <= -t3 else 2 if valence <= -t2 else 1
    if (level == 0 and face_ok and face is not None and mood != "positive"
            and dominant in HELP_EMOTIONS
            and face.probs.get(dominant, 0.0) >= settings.help_emotion_min_prob):
        level = 1
    arousal = face.arousal if face_ok and face is not None else 0.0
    intensity = min(1.0, abs(valence) * (1.0 + 0.5 * max(0.0, arousal)))
    return Mood(mood, valence, dominant, level, intensity, face_ok, text_ok)


def _dominant(face: Optional[FaceReading], mood: str, intent: Optional[str]) -> str:
    """The emotion to name: the face's likeliest label that agrees with the mood, else one
    inferred from the mood and intent (a complaint in a negative mood reads as anger)."""
    if face is not None:
        if mood == "neutral":
            return face.dominant
        sign = 1 if mood == "positive" else -1
        agreeing = [(p, label) for label, p in face.probs.items()
                    if sign * VALENCE_AROUSAL[label][0] > 0 and p > 0]
        if agreeing:
            return max(agreeing)[1]
    if mood == "positive":
        return "happy"
    if mood == "negative":
        return "angry" if intent == "complain" else "sad"
    return NEUTRAL_LABEL


def _clip(x: float) -> float:
    return max(-1.0, min(1.0, x))
