"""Shared by the NLU component tests: train a tiny NLU model for real and load it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Callable, Dict

import pytest


class TinyModel:
    """A trained model's processor, with a parse that returns Rasa's parse data."""

    def __init__(self, processor: Any) -> None:
        self.processor = processor

    def parse(self, text: str) -> Dict[str, Any]:
        from rasa.core.channels import UserMessage

        return asyncio.run(self.processor.parse_message(UserMessage(text)))

    def component(self, class_name: str) -> Any:
        """The loaded graph's component of that class (the first one)."""
        nodes = self.processor.graph_runner._instantiated_nodes
        return next(n._component for n in nodes.values()
                    if type(n._component).__name__ == class_name)


def train_tiny(folder: Path, config: str, nlu: str) -> TinyModel:
    """`rasa train nlu` on the given config and NLU YAML in ``folder``, then load the model."""
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu

    (folder / "config.yml").write_text(config)
    (folder / "nlu.yml").write_text(nlu)
    model = train_nlu(config=str(folder / "config.yml"), nlu_data=str(folder / "nlu.yml"),
                      output=str(folder / "models"), fixed_model_name="tiny")
    assert model, "rasa train_nlu produced no model"
    return TinyModel(Agent.load(model).processor)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], TinyModel]:
    """Train and load a tiny NLU model: ``tiny_model(config_yaml, nlu_yaml)``, each in a
    folder of its own (module scope, so a test module can train once for several tests)."""
    return lambda config, nlu: train_tiny(tmp_path_factory.mktemp("tiny"), config, nlu)
