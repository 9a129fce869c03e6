"""Custom Rasa NLU graph components (listed in config.yml as `bot.components.<Name>`)."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot import action_validation
from bot.sentiment import analyse

# Every Rasa process that loads our model imports this module: check action answers with a
# cached validator there (same verdicts, ~45 ms less per action call; see action_validation).
action_validation.install()

SENTIMENT = "sentiment"


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False
)
class SentimentAnalyzer(GraphComponent):
    """Adds `sentiment` (VADER + TextBlob, fused; see bot.sentiment) to every parsed message.

    The value is an output property, so `/model/parse` returns it and Rasa stores it in the
    user event's `parse_data`, where custom actions read it.
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {}

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentimentAnalyzer:
        return cls()

    @staticmethod
    def required_packages() -> List[str]:
        return ["vaderSentiment", "textblob"]

    def process(self, messages: List[Message]) -> List[Message]:
        """Score each message that has text."""
        for message in messages:
            text = message.get(TEXT)
            if text:
                message.set(SENTIMENT, analyse(text).as_dict(), add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training needs no sentiment: nothing downstream learns from it."""
        return training_data
