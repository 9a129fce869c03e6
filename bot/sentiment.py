"""Message sentiment: VADER and TextBlob scores fused into one score and label.

The fusion rule, in one place (the NLU component and the actions both use it):

    score = clamp(W_VADER * vader_compound + W_TEXTBLOB * textblob_polarity, -1, 1)
    label = "positive" if score >= THRESHOLD, "negative" if score <= -THRESHOLD, else "neutral"

VADER gets the larger weight because it understands negation ("not bad at all"), intensifiers
("SO good!!!"), capitals, punctuation, emoji and slang; TextBlob adds a second lexicon that is
better on plain adjectives of product descriptions ("flimsy", "gorgeous"). When VADER finds no
sentiment at all (compound exactly 0) the score is TextBlob's polarity alone, so one analyser
never silences the other. THRESHOLD is VADER's own convention (0.05).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Dict

W_VADER = 0.7
W_TEXTBLOB = 0.3
THRESHOLD = 0.05


@dataclass(frozen=True)
class Sentiment:
    """Sentiment of one message; `score` in [-1, 1], `label` positive/neutral/negative."""

    vader_compound: float
    textblob_polarity: float
    textblob_subjectivity: float
    score: float
    label: str

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


@lru_cache(maxsize=1)
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def fuse(vader_compound: float, textblob_polarity: float) -> float:
    """The fused score of the module docstring's rule."""
    if vader_compound == 0.0:
        raw = textblob_polarity
    else:
        raw = W_VADER * vader_compound + W_TEXTBLOB * textblob_polarity
    return max(-1.0, min(1.0, raw))


def label_for(score: float) -> str:
    """positive / neutral / negative for a fused score."""
    if score >= THRESHOLD:
        return "positive"
    if score <= -THRESHOLD:
        return "negative"
    return "neutral"


def analyse(text: str) -> Sentiment:
    """Score one message with VADER and TextBlob and fuse the two."""
    from textblob import TextBlob

    text = text or ""
    compound = float(_vader().polarity_scores(text)["compound"])
    blob = TextBlob(text).sentiment
    polarity, subjectivity = float(blob.polarity), float(blob.subjectivity)
    score = fuse(compound, polarity)
    return Sentiment(
        vader_compound=round(compound, 4),
        textblob_polarity=round(polarity, 4),
        textblob_subjectivity=round(subjectivity, 4),
        score=round(score, 4),
        label=label_for(score),
    )
