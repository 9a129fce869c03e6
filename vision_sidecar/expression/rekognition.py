"""AWS Rekognition as an expression backend: budgeted, bounded in time, off the frame threads.

The local model reads every frame (`classify`, on the frame threads). For a share of frames
Rekognition reads the face as well and its answer replaces the local one:

- `wants(sid)`, asked on the frame thread, takes one call from the budgets: at most
  `per_minute` per session and `global_per_minute` over all sessions in any 60 s, none while the
  circuit breaker is open. Only then does the pipeline crop the face (`face_crop_jpeg`: the
  face with a margin, at least `MIN_CROP_SIDE` pixels a side, grey JPEG): Rekognition never
  sees the rest of the frame.
- `refine(job)` runs the call on the backend's own pool of `pool_size` threads, never on the
  frame threads; with every thread busy the frame keeps its local reading (nothing queues).
  The client is built with `CLIENT_CONFIG` (1 s to connect, 2 s to read, one attempt), so a
  call ends within about 3 s.
- Any error (throttling, a refused request, the network) opens the breaker for `cooldown_s`:
  no call at all until then, the local model answering alone.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, Callable, Deque, Dict, Optional, Sequence

import cv2
import numpy as np

from emotical_shared.labels import LABELS, REKOGNITION_TO_LABEL, to_label_probs
from emotical_shared.logs import event
from vision_sidecar.expression.base import ExpressionBackend, FaceJob
from vision_sidecar.faces import Box

log = logging.getLogger(__name__)

THROTTLING_CODES = frozenset({
    "ThrottlingException", "ProvisionedThroughputExceededException", "LimitExceededException",
    "TooManyRequestsException", "RequestLimitExceeded",
})
#: botocore client settings: short timeouts, one attempt (the local model is the retry).
#: botocore's `max_attempts` counts retries (1 means two tries); `total_max_attempts` counts
#: the first try too.
CLIENT_CONFIG: Dict[str, Any] = {"connect_timeout": 1, "read_timeout": 2,
                                 "retries": {"total_max_attempts": 1}}
#: Smallest side of the crop sent (Rekognition wants faces of 40+ px in images of 80+).
MIN_CROP_SIDE = 80
#: Margin around the face box, as a share of its size on each side.
CROP_MARGIN = 0.25
WINDOW_S = 60.0


def face_crop_jpeg(gray: np.ndarray, box: Box, margin: float = CROP_MARGIN,
                   min_side: int = MIN_CROP_SIDE) -> bytes:
    """The face of `box` (x, y, w, h in `gray`'s pixels) with a margin, scaled up to at least
    `min_side` a side, as JPEG bytes."""
    x, y, w, h = box
    mx, my = int(w * margin), int(h * margin)
    x0, y0 = max(0, x - mx), max(0, y - my)
    x1, y1 = min(gray.shape[1], x + w + mx), min(gray.shape[0], y + h + my)
    crop = gray[y0:y1, x0:x1]
    short = min(crop.shape[:2])
    if short < min_side:
        factor = min_side / max(short, 1)
        crop = cv2.resize(crop, (max(min_side, round(crop.shape[1] * factor)),
                                 max(min_side, round(crop.shape[0] * factor))),
                          interpolation=cv2.INTER_LINEAR)
    ok, buf = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise ValueError("the face crop could not be encoded")
    return buf.tobytes()


class RekognitionBackend:
    """The `fallback` backend for every frame, Rekognition for a budgeted share of faces."""

    name = "rekognition"

    def __init__(self, client: Any, fallback: ExpressionBackend, per_minute: int,
                 global_per_minute: int = 120, cooldown_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic, pool_size: int = 2,
                 pool: Optional[Executor] = None) -> None:
        self.client = client
        self.fallback = fallback
        #: Rekognition's eight (confused among them) and whatever the fallback adds.
        self.labels = tuple(label for label in LABELS
                            if label in REKOGNITION_TO_LABEL.values() or label in fallback.labels)
        self.per_minute = per_minute
        self.global_per_minute = global_per_minute
        self.cooldown_s = cooldown_s
        self.clock = clock
        self.pool_size = pool_size
        self.pool = pool or ThreadPoolExecutor(max_workers=pool_size,
                                               thread_name_prefix="rekognition")
        self._calls: Dict[str, Deque[float]] = {}
        self._all_calls: Deque[float] = collections.deque()
        self._open_until = 0.0
        self._running = 0
        self._lock = threading.Lock()
        self.stats: collections.Counter[str] = collections.Counter()  # calls, answers, fallbacks by reason

    def close(self) -> None:
        """Stop the call threads (calls still queued are dropped)."""
        self.pool.shutdown(wait=True, cancel_futures=True)

    @property
    def breaker_open(self) -> bool:
        return self.clock() < self._open_until

    def classify(self, jobs: Sequence[FaceJob]) -> np.ndarray:
        """The local model's reading (the frame threads never wait for the network)."""
        return self.fallback.classify(jobs)

    def wants(self, sid: str) -> bool:
        """Whether session `sid` may send this face now; True takes one call from the budgets."""
        now = self.clock()
        with self._lock:
            if now < self._open_until or self.per_minute <= 0 or self.global_per_minute <= 0:
                return False
            if self._running >= self.pool_size:
                return False
            _expire(self._all_calls, now)
            if len(self._all_calls) >= self.global_per_minute:
                self.stats["global_budget"] += 1
                return False
            calls = self._calls.setdefault(sid, collections.deque())
            _expire(calls, now)
            if len(calls) >= self.per_minute:
                return False
            calls.append(now)
            self._all_calls.append(now)
            if len(self._calls) > 4 * self.global_per_minute:  # bound the table
                self._calls = {s: q for s, q in self._calls.items() if q and now - q[-1] < WINDOW_S}
            return True

    def _open_breaker(self) -> None:
        with self._lock:
            self._open_until = self.clock() + self.cooldown_s

    def ask(self, job: FaceJob) -> Optional[np.ndarray]:
        """Rekognition's label probabilities for the largest face in `job.image`, or None (any
        error opens the breaker)."""
        from botocore.exceptions import BotoCoreError, ClientError

        self.stats["calls"] += 1
        try:
            answer = self.client.detect_faces(Image={"Bytes": job.image}, Attributes=["EMOTIONS"])
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "ClientError")
            self.stats["throttled" if code in THROTTLING_CODES else "error"] += 1
            self._open_breaker()
            event(log, logging.WARNING, "rekognition_failed", session=job.sid, code=code,
                  fallback="local", cooldown_s=self.cooldown_s)
            return None
        except (BotoCoreError, OSError, ValueError) as exc:
            self.stats["error"] += 1
            self._open_breaker()
            event(log, logging.WARNING, "rekognition_failed", session=job.sid,
                  code=type(exc).__name__, fallback="local", cooldown_s=self.cooldown_s)
            return None
        faces = answer.get("FaceDetails") or []
        if not faces:
            self.stats["no_face"] += 1
            return None
        face = max(faces, key=lambda f: f.get("BoundingBox", {}).get("Width", 0)
                   * f.get("BoundingBox", {}).get("Height", 0))
        scores = {e["Type"]: float(e.get("Confidence", 0.0)) for e in face.get("Emotions", [])}
        probs = to_label_probs(scores, REKOGNITION_TO_LABEL)
        self.stats["answers"] += 1
        return np.array([probs[label] for label in LABELS], dtype=np.float32)

    def _ask_counted(self, job: FaceJob) -> Optional[np.ndarray]:
        try:
            return self.ask(job)
        finally:
            with self._lock:
                self._running -= 1

    async def refine(self, job: FaceJob) -> Optional[np.ndarray]:
        """`ask` on the backend's own threads; None at once when they are all busy."""
        with self._lock:
            if self._running >= self.pool_size:
                self.stats["pool_busy"] += 1
                return None
            self._running += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self.pool, self._ask_counted, job)
        except RuntimeError:  # the pool was shut down before the call started
            with self._lock:
                self._running -= 1
            return None


def _expire(calls: Deque[float], now: float) -> None:
    while calls and now - calls[0] >= WINDOW_S:
        calls.popleft()
