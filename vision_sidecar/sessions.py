"""In-memory state per shopper session: face track, smoother row, frame-rate budget.

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
from native import STATE_COLUMNS, kernels
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


class SessionRegistry:
    """Sessions by id and the smoother's state table; used from the event loop thread only."""

    def __init__(self, max_fps: float, tau_s: float, tau_decay_s: float,
                 capacity: int = 64) -> None:
        self.max_fps = max_fps
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
            session = Session(sid, row, RateLimiter(self.max_fps, burst=2.0))
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

    def probs_of(self, row: int) -> np.ndarray:
        return self.table[row, :8]
