"""Finding the shopper's face: a detector (BlazeFace by default, or OpenCV's Haar cascade), and
tracking in between.

`EMOTICAL_FACE_DETECTOR` picks the detector (`make_detector`): `blazeface` (MediaPipe's
short-range BlazeFace on LiteRT, `blazeface.py`: 98.8% of the eval set's faces found, about
1.5 ms per search) or `haar` (90.7%, 9-20 ms per search; docs/vision-eval.md). Each detector
answers two questions: every face in the whole frame (the search), and the face near where it
was (re-detection in a window around the last box: for BlazeFace the window is letterboxed onto
its input, so the face fills the model's view; for Haar it is scaled so the face is about 28 px
wide).

Per session a `TrackState` remembers the last face box. While a face is tracked, a template
match in a small window around the last box follows it (about 0.1 ms); every `detect_every`
frames, or when the match fails, the detector re-detects near the last box. With no face, the
whole frame is searched: right after the face is lost, then after `search_every` frames, and
each fruitless search doubles the wait up to `search_every_max` frames (1 s at 10 frames/s).

A Haar search is the one slow step (11-20 ms), and in a pool it would hold up other shoppers'
frames queued behind it. So once a search has come back empty, the next ones run on
`search_pool` (a thread of their own, which the OS time-slices with the frame threads) and the
frame is answered at once without a face; a face the search finds is confirmed near the same
place in the session's next frame. The first search after a face is lost, and a session's first
frame, search in line. Several faces: the largest is the shopper.
"""

from __future__ import annotations

import threading
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional, Protocol, Tuple

import cv2
import numpy as np

if TYPE_CHECKING:
    from vision_sidecar.blazeface import BlazeFace

#: The Haar cascades OpenCV's 4.x wheels ship (`cv2.data.haarcascades`).
HAAR_DIR = Path(cv2.__file__).resolve().parent / "data"
CASCADE_FILE = "haarcascade_frontalface_default.xml"
Box = Tuple[int, int, int, int]  # x, y, w, h in the decoded frame's pixels

SEARCH_WIDTH = 200  # width of the image the full-frame search runs on (faces ≥ 1/10 of it)
NEAR_FACE_PX = 28  # face width the re-detection window is scaled to (Haar window: 24)
TEMPLATE_PX = 24  # face width of the tracking template
MATCH_THRESHOLD = 0.6
#: The detectors `EMOTICAL_FACE_DETECTOR` can name.
DETECTORS = ("blazeface", "haar")


@dataclass
class TrackState:
    """What the locator remembers about one session's face between frames."""

    box: Optional[Box] = None
    template: Optional[np.ndarray] = None
    template_scale: float = 1.0
    since_detect: int = 0
    search_countdown: int = 0
    #: Full-frame searches in a row that found nothing (sets the wait before the next one).
    misses: int = 0
    #: A full-frame search running on the search thread (faces found in an earlier frame).
    search: Optional[Future] = None
    faces: int = 0


def _clip(x0: int, y0: int, x1: int, y1: int, width: int, height: int) -> Box:
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(width, x1), min(height, y1)
    return x0, y0, max(0, x1 - x0), max(0, y1 - y0)


def _around(box: Box, margin: float, width: int, height: int) -> Box:
    x, y, w, h = box
    mx, my = int(w * margin), int(h * margin)
    return _clip(x - mx, y - my, x + w + mx, y + h + my, width, height)


class FaceDetector(Protocol):
    """Finds faces in grey frames; safe to share between threads."""

    name: str

    def detect(self, gray: np.ndarray) -> List[Box]:
        """All faces in the whole frame, largest first."""
        ...

    def detect_near(self, gray: np.ndarray, box: Box) -> Optional[Box]:
        """The face in a window around `box` (where it was a few frames ago), or None."""
        ...


class HaarDetector:
    """OpenCV's frontal-face Haar cascade: searches a ~200 px wide copy, re-detects in a window
    scaled so the face is about 28 px wide."""

    name = "haar"

    def __init__(self, cascade_path: Optional[str] = None) -> None:
        self.cascade_path = cascade_path or str(HAAR_DIR / CASCADE_FILE)
        self._local = threading.local()
        if self.cascade().empty():
            raise RuntimeError(f"could not load the Haar cascade {self.cascade_path}")

    def cascade(self) -> cv2.CascadeClassifier:
        """This thread's cascade (OpenCV's classifier is not safe to share)."""
        cascade = getattr(self._local, "cascade", None)
        if cascade is None:
            cascade = cv2.CascadeClassifier(self.cascade_path)
            self._local.cascade = cascade
        return cascade

    def detect(self, gray: np.ndarray) -> List[Box]:
        height, width = gray.shape
        scale = min(1.0, SEARCH_WIDTH / width)
        small = gray if scale == 1.0 else cv2.resize(
            gray, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        found = self.cascade().detectMultiScale(small, 1.1, 4, minSize=(20, 20))
        boxes = [tuple(round(v / scale) for v in f) for f in found]
        return sorted(boxes, key=lambda b: b[2] * b[3], reverse=True)

    def detect_near(self, gray: np.ndarray, box: Box) -> Optional[Box]:
        height, width = gray.shape
        rx, ry, rw, rh = _around(box, 0.3, width, height)
        if rw < 8 or rh < 8:
            return None
        scale = min(1.0, NEAR_FACE_PX / max(box[2], 1))
        roi = gray[ry:ry + rh, rx:rx + rw]
        if scale < 1.0:
            roi = cv2.resize(roi, (max(1, round(rw * scale)), max(1, round(rh * scale))),
                             interpolation=cv2.INTER_AREA)
        face = box[2] * scale
        found = self.cascade().detectMultiScale(
            roi, 1.1, 3, minSize=(int(face * 0.75),) * 2, maxSize=(int(face * 1.5) + 1,) * 2)
        if len(found) == 0:
            return None
        x, y, w, h = max(found, key=lambda f: f[2] * f[3])
        return (rx + round(x / scale), ry + round(y / scale),
                round(w / scale), round(h / scale))


class BlazeDetector:
    """BlazeFace (`blazeface.py`). A re-detection runs the same whole-frame pass as a search
    (the network's input is 128×128 either way, so a window would cost as much) and keeps the
    face whose centre lies nearest the last box, within it and a margin: zooming into a window
    would change the boxes' framing, which the expression model is sensitive to and which was
    fitted on whole frames. A new face must score `search_score`, a face being followed only
    `near_score`."""

    def __init__(self, blaze: BlazeFace, search_score: float, near_score: float) -> None:
        self.blaze = blaze
        self.name = "blazeface" if blaze.spec.size == 128 else "blazeface-full"
        self.search_score = search_score
        self.near_score = near_score

    def _framed(self, gray: np.ndarray, min_score: float) -> List[Box]:
        return [self.blaze.reframe(box, gray.shape) for box, score in self.blaze.scored(gray)
                if score >= min_score and box[2] > 0 and box[3] > 0]

    def detect(self, gray: np.ndarray) -> List[Box]:
        return sorted(self._framed(gray, self.search_score), key=lambda b: b[2] * b[3],
                      reverse=True)

    def detect_near(self, gray: np.ndarray, box: Box) -> Optional[Box]:
        height, width = gray.shape
        rx, ry, rw, rh = _around(box, 0.3, width, height)
        cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
        best: Optional[Box] = None
        best_d = float("inf")
        for face in self._framed(gray, self.near_score):
            fx, fy = face[0] + face[2] / 2, face[1] + face[3] / 2
            if not (rx <= fx <= rx + rw and ry <= fy <= ry + rh):
                continue
            d = (fx - cx) ** 2 + (fy - cy) ** 2
            if d < best_d:
                best, best_d = face, d
        return best


def make_detector(name: str, model_dir: Path, search_score: float = 0.5,
                  near_score: float = 0.5) -> FaceDetector:
    """The detector `name` (one of DETECTORS, or `blazeface-full` for the eval)."""
    if name == "haar":
        return HaarDetector()
    from vision_sidecar.blazeface import BlazeFace

    if name not in ("blazeface", "blazeface-full"):
        raise ValueError(f"unknown face detector {name!r}: {DETECTORS}")
    return BlazeDetector(BlazeFace(model_dir, name), search_score, near_score)


class FaceLocator:
    """Finds the shopper's face in grey frames with `detector` (default: Haar), tracking it in
    between; safe to share between threads."""

    def __init__(self, detect_every: int = 5, search_every: int = 3,
                 search_every_max: int = 10, cascade_path: Optional[str] = None,
                 search_pool: Optional[Executor] = None,
                 detector: Optional[FaceDetector] = None) -> None:
        self.detect_every = detect_every
        self.search_every = search_every
        self.search_every_max = max(search_every, search_every_max)
        self.search_pool = search_pool
        self.detector: FaceDetector = detector or HaarDetector(cascade_path)

    def detect(self, gray: np.ndarray) -> List[Box]:
        """All faces in a whole frame, largest first."""
        return self.detector.detect(gray)

    def _detect_near(self, gray: np.ndarray, box: Box) -> Optional[Box]:
        return self.detector.detect_near(gray, box)

    def _remember(self, gray: np.ndarray, state: TrackState, box: Box) -> None:
        x, y, w, h = box
        scale = min(1.0, TEMPLATE_PX / max(w, 1))
        patch = gray[y:y + h, x:x + w]
        state.template = cv2.resize(patch, (max(4, round(w * scale)), max(4, round(h * scale))),
                                    interpolation=cv2.INTER_AREA)
        state.template_scale = scale
        state.box = box
        state.since_detect = 0

    def _follow(self, gray: np.ndarray, state: TrackState) -> Optional[Box]:
        assert state.box is not None and state.template is not None
        height, width = gray.shape
        _x, _y, w, h = state.box
        rx, ry, rw, rh = _around(state.box, 0.3, width, height)
        scale = state.template_scale
        th, tw = state.template.shape
        sw, sh = max(tw, round(rw * scale)), max(th, round(rh * scale))
        window = gray[ry:ry + rh, rx:rx + rw]
        if window.shape[0] < 4 or window.shape[1] < 4:
            return None
        window = cv2.resize(window, (sw, sh), interpolation=cv2.INTER_AREA)
        scores = cv2.matchTemplate(window, state.template, cv2.TM_CCOEFF_NORMED)
        _, best, _, (bx, by) = cv2.minMaxLoc(scores)
        if not np.isfinite(best) or best < MATCH_THRESHOLD:
            return None
        return rx + round(bx / scale), ry + round(by / scale), w, h

    def locate(self, gray: np.ndarray, state: TrackState) -> Optional[Box]:
        """The shopper's face box in `gray`, or None; updates `state` (count in `state.faces`)."""
        if state.box is not None:
            if state.since_detect + 1 < self.detect_every and state.template is not None:
                box = self._follow(gray, state)
                if box is not None:
                    state.box = box
                    state.since_detect += 1
                    return box
            box = self._detect_near(gray, state.box)
            if box is not None:
                self._remember(gray, state, box)
                state.faces = max(state.faces, 1)
                return box
            state.box, state.template = None, None
            state.search_countdown, state.misses = 0, 0
        if state.search is not None:
            return self._take_search(gray, state)
        if state.search_countdown > 0:
            state.search_countdown -= 1
            state.faces = 0
            return None
        if self.search_pool is not None and state.misses > 0:
            state.search = self.search_pool.submit(self.detect, gray)
            state.faces = 0
            return None
        return self._searched(gray, state, self.detect(gray))

    def _searched(self, gray: np.ndarray, state: TrackState, boxes: List[Box]) -> Optional[Box]:
        """Book a full-frame search's outcome: track the largest face, or wait longer."""
        state.faces = len(boxes)
        if not boxes:
            state.search_countdown = self.search_wait(state.misses) - 1
            state.misses += 1
            return None
        state.misses = 0
        self._remember(gray, state, boxes[0])
        return boxes[0]

    def _take_search(self, gray: np.ndarray, state: TrackState) -> Optional[Box]:
        """The background search's outcome, if it is done, applied to this (later) frame."""
        assert state.search is not None
        if not state.search.done():
            state.faces = 0
            return None
        search, state.search = state.search, None
        boxes = search.result()  # raises as the same search in line would
        if not boxes:
            return self._searched(gray, state, [])
        box = self._detect_near(gray, boxes[0])  # the face was there a frame or so ago
        if box is None:
            state.misses, state.faces = 0, 0  # seen moments ago: search in line next frame
            return None
        return self._searched(gray, state, [box, *boxes[1:]])

    def search_wait(self, misses: int) -> int:
        """Frames from a fruitless full-frame search to the next, after `misses` before it."""
        return min(self.search_every << min(misses, 16), self.search_every_max)
