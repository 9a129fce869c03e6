"""Light noise a real shopper types: common typos and casing/punctuation variants."""

from __future__ import annotations

import random
import re

_KEYBOARD = {
    "a": "qsz", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj",
    "i": "uo", "j": "hk", "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o",
    "q": "w", "r": "et", "s": "ad", "t": "ry", "u": "yi", "v": "cb", "w": "qe", "x": "zc",
    "y": "tu", "z": "x",
}
_TYPO_WORD = re.compile(r"[a-z]{4,}")


def typo(masked: str, rng: random.Random) -> str | None:
    """One keyboard slip in one word of four or more letters (never inside an entity)."""
    words = list(_TYPO_WORD.finditer(masked))
    if not words:
        return None
    tok = words[rng.randrange(len(words))]
    w = tok.group(0)
    i = rng.randrange(1, len(w) - 1)
    op = rng.choice(("swap", "drop", "double", "neighbour"))
    if op == "swap":
        new = w[:i] + w[i + 1] + w[i] + w[i + 2 :]
    elif op == "drop":
        new = w[:i] + w[i + 1 :]
    elif op == "double":
        new = w[:i] + w[i] + w[i:]
    else:
        new = w[:i] + rng.choice(_KEYBOARD.get(w[i], w[i])) + w[i + 1 :]
    if new == w:
        return None
    return masked[: tok.start()] + new + masked[tok.end() :]


def casing(masked: str, rng: random.Random) -> str | None:
    """Lower-case everything, capitalise the first letter, or drop the final punctuation."""
    options = []
    if masked.lower() != masked:
        options.append(masked.lower())
    if masked[:1].islower():
        options.append(masked[0].upper() + masked[1:])
    stripped = masked.rstrip("?.!")
    if stripped != masked:
        options.append(stripped)
    if not options:
        return None
    return rng.choice(options)
