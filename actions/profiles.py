"""Shopper tag profiles: how a like, a dislike or a facial reaction moves tag weights.

Pure functions; `store.py` applies them to Redis atomically. A weight lives in [-1, 1]; a step
`d` moves it by d·(1 − w) upwards or d·(1 + w) downwards, so steps shrink near the bounds and
never cross them (diminishing returns: the tenth "I love red" says less than the first).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, Mapping, Optional, Sequence

from .settings import Settings


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


def step_size(settings: Settings, intensity: float, sentiment: float) -> float:
    """Unsigned step for an observation: the base rate scaled by emotion and sentiment strength.

    A flat "I like red" moves a weight by half the learning rate; an excited one (strong face,
    strong words) by up to the full rate.
    """
    strength = max(abs(intensity), abs(sentiment))
    return settings.learning_rate * (0.5 + 0.5 * min(1.0, strength))


def observations(related: Mapping[str, Mapping[str, float]], polarity: int,
                 size: float) -> Dict[str, TagObservation]:
    """Observations from words the shopper used.

    `related` maps each word to `{tag: strength}` (strength 1 for the tag itself, less for tags
    reached through WordNet). A tag reached by several words keeps its strongest link.
    """
    best: Dict[str, float] = {}
    for links in related.values():
        for tag, strength in links.items():
            best[tag] = max(best.get(tag, 0.0), strength)
    return {tag: TagObservation(tag, polarity * size * s, s) for tag, s in best.items()}


def product_observations(tags: Iterable[str], polarity: int, size: float,
                         share: float = 1.0) -> Dict[str, TagObservation]:
    """Observations for every tag of a product (a like of the product itself, or a reaction).

    The step is split across the product's tags by `share` (1 = each tag gets the full step).
    """
    return {t: TagObservation(t, polarity * size * share, share) for t in tags}


def apply(weights: Mapping[str, float], counts: Mapping[str, float],
          obs: Mapping[str, TagObservation]) -> tuple[Dict[str, float], Dict[str, float]]:
    """New weights and counts for the observed tags only."""
    new_w = {t: round(step_weight(float(weights.get(t, 0.0)), o.step), 6) for t, o in obs.items()}
    new_c = {t: round(float(counts.get(t, 0.0)) + o.count, 6) for t, o in obs.items()}
    return new_w, new_c


def least_known_tag(candidates: Sequence[str], weights: Mapping[str, float],
                    counts: Mapping[str, float], exclude: Iterable[str] = ()) -> Optional[str]:
    """The candidate tag the profile knows least about: fewest observations first, then the
    weight nearest 0 (most uncertain), then catalog order. None when all are excluded."""
    skip = set(exclude)
    ranked = [
        (float(counts.get(t, 0.0)), abs(float(weights.get(t, 0.0))), i, t)
        for i, t in enumerate(candidates) if t not in skip
    ]
    return min(ranked)[3] if ranked else None
