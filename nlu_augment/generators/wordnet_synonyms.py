"""WordNet synonyms restricted to the word's likely part of speech and most frequent sense.

Nouns are left alone (in a shop they are mostly products, and their rare senses read badly),
and a synonym must be common in WordNet's sense-tagged corpus. There is no POS tagger offline (NLTK's tagger data cannot be downloaded), so the part of speech
comes from the left context (``i want`` -> verb, ``the cheap`` -> adjective or noun) and falls
back to the POS with most tagged senses. Only the first (most frequent) synset of that POS
contributes lemmas, which keeps ``want`` (verb: desire) away from ``want`` (noun: privation).
Look-ups are memoised per run and in the on-disk cache, so a warm run never loads WordNet.
"""

from __future__ import annotations

import json
import random
import re
from typing import Optional

from nlu_augment.cache import BlobCache, content_key
from nlu_augment.generators.base import is_mask

STOPWORDS = frozenset(
    ["a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by", "for", "with", "from", "about", "as", "into", "than", "then", "so", "too", "very", "i", "me", "my", "mine", "we", "us", "our", "you", "your", "he", "him", "his", "she", "her", "it", "its", "they", "them", "their", "this", "that", "these", "those", "is", "am", "are", "was", "were", "be", "been", "being", "do", "does", "did", "have", "has", "had", "can", "could", "will", "would", "shall", "should", "may", "might", "must", "not", "no", "yes", "hi", "hello", "hey", "ok", "okay", "please", "thanks", "thank", "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "all", "any", "some", "each", "every", "there", "here", "just", "also", "only", "get", "got", "go", "going", "make", "made", "take", "let", "like", "want", "need", "one", "really", "much", "many", "more", "most", "lot", "lots"]
)
VERB_CUES = frozenset(
    ["i", "you", "we", "they", "to", "please", "don't", "can", "could", "would", "will", "should", "let's", "i'd", "i'll", "wanna"]
)
NOUN_CUES = frozenset(["a", "an", "the", "some", "any", "my", "your", "this", "that", "these", "those", "his", "her", "their", "our"])
ADJ_CUES = frozenset(["is", "are", "was", "were", "looks", "look", "seems", "seem", "feel", "feels", "so", "very", "too", "really", "quite"])
# A verb with a person as its object ("show me", "tell us", "give me") is used in its giving or
# telling sense, which is rarely WordNet's first: show -> "demonstrate", tell -> "state".
PERSON_OBJECTS = frozenset(["me", "us", "him", "her", "them"])
_WORD = re.compile(r"(?<![\w'])[A-Za-z][a-z]+(?![\w'])")
_NAMESPACE = "wordnet-3.0-first-sense-v2"
# A synonym must be tagged at least this often in WordNet's sense-tagged corpus: rare lemmas
# ("bringing" for delivery, "skint" for broke) are the ones that read wrong.
MIN_LEMMA_COUNT = 2


class WordNetSynonyms:
    """Single-word synonym substitution with sense and part-of-speech restriction."""

    name = "synonyms"

    def __init__(self, cache: Optional[BlobCache] = None) -> None:
        self._cache = cache
        self._memo: dict[tuple[str, str], list[str]] = {}
        self._wn = None

    def _wordnet(self):
        if self._wn is None:
            try:
                from nltk.corpus import wordnet

                wordnet.ensure_loaded()
            except LookupError as err:
                raise RuntimeError(
                    "WordNet is not installed for nltk (NLTK_DATA/corpora/wordnet). Run `make "
                    "setup` (scripts/setup.d/40-wordnet.sh) or drop 'synonyms' from "
                    "--offline-kinds."
                ) from err
            self._wn = wordnet
        return self._wn

    def _guess_pos(self, prev: str, word: str) -> Optional[str]:
        if prev in VERB_CUES or prev == "":
            return "v"
        if prev in ADJ_CUES:
            return "a"
        if prev in NOUN_CUES:
            return "a?n"
        return None

    def lemmas(self, word: str, pos_hint: Optional[str]) -> list[str]:
        """Synonyms of ``word`` for the hinted POS ('v', 'a', 'a?n' or None), best first."""
        key = (word, pos_hint or "")
        if key in self._memo:
            return self._memo[key]
        ckey = content_key(_NAMESPACE, f"{word}\x00{pos_hint}")
        if self._cache is not None:
            hit = self._cache.get_many([ckey]).get(ckey)
            if hit is not None:
                self._memo[key] = json.loads(hit)
                return self._memo[key]
        result = self._lookup(word, pos_hint)
        self._memo[key] = result
        if self._cache is not None:
            self._cache.put_many({ckey: json.dumps(result).encode()})
        return result

    def _lookup(self, word: str, pos_hint: Optional[str]) -> list[str]:
        wn = self._wordnet()
        if pos_hint == "a?n" or pos_hint == "a":
            order = ["a", "s"]
        elif pos_hint == "v":
            order = ["v"]
        else:
            counts: dict[str, int] = {}
            for syn in wn.synsets(word):
                counts[syn.pos()] = counts.get(syn.pos(), 0) + sum(
                    lem.count() for lem in syn.lemmas() if lem.name().lower() == word
                )
            if not counts:
                return []
            order = [max(sorted(counts), key=lambda p: counts[p])]
        for pos in order:
            wn_pos = "a" if pos == "s" else pos
            if wn_pos == "n" or wn._morphy(word, wn_pos) != [word]:
                continue  # nouns are mostly products; inflected/ambiguous forms break agreement
            synsets = [s for s in wn.synsets(word, pos=wn_pos) if s.pos() in (pos, wn_pos)]
            if not synsets:
                continue
            names = []
            for lem in synsets[0].lemmas():
                name = lem.name().replace("_", " ")
                if (name.lower() != word and name.isascii() and name.islower()
                        and " " not in name and lem.count() >= MIN_LEMMA_COUNT):
                    names.append((-lem.count(), name))
            return [n for _, n in sorted(names)]
        return []

    def substitutions(self, masked: str, rng: random.Random, limit: int = 3) -> list[str]:
        """Up to ``limit`` variants of ``masked`` text, each with one word replaced."""
        tokens = list(_WORD.finditer(masked))
        options: list[tuple[int, int, str]] = []
        for i, tok in enumerate(tokens):
            word = tok.group(0)
            low = word.lower()
            if low in STOPWORDS or len(low) < 3 or (word != low and i > 0):
                continue
            following = tokens[i + 1].group(0).lower() if i + 1 < len(tokens) else ""
            if following in PERSON_OBJECTS and masked[tok.end():tokens[i + 1].start()].isspace():
                continue
            before = masked[: tok.start()].rstrip()
            if before and is_mask(before[-1]):
                prev = "<entity>"
            else:
                prev = tokens[i - 1].group(0).lower() if i > 0 else ""
            for lemma in self.lemmas(low, self._guess_pos(prev, low))[:2]:
                options.append((tok.start(), tok.end(), lemma))
        rng.shuffle(options)
        out = []
        for start, end, lemma in options[:limit]:
            original = masked[start:end]
            repl = lemma[0].upper() + lemma[1:] if original[0].isupper() else lemma
            out.append(masked[:start] + repl + masked[end:])
        return out
