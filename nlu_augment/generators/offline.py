"""The offline generator: rule-based paraphrases that need no model download."""

from __future__ import annotations

from typing import Optional, Sequence

from nlu_augment.cache import BlobCache
from nlu_augment.generators import lexicon, rewrites
from nlu_augment.generators.base import Candidate, Source, mask_entities, rng_for, unmask
from nlu_augment.generators.wordnet_synonyms import WordNetSynonyms

PARAPHRASE_KINDS = ("frames", "politeness", "hedges", "contractions", "lexicon", "synonyms")
DEFAULT_KINDS = PARAPHRASE_KINDS


class OfflineGenerator:
    """Request-frame swaps, politeness, hedges, contractions, chat-phrase lexicon, WordNet
    synonyms.

    ``kinds`` switches rules on and off. Lexicon and WordNet substitutions are also applied once
    to a frame rewrite, so two edits combine. Noise (typos, casing) lives in noise.py and is added after filtering.
    """

    name = "offline"

    def __init__(self, kinds: Sequence[str] = DEFAULT_KINDS, cache: Optional[BlobCache] = None):
        unknown = set(kinds) - set(PARAPHRASE_KINDS)
        if unknown:
            raise ValueError(
                f"unknown offline kinds {sorted(unknown)}; choose from {', '.join(PARAPHRASE_KINDS)}"
            )
        self.kinds = tuple(k for k in PARAPHRASE_KINDS if k in kinds)
        self.synonyms = WordNetSynonyms(cache) if "synonyms" in self.kinds else None

    def generate(self, sources: Sequence[Source]) -> list[list[Candidate]]:
        """Candidates for each source, in rule order then rule output order."""
        return [self._one(s) for s in sources]

    def _one(self, source: Source) -> list[Candidate]:
        masked, surfaces = mask_entities(source.example)
        out: list[Candidate] = []
        framed: list[str] = []
        for kind in self.kinds:
            rng = rng_for(source, kind)
            if kind == "synonyms":
                assert self.synonyms is not None
                texts = self.synonyms.substitutions(masked, rng, limit=3)
                if framed:
                    texts += self.synonyms.substitutions(framed[0], rng, limit=1)
            elif kind == "lexicon":
                texts = lexicon.alternatives(masked, rng, limit=3)
                if framed:
                    texts += lexicon.alternatives(framed[-1], rng, limit=1)
            else:
                texts = getattr(rewrites, kind)(masked, rng)
                if kind == "frames":
                    framed = texts
            out.extend(Candidate(unmask(t, surfaces), kind) for t in texts if t != masked)
        return out
