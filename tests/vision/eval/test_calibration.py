"""vision_eval.calibration: the temperature fit finds a known temperature, ECE and the
uncertain split count as defined."""

from __future__ import annotations

import numpy as np
import pytest

from vision_eval.calibration import apply_temperature, coverage, ece, fit_temperature, nll


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("true_t", [0.5, 2.5])
def test_the_fit_finds_the_temperature_the_labels_were_drawn_with(true_t):
    rng = np.random.default_rng(3)
    logits = rng.normal(0, 2.0, (4000, 5))
    truth = [rng.choice(5, p=p) for p in _softmax(logits / true_t)]
    fitted = fit_temperature(_softmax(logits), truth)
    assert fitted == pytest.approx(true_t, rel=0.1)
    assert nll(apply_temperature(_softmax(logits), fitted), truth) < nll(_softmax(logits), truth)


def test_ece_is_the_gap_between_confidence_and_accuracy():
    probs = np.tile([0.8, 0.2], (10, 1))
    assert ece(probs, [0] * 8 + [1] * 2) == pytest.approx(0.0)  # 80% sure, 80% right
    assert ece(probs, [0] * 10) == pytest.approx(0.2)  # 80% sure, always right
    mixed = np.array([[0.95, 0.05]] * 5 + [[0.55, 0.45]] * 5)
    # bin (0.9, 1]: 5 right, gap 0.05; bin (0.5, 0.6]: 0 right, gap 0.55; each half the answers
    assert ece(mixed, [0] * 5 + [1] * 5) == pytest.approx(0.5 * 0.05 + 0.5 * 0.55)


def test_coverage_splits_the_answers_at_the_threshold():
    probs = np.array([[0.9, 0.1], [0.45, 0.55], [0.6, 0.4], [0.52, 0.48]])
    assert coverage(probs, [0, 1, 1, 1], 0.56) == (2, 1, 2, 1)


def test_a_fit_without_faces_is_refused():
    with pytest.raises(ValueError, match="no labelled faces"):
        fit_temperature(np.zeros((0, 3)), [])
