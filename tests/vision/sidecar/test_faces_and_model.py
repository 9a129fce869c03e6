"""Face finding and the local expression model on real photos."""

from __future__ import annotations

import numpy as np

from emotical_shared.labels import LABELS
from native import kernels
from vision_sidecar import samples
from vision_sidecar.decode import decode_frame
from vision_sidecar.expression.base import FACE_SIZE, FaceJob
from vision_sidecar.expression.local import LocalOnnxBackend
from vision_sidecar.faces import FaceLocator, TrackState


def grey(image: np.ndarray) -> np.ndarray:
    return decode_frame(samples.jpeg(image), 5 << 20, 1 << 24).gray


def test_the_astronauts_face_is_found_and_the_coffee_has_none():
    locator = FaceLocator()
    faces = locator.detect(grey(samples.astronaut_bgr()))
    assert len(faces) == 1
    x, y, w, _h = faces[0]
    assert 150 < x < 200 and 40 < y < 90 and 80 < w < 120, faces  # her face, not the flag
    assert locator.detect(grey(samples.no_face_bgr())) == []


def test_the_tracker_follows_a_moving_face_between_detections():
    locator = FaceLocator(detect_every=5)
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


def test_the_local_model_calls_the_smiling_astronaut_happy(model_path):
    gray = grey(samples.astronaut_bgr())
    box = FaceLocator().detect(gray)[0]
    tensor = kernels.prepare_faces(gray, np.array([box], np.int32), FACE_SIZE)[0]
    backend = LocalOnnxBackend(model_path)
    probs = backend.classify([FaceJob("s", tensor)])[0]
    assert probs.shape == (len(LABELS),)
    assert abs(probs.sum() - 1) < 1e-5
    assert LABELS[int(np.argmax(probs))] == "happy", dict(zip(LABELS, probs.round(3), strict=True))
    assert probs[LABELS.index("happy")] > 0.8


def test_a_batch_gives_the_same_answers_as_single_calls(model_path):
    backend = LocalOnnxBackend(model_path)
    rng = np.random.default_rng(0)
    tensors = [rng.uniform(-1, 1, (1, FACE_SIZE, FACE_SIZE)).astype(np.float32) for _ in range(5)]
    batch = backend.classify([FaceJob(str(i), t) for i, t in enumerate(tensors)])
    singles = np.vstack([backend.classify([FaceJob("s", t)]) for t in tensors])
    np.testing.assert_allclose(batch, singles, atol=1e-5)
