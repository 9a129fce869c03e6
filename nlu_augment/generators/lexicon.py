"""Colloquial phrase equivalents a shopper uses interchangeably (greetings, yes/no, thanks,
opinions, shop verbs). WordNet has no interjections and few chat words, so these come from a
small hand-kept table of groups; any member may replace any other member of its group.
"""

from __future__ import annotations

import random
import re
from typing import Sequence

# Each group: phrases that can stand in for one another in a chat message. Keep it generic
# (English chat and shop vocabulary), never tuned to a test set.
GROUPS: tuple[tuple[str, ...], ...] = (
    ("hi", "hello", "hey", "hiya", "hey there", "hello there", "howdy"),  # start only
    ("good morning", "good afternoon", "good evening", "good day"),
    ("bye", "goodbye", "bye bye", "see you", "see ya", "take care", "catch you later"),
    ("yes", "yeah", "yep", "yup", "absolutely", "definitely", "of course"),  # start only
    ("ok", "okay", "alright"),  # start only
    ("no", "nope", "nah"),  # start only
    ("not really", "not at all", "no way"),
    ("thanks", "thank you", "thx", "cheers"),
    ("thanks a lot", "many thanks", "thanks so much", "thank you so much", "thank you very much"),
    ("great", "awesome", "nice", "cool", "lovely", "amazing", "fantastic", "perfect"),
    ("bad", "terrible", "awful", "horrible", "dreadful"),
    ("love", "adore", "really like"),
    ("hate", "dislike", "can't stand", "don't like"),
    ("buy", "purchase", "order"),
    ("recommend", "suggest"),
    ("delete", "erase", "remove", "wipe"),
    ("data", "information", "info", "details"),
    ("price", "cost"),
    ("expensive", "pricey", "overpriced"),
    ("broken", "damaged", "faulty"),
    ("late", "delayed"),
    ("annoyed", "frustrated", "upset", "angry"),
    ("happy", "glad", "pleased"),
    ("problem", "issue"),
    ("help", "assist"),
    ("report", "summary", "overview"),
    ("bot", "robot", "machine"),
    ("something", "anything"),
    ("really", "very"),
    ("clothes", "clothing", "outfits"),
)

# Groups whose words have other uses mid-sentence ("no problem", "hey, wait") apply only when
# the message starts with them.
START_ONLY = frozenset(GROUPS[i] for i in (0, 3, 4, 5))
SOCIAL = frozenset(GROUPS[i] for i in (7, 8))

_INDEX: dict[str, tuple[str, ...]] = {}
for _group in GROUPS:
    for _phrase in _group:
        _INDEX.setdefault(_phrase, _group)
_PATTERN = re.compile(
    r"(?<![\w'])("
    + "|".join(re.escape(p) for p in sorted(_INDEX, key=len, reverse=True))
    + r")(?![\w'])",
    re.IGNORECASE,
)


def alternatives(masked: str, rng: random.Random, limit: int = 3) -> list[str]:
    """Up to ``limit`` variants, each replacing one phrase by another of its group."""
    options: list[tuple[int, int, str]] = []
    for m in _PATTERN.finditer(masked):
        phrase = m.group(0)
        group = _INDEX[phrase.lower()]
        before = masked[: m.start()].strip()
        if group in START_ONLY and before:
            continue
        if group in SOCIAL and before.lower().endswith("no"):
            continue  # "no thanks" is a refusal, not thanks
        for other in group:
            if other != phrase.lower():
                options.append((m.start(), m.end(), other))
    rng.shuffle(options)
    out: list[str] = []
    for start, end, other in options:
        if len(out) >= limit:
            break
        original = masked[start:end]
        repl = other[0].upper() + other[1:] if original[:1].isupper() else other
        text = masked[:start] + repl + masked[end:]
        if text not in out:
            out.append(text)
    return out


def groups_of(text: str) -> Sequence[tuple[str, ...]]:
    """The groups whose phrases occur in ``text`` (for tests and reports)."""
    return [_INDEX[m.group(0).lower()] for m in _PATTERN.finditer(text)]
