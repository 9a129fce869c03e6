"""Shopper tag profiles: how a like, a dislike or a facial reaction moves tag weights.

Pure functions; `store.py` applies them to Redis atomically. The bounded update itself
(`step_weight`, `apply`) is `emotical_shared.tag_rule`, which the sidecar's video chapters use
too: one rule for chat and video.
"""

from __future__ import annotations

from typing import Dict, Iterable, Mapping, Optional, Sequence

from emotical_shared.tag_rule import TagObservation, apply, product_observations, step_weight

from .settings import Settings

__all__ = ["TagObservation", "apply", "least_known_tag", "observations", "product_observations",
           "step_size", "step_weight"]


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
