"""The sentence-encoder featurizer (bot/sentence_features.py) on the export `make setup` makes."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.sentence_features import (
    DIM,
    EncoderMissingError,
    SentenceEncoderFeaturizer,
    resolve_model_dir,
)

MODEL_DIR = resolve_model_dir(SentenceEncoderFeaturizer.get_default_config()["model_dir"])


def _featurizer(**config) -> SentenceEncoderFeaturizer:
    return SentenceEncoderFeaturizer(
        {**SentenceEncoderFeaturizer.get_default_config(), "alias": "enc", **config}, "enc")


def _messages(texts) -> list:
    messages = [Message(data={TEXT: t}) for t in texts]
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process(messages)
    return messages


def test_sentence_vectors_match_sentence_transformers() -> None:
    """The export's check sentences, pooled here, give sentence-transformers' own vectors
    (made in the vision environment by nlu_augment/encoder_export.py), batched or not."""
    check = np.load(MODEL_DIR / "check.npz")
    for batch_size in (1, 64):
        messages = _messages([str(s) for s in check["sentences"]])
        _featurizer(batch_size=batch_size).process(messages)
        for message, reference in zip(messages, check["vectors"], strict=True):
            sequence, sentence = message.get_dense_features(TEXT, ["enc"])
            tokens = message.get("text_tokens")
            assert sequence.features.shape == (len(tokens), DIM)
            assert sentence.features.shape == (1, DIM)
            assert np.abs(sentence.features[0] - reference).max() < 1e-4


def test_meaning_is_closer_for_paraphrases_than_for_opposites() -> None:
    """What the features are for: an indirect dislike sits nearer a plain dislike than a like."""
    messages = _messages(["i don't like leather", "leather isn't for me", "i love leather"])
    _featurizer().process(messages)
    dislike, indirect, like = (m.get_dense_features(TEXT, ["enc"])[1].features[0]
                               for m in messages)
    assert float(indirect @ dislike) > float(indirect @ like)


def test_each_token_gets_the_pieces_it_covers() -> None:
    """'sneakers!!' is several WordPiece pieces; its row is their mean, other rows differ."""
    messages = _messages(["show me ur cheapest sneakers!!"])
    _featurizer().process(messages)
    sequence = messages[0].get_dense_features(TEXT, ["enc"])[0].features
    assert sequence.shape == (5, DIM)
    assert np.isfinite(sequence).all() and (np.abs(sequence).sum(axis=1) > 0).all()
    assert not np.allclose(sequence[3], sequence[4])


def test_messages_without_text_are_left_alone() -> None:
    """Core's action messages and empty texts get no features and do not break the batch."""
    messages = [Message(data={TEXT: ""}), Message(data={"action_name": "utter_greet"})]
    messages += _messages(["hello"])
    _featurizer().process(messages)
    assert messages[0].get_dense_features(TEXT, ["enc"]) == (None, None)
    assert messages[2].get_dense_features(TEXT, ["enc"])[1] is not None


def test_a_missing_or_half_written_export_says_run_make_setup(tmp_path: Path) -> None:
    """Tried: an empty folder, then one whose stamp was never written (an export cut short)."""
    with pytest.raises(EncoderMissingError, match="make setup"):
        _featurizer(model_dir=str(tmp_path))
    for name in ("model.onnx", "tokenizer.json"):
        shutil.copyfile(MODEL_DIR / name, tmp_path / name)
    with pytest.raises(EncoderMissingError, match="lacks stamp"):
        _featurizer(model_dir=str(tmp_path))


def test_the_export_stamp_is_in_rasas_fingerprint(tmp_path: Path, monkeypatch) -> None:
    """A new export changes the component's fingerprint addon, so Rasa re-featurizes."""
    for name in ("model.onnx", "tokenizer.json", "stamp"):
        shutil.copyfile(MODEL_DIR / name, tmp_path / name)
    monkeypatch.setenv("EMOTICAL_SENTENCE_ENCODER_DIR", str(tmp_path))
    before = SentenceEncoderFeaturizer.fingerprint_addon({})
    (tmp_path / "stamp").write_text('{"wheel": "another export"}\n')
    assert SentenceEncoderFeaturizer.fingerprint_addon({}) != before


@pytest.mark.parametrize("key", ["batch_size", "threads"])
def test_bad_config_is_refused(key: str) -> None:
    with pytest.raises(ValueError, match=key):
        _featurizer(**{key: 0})


CONFIG = """
recipe: default.v1
language: en
assistant_id: sentence-features-test
pipeline:
  - name: WhitespaceTokenizer
  - name: bot.sentence_features.SentenceEncoderFeaturizer
  - name: DIETClassifier
    epochs: 30
    random_seed: 1
policies: []
"""

NLU = """
version: "3.1"
nlu:
- intent: express_like
  examples: |
    - I love it
    - big fan of leather
    - gorgeous colour
    - this looks great
- intent: express_dislike
  examples: |
    - I don't like it
    - not my style at all
    - that's ugly
    - this looks awful
"""


def test_diet_trains_on_the_features_alone_and_reads_unseen_words(tiny_model) -> None:
    """With no word counts at all, DIET trained on the encoder's features tells a like from a
    dislike in words none of the examples use."""
    model = tiny_model(CONFIG, NLU)
    for text, intent in (("absolutely adore this", "express_like"),
                         ("that's hideous", "express_dislike")):
        parsed = model.parse(text)
        assert parsed["intent"]["name"] == intent, (text, parsed["intent"])
