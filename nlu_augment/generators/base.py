"""The generator interface: sources in, candidate paraphrases (plain text) out."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Protocol, Sequence

from nlu_augment.annotation import Example

# Entity spans are replaced by private-use characters while text is rewritten, so no rule can
# touch, split or re-case an entity; they are put back before a candidate leaves a generator.
_MASK_BASE = 0xE000


@dataclass(frozen=True)
class Source:
    """One hand-written example to augment, with its own seed (stable across runs)."""

    intent: str
    example: Example
    seed: int


@dataclass(frozen=True)
class Candidate:
    """A generated plain-text paraphrase of a source; ``kind`` names the rule or model."""

    text: str
    kind: str


class Generator(Protocol):
    """Anything that proposes paraphrases for a batch of sources."""

    name: str

    def generate(self, sources: Sequence[Source]) -> list[list[Candidate]]:
        """One list of candidates per source, in a deterministic order."""
        ...


def stable_seed(*parts: object) -> int:
    """A 63-bit seed derived from the parts' text (independent of PYTHONHASHSEED)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def rng_for(source: Source, salt: str) -> random.Random:
    """A private random stream for one source and one rule."""
    return random.Random(stable_seed(source.seed, salt))


def mask_entities(example: Example) -> tuple[str, list[str]]:
    """Replace each entity span by one private-use character; returns text and surfaces."""
    spans = sorted({(e.start, e.end) for e in example.entities})
    out: list[str] = []
    surfaces: list[str] = []
    pos = 0
    for start, end in spans:
        out.append(example.text[pos:start])
        out.append(chr(_MASK_BASE + len(surfaces)))
        surfaces.append(example.text[start:end])
        pos = end
    out.append(example.text[pos:])
    return "".join(out), surfaces


def unmask(text: str, surfaces: Sequence[str]) -> str:
    """Put entity surfaces back in place of their mask characters."""
    for i, surface in enumerate(surfaces):
        text = text.replace(chr(_MASK_BASE + i), surface)
    return text


def is_mask(ch: str) -> bool:
    """True for a mask character."""
    return _MASK_BASE <= ord(ch) < _MASK_BASE + 256
