"""The one bounded update of a shopper's tag weights, used by the chat (actions) and by the
product video's chapters (sidecar). Pure standard library.

A weight lives in [-1, 1]; a step `d` moves it by d·(1 − w) upwards or d·(1 + w) downwards, so
steps shrink near the bounds and never cross them (diminishing returns: the tenth "I love red"
says less than the first).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, Mapping, Tuple


@dataclass(frozen=True)
class TagObservation:
    """One thing learned about one tag: which way, how strongly, how much it counts."""

    tag: str
    step: float  # signed, in [-1, 1]
    count: float  # observation weight added to the tag's count (1 direct, less when related)


def step_weight(weight: float, step: float) -> float:
    """Move `weight` by `step` with diminishing returns, staying in [-1, 1]."""
    step = max(-1.0, min(1.0, step))
    w = weight + step * (1.0 - weight) if step >= 0 else weight + step * (1.0 + weight)
    return max(-1.0, min(1.0, w))


def product_observations(tags: Iterable[str], polarity: int, size: float,
                         share: float = 1.0) -> Dict[str, TagObservation]:
    """Observations for each of `tags` (a like of a product, a face reaction, a chapter).

    Each tag gets the step `polarity · size · share` and counts `share` observations.
    """
    return {t: TagObservation(t, polarity * size * share, share) for t in tags}


def apply(weights: Mapping[str, float], counts: Mapping[str, float],
          obs: Mapping[str, TagObservation]) -> Tuple[Dict[str, float], Dict[str, float]]:
    """New weights and counts for the observed tags only."""
    new_w = {t: round(step_weight(float(weights.get(t, 0.0)), o.step), 6) for t, o in obs.items()}
    new_c = {t: round(float(counts.get(t, 0.0)) + o.count, 6) for t, o in obs.items()}
    return new_w, new_c
