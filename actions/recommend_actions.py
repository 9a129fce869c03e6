"""Recommendations from the shopper's tag profile, and details of the product on screen."""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from emotical_shared import logs

from .base import EmotionAction
from .context import named_category, turn_context
from .ranking import profile_is_empty, recommend
from .responses import render
from .store import RedisUnavailableError

logger = logging.getLogger(__name__)


class ActionRecommend(EmotionAction):
    """Top-k products for the profile, unseen first, each with the tags behind it; a cold-start
    answer when the profile is still empty."""

    def name(self) -> str:
        return "action_recommend"

    async def step(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        rt, ctx = self.rt, turn_context(tracker, self.rt.signer)
        category = named_category(rt.catalog, tracker, ctx)
        try:
            weights, _counts = await rt.store.profile(ctx.shopper_id, ctx.session_id)
            seen = await rt.store.seen(ctx.shopper_id, ctx.session_id)
        except RedisUnavailableError:
            weights, seen = {}, set()
        cold = profile_is_empty(weights)
        recs = recommend(rt.catalog, {} if cold else weights, seen, category, rt.settings.top_k,
                         exclude=[ctx.product_id] if ctx.product_id else [])
        if not recs:
            self.say(dispatcher, render(domain, "utter_no_products", category=category or ""))
            return []
        if cold:
            intro = render(domain, "utter_cold_start", index=len(seen),
                           category=category or "products")
        elif category:
            intro = render(domain, "utter_recommend_category", index=len(seen), category=category)
        else:
            intro = render(domain, "utter_recommend", index=len(seen))
        lines = [intro["text"]]
        for rec in recs:
            reason = "" if cold else f" ({rec.reason()})"
            lines.append(f"- {rec.product.title}, {rec.product.price_text} EUR{reason}")
        dispatcher.utter_message(text="\n".join(lines))
        with contextlib.suppress(RedisUnavailableError):
            await rt.store.mark_seen(ctx.shopper_id, ctx.session_id, [r.product.id for r in recs])
        logs.event(logger, logging.INFO, "recommended",
                   products=",".join(r.product.id for r in recs), cold=cold,
                   category=category or "-")
        changed = category and tracker.get_slot("product_category") != category
        return [SlotSet("product_category", category)] if changed else []


class ActionProductInfo(EmotionAction):
    """Describe the product on screen (from the widget's metadata)."""

    def name(self) -> str:
        return "action_product_info"

    async def step(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        rt, ctx = self.rt, turn_context(tracker, self.rt.signer)
        product = rt.catalog.get(ctx.product_id)
        if product is None:
            self.say(dispatcher, render(domain, "utter_product_unknown"))
            return []
        self.say(dispatcher, render(domain, "utter_product_info", title=product.title,
                                    description=product.description,
                                    tags=", ".join(product.tags), price=product.price_text))
        with contextlib.suppress(RedisUnavailableError):
            await rt.store.mark_seen(ctx.shopper_id, ctx.session_id, [product.id])
        return [SlotSet("product_id", product.id)]
