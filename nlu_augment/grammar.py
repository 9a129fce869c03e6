"""Grammaticality guard: reject a rewrite that reads badly next to its source.

There is no parser offline, so each rule looks at what the generator changed (a word diff of
source and candidate) and at a few words around it. Every rule is named after the mistake it
stops, from real output of the rewrite and synonym generators:

* ``bare_infinitive``: "help me see your watches" -> "assist me see your watches". ``help``,
  ``let``, ``make``, ``have`` take a bare infinitive ("help me see"); their synonyms mostly need
  "to" ("assist me to see") or a noun ("assist me with").
* ``particle``: the verb of a phrasal verb was swapped ("pick up" -> "choose up", "check out"
  -> "control out"), or its particle was ("hold off" -> "hold away", "hold forth"): the
  particle belongs to the verb it came with.
* ``article``: "a" now stands before a vowel or "an" before a consonant ("have a great day"
  -> "have a amazing day").
* ``agreement``: a noun of the other number was put after a cue that fixes the number ("what
  are the details" -> "what are the information", "these clothes" -> "these clothing").
* ``repeat``: the rewrite says a phrase twice that the source said once ("show me something
  similar that I'd like" -> "i'd like anything similar that I'd like").
* ``tail``: a stock tail glued where it does not fit ("show me red shoes if you can", a
  question ending "if possible").
"""

from __future__ import annotations

import difflib
import itertools
import re
from typing import Optional, Sequence

RULES = ("bare_infinitive", "particle", "article", "agreement", "repeat", "tail")

BARE_INFINITIVE_VERBS = frozenset(["help", "let", "make", "have", "watch", "see", "hear"])
OBJECT_PRONOUNS = frozenset(["me", "us", "him", "her", "them", "you", "it"])
# What may follow "<verb> (me)" without being a bare infinitive.
NOT_A_VERB = frozenset([
    "with", "to", "a", "an", "the", "some", "any", "out", "please", "on", "in", "for", "more",
    "now", "again", "here", "there", "and", "or", "this", "that", "my", "your",
])
PARTICLES = frozenset(["up", "out", "off", "down", "away", "back", "over", "around", "through"])
#: Spellings whose first sound is not what their first letter says ("a useful", "an hour").
CONSONANT_SOUND_STARTS = ("one", "once", "uni", "use", "usu", "eu", "ur")
VOWEL_SOUND_STARTS = ("hour", "honest", "honour", "honor", "heir")
MASS_NOUNS = frozenset([
    "information", "info", "data", "clothing", "feedback", "advice", "stuff", "jewelry",
    "jewellery", "luggage", "footwear", "equipment", "furniture", "merchandise",
])
PLURAL_CUES = frozenset(["are", "were", "these", "those", "many", "few", "several", "they"])
SINGULAR_CUES = frozenset(["is", "was", "this", "that", "a", "an", "much", "it", "does"])
#: Stock tails the politeness rule appends, and where each fits.
TAILS = (" if you can", " if possible", " please")
_WORD = re.compile(r"[\w']+")
_QUESTION_START = ("do ", "does ", "can ", "could ", "would ", "will ", "is ", "are ", "what",
                   "which", "how", "where", "when", "why", "who")


def words(text: str) -> list[str]:
    """Lower-case word tokens (apostrophes kept: "i'd" is one word)."""
    return _WORD.findall(text.lower())


def _is_plural(word: str) -> bool:
    return word.endswith("s") and not word.endswith(("ss", "us", "is")) and word not in MASS_NOUNS


def _replacements(src: Sequence[str], cand: Sequence[str]) -> list[tuple[int, int, int, int]]:
    """(source start, source end, candidate start, candidate end) of each replaced span."""
    ops = difflib.SequenceMatcher(a=list(src), b=list(cand), autojunk=False).get_opcodes()
    return [(i1, i2, j1, j2) for tag, i1, i2, j1, j2 in ops if tag == "replace"]


def _bare_infinitive(src: Sequence[str], cand: Sequence[str], span: tuple[int, int, int, int]
                     ) -> bool:
    i1, i2, j1, j2 = span
    old, new = src[i1:i2], cand[j1:j2]
    if len(old) != 1 or old[0] not in BARE_INFINITIVE_VERBS or (new and new[-1] in
                                                                 BARE_INFINITIVE_VERBS):
        return False
    k = j2
    if k < len(cand) and cand[k] in OBJECT_PRONOUNS:
        k += 1
    return k < len(cand) and cand[k] not in NOT_A_VERB and not cand[k].endswith("ing")


def _particle(src: Sequence[str], span: tuple[int, int, int, int]) -> bool:
    i1, i2, j1, j2 = span
    verb_swapped = i2 - i1 == 1 and i2 < len(src) and src[i2] in PARTICLES
    # one word for one word: a chat phrase swapped whole ("what's up") is not a phrasal verb
    particle_swapped = i2 - i1 == 1 == j2 - j1 and i1 > 0 and src[i1] in PARTICLES
    return verb_swapped or particle_swapped


def _article_mismatches(ws: Sequence[str]) -> set[tuple[str, str]]:
    """("a", word) / ("an", word) pairs whose article does not fit the word's first sound."""
    bad = set()
    for art, word in itertools.pairwise(ws):
        if art not in ("a", "an") or not word[:1].isalpha():
            continue
        vowel = word[0] in "aeiou" and not word.startswith(CONSONANT_SOUND_STARTS)
        vowel = vowel or word.startswith(VOWEL_SOUND_STARTS)
        if vowel == (art == "a"):
            bad.add((art, word))
    return bad


def _article(src: Sequence[str], cand: Sequence[str]) -> bool:
    return bool(_article_mismatches(cand) - _article_mismatches(src))


def _agreement(src: Sequence[str], cand: Sequence[str], span: tuple[int, int, int, int]) -> bool:
    i1, i2, j1, j2 = span
    if i2 - i1 != 1 or j2 - j1 != 1:
        return False
    old, new = src[i1], cand[j1]
    if _is_plural(old) == _is_plural(new):
        return False
    before = cand[max(0, j1 - 3):j1]
    cues = PLURAL_CUES if _is_plural(old) else SINGULAR_CUES
    return any(w in cues for w in before)


def _repeat(src: Sequence[str], cand: Sequence[str]) -> bool:
    def repeated(ws: Sequence[str]) -> set[tuple[str, str]]:
        seen: set[tuple[str, str]] = set()
        twice: set[tuple[str, str]] = set()
        for pair in itertools.pairwise(ws):
            (twice if pair in seen else seen).add(pair)
        return twice

    return bool(repeated(cand) - repeated(src))


def tail_fits(text: str, tail: str) -> bool:
    """Whether a stock ``tail`` may end ``text`` (a request, its final punctuation stripped).

    " if you can" never does: on a command or a wish it reads as doubting the shop. " if
    possible" fits a wish ("i'd like X if possible") but not a question or a command.
    " please" fits any request.
    """
    low = text.lower().strip()
    if tail == " if you can":
        return False
    if tail == " if possible":
        return not low.startswith(_QUESTION_START) and low.startswith(("i ", "i'd", "i'm"))
    return True


def _tail(source: str, candidate: str) -> bool:
    src, cand = source.lower().rstrip(" ?!."), candidate.lower().rstrip(" ?!.")
    for tail in TAILS:
        if cand.endswith(tail) and not src.endswith(tail):
            return not tail_fits(cand[: -len(tail)], tail)
    return False


def problem(source: str, candidate: str) -> Optional[str]:
    """The first rule of RULES that ``candidate`` breaks as a rewrite of ``source``, or None."""
    src, cand = words(source), words(candidate)
    spans = _replacements(src, cand)
    if any(_bare_infinitive(src, cand, s) for s in spans):
        return "bare_infinitive"
    if any(_particle(src, s) for s in spans):
        return "particle"
    if _article(src, cand):
        return "article"
    if any(_agreement(src, cand, s) for s in spans):
        return "agreement"
    if _repeat(src, cand):
        return "repeat"
    if _tail(source, candidate):
        return "tail"
    return None
