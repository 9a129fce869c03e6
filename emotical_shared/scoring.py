"""The session score (-100..100) shown to the shopper: one rule for the bot and the report page.

face  = mean valence of the frames with a face read with confidence (not `uncertain`), each
        weighted by the reading's confidence (its most probable label's probability, as the
        sidecar stores it)
chat  = mean sentiment score of the shopper's messages
session = face and chat averaged, weighted by their numbers of frames and messages, so a long
          camera session and a short chat both count; every part clamped to -100..100.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence, Tuple

from emotical_shared.labels import LABELS, valence_of

_FALSE = {"0", "false", "no", ""}


def _num(value: Any) -> Optional[float]:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def frame_valence(fields: Mapping[str, Any]) -> Optional[Tuple[float, float]]:
    """(valence, weight) of one history-stream entry, or None when it had no face or no
    confident reading of it (`uncertain` "1").

    Valence comes from the `valence` field, else from the per-label probabilities; the weight
    is the reading's confidence: the largest per-label probability, 1 when none is stored.
    """
    if str(fields.get("face_present", "1")).lower() in _FALSE \
            or str(fields.get("uncertain", "0")).lower() not in _FALSE:
        return None
    probs = {label: _num(fields.get(label)) or 0.0 for label in LABELS}
    valence = _num(fields.get("valence"))
    if valence is None:
        if not any(probs.values()):
            return None
        valence = valence_of(probs)
    weight = max(probs.values())
    return valence, weight if weight > 0 else 1.0


def _clamped(x: Optional[float]) -> Optional[int]:
    return None if x is None else round(max(-100.0, min(100.0, x)))


def session_scores(
    frames: Iterable[Tuple[float, float]], chat_scores: Sequence[float]
) -> Dict[str, Optional[int]]:
    """{session, face, chat, face_frames, chat_messages}; a score is None when nothing fed it."""
    num = den = 0.0
    count = 0
    for valence, weight in frames:
        num += weight * valence
        den += weight
        count += 1
    face = 100.0 * num / den if den else None
    chat = 100.0 * sum(chat_scores) / len(chat_scores) if chat_scores else None
    parts = [(face, count), (chat, len(chat_scores))]
    total = sum(n for value, n in parts if value is not None)
    session = sum(value * n for value, n in parts if value is not None) / total if total else None
    return {"session": _clamped(session), "face": _clamped(face), "chat": _clamped(chat),
            "face_frames": count, "chat_messages": len(chat_scores)}
