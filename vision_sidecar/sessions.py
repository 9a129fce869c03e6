"""In-memory state per shopper session: face track, smoother row, frame-rate budget, when the
expression model last read the face.

The smoothed emotion of every session lives in one float64 table (one row per session) that
the native `update_sessions` kernel advances; derived numbers only, never frames.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

from emotical_shared.labels import AROUSAL, LABEL_INDEX, NEUTRAL_LABEL, VALENCE
from native import (
    COL_VALENCE_SUM,
    COL_WEIGHT,
    OUT_AROUSAL,
    OUT_DOMINANT,
    OUT_SCORE,
    OUT_VALENCE,
    STATE_COLUMNS,
    kernels,
)
from vision_sidecar.chapters import ChapterTracker
from vision_sidecar.faces import TrackState

VALENCE_VEC = np.array(VALENCE, dtype=np.float64)
AROUSAL_VEC = np.array(AROUSAL, dtype=np.float64)
NEUTRAL_INDEX = LABEL_INDEX[NEUTRAL_LABEL]
#: Longest gap between two frames the smoother counts (a paused camera is not a decade).
MAX_GAP_S = 10.0


class RateLimiter:
    """Token bucket: `rate` frames per second on average, bursts of up to `burst`."""

    def __init__(self, rate: float, burst: float = 2.0) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self.tokens = self.burst
        self.stamp = time.monotonic()

    def _refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def try_acquire(self) -> bool:
        """Take a token if one is there."""
        self._refill(time.monotonic())
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def wait_time(self) -> float:
        """Seconds until a token is there (0 if one is)."""
        self._refill(time.monotonic())
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate


@dataclass
class ReadingClock:
    """When the expression model reads a session's face (EMOTICAL_EXPRESSION_HZ).

    A frame is read when the face is new (the session's first, or the first after a frame
    without one), or when its time reaches `next_ts`. Each reading moves `next_ts` on by
    `interval` from where it was (or to `interval - slack` after this reading, if that is
    later), so over any stretch the readings come at most once per `interval` plus one, and
    a frame up to `slack` early (camera jitter) still takes its turn: at 10 frames/s and
    5 readings/s, every second frame. `interval` 0: every frame is read. Times are the frames'
    own (`Pipeline.process`'s `ts`); a clock that went back starts the schedule again."""

    interval: float = 0.0
    slack: float = 0.0
    #: Time of the frame the latest reading is of; None: no reading of the face now in view.
    read_ts: Optional[float] = None
    next_ts: float = 0.0

    def due(self, ts: float) -> bool:
        """True when the frame at `ts` is to be read by the model."""
        return (self.interval <= 0 or self.read_ts is None or ts < self.read_ts
                or ts >= self.next_ts)

    def read(self, ts: float) -> None:
        """The model read the face of the frame at `ts`."""
        start = ts + self.interval - self.slack
        again = self.read_ts is None or ts < self.read_ts
        self.next_ts = start if again else max(self.next_ts + self.interval, start)
        self.read_ts = ts

    def lost(self) -> None:
        """A frame without a face: the next face is read at once."""
        self.read_ts = None

    def age(self, ts: float) -> Optional[float]:
        """Seconds from the latest reading to the frame at `ts` (None without one)."""
        return None if self.read_ts is None else max(0.0, ts - self.read_ts)


@dataclass
class Session:
    """One shopper session as this process knows it."""

    sid: str
    row: int
    limiter: RateLimiter
    track: TrackState = field(default_factory=TrackState)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    frames: int = 0
    last_seen: float = field(default_factory=time.monotonic)
    #: The chapter the session's HTTP frames are watching (a WebSocket keeps its own).
    chapters: ChapterTracker = field(default_factory=ChapterTracker)
    #: When the expression model last read this session's face, and reads it next.
    reading: ReadingClock = field(default_factory=ReadingClock)


class SessionRegistry:
    """Sessions by id and the smoother's state table; used from the event loop thread only."""

    def __init__(self, max_fps: float, tau_s: float, tau_decay_s: float,
                 capacity: int = 64, reading_interval_s: float = 0.0) -> None:
        self.max_fps = max_fps
        #: Seconds between two expression readings of a session (0: every frame), and how
        #: early a frame may come and still be read: half the shortest frame interval.
        self.reading_interval_s = reading_interval_s
        self.reading_slack_s = 0.5 / max_fps if reading_interval_s > 0 else 0.0
        self.tau_s = tau_s
        self.tau_decay_s = tau_decay_s
        self.table = np.zeros((capacity, STATE_COLUMNS), dtype=np.float64)
        self._free: List[int] = list(range(capacity - 1, -1, -1))
        self._sessions: Dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def get(self, sid: str) -> Session:
        """The session `sid` (already validated), created on first use."""
        session = self._sessions.get(sid)
        if session is None:
            if not self._free:
                old = len(self.table)
                self.table = np.vstack([self.table, np.zeros_like(self.table)])
                self._free = list(range(len(self.table) - 1, old - 1, -1))
            row = self._free.pop()
            self.table[row] = 0.0
            session = Session(sid, row, RateLimiter(self.max_fps, burst=2.0),
                              reading=ReadingClock(self.reading_interval_s,
                                                   self.reading_slack_s))
            self._sessions[sid] = session
        session.last_seen = time.monotonic()
        return session

    def find(self, sid: str) -> Optional[Session]:
        return self._sessions.get(sid)

    def drop(self, sid: str) -> bool:
        """Forget a session (after its keys are deleted); True if it was known."""
        session = self._sessions.pop(sid, None)
        if session is None:
            return False
        self.table[session.row] = 0.0
        self._free.append(session.row)
        return True

    def evict_idle(self, idle_s: float) -> int:
        """Forget sessions not seen for `idle_s` seconds; returns how many."""
        now = time.monotonic()
        stale = [sid for sid, s in self._sessions.items()
                 if now - s.last_seen > idle_s and not s.lock.locked()]
        for sid in stale:
            self.drop(sid)
        return len(stale)

    def smooth(self, rows: np.ndarray, probs: np.ndarray, ts: np.ndarray,
               present: np.ndarray) -> np.ndarray:
        """One smoothing step for each row (native kernel); (n, 4) valence/arousal/score/dominant."""
        return kernels.update_sessions(self.table, rows, probs, ts, present, VALENCE_VEC,
                                       AROUSAL_VEC, NEUTRAL_INDEX, self.tau_s, self.tau_decay_s,
                                       MAX_GAP_S)

    def current(self, row: int) -> np.ndarray:
        """A row's state as it stands, without a smoothing step: (4,) valence, arousal, score,
        dominant label index, as `smooth` returns them."""
        state = self.table[row]
        weight = state[COL_WEIGHT]
        score = 100.0 * state[COL_VALENCE_SUM] / weight if weight > 0 else 0.0
        out = np.zeros(4, dtype=np.float64)
        out[OUT_VALENCE] = float(state[:8] @ VALENCE_VEC)
        out[OUT_AROUSAL] = float(state[:8] @ AROUSAL_VEC)
        out[OUT_SCORE] = score
        out[OUT_DOMINANT] = float(np.argmax(state[:8]))
        return out

    def probs_of(self, row: int) -> np.ndarray:
        return self.table[row, :8]
