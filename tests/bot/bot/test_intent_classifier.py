"""The logistic-regression intent classifier (bot/intent_classifier.py), trained for real."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from bot.intent_classifier import fit_idf, softmax, sublinear_tf, weight_rows


def test_tfidf_weighting_matches_its_definition() -> None:
    counts = sp.csr_matrix(np.array([[2, 0, 1], [0, 0, 3], [0, 0, 0]], dtype=float))
    idf = fit_idf(counts)
    assert np.allclose(idf, np.log(4 / np.array([2, 1, 3])) + 1)
    assert np.allclose(sublinear_tf(counts).toarray()[0], [1 + np.log(2), 0, 1])
    rows = weight_rows(counts, idf).toarray()
    assert np.allclose(np.linalg.norm(rows[:2], axis=1), 1.0)
    assert not rows[2].any(), "a message with no known n-gram keeps a zero row"


def test_softmax_is_stable() -> None:
    p = softmax(np.array([[1000.0, 0.0], [1.0, 1.0]]))
    assert np.allclose(p, [[1, 0], [0.5, 0.5]])


CONFIG = """
recipe: default.v1
language: en
assistant_id: intent-classifier-test
pipeline:
  - name: WhitespaceTokenizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 4
  - name: bot.sentence_features.SentenceEncoderFeaturizer
  - name: DIETClassifier
    intent_classification: false
    epochs: 20
    random_seed: 1
  - name: bot.intent_classifier.SentenceIntentClassifier
  - name: FallbackClassifier
    threshold: 0.3
policies: []
"""

NLU = """
version: "3.1"
nlu:
- intent: express_like
  examples: |
    - I love [leather](attribute)
    - big fan of [suede](attribute)
    - gorgeous colour
    - this looks great
    - really like it
- intent: express_dislike
  examples: |
    - I don't like [leather](attribute)
    - not my style at all
    - that's ugly
    - this looks awful
    - hate it
- intent: greet
  examples: |
    - hello
    - hi there
    - good morning
    - hey
    - hiya
"""


@pytest.fixture(scope="module")
def model(tiny_model):
    return tiny_model(CONFIG, NLU)


def test_trained_model_reads_unseen_phrasings_and_keeps_entities(model) -> None:
    """Loaded from the model archive (the stored arrays, no pickle): intents of words no
    example uses, a ranking of probabilities, and DIET's entities still there."""
    for text, intent in (("absolutely adore this", "express_like"),
                         ("that's hideous", "express_dislike"),
                         ("hello there", "greet")):
        parsed = model.parse(text)
        assert parsed["intent"]["name"] == intent, (text, parsed["intent"])
        ranking = parsed["intent_ranking"]
        assert abs(sum(r["confidence"] for r in ranking) - 1.0) < 1e-6
        assert ranking[0]["confidence"] >= ranking[-1]["confidence"]
    entities = model.parse("I love leather")["entities"]
    assert [e["entity"] for e in entities] == ["attribute"]


def test_probabilities_are_sklearns_own(model) -> None:
    """The stored arrays reproduce sklearn's predict_proba for the same design matrix."""
    from rasa.shared.nlu.training_data.message import Message
    from sklearn.linear_model import LogisticRegression

    clf = model.component("SentenceIntentClassifier")
    nodes = model.processor.graph_runner._instantiated_nodes
    messages = [Message(data={"text": t}) for t in ("so pretty", "nah, ugly")]
    for node in nodes.values():
        component = node._component
        if type(component).__name__.endswith(("Tokenizer", "Featurizer")):
            component.process(messages)
    ours = clf.predict_proba(messages)
    sk = LogisticRegression()
    sk.classes_ = clf.arrays["classes"]
    sk.coef_, sk.intercept_ = clf.arrays["coef"], clf.arrays["intercept"]
    sparse, dense = clf._features(messages)
    assert np.allclose(ours, sk.predict_proba(clf._design(sparse, dense)), atol=1e-9)


def test_a_pipeline_change_after_training_is_a_clear_error(model) -> None:
    """Tried: feeding features of another width than the model was trained on."""
    from rasa.shared.nlu.training_data.features import Features
    from rasa.shared.nlu.training_data.message import Message

    clf = model.component("SentenceIntentClassifier")
    message = Message(data={"text": "hi"})
    message.add_features(Features(np.ones((1, 7)), "sentence", "text", "other"))
    with pytest.raises(ValueError, match="retrain"):
        clf.predict_proba([message])
