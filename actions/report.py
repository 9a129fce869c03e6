"""The session score the shopper sees when asking for their report.

The rule lives in `emotical_shared.scoring`, shared with the sidecar's report page.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

from emotical_shared.scoring import frame_valence, session_scores


def session_score(history: Sequence[Mapping[str, str]], chat_scores: Sequence[float]) -> Optional[int]:
    """Session score in -100..100 from raw history-stream fields, or None when nothing was measured."""
    frames = [fv for fv in (frame_valence(f) for f in history) if fv is not None]
    return session_scores(frames, chat_scores)["session"]
