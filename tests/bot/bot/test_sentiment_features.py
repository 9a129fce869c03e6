"""The dense sentiment featurizer (bot/sentiment_features.py): its numbers and a real DIET run."""

from __future__ import annotations

import numpy as np
import pytest

from bot.sentiment_features import DIM, is_negation, sentence_features, token_features


def test_negation_flips_the_valence_of_the_words_after_it() -> None:
    liked = token_features(["i", "really", "like", "leather"])
    negated = token_features(["i", "don't", "like", "leather"])
    assert liked.shape == negated.shape == (4, DIM)
    assert liked[2, 0] > 0 > negated[2, 0], "'like' after 'don't' must read negative"
    assert negated[2, 4] == liked[2, 4] > 0, "the unflipped valence stays the word's own"
    assert negated[1, 3] == 1.0 and liked[1, 3] == 0.0, "the negation flag marks 'don't'"


def test_negation_reaches_three_tokens_and_no_further() -> None:
    near = token_features(["not", "a", "big", "fan"])
    far = token_features(["not", "that", "i", "am", "a", "fan"])
    assert near[3, 0] < 0, "'fan' three tokens after 'not' is negated"
    assert far[5, 0] > 0, "'fan' five tokens after 'not' is not"


@pytest.mark.parametrize("word", ["not", "don't", "dont", "isn't", "never", "no", "Nope"])
def test_negation_words(word: str) -> None:
    assert is_negation(word)


def test_sentence_vector_separates_like_from_dislike() -> None:
    like = sentence_features("big fan of leather", ["big", "fan", "of", "leather"])
    dislike = sentence_features("not a fan of leather", ["not", "a", "fan", "of", "leather"])
    assert like.shape == dislike.shape == (1, DIM)
    assert like[0, 0] > 0 > dislike[0, 0], "fused score: positive vs negative"
    assert dislike[0, 3] == 1.0 and like[0, 3] == 0.0
    assert np.isfinite(like).all() and np.isfinite(dislike).all()


CONFIG = """
recipe: default.v1
language: en
assistant_id: sentiment-features-test
pipeline:
  - name: WhitespaceTokenizer
  - name: CountVectorsFeaturizer
  - name: bot.sentiment_features.SentimentFeaturizer
  - name: DIETClassifier
    epochs: 2
    random_seed: 1
policies: []
"""

NLU = """
version: "3.1"
nlu:
- intent: express_like
  examples: |
    - I love it
    - big fan of [leather](attribute)
    - gorgeous colour
- intent: express_dislike
  examples: |
    - I don't like it
    - not a fan of [leather](attribute)
    - that's ugly
"""


def test_component_adds_token_and_sentence_features_of_the_text() -> None:
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
    from rasa.shared.nlu.constants import TEXT
    from rasa.shared.nlu.training_data.message import Message

    from bot.sentiment_features import SentimentFeaturizer

    message = Message(data={TEXT: "not a fan"})
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process([message])
    SentimentFeaturizer({**SentimentFeaturizer.get_default_config(), "alias": "s"},
                        "s").process([message])
    sequence, sentence = message.get_dense_features(TEXT, ["s"])
    assert sequence is not None and sentence is not None
    assert sequence.features.shape == (3, DIM) and sentence.features.shape == (1, DIM)
    assert sentence.features[0, 0] < 0, "'not a fan' reads negative"


def test_diet_trains_and_parses_with_the_features(tiny_model) -> None:
    """The component fits Rasa's graph: DIET trains on its features, parsing runs it."""
    model = tiny_model(CONFIG, NLU)
    nodes = model.processor.model_metadata.predict_schema.nodes
    assert any(n.uses.__name__ == "SentimentFeaturizer" for n in nodes.values())
    assert model.parse("not a fan")["intent"]["name"] in {"express_like", "express_dislike"}
