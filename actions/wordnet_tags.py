"""Relate the words shoppers use to catalog tags through WordNet (nltk, offline).

"scarlet" reaches the tag `red` (a synonym in one adjective sense, a hyponym of red as a noun),
"sheepskin" reaches `leather` (hypernym), "woollen" reaches `wool`. Exact tags (and their plural
or inflected forms) relate with strength 1; each WordNet hop multiplies the strength by
`related_factor`. Without WordNet installed (run `make setup`) only exact matches remain, and the
relater says so once in the log.
"""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache
from typing import Dict, FrozenSet, Iterable, Optional

from emotical_shared import logs

logger = logging.getLogger(__name__)

#: Senses per part of speech that are followed (rare senses only add noise: "sneakers" is also
#: an informer).
SENSES_PER_POS = 3


def normalise_word(word: str) -> str:
    """Lower-case a word or phrase and join its parts with `-` (the catalog's tag spelling)."""
    return re.sub(r"[\s_]+", "-", word.strip().lower())


class TagRelater:
    """Map a shopper's word to the catalog tags it names or relates to, with strengths."""

    def __init__(self, tags: Iterable[str], use_wordnet: bool = True,
                 related_factor: float = 0.5) -> None:
        self.tags: FrozenSet[str] = frozenset(normalise_word(t) for t in tags)
        self.related_factor = related_factor
        self._wn = None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._use_wordnet = use_wordnet
        if not use_wordnet:
            self._ready.set()
        self.relate = lru_cache(maxsize=4096)(self._relate)

    def warm_up(self, background: bool = True) -> None:
        """Load WordNet now (in a thread by default) so the first shopper does not wait ~10 s."""
        if background:
            threading.Thread(target=self._ensure_loaded, name="wordnet-load", daemon=True).start()
        else:
            self._ensure_loaded()

    @property
    def wordnet_available(self) -> bool:
        """Whether WordNet loaded (waits for a load in progress)."""
        self._ensure_loaded()
        return self._wn is not None

    def _ensure_loaded(self) -> None:
        if self._ready.is_set():
            return
        with self._lock:
            if self._ready.is_set():
                return
            try:
                from nltk.corpus import wordnet

                wordnet.ensure_loaded()
                wordnet.synsets("shoe")
                self._wn = wordnet
                logs.event(logger, logging.INFO, "wordnet_loaded", version=wordnet.get_version())
            except (LookupError, OSError) as exc:
                logs.event(logger, logging.WARNING, "wordnet_unavailable", error=type(exc).__name__,
                           fix="run make setup; NLTK_DATA must point at var/nltk_data",
                           effect="only exact tag matches")
            finally:
                self._ready.set()

    def _exact(self, word: str) -> Optional[str]:
        if word in self.tags:
            return word
        # Plurals and inflections without WordNet: "boots" -> boot, "dresses" -> dress.
        for suffix in ("es", "s"):
            if word.endswith(suffix) and word[: -len(suffix)] in self.tags:
                return word[: -len(suffix)]
        if self._wn is not None:
            for pos in ("n", "a", "v"):
                base = self._wn.morphy(word.replace("-", "_"), pos)
                if base and normalise_word(base) in self.tags:
                    return normalise_word(base)
        return None

    def _relate(self, word: str) -> Dict[str, float]:
        """Tags related to `word`, each with a strength in (0, 1]; {} when nothing relates."""
        self._ensure_loaded()
        word = normalise_word(word)
        if not word:
            return {}
        exact = self._exact(word)
        found: Dict[str, float] = {exact: 1.0} if exact else {}
        if self._wn is None:
            return found
        f = self.related_factor

        def offer(lemma_names: Iterable[str], strength: float) -> None:
            for name in lemma_names:
                tag = normalise_word(name)
                if tag in self.tags and strength > found.get(tag, 0.0):
                    found[tag] = strength

        for pos in ("n", "a", "s", "v"):
            for synset in self._wn.synsets(word.replace("-", "_"), pos=pos)[:SENSES_PER_POS]:
                offer(synset.lemma_names(), f)
                for similar in synset.similar_tos():
                    offer(similar.lemma_names(), f)
                for hyper in synset.hypernyms():
                    offer(hyper.lemma_names(), f)
                    for hyper2 in hyper.hypernyms():
                        offer(hyper2.lemma_names(), f * f)
        return found
