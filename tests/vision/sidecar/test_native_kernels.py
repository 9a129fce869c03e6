"""The compiled kernels agree with their numpy reference twins (1e-5), on odd inputs too."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import native
from emotical_shared.labels import LABEL_INDEX, LABELS
from native import STATE_COLUMNS, kernels_py
from vision_sidecar.sessions import AROUSAL_VEC, NEUTRAL_INDEX, VALENCE_VEC

compiled = native.load("native")
TOL = 1e-5


def test_the_compiled_core_is_built_and_used_by_default():
    assert native.IMPLEMENTATION == "native", "native.kernels is not built: run `make setup`"
    assert compiled is not kernels_py


def _frame(seed: int, shape=(240, 320)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


@pytest.mark.parametrize(
    ("name", "boxes"),
    [
        ("inside", [(100, 50, 60, 60), (10, 10, 80, 120)]),
        ("touching the border", [(0, 0, 64, 64), (260, 180, 60, 60)]),
        ("reaching past the border", [(-20, -15, 70, 70), (290, 200, 90, 90)]),
        ("tiny faces", [(5, 5, 1, 1), (30, 40, 2, 3), (100, 100, 7, 5)]),
        ("larger than the frame", [(-50, -50, 500, 400)]),
    ],
)
def test_prepare_faces_matches_the_numpy_reference(name, boxes):
    gray = _frame(len(name))
    got = compiled.prepare_faces(gray, np.array(boxes, dtype=np.int32), 64)
    want = kernels_py.prepare_faces(gray, np.array(boxes, dtype=np.int32), 64)
    assert got.shape == want.shape == (len(boxes), 1, 64, 64)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=TOL, err_msg=f"boxes {name}")
    assert got.min() >= -1.0 - TOL and got.max() <= 1.0 + TOL


def test_prepare_faces_matches_opencv_resize_on_an_inside_box():
    import cv2

    gray = _frame(7)
    x, y, w, h = 40, 30, 128, 128
    want = cv2.resize(gray[y:y + h, x:x + w], (64, 64), interpolation=cv2.INTER_LINEAR)
    got = compiled.prepare_faces(gray, np.array([(x, y, w, h)], dtype=np.int32), 64)[0, 0]
    # OpenCV rounds to uint8 and uses fixed-point weights: within one grey level.
    np.testing.assert_allclose((got + 1.0) * 127.5, want.astype(np.float64), atol=1.01)


def test_prepare_faces_on_a_colour_frame_crops_each_channel_as_its_grey_frame():
    """A colour frame (H×W×3, the face-api model's input) gives one plane per channel, in the
    frame's order, each the crop its channel alone gives; both twins agree."""
    colour = _frame(11, (240, 320, 3))
    boxes = np.array([(100, 50, 60, 60), (-20, -15, 70, 70), (290, 200, 90, 90)], dtype=np.int32)
    got = compiled.prepare_faces(colour, boxes, 112)
    want = kernels_py.prepare_faces(colour, boxes, 112)
    assert got.shape == want.shape == (3, 3, 112, 112) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=TOL)
    for k in range(3):
        plane = compiled.prepare_faces(np.ascontiguousarray(colour[:, :, k]), boxes, 112)
        np.testing.assert_allclose(got[:, k:k + 1], plane, atol=TOL)


def test_prepare_faces_on_an_all_black_frame_is_finite_minus_one():
    gray = np.zeros((120, 160), dtype=np.uint8)
    boxes = np.array([(0, 0, 160, 120), (150, 110, 40, 40)], dtype=np.int32)
    for impl in (compiled, kernels_py):
        out = impl.prepare_faces(gray, boxes, 64)
        assert np.isfinite(out).all()
        np.testing.assert_allclose(out, -1.0, atol=TOL)


def _random_probs(rng: np.random.Generator, n: int) -> np.ndarray:
    p = rng.random((n, len(LABELS)))
    return p / p.sum(axis=1, keepdims=True)


def _run(impl, table, rows, probs, ts, present):
    return impl.update_sessions(table, rows, probs, ts, present, VALENCE_VEC, AROUSAL_VEC,
                                NEUTRAL_INDEX, 0.8, 3.0, 10.0)


def test_update_sessions_matches_the_reference_over_a_long_irregular_sequence():
    rng = np.random.default_rng(3)
    t_native = np.zeros((6, STATE_COLUMNS))
    t_ref = np.zeros((6, STATE_COLUMNS))
    clock = 1_700_000_000.0
    for step in range(300):
        n = int(rng.integers(1, 6))
        rows = rng.choice(6, size=n, replace=False)
        probs = _random_probs(rng, n)
        present = (rng.random(n) > 0.3).astype(np.uint8)
        if step % 37 == 0:
            probs[0, 2] = np.nan  # a broken model output counts as no face
        if step % 53 == 0:
            probs[-1] = 0.0
        clock += float(rng.exponential(0.1))
        ts = clock + rng.normal(0, 0.05, n)  # irregular, sometimes out of order
        if step % 41 == 0:
            ts[:] = clock + 60  # a long pause, clamped to max_dt
        got = _run(compiled, t_native, rows, probs, ts, present)
        want = _run(kernels_py, t_ref, rows, probs, ts, present)
        np.testing.assert_allclose(got, want, atol=TOL, err_msg=f"step {step}")
        np.testing.assert_allclose(t_native, t_ref, atol=TOL, err_msg=f"state after {step}")
        assert np.isfinite(t_native).all()


@pytest.mark.parametrize("impl", [compiled, kernels_py], ids=["native", "numpy"])
def test_without_a_face_the_state_decays_towards_calm_instead_of_freezing(impl):
    table = np.zeros((1, STATE_COLUMNS))
    happy = np.zeros((1, len(LABELS)))
    happy[0, LABEL_INDEX["happy"]] = 1.0
    _run(impl, table, np.array([0]), happy, np.array([100.0]), np.array([1], np.uint8))
    calm_seen = []
    for i in range(1, 40):
        out = _run(impl, table, np.array([0]), happy, np.array([100.0 + i * 0.5]),
                   np.array([0], np.uint8))
        calm_seen.append(table[0, NEUTRAL_INDEX])
    assert all(b > a for a, b in itertools.pairwise(calm_seen)), calm_seen
    assert LABELS[int(out[0, 3])] == "calm"
    assert abs(table[0, :8].sum() - 1.0) < 1e-9


@pytest.mark.parametrize("impl", [compiled, kernels_py], ids=["native", "numpy"])
def test_smoothing_is_time_aware_and_the_score_is_the_confidence_weighted_mean(impl):
    sad = np.full((1, len(LABELS)), 0.0)
    sad[0, LABEL_INDEX["sad"]] = 1.0
    happy = np.full((1, len(LABELS)), 0.0)
    happy[0, LABEL_INDEX["happy"]] = 1.0
    steps = {}
    for dt in (0.05, 0.5):
        table = np.zeros((1, STATE_COLUMNS))
        _run(impl, table, np.array([0]), sad, np.array([10.0]), np.array([1], np.uint8))
        out = _run(impl, table, np.array([0]), happy, np.array([10.0 + dt]),
                   np.array([1], np.uint8))
        steps[dt] = table[0, LABEL_INDEX["happy"]]
    assert steps[0.5] > steps[0.05] > 0
    np.testing.assert_allclose(steps[0.05], 1 - np.exp(-0.05 / 0.8), atol=1e-9)
    # Two frames of equal confidence: score is 100 × the mean of their valences.
    want = 100 * (VALENCE_VEC[LABEL_INDEX["sad"]] + VALENCE_VEC[LABEL_INDEX["happy"]]) / 2
    np.testing.assert_allclose(out[0, 2], want, atol=1e-9)


def _ssd_outputs(seed: int, n: int = 896):
    rng = np.random.default_rng(seed)
    anchors = rng.random((n, 2), dtype=np.float32)
    raw = rng.normal(0, 20, size=(n, 16)).astype(np.float32)
    raw[:, 2:4] = np.abs(raw[:, 2:4]) * 2  # sizes, a few made non-positive below
    raw[:5, 2] = -3.0
    logits = rng.normal(-2, 6, size=n).astype(np.float32)
    logits[:3] = [200.0, -200.0, np.float32(np.nan)]
    return raw, logits, anchors


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("min_score", "iou", "limit"), [(0.5, 0.3, 8), (0.05, 0.5, 50), (0.9, 0.0, 3)])
def test_decode_faces_matches_the_numpy_reference(seed, min_score, iou, limit):
    raw, logits, anchors = _ssd_outputs(seed)
    logits[2] = 0.0  # NaN logits are the model's bug, not part of the contract
    want = kernels_py.decode_faces(raw, logits, anchors, 128, min_score, iou, limit)
    got = compiled.decode_faces(raw, logits, anchors, 128, min_score, iou, limit)
    assert got.shape == want.shape and 0 < len(got) <= limit
    np.testing.assert_allclose(got, want, atol=TOL)
    assert np.all(np.diff(got[:, 4]) <= 0), "faces come best first"
    assert np.all(got[:, 4] >= min_score) and np.all(got[:, 2] > got[:, 0])


def test_decode_faces_suppresses_overlaps_and_keeps_separate_faces():
    anchors = np.array([[0.3, 0.3], [0.31, 0.3], [0.7, 0.7]], dtype=np.float32)
    raw = np.zeros((3, 16), dtype=np.float32)
    raw[:, 2:4] = 25.6  # 0.2 of a 128-px input
    logits = np.array([3.0, 2.0, 1.0], dtype=np.float32)
    for impl in (compiled, kernels_py):
        faces = impl.decode_faces(raw, logits, anchors, 128, 0.5, 0.3, 8)
        np.testing.assert_allclose(faces[:, :2], [[0.2, 0.2], [0.6, 0.6]], atol=1e-6)
        assert faces[0, 4] == pytest.approx(1 / (1 + np.exp(-3.0)), abs=1e-6)


def test_decode_faces_refuses_mismatched_outputs():
    raw, logits, anchors = _ssd_outputs(3)
    with pytest.raises(ValueError):
        compiled.decode_faces(raw[:, :3], logits, anchors, 128, 0.5, 0.3, 8)
    with pytest.raises(ValueError):
        compiled.decode_faces(raw, logits[:-1], anchors, 128, 0.5, 0.3, 8)
