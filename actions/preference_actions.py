"""Actions that learn the shopper's taste: ask about the least-known tag, update tag weights."""

from __future__ import annotations

import json
import logging
from collections import Counter
from typing import Any, Dict, List, Optional, Set, Tuple

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from emotical_shared import logs
from emotical_shared.chapters import Chapter, learned_step

from .base import EmotionAction
from .catalog import Product
from .context import TurnContext, entity_values, events_this_session, named_category, turn_context
from .fusion import TextReading
from .mood import current_mood
from .profiles import least_known_tag
from .responses import ResponseError, intent_payload, render
from .store import RedisUnavailableError
from .tag_learning import learn, observations_for_turn

logger = logging.getLogger(__name__)

POLARITY = {"express_like": 1, "express_dislike": -1}


def asked_tags_this_session(tracker: Tracker) -> Set[str]:
    """Tags the bot already asked about this session (read from its like/dislike buttons)."""
    asked: Set[str] = set()
    for event in events_this_session(tracker):
        if event.get("event") != "bot":
            continue
        for button in (event.get("data") or {}).get("buttons") or []:
            payload = str(button.get("payload", ""))
            if payload.startswith(("/express_like{", "/express_dislike{")):
                try:
                    attribute = json.loads(payload[payload.index("{"):]).get("attribute")
                except ValueError:
                    continue
                if isinstance(attribute, str):
                    asked.add(attribute)
    return asked


def like_dislike_buttons(message: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """The (like, dislike) buttons of a rendered `utter_ask_preference`; the action sets their
    payloads. Raises ResponseError when the domain's variation does not have exactly two."""
    buttons = message.get("buttons") or []
    if len(buttons) != 2:
        raise ResponseError(f"{message.get('response_name')!r} needs two buttons (like, "
                            f"dislike) in domain.yml, has {len(buttons)}")
    return buttons[0], buttons[1]


def clearest_chapter(product: Optional[Product], fields: Dict[str, str],
                     asked: Set[str]) -> Optional[Tuple[Chapter, float]]:
    """The ended chapter of `product`'s video whose reaction moved its tags the most (the
    sidecar's `<i>:learned` step: non-zero only for a clear reaction, see
    `emotical_shared.chapters.ChapterReaction.step`), skipping chapters in `asked`."""
    best: Optional[Tuple[Chapter, float]] = None
    for chapter in product.chapters if product else ():
        step = learned_step(fields, chapter.index)
        if not step or str(chapter.index) in asked or not chapter.tags:
            continue
        if best is None or abs(step) > abs(best[1]):
            best = (chapter, step)
    return best


def _tag_buttons(message: Dict[str, Any], tag: str) -> List[Dict[str, Any]]:
    """The message's like/dislike buttons with payloads that name `tag`."""
    like, dislike = like_dislike_buttons(message)
    return [{**like, "payload": intent_payload("express_like", attribute=tag)},
            {**dislike, "payload": intent_payload("express_dislike", attribute=tag)}]


class ActionAskPreference(EmotionAction):
    """Ask about the video chapter the shopper clearly reacted to, if one ended and was not
    asked about yet; else whether they like the tag of the current product/category that the
    profile knows least about. Like/dislike buttons; never the same tag or chapter twice in a
    session."""

    def name(self) -> str:
        return "action_ask_preference"

    def candidates(self, tracker: Tracker, ctx: TurnContext) -> List[str]:
        """Tags to choose from: the product's, else the category's by frequency, else all."""
        catalog = self.rt.catalog
        product = catalog.get(ctx.product_id)
        if product is not None:
            return list(product.tags)
        pool = catalog.products_in(named_category(catalog, tracker, ctx))
        counts = Counter(t for p in pool for t in p.tags)
        return [t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]

    async def ask_chapter(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                          domain: Dict[str, Any], ctx: TurnContext) -> bool:
        """Ask about the clearest unasked chapter reaction; False when there is none."""
        product = self.rt.catalog.get(ctx.product_id)
        if product is None or not product.chapters or not ctx.session_id:
            return False
        try:
            fields = await self.rt.store.chapter_fields(ctx.session_id)
        except RedisUnavailableError:
            return False
        found = clearest_chapter(product, fields,
                                 await self.said_before(tracker, "chapter", ()))
        if found is None:
            return False
        chapter, step = found
        tag = chapter.tags[0]
        if step > 0:
            message = render(domain, "utter_ask_chapter_liked", chapter=chapter.caption, tag=tag)
        else:
            message = render(domain, "utter_ask_chapter_disliked", chapter=chapter.caption,
                             tag=tag)
        message["buttons"] = _tag_buttons(message, tag)
        if not self.say(dispatcher, message):
            return False
        await self.remember(tracker, "chapter", [str(chapter.index)])
        await self.remember(tracker, "tag", [tag])
        logs.event(logger, logging.INFO, "chapter_reaction_asked", chapter=chapter.index,
                   step=round(step, 4))
        return True

    async def step(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        rt, ctx = self.rt, turn_context(tracker, self.rt.signer)
        if await self.ask_chapter(dispatcher, tracker, domain, ctx):
            return []
        try:
            weights, counts = await rt.store.profile(ctx.shopper_id, ctx.session_id)
        except RedisUnavailableError:
            weights, counts = {}, {}
        asked = await self.said_before(tracker, "tag", asked_tags_this_session(tracker))
        tag = least_known_tag(self.candidates(tracker, ctx), weights, counts, exclude=asked)
        if tag is None:
            return []
        message = render(domain, "utter_ask_preference", index=len(counts), tag=tag)
        message["buttons"] = _tag_buttons(message, tag)
        if self.say(dispatcher, message):
            await self.remember(tracker, "tag", [tag])
        return []


class ActionUpdateTagWeights(EmotionAction):
    """Move the shopper's tag weights after a like or dislike: the named attributes (and tags
    WordNet relates them to, with a smaller step), else the current product's tags."""

    def name(self) -> str:
        return "action_update_tag_weights"

    async def step(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        rt, ctx = self.rt, turn_context(tracker, self.rt.signer)
        polarity = POLARITY.get(ctx.intent or "")
        if polarity is None:
            return []
        mood = await current_mood(rt, tracker, ctx)
        text = TextReading.from_sentiment(ctx.sentiment)
        words = entity_values(ctx, "attribute")
        obs, unmatched = await observations_for_turn(
            rt, words, rt.catalog.get(ctx.product_id), polarity, mood.intensity,
            text.score if text else 0.0)
        if unmatched:
            logs.event(logger, logging.INFO, "words_without_tag", words=len(unmatched))
        await learn(rt, ctx.shopper_id, ctx.session_id, obs)
        return []
