"""The session score the shopper sees when asking for their report.

Same rule as the sidecar's report page (`vision_sidecar/report.py`): the face score is the mean
valence of history frames with a face (weighted by their confidence), the chat score the mean
message sentiment, and the session score the two weighted by their numbers of frames and
messages; all in -100..100.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence, Tuple

from emotical_shared.labels import LABELS, valence_of


def _num(value: object) -> Optional[float]:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def frame_valence(fields: Mapping[str, str]) -> Optional[Tuple[float, float]]:
    """(valence, weight) of one history frame, or None when it had no face."""
    if str(fields.get("face_present", "1")).lower() in ("0", "false", "no", ""):
        return None
    valence = _num(fields.get("valence"))
    if valence is None:
        probs = {label: _num(fields.get(label)) or 0.0 for label in LABELS}
        if not any(probs.values()):
            return None
        valence = valence_of(probs)
    weight = _num(fields.get("confidence") or fields.get("face_confidence")) or 1.0
    return valence, weight


def session_score(history: Sequence[Mapping[str, str]], chat_scores: Sequence[float]) -> Optional[int]:
    """Session score in -100..100, or None when nothing was measured."""
    frames = [fv for fv in (frame_valence(f) for f in history) if fv is not None]
    den = sum(w for _, w in frames)
    parts = []
    if den > 0:
        parts.append((100.0 * sum(v * w for v, w in frames) / den, len(frames)))
    if chat_scores:
        parts.append((100.0 * sum(chat_scores) / len(chat_scores), len(chat_scores)))
    total = sum(n for _, n in parts)
    if not total:
        return None
    return round(max(-100.0, min(100.0, sum(v * n for v, n in parts) / total)))
