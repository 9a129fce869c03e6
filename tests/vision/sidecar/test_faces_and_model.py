"""Face finding and the local expression model on real photos."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from emotical_shared.labels import LABELS
from native import kernels
from vision_sidecar import samples
from vision_sidecar.decode import decode_frame
from vision_sidecar.expression.base import FACE_SIZE, FaceJob
from vision_sidecar.expression.local import LocalOnnxBackend
from vision_sidecar.faces import BlazeDetector, FaceLocator, TrackState, make_detector
from vision_sidecar.settings import DEFAULT_MODEL_DIR


def grey(image: np.ndarray) -> np.ndarray:
    return decode_frame(samples.jpeg(image), 5 << 20, 1 << 24).gray


def test_the_astronauts_face_is_found_and_the_empty_scene_has_none():
    locator = FaceLocator()
    faces = locator.detect(grey(samples.astronaut_bgr()))
    assert len(faces) == 1
    x, y, w, _h = faces[0]
    assert 150 < x < 200 and 40 < y < 90 and 80 < w < 120, faces  # her face, not the flag
    assert locator.detect(grey(samples.no_face_bgr())) == []
    assert locator.detect(grey(samples.coffee_bgr())) == []


@pytest.mark.parametrize("name", ["haar", "blazeface"])
def test_the_tracker_follows_a_moving_face_between_detections(name):
    locator = FaceLocator(detect_every=5, detector=make_detector(name, DEFAULT_MODEL_DIR))
    state = TrackState()
    centres = []
    for i in range(12):
        box = locator.locate(grey(samples.webcam_frame(dx=6 * i, dy=2 * i)), state)
        assert box is not None, f"face lost at frame {i}"
        centres.append(box[0] + box[2] / 2)
    # 6 px per frame in the original = 3 px in the half-size frame.
    moved = np.diff(centres)
    assert 1.5 < moved.mean() < 4.5, centres


def test_of_two_faces_the_largest_is_the_shopper():
    import cv2

    photo = samples.astronaut_bgr()  # her face is about 100 px across
    canvas = np.full((480, 640, 3), 90, np.uint8)
    canvas[:400, :360] = cv2.resize(photo, (560, 560))[30:430, 100:460]  # face ~ 108 px
    canvas[60:360, 360:640] = cv2.resize(photo, (400, 400))[20:320, 40:320]  # face ~ 75 px
    state = TrackState()
    box = FaceLocator().locate(grey(canvas), state)
    assert state.faces == 2, state.faces
    assert box is not None and box[0] < 180 and box[2] > 48, box  # half-size frame pixels


def test_losing_the_face_falls_back_to_searching(no_face_jpeg):
    locator = FaceLocator(search_every=3)
    state = TrackState()
    assert locator.locate(grey(samples.webcam_frame()), state) is not None
    coffee = decode_frame(no_face_jpeg, 5 << 20, 1 << 24).gray
    assert locator.locate(coffee, state) is None
    assert state.box is None and state.faces == 0


class CountingLocator(FaceLocator):
    """The real locator; records the frame number and thread of each full-frame search."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.frame = 0
        self.searches: list = []

    def detect(self, gray):
        self.searches.append((self.frame, threading.current_thread().name))
        return super().detect(gray)

    def feed(self, gray, state):
        box = self.locate(gray, state)
        self.frame += 1
        return box


def test_with_nobody_in_frame_the_search_backs_off_and_a_returning_face_is_found(
        no_face_jpeg):
    """Tried: 40 frames of a real scene with nobody in it, then the shopper comes back."""
    locator = CountingLocator(search_every=3, search_every_max=10)
    state = TrackState()
    coffee = decode_frame(no_face_jpeg, 5 << 20, 1 << 24).gray
    for _ in range(40):
        assert locator.feed(coffee, state) is None
        assert state.faces == 0
    # searched at once, then after 3, 6 and from then on every 10 frames
    assert [frame for frame, _ in locator.searches] == [0, 3, 9, 19, 29, 39]
    face = grey(samples.webcam_frame())
    found_at = next(locator.frame - 1 for _ in range(12)
                    if locator.feed(face, state) is not None)
    assert found_at == 49, found_at  # at the next search, within the longest wait
    assert state.misses == 0 and state.box is not None
    # losing the face again starts the search over at once, not after the long wait
    locator.searches.clear()
    assert locator.feed(coffee, state) is None
    assert [frame for frame, _ in locator.searches] == [locator.frame - 1]


def test_later_searches_run_on_the_search_thread_and_the_face_is_confirmed_next_frame(
        no_face_jpeg):
    """Tried: nobody in frame for a while (searches move to their own thread and the frame is
    answered at once), then the shopper returns; also a search that finds a face which has
    gone by the next frame."""
    search_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="face-search")
    try:
        locator = CountingLocator(search_every=3, search_every_max=10, search_pool=search_pool)
        state = TrackState()
        coffee = decode_frame(no_face_jpeg, 5 << 20, 1 << 24).gray
        face = grey(samples.webcam_frame())
        assert locator.feed(coffee, state) is None  # first search: in line, finds nothing
        assert locator.searches[0][1] == threading.current_thread().name
        for _ in range(2):
            locator.feed(coffee, state)  # waiting
        assert locator.feed(face, state) is None  # a search starts; the frame does not wait
        assert state.search is not None and locator.searches[-1][0] == 3
        state.search.result(timeout=30)
        assert locator.searches[-1][1].startswith("face-search")
        box = locator.feed(face, state)  # the search found her; confirmed in this frame
        assert box is not None and state.misses == 0 and state.search is None
        assert state.faces == 1

        # found by the search, gone by the next frame: the next frame searches in line
        state = TrackState(misses=1)
        assert locator.feed(face, state) is None and state.search is not None
        state.search.result(timeout=30)
        assert locator.feed(coffee, state) is None
        assert state.misses == 0 and state.search_countdown == 0 and state.box is None
        before = len(locator.searches)
        assert locator.feed(face, state) is not None  # in line, at once
        assert locator.searches[before][1] == threading.current_thread().name
    finally:
        search_pool.shutdown()


def test_the_local_model_calls_the_smiling_astronaut_happy(fer_model_path):
    gray = grey(samples.astronaut_bgr())
    box = FaceLocator().detect(gray)[0]
    tensor = kernels.prepare_faces(gray, np.array([box], np.int32), FACE_SIZE)[0]
    backend = LocalOnnxBackend(fer_model_path)
    probs = backend.classify([FaceJob("s", tensor)])[0]
    assert probs.shape == (len(LABELS),)
    assert abs(probs.sum() - 1) < 1e-5
    assert LABELS[int(np.argmax(probs))] == "happy", dict(zip(LABELS, probs.round(3), strict=True))
    assert probs[LABELS.index("happy")] > 0.8


def test_a_batch_gives_the_same_answers_as_single_calls(fer_model_path):
    backend = LocalOnnxBackend(fer_model_path)
    rng = np.random.default_rng(0)
    tensors = [rng.uniform(-1, 1, (1, FACE_SIZE, FACE_SIZE)).astype(np.float32) for _ in range(5)]
    batch = backend.classify([FaceJob(str(i), t) for i, t in enumerate(tensors)])
    singles = np.vstack([backend.classify([FaceJob("s", t)]) for t in tensors])
    np.testing.assert_allclose(batch, singles, atol=1e-5)


def test_blazeface_redetects_the_face_near_where_it_was_and_only_there():
    detector = make_detector("blazeface", DEFAULT_MODEL_DIR)
    assert isinstance(detector, BlazeDetector) and detector.name == "blazeface"
    gray = grey(samples.webcam_frame(dx=30))
    (searched,) = detector.detect(gray)
    # the re-detection near the last box finds the same face as a whole-frame search
    assert detector.detect_near(gray, (searched[0] - 12, searched[1] + 6, *searched[2:])) \
        == searched
    # a face elsewhere in the frame is not the one being followed
    x, y, w, h = searched
    assert detector.detect_near(gray, (x + 3 * w, y, w, h)) is None


def test_an_unknown_detector_is_refused():
    with pytest.raises(ValueError, match="unknown face detector"):
        make_detector("yunet", DEFAULT_MODEL_DIR)
