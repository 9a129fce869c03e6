"""The base of every eMotical action: the shared runtime, built (and validated) at server start."""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from typing import Any, Awaitable, Callable, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from emotical_shared import logs

from .context import session_id
from .runtime import Runtime, get_runtime

Run = Callable[[Any, CollectingDispatcher, Tracker, Dict[str, Any]],
               Awaitable[List[Dict[str, Any]]]]


def _in_session_scope(run: Run) -> Run:
    @functools.wraps(run)
    async def scoped(self: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        with logs.session_scope(session_id(tracker)):
            return await run(self, dispatcher, tracker, domain)
    return scoped


class EmotionAction(Action, ABC):
    """An action with access to settings, catalog, Redis store and WordNet relater.

    Abstract, so rasa-sdk registers only the concrete subclasses. Each subclass's `run` is
    wrapped in `logs.session_scope` of the turn's session, so every log line of the action
    names its session without passing it.
    """

    def __init__(self) -> None:
        self.rt: Runtime = get_runtime()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "run" in cls.__dict__:
            cls.run = _in_session_scope(cls.__dict__["run"])  # type: ignore[method-assign]

    @abstractmethod
    def name(self) -> str:
        """The action's name in domain.yml."""

    @abstractmethod
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        """Run the conversation step."""

    @staticmethod
    def say(dispatcher: CollectingDispatcher, message: Dict[str, Any] | None) -> bool:
        """Send a rendered response (text and buttons); False when there is nothing to say."""
        if not message or not message.get("text"):
            return False
        dispatcher.utter_message(text=message["text"], buttons=message.get("buttons") or [])
        return True
