"""The sentiment rule (bot/sentiment.py) and the NLU component inside a real trained pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sentiment import THRESHOLD, analyse, fuse, label_for


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("I love these shoes, they are perfect", "positive"),
        ("this is terrible, the worst jacket I ever bought", "negative"),
        ("not bad at all", "positive"),  # negation flips a negative word
        ("SO good!!!", "positive"),  # capitals and exclamation marks intensify
        ("these are dope lol 😍", "positive"),  # slang and emoji
        ("this sucks 😡", "negative"),
        ("not good", "negative"),
        ("the delivery is on tuesday", "neutral"),
    ],
)
def test_clear_messages_get_the_label_a_shopper_would_expect(text: str, label: str) -> None:
    result = analyse(text)
    assert result.label == label, f"{text!r} scored {result}"
    assert -1.0 <= result.score <= 1.0


def test_intensified_message_scores_higher_than_plain_one() -> None:
    plain, loud = analyse("so good"), analyse("SO good!!!")
    assert loud.vader_compound > plain.vader_compound
    assert loud.score > plain.score


def test_negation_is_not_read_as_the_negative_word() -> None:
    assert analyse("bad").score < 0 < analyse("not bad at all").score


def test_fusion_rule_weights_and_fallback() -> None:
    assert fuse(0.5, 0.5) == pytest.approx(0.5)
    assert fuse(1.0, -1.0) == pytest.approx(0.4)  # VADER dominates on disagreement
    assert fuse(0.0, -0.6) == pytest.approx(-0.6)  # VADER silent: TextBlob alone
    assert fuse(1.0, 1.0) == 1.0
    assert label_for(THRESHOLD) == "positive"
    assert label_for(-THRESHOLD) == "negative"
    assert label_for(0.0) == "neutral"


def test_empty_text_is_neutral_not_an_error() -> None:
    assert analyse("").label == "neutral"


TINY_CONFIG = """
recipe: default.v1
language: en
assistant_id: sentiment-test
pipeline:
  - name: WhitespaceTokenizer
  - name: CountVectorsFeaturizer
  - name: LogisticRegressionClassifier
  - name: bot.components.SentimentAnalyzer
policies: []
"""

TINY_NLU = """
version: "3.1"
nlu:
- intent: complain
  examples: |
    - this is awful
    - my order broke
    - terrible service
- intent: express_like
  examples: |
    - I love it
    - this is great
    - gorgeous colour
"""


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real NLU model trained with the component in its pipeline."""
    from rasa.model_training import train_nlu

    work = tmp_path_factory.mktemp("nlu")
    (work / "config.yml").write_text(TINY_CONFIG)
    (work / "nlu.yml").write_text(TINY_NLU)
    out = train_nlu(
        config=str(work / "config.yml"), nlu_data=str(work / "nlu.yml"),
        output=str(work / "models"), fixed_model_name="tiny",
    )
    assert out, "rasa train_nlu produced no model"
    return Path(out)


async def _parse(model: Path, text: str) -> dict:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    return await agent.parse_message(text)


def test_trained_pipeline_returns_sentiment_in_parse_data(tiny_model: Path) -> None:
    import asyncio

    parsed = asyncio.run(_parse(tiny_model, "this is so frustrating, the shoes fell apart"))
    sentiment = parsed.get("sentiment")
    assert sentiment is not None, f"no sentiment in parse data: {sorted(parsed)}"
    assert set(sentiment) == {
        "vader_compound", "textblob_polarity", "textblob_subjectivity", "score", "label",
    }
    assert sentiment["label"] == "negative"
    positive = asyncio.run(_parse(tiny_model, "I absolutely love this, SO good!!!"))
    assert positive["sentiment"]["label"] == "positive"
    assert positive["sentiment"]["score"] > sentiment["score"]
