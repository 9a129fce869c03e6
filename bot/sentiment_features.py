"""Dense sentiment features for DIET (config.yml: `bot.sentiment_features.SentimentFeaturizer`).

The sparse featurizers see words and character n-grams; with a few dozen examples per intent
they cannot tell that "not a fan of leather" and "big fan of leather" mean opposite things.
This featurizer gives DIET the project's own sentiment reading (bot/sentiment.py, VADER +
TextBlob) as dense features of the same width for every token and for the whole message:

- token: VADER lexicon valence of the token (scaled to about [-1, 1]), flipped when one of the
  three tokens before it is a negation ("don't *like*", "not a *fan*"), its positive and
  negative parts, whether the token is itself a negation, and the valence before flipping;
- sentence: the fused score, VADER's positive and negative proportions, whether the message
  has a negation, TextBlob polarity and subjectivity.

It adds features only; it never changes the text, the tokens or the `sentiment` output that
bot.components.SentimentAnalyzer adds.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, FrozenSet, List, Sequence, Tuple, Type

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.sentiment import _vader, fuse

#: Width of both the token and the sentence vectors (equal, so DIET needs no extra layer to
#: put the sentence vector after the tokens).
DIM = 6
#: How many tokens after a negation have their valence flipped (VADER looks three back too).
NEGATION_SCOPE = 3
#: VADER lexicon valences run from about -4 to 4.
VALENCE_SCALE = 4.0


@lru_cache(maxsize=1)
def _lexicon() -> Tuple[Dict[str, float], FrozenSet[str]]:
    """VADER's word valences and negation words (loaded once per process)."""
    from vaderSentiment.vaderSentiment import NEGATE

    return dict(_vader().lexicon), frozenset(w.lower() for w in NEGATE)


def is_negation(token: str) -> bool:
    """True for "not", "never", "don't", "dont", "isn't", "no" and the like."""
    word = token.lower().strip(".,!?;:'\"")
    _, negations = _lexicon()
    return word in negations or word.endswith("n't") or word in {"no", "nope", "nah"}


def token_features(tokens: Sequence[str]) -> np.ndarray:
    """One DIM-wide row per token (see the module docstring)."""
    lexicon, _ = _lexicon()
    rows = np.zeros((len(tokens), DIM), dtype=np.float32)
    last_negation = -NEGATION_SCOPE - 1
    for i, token in enumerate(tokens):
        word = token.lower().strip(".,!?;:'\"")
        raw = lexicon.get(word, 0.0) / VALENCE_SCALE
        negation = is_negation(token)
        scoped = -raw if raw and 0 < i - last_negation <= NEGATION_SCOPE else raw
        rows[i] = (scoped, max(scoped, 0.0), max(-scoped, 0.0), float(negation), raw, 0.0)
        if negation:
            last_negation = i
    return rows


def sentence_features(text: str, tokens: Sequence[str]) -> np.ndarray:
    """One DIM-wide row for the whole message (see the module docstring)."""
    from textblob import TextBlob

    scores = _vader().polarity_scores(text)
    blob = TextBlob(text).sentiment
    score = fuse(float(scores["compound"]), float(blob.polarity))
    negated = any(is_negation(t) for t in tokens)
    return np.array([[score, scores["pos"], scores["neg"], float(negated), blob.polarity,
                      blob.subjectivity]], dtype=np.float32)


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False
)
class SentimentFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds VADER/TextBlob sentiment as dense sequence and sentence features of the text."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [Tokenizer]

    @staticmethod
    def required_packages() -> List[str]:
        return ["vaderSentiment", "textblob"]

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {**DenseFeaturizer.get_default_config()}

    def __init__(self, config: Dict[str, Any], name: str) -> None:
        super().__init__(name, config)

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> SentimentFeaturizer:
        """A featurizer named after its graph node (nothing to load: it is not trained)."""
        return cls(config, execution_context.node_name)

    @classmethod
    def validate_config(cls, config: Dict[str, Any]) -> None:
        """Nothing to configure beyond the featurizer alias."""

    def _featurize(self, message: Message) -> None:
        tokens = message.get(TOKENS_NAMES[TEXT])
        text = message.get(TEXT)
        if not text or not tokens:
            return
        words = [t.text for t in tokens]
        self.add_features_to_message(token_features(words), sentence_features(text, words),
                                     TEXT, message)

    def process(self, messages: List[Message]) -> List[Message]:
        """Featurize each message's text (messages without text or tokens are left alone)."""
        for message in messages:
            self._featurize(message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurize every training example the same way as at inference."""
        self.process(training_data.training_examples)
        return training_data
