"""The base of every eMotical action: the shared runtime, built (and validated) at server start."""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from typing import Any, Dict, Iterable, List, Set

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from emotical_shared import logs

from .context import rasa_session, session_id
from .runtime import Runtime, get_runtime
from .store import RedisUnavailableError


class EmotionAction(Action, ABC):
    """An action with access to settings, catalog, Redis store and WordNet relater.

    Abstract, so rasa-sdk registers only the concrete subclasses. Subclasses implement `step`;
    `run` (what rasa-sdk calls) runs it inside `logs.session_scope` of the turn's session, so
    every log line of the action names its session without passing it.
    """

    def __init__(self) -> None:
        self.rt: Runtime = get_runtime()

    @abstractmethod
    def name(self) -> str:
        """The action's name in domain.yml."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        """Run `step` in the turn's session scope (rasa-sdk's entry point)."""
        with logs.session_scope(session_id(tracker, self.rt.signer)):
            return await self.step(dispatcher, tracker, domain)

    @abstractmethod
    async def step(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                   domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        """The conversation step this action is."""

    @staticmethod
    def say(dispatcher: CollectingDispatcher, message: Dict[str, Any] | None) -> bool:
        """Send a rendered response (text and buttons); False when there is nothing to say."""
        if not message or not message.get("text"):
            return False
        dispatcher.utter_message(text=message["text"], buttons=message.get("buttons") or [])
        return True

    async def said_before(self, tracker: Tracker, kind: str, seen_here: Iterable[str]) -> Set[str]:
        """What this Rasa session already said of `kind` (`line`, `tag`, `chapter`): what the
        tracker's events at hand show plus the session's bounded record (the tracker Rasa sends
        holds only the recent turns). Without Redis, the events at hand alone."""
        said = set(seen_here)
        with contextlib.suppress(RedisUnavailableError):
            said |= (await self.rt.store.said(session_id(tracker, self.rt.signer),
                                              rasa_session(tracker))).get(kind, set())
        return said

    async def remember(self, tracker: Tracker, kind: str, values: List[str]) -> None:
        """Record what was said of `kind`, for `said_before` in later turns (best effort)."""
        with contextlib.suppress(RedisUnavailableError):
            await self.rt.store.remember_said(session_id(tracker, self.rt.signer),
                                              rasa_session(tracker), kind, values)
