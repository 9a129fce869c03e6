"""Candidate filters: duplicates, near-copies, adequacy, cross-intent guard, diversity ranking.

Pure functions over texts and embedding matrices, so each can be tested on crafted cases.
Similarities are rounded to 4 decimals before a threshold is applied, so a vector that differs
in the last float bit (batching, cache) cannot flip a decision.
"""

from __future__ import annotations

import re
from typing import Optional, Sequence

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

_SPACE = re.compile(r"\s+")
_EDGE_PUNCT = re.compile(r"^[\s?!.,;:]+|[\s?!.,;:]+$")


def exact_key(text: str) -> str:
    """Text with whitespace collapsed: two examples with the same key are the same example."""
    return _SPACE.sub(" ", text).strip()


def fold_key(text: str) -> str:
    """Case-folded key without edge punctuation: what a lowercasing featurizer sees."""
    return _EDGE_PUNCT.sub("", exact_key(text).casefold())


def is_near_duplicate(text: str, others: Sequence[str], threshold: float) -> bool:
    """True if ``text`` is at least ``threshold`` similar (0..1, rapidfuzz ratio on folded text)
    to any of ``others``."""
    folded = fold_key(text)
    cutoff = threshold * 100
    return any(fuzz.ratio(folded, fold_key(o), score_cutoff=cutoff) for o in others)


def diversity(a: str, b: str) -> float:
    """Normalised Levenshtein distance of the folded texts (0 = same, 1 = nothing shared)."""
    return float(Levenshtein.normalized_distance(fold_key(a), fold_key(b)))


def pick_diverse(source: str, candidates: Sequence[str], limit: int) -> list[int]:
    """Greedy max-min selection: indices of up to ``limit`` candidates, each chosen to be as far
    as possible from the source and from those already chosen (ties: earlier candidate)."""
    if limit <= 0 or not candidates:
        return []
    nearest = [diversity(source, c) for c in candidates]
    chosen: list[int] = []
    remaining = list(range(len(candidates)))
    while remaining and len(chosen) < limit:
        best = max(remaining, key=lambda i: (round(nearest[i], 6), -i))
        chosen.append(best)
        remaining.remove(best)
        for i in remaining:
            nearest[i] = min(nearest[i], diversity(candidates[best], candidates[i]))
    return chosen


def adequacy_scores(source_vecs: np.ndarray, candidate_vecs: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of unit vectors, rounded to 4 decimals."""
    return np.round(np.einsum("ij,ij->i", source_vecs, candidate_vecs), 4)


def adequate(scores: np.ndarray, threshold: float) -> np.ndarray:
    """Mask of candidates whose similarity to their source reaches ``threshold``."""
    return scores >= threshold


def intent_affinity(
    candidate_vecs: np.ndarray, example_vecs: np.ndarray, example_intents: Sequence[str]
) -> tuple[np.ndarray, list[str]]:
    """Max cosine similarity of each candidate to the examples of each intent.

    Returns a (candidates, intents) matrix and the intent names of its columns (sorted).
    """
    names = sorted(set(example_intents))
    column = {n: i for i, n in enumerate(names)}
    sims = candidate_vecs @ example_vecs.T
    out = np.full((len(candidate_vecs), len(names)), -1.0, dtype=np.float32)
    for j, intent in enumerate(example_intents):
        c = column[intent]
        np.maximum(out[:, c], sims[:, j], out=out[:, c])
    return np.round(out, 4), names


def cross_intent_ok(
    affinity: np.ndarray, names: Sequence[str], own: Sequence[str], margin: float = 0.0
) -> tuple[np.ndarray, list[Optional[str]]]:
    """Keep a candidate unless another intent's examples are closer than its own by > margin.

    Returns the keep mask and, per candidate, the intent it strayed to (None when kept).
    """
    keep = np.ones(len(own), dtype=bool)
    strayed: list[Optional[str]] = [None] * len(own)
    column = {n: i for i, n in enumerate(names)}
    for i, intent in enumerate(own):
        row = affinity[i].copy()
        own_sim = row[column[intent]]
        row[column[intent]] = -np.inf
        if len(names) > 1 and row.max() > own_sim + margin:
            keep[i] = False
            strayed[i] = names[int(row.argmax())]
    return keep, strayed


def intent_margins(
    affinity: np.ndarray, names: Sequence[str], own: Sequence[str]
) -> np.ndarray:
    """Own intent's affinity minus the closest other intent's (> 0: nearer its own intent)."""
    column = {n: i for i, n in enumerate(names)}
    out = np.zeros(len(own), dtype=np.float32)
    for i, intent in enumerate(own):
        row = affinity[i].copy()
        own_sim = row[column[intent]]
        row[column[intent]] = -np.inf
        out[i] = own_sim - row.max() if len(names) > 1 else 1.0
    return np.round(out, 4)
