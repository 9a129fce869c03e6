"""AWS Rekognition as an expression backend, with a per-session call budget.

Each session may call `detect_faces` at most `per_minute` times in any 60 s; the local model
answers every other frame, and any throttling or network error (logged) as well. After a
throttling answer the backend stays quiet for `cooldown_s`.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any, Callable, Deque, Dict, Optional, Sequence

import numpy as np

from emotical_shared.labels import LABELS, REKOGNITION_TO_LABEL, to_label_probs
from emotical_shared.logs import event
from vision_sidecar.expression.base import ExpressionBackend, FaceJob

log = logging.getLogger(__name__)

THROTTLING_CODES = frozenset({
    "ThrottlingException", "ProvisionedThroughputExceededException", "LimitExceededException",
    "TooManyRequestsException", "RequestLimitExceeded",
})


class RekognitionBackend:
    """Rekognition for a budgeted share of frames, the `fallback` backend for the rest."""

    name = "rekognition"

    def __init__(self, client: Any, fallback: ExpressionBackend, per_minute: int,
                 cooldown_s: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.fallback = fallback
        self.per_minute = per_minute
        self.cooldown_s = cooldown_s
        self.clock = clock
        self._calls: Dict[str, Deque[float]] = collections.defaultdict(collections.deque)
        self._quiet_until = 0.0
        self._lock = threading.Lock()
        self.stats: collections.Counter[str] = collections.Counter()  # calls, answers, fallbacks by reason

    def _may_call(self, sid: str) -> bool:
        now = self.clock()
        with self._lock:
            if now < self._quiet_until or self.per_minute <= 0:
                return False
            calls = self._calls[sid]
            while calls and now - calls[0] >= 60.0:
                calls.popleft()
            if len(calls) >= self.per_minute:
                return False
            calls.append(now)
            return True

    def ask(self, job: FaceJob) -> Optional[np.ndarray]:
        """Rekognition's label probabilities for the largest face in the frame, or None."""
        from botocore.exceptions import BotoCoreError, ClientError

        self.stats["calls"] += 1
        try:
            answer = self.client.detect_faces(Image={"Bytes": job.image}, Attributes=["EMOTIONS"])
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "ClientError")
            if code in THROTTLING_CODES:
                with self._lock:
                    self._quiet_until = self.clock() + self.cooldown_s
                self.stats["throttled"] += 1
            else:
                self.stats["error"] += 1
            event(log, logging.WARNING, "rekognition_failed", session=job.sid, code=code,
                  fallback="local")
            return None
        except BotoCoreError as exc:
            self.stats["error"] += 1
            event(log, logging.WARNING, "rekognition_failed", session=job.sid,
                  code=type(exc).__name__, fallback="local")
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

    def classify(self, jobs: Sequence[FaceJob]) -> np.ndarray:
        out = self.fallback.classify(jobs)
        for i, job in enumerate(jobs):
            if job.image and self._may_call(job.sid):
                probs = self.ask(job)
                if probs is not None:
                    out[i] = probs
        return out
