"""One frame's way: bytes → grey (or colour) frame → shopper's face → model input → expression →
smoothed state → Redis.

Decoding, face finding, the crop kernel and the expression model run as one job, by default in
a worker process (`frame_worker.WorkerPool`: one process per core, each a single thread, fed
over a socket by the event loop), or on the thread pool (`EMOTICAL_FRAME_PROCESSES=false`, and
whenever a backend is handed in, as the in-process tests do). Batching the model across
sessions was measured and dropped: it saved 0.04 ms of CPU per face (0.41 ms alone, 0.37 in
batches of 6) but cost every frame a second trip through the queue. Smoothing (a few
microseconds, native) runs on the event loop, and the Redis write is coalesced across
sessions. Frames of one session are processed one at a time, in order (the session lock).

The expression model reads a session's face at most EMOTICAL_EXPRESSION_HZ times a second
(`sessions.ReadingClock`; 5 by default, every second frame at 10 frames/s): a frame in between
is decoded (straight to grey) and its face located (tracked) as every frame is, but neither
cropped nor read, and it is answered at once with the session's smoothed state as it stands,
the latest reading's age in `reading_age_s`. It adds nothing to the smoother (the next
reading's step spans the whole time since the last one), to the session score or to the
model's confidence; it is written to Redis as every frame is (the latest state at this
frame's time), so the history, the chapters' frame counts and the face-present share keep
their meaning. A frame without a face decays the state as before, and the next face is read
at once.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

import numpy as np

from emotical_shared.labels import LABELS, UNCERTAIN
from native import OUT_AROUSAL, OUT_DOMINANT, OUT_SCORE, OUT_VALENCE
from vision_sidecar import frame_worker
from vision_sidecar.decode import decode_frame
from vision_sidecar.expression.base import ExpressionBackend, FaceJob, RemoteReader
from vision_sidecar.expression.rekognition import face_crop_jpeg
from vision_sidecar.faces import Box, FaceLocator, TrackState, make_detector
from vision_sidecar.sessions import Session, SessionRegistry
from vision_sidecar.settings import Settings
from vision_sidecar.store import EmotionStore, state_fields


@dataclass
class Analysis:
    """What the thread-pool stage found in one frame."""

    faces: int
    box: Optional[Box]
    tensor: Optional[np.ndarray]
    scale: int
    #: CPU seconds of this thread per stage (not wall time: robust on a shared machine).
    timings: Dict[str, float] = field(default_factory=dict)
    #: The face with a margin as JPEG, when a remote reader is to see it.
    crop: bytes = b""


@dataclass
class FrameResult:
    """One processed frame's outcome: the session's smoothed state after it."""

    faces: int
    face_present: bool
    probs: Dict[str, float]
    dominant: str
    valence: float
    arousal: float
    score: float
    ts: float
    stored: bool
    box: Optional[Box] = None
    #: A face, but no label confident enough (`dominant` is labels.UNCERTAIN).
    uncertain: bool = False
    #: Seconds since the expression model last read this face (0: read in this frame; None:
    #: no face).
    reading_age_s: Optional[float] = None

    def to_json(self, seq: int) -> Dict[str, Any]:
        """The small per-frame reply the widget shows as a live indicator."""
        return {
            "seq": seq, "faces": self.faces, "face_present": self.face_present,
            "uncertain": self.uncertain,
            "dominant": self.dominant, "probs": {k: round(v, 4) for k, v in self.probs.items()},
            "valence": round(self.valence, 4), "arousal": round(self.arousal, 4),
            "score": round(self.score, 2), "ts": round(self.ts, 3), "stored": self.stored,
            "box": list(self.box) if self.box else None,
            "reading_age_s": (None if self.reading_age_s is None
                              else round(self.reading_age_s, 3)),
        }


def analyse_frame(settings: Settings, locator: FaceLocator, track: TrackState, data: bytes,
                  want_crop: bool, read: bool = True) -> Analysis:
    """Decode, find the shopper's face and, when it is to be `read`, build its model input
    (and, with `want_crop`, the face as JPEG for a remote reader); updates `track`. A frame
    not to be read is decoded straight to grey, all the locator needs, even for a colour
    model."""
    crop_spec = settings.expression.crop
    t0 = time.thread_time()
    frame = decode_frame(data, settings.max_frame_bytes, settings.max_pixels,
                         crop_spec.colour and read)
    t1 = time.thread_time()
    box = locator.locate(frame.gray, track)
    t2 = time.thread_time()
    tensor = None
    if box is not None and read:
        tensor = frame.face_input(np.array([box], dtype=np.int32), crop_spec)[0]
    crop = b""
    if box is not None and read and want_crop:
        crop = face_crop_jpeg(frame.gray, box)
    t3 = time.thread_time()
    return Analysis(faces=track.faces if box is not None else 0, box=box, tensor=tensor,
                    scale=frame.scale, crop=crop,
                    timings={"decode": t1 - t0, "locate": t2 - t1, "crop": t3 - t2})


def classify_analysis(backend: ExpressionBackend, sid: str, analysis: Analysis) -> np.ndarray:
    """Probabilities over LABELS of the face `analysis` found (all zero without one)."""
    if analysis.tensor is None:
        return np.zeros(len(LABELS), dtype=np.float64)
    probs = backend.classify([FaceJob(sid, analysis.tensor)])[0]
    return np.asarray(probs, dtype=np.float64)


class Pipeline:
    """The frame pipeline shared by the WebSocket, the HTTP upload and developer mode.

    `pool` is a thread pool (the frame work without `workers`, and other blocking calls such
    as developer mode's camera reads); `workers`, when given, runs the frame work in
    `frame_worker` processes, which run the local model of their own and need no `backend`
    call here."""

    def __init__(self, settings: Settings, backend: ExpressionBackend, store: EmotionStore,
                 registry: SessionRegistry, pool: Executor,
                 workers: Optional[frame_worker.WorkerPool] = None) -> None:
        self.settings = settings
        self.workers = workers
        self.backend = backend
        self.store = store
        self.registry = registry
        self.pool = pool
        #: The backend when it also asks a remote service (checked once: isinstance against a
        #: runtime Protocol is slow enough to notice per frame).
        self.remote: Optional[RemoteReader] = backend if isinstance(backend, RemoteReader) else None
        # full-frame face searches of sessions without a face, off the frame path (faces.py)
        self.search_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="face-search")
        self.locator = FaceLocator(settings.detect_every, settings.search_every,
                                   settings.search_every_max, search_pool=self.search_pool,
                                   detector=make_detector(settings.face_detector,
                                                          settings.model_dir))

    def close(self) -> None:
        """Stop the search thread and a remote reader's threads (what is queued is dropped)."""
        self.search_pool.shutdown(wait=True, cancel_futures=True)
        if self.remote is not None:
            self.remote.close()

    def analyse(self, track: TrackState, data: bytes, sid: str = "",
                read: bool = True) -> Analysis:
        """Decode, find the shopper's face and, to `read` it, build its model input (runs on a
        pool thread)."""
        return analyse_frame(self.settings, self.locator, track, data,
                             read and self.remote is not None and self.remote.wants(sid), read)

    def analyse_and_classify(self, sid: str, track: TrackState, data: bytes,
                             read: bool = True) -> Tuple[Analysis, np.ndarray]:
        """`analyse`, then, to `read` it, the expression of the face found (runs on a pool
        thread).

        Returns the analysis and probabilities over LABELS (all zero without a face or a
        reading).
        """
        analysis = self.analyse(track, data, sid, read)
        return analysis, classify_analysis(self.backend, sid, analysis)

    async def _analyse_in_pool(self, session: Session, data: bytes,
                               read: bool) -> Tuple[Analysis, np.ndarray]:
        if self.workers is None:
            return await asyncio.get_running_loop().run_in_executor(
                self.pool, self.analyse_and_classify, session.sid, session.track, data, read)
        analysis, probs, track = await self.workers.run(session.sid, session.track, data,
                                                        self.remote is not None, read)
        session.track = track
        if analysis.crop and self.remote is not None and not self.remote.wants(session.sid):
            analysis.crop = b""
        return analysis, probs

    async def process(self, session: Session, data: bytes, ts: Optional[float] = None) -> FrameResult:
        """Run one frame of `session` through the pipeline and store the new state."""
        async with session.lock:
            ts = time.time() if ts is None else ts
            read = session.reading.due(ts)
            analysis, probs = await self._analyse_in_pool(session, data, read)
            if analysis.crop and analysis.tensor is not None and self.remote is not None:
                remote = await self.remote.refine(FaceJob(session.sid, analysis.tensor,
                                                          analysis.crop))
                if remote is not None:
                    probs = np.asarray(remote, dtype=np.float64)
            session.frames += 1
            if self.registry.find(session.sid) is not session:  # deleted meanwhile
                session = self.registry.get(session.sid)
            present = analysis.box is not None
            clock = session.reading
            if present and not read and clock.read_ts is not None:
                out = self.registry.current(session.row)  # no new evidence: the state stands
            else:
                # a reading, or a frame without a face (or of a session deleted and started
                # again meanwhile, whose face has no reading yet: no evidence of it either)
                read = read and present
                out = self.registry.smooth(np.array([session.row]), probs[None],
                                           np.array([ts]),
                                           np.array([read], dtype=np.uint8))[0]
                if read:
                    clock.read(ts)
                else:
                    clock.lost()
            smoothed = self.registry.probs_of(session.row)
            state = dict(zip(LABELS, (float(p) for p in smoothed), strict=False))
            uncertain = present and float(smoothed.max()) < self.settings.uncertain_below
            dominant = UNCERTAIN if uncertain else LABELS[int(out[OUT_DOMINANT])]
            fields = state_fields(state, dominant, out[OUT_VALENCE], out[OUT_AROUSAL],
                                  out[OUT_SCORE], present, ts, uncertain)
            stored = await self.store.write(session.sid, fields)
            box = None
            if analysis.box is not None:
                box = tuple(int(v * analysis.scale) for v in analysis.box)  # original pixels
            return FrameResult(faces=analysis.faces, face_present=present, probs=state,
                               dominant=dominant, valence=float(out[OUT_VALENCE]),
                               arousal=float(out[OUT_AROUSAL]), score=float(out[OUT_SCORE]),
                               ts=ts, stored=stored, box=box,  # type: ignore[arg-type]
                               uncertain=uncertain,
                               reading_age_s=clock.age(ts) if present else None)
