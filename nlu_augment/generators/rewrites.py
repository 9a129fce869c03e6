"""Phrase-level rewrites: request frames (question <-> request), politeness, hedges, contractions.

All functions take and return masked text (entities are opaque characters, see base.py).
"""

from __future__ import annotations

import functools
import random
import re

from nlu_augment.grammar import tail_fits

# Frames that take a noun phrase ("... suede boots") and frames that take a verb phrase
# ("... buy suede boots"). Questions get a question mark.
OBJECT_FRAMES = (
    "i want", "i'd like", "i would like", "i need", "i'm looking for", "i am looking for",
    "looking for", "show me", "do you have", "do you sell", "can i get", "could i get",
    "can you show me", "could you show me", "i'm after",
    "i'm searching for", "i'm interested in",
)
VERB_FRAMES = (
    "i want to", "i'd like to", "i would like to", "i need to", "can i", "could i", "let me",
    "i wanna", "i'm trying to", "is it possible to", "help me",
)
QUESTIONS = {
    "do you have", "do you sell", "can i get", "could i get", "can you show me",
    "could you show me", "can i", "could i", "is it possible to",
}
IMPERATIVE_VERBS = (
    "show", "find", "give", "tell", "recommend", "suggest", "help", "get", "add", "remove",
    "cancel", "list", "search", "bring", "send", "check", "compare", "open", "take",
)
CONTRACTIONS = (
    ("i am", "i'm"), ("i would", "i'd"), ("i will", "i'll"), ("i have", "i've"),
    ("do not", "don't"), ("does not", "doesn't"), ("did not", "didn't"), ("is not", "isn't"),
    ("are not", "aren't"), ("cannot", "can't"), ("can not", "can't"), ("it is", "it's"),
    ("that is", "that's"), ("what is", "what's"), ("you are", "you're"), ("let us", "let's"),
    ("there is", "there's"), ("was not", "wasn't"), ("would not", "wouldn't"),
)
HEDGES = ("actually, ", "hmm, ", "well, ", "honestly, ", "so ", "um, ")
I_THINK_STARTS = ("i'm", "i am", "it's", "it is", "this is", "that's", "that is", "these", "the ")
POLITE_PREFIXES = ("please ", "could you please ", "would you ")
POLITE_SUFFIXES = (" please", " if possible")  # each only where grammar.tail_fits

_TRAIL = re.compile(r"[\s?!.,]+$")
# A farewell that starts like a command ("take care, bye") is not a request to make polite.
_SIGN_OFF = re.compile(r"\b(?:bye|goodbye|take care|cya|ciao|see ya|see you)\b")
# A pronoun's contracted verb cannot end a clause: "as it is" -> "as it's", "yes i have" ->
# "yes i've". Contractions of "not" can ("no, i don't").
_WEAK_CONTRACTION = re.compile(r"'(?:s|re|m|ve|ll|d)$")
_NOT_AT_CLAUSE_END = r"(?!\s*(?:[,.!?;:]|$))"


def _split_frame(text: str, frames: tuple[str, ...]) -> tuple[str, str] | None:
    low = text.lower()
    for frame in sorted(frames, key=len, reverse=True):
        if low.startswith(frame + " "):
            rest = _TRAIL.sub("", text[len(frame) + 1 :]).strip()
            if rest:
                return frame, rest
    return None


def _finish(frame: str, rest: str) -> str:
    return f"{frame} {rest}" + ("?" if frame in QUESTIONS else "")


def match_case(template: str, text: str) -> str:
    """Give ``text`` the first-letter case of ``template``."""
    if template[:1].isupper() and text[:1].islower():
        return text[0].upper() + text[1:]
    if template[:1].islower() and text[:1].isupper() and not text[:2].isupper():
        return text[0].lower() + text[1:]
    return text


def frames(text: str, rng: random.Random, limit: int = 3) -> list[str]:
    """Swap the request frame: 'i want X' -> 'do you have X?', 'can i buy X' -> 'i'd like to buy X'."""
    for group in (VERB_FRAMES, OBJECT_FRAMES):
        split = _split_frame(text, group)
        if split is None:
            continue
        frame, rest = split
        others = [f for f in group if f != frame]
        rng.shuffle(others)
        return [match_case(text, _finish(f, rest)) for f in others[:limit]]
    return []


def politeness(text: str, rng: random.Random, limit: int = 2) -> list[str]:
    """Add politeness to requests and imperatives: 'please show me X', 'could you show me X?'."""
    low = text.lower()
    words = low.split()
    if not words:
        return []
    imperative = words[0] in IMPERATIVE_VERBS
    request = _split_frame(text, OBJECT_FRAMES + VERB_FRAMES) is not None
    if not (imperative or request) or "please" in words or _SIGN_OFF.search(low):
        return []
    bare = _TRAIL.sub("", text)
    if bare[:1].isupper() and not bare[:2].isupper():
        bare = bare[0].lower() + bare[1:]
    out = [bare + s for s in POLITE_SUFFIXES if tail_fits(bare, s)]
    if imperative:
        out += [p + bare + ("?" if p.startswith(("could", "would")) else "") for p in POLITE_PREFIXES]
        out += [f"can you {bare}?"]
    rng.shuffle(out)
    return [match_case(text, o) for o in out[:limit]]


def hedges(text: str, rng: random.Random, limit: int = 1) -> list[str]:
    """Prefix a hedge or filler: 'actually, X', 'i think it's X'."""
    if len(text.split()) < 2:
        return []
    low = text.lower()
    options = [h + _lower_first(text) for h in HEDGES]
    if low.startswith(I_THINK_STARTS):
        options.append("i think " + _lower_first(text))
    rng.shuffle(options)
    return [match_case(text, o) for o in options[:limit]]


def _lower_first(text: str) -> str:
    if text[:1].isupper() and not text[:2].isupper():
        return text[0].lower() + text[1:]
    return text


def _cased(match: re.Match[str], new: str) -> str:
    return match_case(match.group(0), new)


def _replace_all(text: str, pairs: list[tuple[str, str]]) -> str:
    for old, new in pairs:
        end = _NOT_AT_CLAUSE_END if _WEAK_CONTRACTION.search(new) else ""
        pattern = re.compile(r"(?<![\w'])" + re.escape(old) + r"(?![\w'])" + end,
                             re.IGNORECASE)
        text = pattern.sub(functools.partial(_cased, new=new), text)
    return text


def contractions(text: str, rng: random.Random, limit: int = 1) -> list[str]:
    """Contract expanded forms ('i am' -> "i'm") or expand contracted ones."""
    contracted = _replace_all(text, list(CONTRACTIONS))
    expanded = _replace_all(text, [(b, a) for a, b in CONTRACTIONS if a != "can not"])
    out = [t for t in (contracted, expanded) if t != text]
    return out[:limit]
