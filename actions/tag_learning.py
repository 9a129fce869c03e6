"""Turn what the shopper says or shows into tag observations and store them.

Words go through WordNet (`TagRelater`) so "scarlet" also teaches `red`, with a smaller step;
a like/dislike without words teaches the current product's tags; a strong face reaction while a
product is shown teaches its tags with half the step.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from emotical_shared import logs

from .catalog import Product
from .fusion import FaceReading
from .profiles import TagObservation, observations, product_observations, step_size
from .runtime import Runtime

logger = logging.getLogger(__name__)

#: Step share of each product tag when the shopper likes a product without naming a tag.
PRODUCT_SHARE = 0.6
#: Step share of each product tag for a facial reaction.
REACTION_SHARE = 0.5


async def relate_words(rt: Runtime, words: Sequence[str]) -> Tuple[Dict[str, Dict[str, float]], List[str]]:
    """{word: {tag: strength}} for words that reach a tag, and the words that reach none."""
    related: Dict[str, Dict[str, float]] = {}
    unmatched: List[str] = []
    for word in words:
        links = await asyncio.to_thread(rt.relater.relate, word)
        if links:
            related[word] = dict(links)
        else:
            unmatched.append(word)
    return related, unmatched


async def observations_for_turn(rt: Runtime, words: Sequence[str], product: Optional[Product],
                                polarity: int, intensity: float,
                                sentiment: float) -> Tuple[Dict[str, TagObservation], List[str]]:
    """Observations from a like/dislike: the named words, else the current product's tags."""
    size = step_size(rt.settings, intensity, sentiment)
    related, unmatched = await relate_words(rt, words)
    if related:
        return observations(related, polarity, size), unmatched
    if product is not None:
        return product_observations(product.tags, polarity, size, PRODUCT_SHARE), unmatched
    return {}, unmatched


def reaction_observations(rt: Runtime, face: Optional[FaceReading], product: Optional[Product],
                          now: float) -> Dict[str, TagObservation]:
    """Observations from a strong, fresh face reaction to the shown product ({} otherwise)."""
    if face is None or product is None or not face.usable(now, rt.settings.face_stale_s):
        return {}
    if abs(face.valence) < rt.settings.face_reaction_min:
        return {}
    polarity = 1 if face.valence > 0 else -1
    size = step_size(rt.settings, abs(face.valence), 0.0)
    return product_observations(product.tags, polarity, size, REACTION_SHARE)


async def learn(rt: Runtime, shopper_id: str, session_id: str,
                obs: Mapping[str, TagObservation]) -> Optional[Dict[str, float]]:
    """Store observations; None when they were queued for retry (Redis down)."""
    if not obs:
        return {}
    new = await rt.store.update_profile(shopper_id, session_id, obs)
    if new is not None:
        logs.event(logger, logging.INFO, "tags_updated", shopper=logs.id_tag(shopper_id),
                   tags=len(new))
    return new
