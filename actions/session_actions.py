"""The shopper's own data: their session report, and deleting everything stored about them."""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from emotical_shared import logs
from emotical_shared import redis_schema as keys

from .base import EmotionAction
from .context import turn_context
from .report import session_score
from .responses import render
from .store import RedisUnavailableError

logger = logging.getLogger(__name__)


def describe_removed(removed: List[str], uid: str) -> str:
    """A sentence fragment naming what was deleted ("your taste profile and 2 sessions")."""
    parts = []
    if keys.shopper_tags(uid) in removed or keys.shopper_tag_counts(uid) in removed:
        parts.append("your taste profile")
    if keys.shopper_seen(uid) in removed:
        parts.append("the list of products you have seen")
    sessions = {k.split(":session:", 1)[1].rsplit(":", 1)[0] for k in removed if ":session:" in k}
    if sessions:
        parts.append(f"{len(sessions)} session{'s' if len(sessions) != 1 else ''} of mood and "
                     "chat sentiment data")
    if not parts:
        return "nothing (no data was stored about you)"
    return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]


class ActionSessionReport(EmotionAction):
    """Tell the shopper their session score and where the full report is."""

    def name(self) -> str:
        return "action_session_report"

    async def step(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        rt, ctx = self.rt, turn_context(tracker, self.rt.signer)
        url = rt.settings.report_url.format(session_id=ctx.session_id)
        try:
            history = await rt.store.history(ctx.session_id)
            chat = await rt.store.chat_scores(ctx.session_id)
            score = session_score(history, chat)
        except RedisUnavailableError:
            score = None
        if score is None:
            message = render(domain, "utter_session_report_empty", report_url=url)
        else:
            message = render(domain, "utter_session_report", score=f"{score:+d}", report_url=url)
        self.say(dispatcher, message)
        return []


class ActionDeleteMyData(EmotionAction):
    """Ask for confirmation, then delete the shopper's profile and session data in Redis and
    say what was removed (or keep it on "no")."""

    def name(self) -> str:
        return "action_delete_my_data"

    async def step(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        rt, ctx = self.rt, turn_context(tracker, self.rt.signer)
        pending = bool(tracker.get_slot("pending_delete"))
        if ctx.intent == "delete_my_data":
            self.say(dispatcher, render(domain, "utter_confirm_delete"))
            return [SlotSet("pending_delete", True)]
        if not pending or ctx.intent not in ("affirm", "deny"):
            return []  # nothing asked, or not an answer: never delete on a stray "yes"
        if ctx.intent == "deny":
            self.say(dispatcher, render(domain, "utter_data_kept"))
            return [SlotSet("pending_delete", False)]
        try:
            removed = await rt.store.delete_shopper(ctx.shopper_id, ctx.session_id)
        except RedisUnavailableError:
            self.say(dispatcher, render(domain, "utter_delete_failed"))
            return [SlotSet("pending_delete", False)]
        logs.event(logger, logging.INFO, "shopper_data_deleted",
                   shopper=logs.id_tag(ctx.shopper_id), keys=len(removed))
        self.say(dispatcher, render(domain, "utter_data_deleted", count=len(removed),
                                    what=describe_removed(removed, ctx.shopper_id)))
        return [SlotSet("pending_delete", False)]
