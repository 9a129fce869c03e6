"""Temperature scaling and expected calibration error for the expression models.

A model's probabilities `p` become `p^(1/T)` renormalised (the same as dividing its logits by
`T`): T > 1 softens an over-confident model, T < 1 sharpens an under-confident one, and the
top class never changes. `fit_temperature` picks the T that minimises the negative log
likelihood of the true labels (fitted on the eval set's `choose` part, never on `report`);
`ece` is the expected calibration error over equal-width confidence bins: the gap between how
sure the model says it is and how often it is right, weighted by the share of answers in each
bin.
"""

from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np

from vision_sidecar.expression.local import scale_probs

#: Equal-width confidence bins of the ECE.
ECE_BINS = 10
#: The range `fit_temperature` searches (log-spaced), wide enough for any softmax model.
T_RANGE = (0.05, 20.0)


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """`probs` (n, k) rows scaled by `temperature` as the sidecar scales them (`scale_probs`)."""
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    return scale_probs(np.asarray(probs, dtype=np.float64), temperature)


def nll(probs: np.ndarray, truth: Sequence[int]) -> float:
    """Mean negative log likelihood of the true classes."""
    p = np.asarray(probs, dtype=np.float64)[np.arange(len(truth)), np.asarray(truth)]
    return float(-np.mean(np.log(np.maximum(p, 1e-12))))


def fit_temperature(probs: np.ndarray, truth: Sequence[int]) -> float:
    """The temperature that minimises `nll` on (probs, truth): a log-spaced grid over T_RANGE,
    then golden-section search around its best point."""
    if len(truth) == 0:
        raise ValueError("no labelled faces to fit a temperature on")
    grid = np.geomspace(*T_RANGE, 200)
    losses = [nll(apply_temperature(probs, t), truth) for t in grid]
    best = int(np.argmin(losses))
    lo, hi = np.log(grid[max(0, best - 1)]), np.log(grid[min(len(grid) - 1, best + 1)])
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(60):
        a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        if nll(apply_temperature(probs, np.exp(a)), truth) <= nll(apply_temperature(probs, np.exp(b)), truth):
            hi = b
        else:
            lo = a
    return float(np.exp((lo + hi) / 2))


def ece(probs: np.ndarray, truth: Sequence[int], bins: int = ECE_BINS) -> float:
    """Expected calibration error: sum over confidence bins of (share of answers) ×
    |accuracy − mean confidence| (bins (0, 1/b], …, a confidence of 0 in the first)."""
    p = np.asarray(probs, dtype=np.float64)
    if len(p) == 0:
        return float("nan")
    confidence = p.max(axis=1)
    right = (p.argmax(axis=1) == np.asarray(truth)).astype(np.float64)
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.mean() * abs(right[mask].mean() - confidence[mask].mean())
    return float(total)


def coverage(probs: np.ndarray, truth: Sequence[int],
             threshold: float) -> Tuple[int, int, int, int]:
    """At a confidence `threshold`: (answers at or above it, of them right, answers below it
    (`uncertain`), of them right)."""
    p = np.asarray(probs, dtype=np.float64)
    confident = p.max(axis=1) >= threshold
    right = p.argmax(axis=1) == np.asarray(truth)
    return (int(confident.sum()), int((confident & right).sum()), int((~confident).sum()),
            int((~confident & right).sum()))
