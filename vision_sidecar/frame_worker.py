"""Frame work in worker processes (`EMOTICAL_FRAME_PROCESSES=true`).

With threads, the pool's frame work and the event loop share one GIL: every OpenCV, LiteRT
and onnxruntime call releases it and must win it back, and under 40 shoppers py-spy showed the
two frame threads inside a job 95% of the time while the process used 1.3 of 2 cores, and
the event loop a third of its time waiting to get the GIL back after a socket write. Worker
processes each have their own GIL. A frame's job carries the session's `TrackState` there and
back (a few hundred bytes with the tracking template), so any worker can take any frame and
the session's frames stay in order (the session lock); the full-frame search runs in line (a
BlazeFace search costs about what a frame does).

Each worker builds its own face locator and local expression model at start (`init`).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Dict, Tuple

from vision_sidecar.settings import Settings

_worker: Dict[str, Any] = {}


def init(settings: Settings) -> None:
    """Build this worker's locator and model (runs once in each worker process)."""
    import cv2

    from vision_sidecar.expression.local import LocalOnnxBackend
    from vision_sidecar.faces import FaceLocator, make_detector

    cv2.setNumThreads(1)
    _worker["settings"] = settings
    _worker["locator"] = FaceLocator(settings.detect_every, settings.search_every,
                                     settings.search_every_max,
                                     detector=make_detector(settings.face_detector,
                                                            settings.model_dir))
    _worker["backend"] = LocalOnnxBackend(settings.model_path)


def ready() -> int:
    """This worker's pid, once its models are loaded (to start the workers before frames)."""
    return os.getpid()


def analyse_and_classify(sid: str, track: Any, data: bytes,
                         want_crop: bool) -> Tuple[Any, Any, Any]:
    """One frame's decode, face and model in this worker: (Analysis, probabilities over
    LABELS, the session's updated TrackState)."""
    from vision_sidecar.pipeline import analyse_frame, classify_analysis

    analysis = analyse_frame(_worker["settings"], _worker["locator"], track, data, want_crop)
    probs = classify_analysis(_worker["backend"], sid, analysis)
    if analysis.tensor is not None:  # read here; the model input need not travel back
        analysis.tensor = analysis.tensor[:0]
    return analysis, probs, track


def open_pool(settings: Settings) -> ProcessPoolExecutor:
    """`settings.workers` worker processes (spawned: the sidecar has threads), started and
    their models loaded before this returns."""
    pool = ProcessPoolExecutor(max_workers=settings.workers,
                               mp_context=multiprocessing.get_context("spawn"),
                               initializer=init, initargs=(settings,))
    pids = {f.result() for f in [pool.submit(ready) for _ in range(4 * settings.workers)]}
    if not pids:
        raise RuntimeError("no frame worker started")
    return pool


def portable(track: Any) -> Any:
    """A TrackState as it can travel to a worker (without a background search's Future)."""
    return dataclasses.replace(track, search=None) if track.search is not None else track
