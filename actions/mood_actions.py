"""Actions about the shopper's feelings: fuse the mood each turn, answer it with sympathy."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from emotical_shared import logs

from .base import EmotionAction
from .context import bot_texts_this_session, entity_values, turn_context
from .mood import current_mood, read_mood
from .responses import SYMPATHY_RESPONSES, first_unused
from .store import RedisUnavailableError
from .tag_learning import learn, reaction_observations

logger = logging.getLogger(__name__)

#: Which kind of sympathy each emotion calls for (happy, calm, surprised call for none).
SYMPATHY_KIND: Dict[str, str] = {
    "angry": "apologise",
    "disgusted": "apologise",
    "sad": "comfort",
    "fearful": "reassure",
    "confused": "explain",
}
#: Kind used when the mood is negative but the emotion has no kind of its own.
DEFAULT_KIND = "comfort"
LIKE_INTENTS = ("express_like", "express_dislike")


def sympathy_response_names(kind: str, level: int) -> List[str]:
    """Response names to try, nearest strength first (`SYMPATHY_RESPONSES[kind]` by level)."""
    order = [level] + [lv for d in (1, 2) for lv in (level - d, level + d) if 1 <= lv <= 3]
    return [SYMPATHY_RESPONSES[kind][lv - 1] for lv in order]


class ActionFuseMood(EmotionAction):
    """Each turn: fuse face and words into mood slots, log the message's sentiment, and learn
    from a strong face reaction to the product on screen."""

    def name(self) -> str:
        return "action_fuse_mood"

    async def step(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        # Run again in the same turn it computes the same mood and sets nothing: the message
        # is recorded and learned from once (record_message is keyed by the message id).
        rt, ctx, now = self.rt, turn_context(tracker, self.rt.signer), time.time()
        mood, face, text = await read_mood(rt, ctx, now)
        first_time = False
        if rt.settings.emotion_reads and ctx.message_id:
            fields = {"ts": f"{ctx.timestamp or now:.3f}", "score": text.score if text else 0.0,
                      "label": text.label if text else "", "intent": ctx.intent or ""}
            with contextlib.suppress(RedisUnavailableError):
                first_time = await rt.store.record_message(
                    ctx.session_id, ctx.shopper_id, ctx.product_id, ctx.message_id, fields)
        product = rt.catalog.get(ctx.product_id)
        if first_time and ctx.intent not in LIKE_INTENTS:
            await learn(rt, ctx.shopper_id, ctx.session_id,
                        reaction_observations(rt, face, product, now))
        slots = {**mood.slots(), "sentiment_score": round(text.score, 4) if text else 0.0}
        # Only what changed (later actions read the slots, mood_from_slots): every event is
        # carried, stored and sent on by Rasa for the rest of the conversation.
        events = [SlotSet(k, v) for k, v in slots.items() if tracker.get_slot(k) != v]
        if product is not None and tracker.get_slot("product_id") != product.id:
            events.append(SlotSet("product_id", product.id))
        # product_category's custom mapping (domain.yml): the message's last category entity
        # that the catalog knows, as the catalog names it ("bag" -> "bags", as action_recommend
        # stores it), only when the value changes. A word that names no category ("stuff")
        # leaves the category the shopper was browsing.
        known = [c for c in map(rt.catalog.category_of, entity_values(ctx, "product_category"))
                 if c]
        category = known[-1] if known else None
        if category and tracker.get_slot("product_category") != category:
            events.append(SlotSet("product_category", category))
        logs.event(logger, logging.DEBUG, "mood_fused", mood=mood.mood,
                   valence=round(mood.valence, 2), dominant=mood.dominant_emotion,
                   sympathy=mood.sympathy_level, face=mood.face_used)
        return events


class ActionExpressSympathy(EmotionAction):
    """Answer a negative mood with sympathy of matching kind and strength, never repeating a
    line within the session; silent when the shopper is fine."""

    def name(self) -> str:
        return "action_express_sympathy"

    async def step(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        ctx = turn_context(tracker, self.rt.signer)
        mood = await current_mood(self.rt, tracker, ctx)
        if mood.sympathy_level <= 0:
            return []
        kind = SYMPATHY_KIND.get(mood.dominant_emotion, DEFAULT_KIND)
        said = await self.said_before(tracker, "line", bot_texts_this_session(tracker))
        message = first_unused(domain, sympathy_response_names(kind, mood.sympathy_level), said)
        if not self.say(dispatcher, message):
            logs.event(logger, logging.INFO, "sympathy_lines_used_up", kind=kind,
                       level=mood.sympathy_level)
        elif message:
            await self.remember(tracker, "line", [message["text"]])
        return []
