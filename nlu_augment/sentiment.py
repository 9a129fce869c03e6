"""Sentiment preservation: a generated example must feel like its source.

The score is the project's own (`bot/sentiment.py`, VADER + TextBlob fused), which the bot
environment has and the vision environment does not. Rather than copy the rule, texts are
scored by a short bot-environment child process (`devtools.sentiment_score`, one call per
batch), and cached by content hash together with a hash of `bot/sentiment.py`, so a change to
the rule rescores everything.

The keep rule (`sentiment_problem`): drop a candidate whose label (positive / neutral /
negative) differs from its source's ("the plastic feels cheap" -> "... inexpensive": positive
-> neutral for this rule), or whose source is strongly polar (|score| >= STRONG) while the
candidate keeps less than half of that strength ("terrible service" -> "terrble service").
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Optional, Protocol, Sequence

from emotical_shared.childenv import child_env
from nlu_augment.cache import BlobCache, content_key

ROOT = Path(__file__).resolve().parent.parent
RULE_FILE = ROOT / "bot" / "sentiment.py"
STRONG = 0.5
Score = tuple[float, str]


class Scorer(Protocol):
    """Anything that gives (score, label) for texts, in order."""

    def scores(self, texts: Sequence[str]) -> list[Score]:
        """One (score in [-1, 1], label) per text."""
        ...


def sentiment_problem(source: Score, candidate: Score) -> Optional[str]:
    """"label" or "polarity" when the candidate does not keep the source's sentiment, else None."""
    if source[1] != candidate[1]:
        return "label"
    if abs(source[0]) >= STRONG and (source[0] * candidate[0] <= 0
                                     or abs(candidate[0]) < abs(source[0]) / 2):
        return "polarity"
    return None


def bot_python() -> str:
    """The bot environment's interpreter ($EMOTICAL_BOT_PYTHON or .venv/bot/bin/python)."""
    return os.environ.get("EMOTICAL_BOT_PYTHON") or str(ROOT / ".venv" / "bot" / "bin" / "python")


class BotSentiment:
    """`bot/sentiment.py`'s `analyse`, through a bot-environment child process, cached."""

    def __init__(self, cache: Optional[BlobCache] = None, python: Optional[str] = None) -> None:
        self.python = python or bot_python()
        self._cache = cache
        self._memo: dict[str, Score] = {}
        rule = RULE_FILE.read_bytes() if RULE_FILE.exists() else b""
        self._namespace = "sentiment-" + hashlib.sha256(rule).hexdigest()[:16]
        self.scored = 0

    def scores(self, texts: Sequence[str]) -> list[Score]:
        """Scores of ``texts``; only texts never seen before reach the child process."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if missing and self._cache is not None:
            keys = {content_key(self._namespace, t): t for t in missing}
            for key, blob in self._cache.get_many(list(keys)).items():
                score, label = json.loads(blob)
                self._memo[keys[key]] = (float(score), str(label))
            missing = [t for t in missing if t not in self._memo]
        if missing:
            fresh = self._run(missing)
            self._memo.update(fresh)
            if self._cache is not None:
                self._cache.put_many({content_key(self._namespace, t): json.dumps(s).encode()
                                      for t, s in fresh.items()})
        return [self._memo[t] for t in texts]

    def _run(self, texts: list[str]) -> dict[str, Score]:
        if not Path(self.python).exists():
            raise RuntimeError(
                f"the sentiment filter needs the bot environment ({self.python}); run `make "
                "setup`, set EMOTICAL_BOT_PYTHON, or pass --no-sentiment")
        proc = subprocess.run(
            [self.python, "-m", "devtools.sentiment_score"], input=json.dumps(texts),
            capture_output=True, text=True, cwd=ROOT,
            env=child_env(), check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError("sentiment scoring failed: " + proc.stderr.strip()[-500:])
        self.scored += len(texts)
        return {t: (float(s), str(lab)) for t, (s, lab) in zip(texts, json.loads(proc.stdout),
                                                              strict=True)}
