"""Aspect attribution: each processed frame's smoothed emotion goes to the product video's
chapter on screen, and a chapter the shopper watched teaches its tags once it ends.

The widget sends `{"type": "video", "t", "playing", "ended"}` right before each frame on the
WebSocket (`ws.py`); that stamp travels with the frame to the store in `FRAME_VIDEO` (a context
variable: the pipeline hands the store only the state, and a frame is processed in the task
that set it). The store then writes, in the frame's one Lua script (tombstone first),
`video_t`/`playing`/`chapter` into the history entry and the chapter's counts into
`session:{sid}:chapters`.

Only frames of a playing video inside a chapter, whose stamp is fresh (sent at most
`STAMP_MAX_AGE_S` before the frame), count; a frame without a face counts as seen, not as a
reaction. A chapter ends when a playing frame is in another chapter, when the video ended or
when the socket closes; its tags then move once per session by `emotical_shared.tag_rule`'s
bounded update, with the step of `ChapterReaction.step` (EMOTICAL_CHAPTER_LEARNING_RATE scaled
by the model's confidence and the face share; nothing for an unclear reaction).
"""

from __future__ import annotations

import math
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from emotical_shared.chapters import Chapter, chapter_at, learned_step, reaction_from_fields
from emotical_shared.labels import LABELS

#: A stamp sent longer than this before its frame arrived describes another moment.
STAMP_MAX_AGE_S = 1.0
#: Longest video time a stamp may carry (a day: anything beyond is a bug or a probe).
MAX_VIDEO_T = 86_400.0


class BadStampError(ValueError):
    """A video stamp that is not `{"type": "video", "t": seconds, "playing": bool}`."""


@dataclass(frozen=True)
class VideoStamp:
    """The product video's state when a frame was captured."""

    t: float
    playing: bool
    ended: bool
    received: float  # unix seconds the sidecar got the stamp

    @classmethod
    def parse(cls, message: Mapping[str, Any], received: float) -> VideoStamp:
        t, playing, ended = message.get("t"), message.get("playing"), message.get("ended", False)
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) \
                or not 0 <= t <= MAX_VIDEO_T:
            raise BadStampError(f"video t must be seconds in 0..{MAX_VIDEO_T:g}")
        if not isinstance(playing, bool) or not isinstance(ended, bool):
            raise BadStampError("video playing and ended must be true or false")
        return cls(float(t), playing, ended, received)


@dataclass(frozen=True)
class FrameVideo:
    """A frame's video stamp and the chapter on screen then (None outside every chapter)."""

    stamp: VideoStamp
    chapter: Optional[Chapter]
    fresh: bool

    @property
    def counts(self) -> bool:
        """True when the frame is attributed to its chapter."""
        return self.fresh and self.stamp.playing and not self.stamp.ended \
            and self.chapter is not None


FRAME_VIDEO: ContextVar[Optional[FrameVideo]] = ContextVar("emotical_frame_video", default=None)


def frame_video(stamp: Optional[VideoStamp], chapters: Sequence[Chapter],
                frame_received: float) -> Optional[FrameVideo]:
    """What a frame received at `frame_received` knows of the video (None without a stamp)."""
    if stamp is None:
        return None
    fresh = 0 <= frame_received - stamp.received <= STAMP_MAX_AGE_S
    return FrameVideo(stamp, chapter_at(chapters, stamp.t), fresh)


def attribution(video: Optional[FrameVideo],
                fields: Mapping[str, str]) -> Tuple[List[str], List[str]]:
    """(extra history fields, chapter hash increments), each a flat [name, value, ...] list,
    for a frame's state `fields` (`store.state_fields`). A face without a confident reading
    (`uncertain`) counts as a frame without a face: it neither shows nor teaches an emotion."""
    if video is None:
        return [], []
    extra = ["video_t", f"{video.stamp.t:.3f}", "playing", "1" if video.stamp.playing else "0"]
    if video.chapter is not None:
        extra += ["chapter", str(video.chapter.index)]
    if not video.counts:
        return extra, []
    i = video.chapter.index  # type: ignore[union-attr]  # counts implies a chapter
    incr = [f"{i}:frames", "1"]
    if fields.get("face_present") == "1" and fields.get("uncertain") != "1":
        top = max(float(fields.get(label, 0.0)) for label in LABELS)
        incr += [f"{i}:face", "1", f"{i}:valence", fields.get("valence", "0"),
                 f"{i}:confidence", f"{top:.5f}", f"{i}:emo:{fields.get('dominant')}", "1"]
    return extra, incr


class ChapterTracker:
    """Which chapter a socket's shopper is watching; says when one ends."""

    def __init__(self) -> None:
        self.open: Optional[Chapter] = None

    def observe(self, video: Optional[FrameVideo]) -> Optional[Chapter]:
        """The chapter that ended with this frame, if one did."""
        if video is None or not video.fresh:
            return None
        if video.stamp.ended:
            ended, self.open = self.open, None
            return ended
        if not video.stamp.playing or video.chapter is None:
            return None  # paused (may resume) or between chapters (the open one stays open)
        if self.open is not None and self.open.index != video.chapter.index:
            ended, self.open = self.open, video.chapter
            return ended
        self.open = video.chapter
        return None

    def close(self) -> Optional[Chapter]:
        """The chapter open when the session's socket closed."""
        ended, self.open = self.open, None
        return ended


def chapter_rows(chapters: Sequence[Chapter], fields: Mapping[str, str],
                 min_valence: float) -> List[Dict[str, Any]]:
    """The report's per-chapter table: aspect, frames, face share, mean valence, dominant
    emotion, and the step its tags got (None while not learned)."""
    rows = []
    for c in chapters:
        r = reaction_from_fields(fields, c.index)
        learned = learned_step(fields, c.index)
        rows.append({**c.as_json(), "frames": r.frames, "face_frames": r.face_frames,
                     "face_share": round(r.face_share, 3),
                     "mean_valence": round(r.mean_valence, 3) if r.face_frames else None,
                     "dominant": r.dominant,
                     "reaction": {1: "positive", -1: "negative"}.get(r.polarity(min_valence),
                                                                     "unclear"),
                     "tag_step": learned})
    return rows
