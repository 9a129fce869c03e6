"""Rank catalog products against a shopper's tag weights.

Score = cosine between the profile vector and the product's binary tag vector, i.e.
Σ weights of the product's tags / (√n_tags · ‖profile‖). Unseen products come first; ties break
on the catalog order, so the same profile always gets the same answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, List, Mapping, Optional, Tuple

from .catalog import Catalog, Product

#: Tags named in a reason.
REASON_TAGS = 2


@dataclass(frozen=True)
class Recommendation:
    """A ranked product with its score and the tags that drove it."""

    product: Product
    score: float
    drivers: Tuple[str, ...]
    seen: bool

    def reason(self) -> str:
        """One line naming the tags behind the pick."""
        if not self.drivers:
            return "something new for you to try"
        return "you like " + " and ".join(self.drivers)


def profile_is_empty(weights: Mapping[str, float], eps: float = 1e-9) -> bool:
    """True when the profile knows nothing yet (cold start)."""
    return all(abs(float(w)) <= eps for w in weights.values())


def score_product(product: Product, weights: Mapping[str, float], norm: float) -> float:
    """Cosine similarity of the product's tags with the profile (0 when the profile is empty)."""
    if norm <= 0:
        return 0.0
    total = sum(float(weights.get(t, 0.0)) for t in product.tags)
    return total / (math.sqrt(len(product.tags)) * norm)


def recommend(catalog: Catalog, weights: Mapping[str, float], seen: Iterable[str] = (),
              category: Optional[str] = None, k: int = 3,
              exclude: Iterable[str] = ()) -> List[Recommendation]:
    """Top-k products: unseen before seen, then by score, then catalog order."""
    seen_set, skip = set(seen), set(exclude)
    norm = math.sqrt(sum(float(w) ** 2 for w in weights.values()))
    pool = catalog.products_in(category)
    ranked = []
    for order, p in enumerate(pool):
        if p.id in skip:
            continue
        score = score_product(p, weights, norm)
        contrib = sorted(((float(weights.get(t, 0.0)), t) for t in p.tags), reverse=True)
        drivers = tuple(t for w, t in contrib[:REASON_TAGS] if w > 0)
        ranked.append(((p.id in seen_set, -score, order), Recommendation(p, score, drivers,
                                                                          p.id in seen_set)))
    ranked.sort(key=lambda item: item[0])
    return [rec for _, rec in ranked[:k]]
