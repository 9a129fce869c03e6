"""What an action needs to know from the tracker: whose session, which product, what was said.

Whose session it is comes only from a session token: Rasa's channels (bot/channels.py) verify
it, make its session id the conversation (sender) id and pass it on in the message metadata
(`token`), where Rasa stores it on the `user` event (not in `latest_message`). The actions verify
it again here and take both ids from it; other metadata fields named `session_id` or
`shopper_id` are never read. A turn without a token comes from the operator's own tools
(`rasa shell`, Rasa's API with its token): its ids are the sender id, or for a sender id that
fails validation an id derived from it (each such sender its own, never a shared bucket). A
token that fails, or names another conversation, counts as no token. Every id an action uses is
read here.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional

from rasa_sdk import Tracker

from emotical_shared import logs
from emotical_shared.redis_schema import InvalidIdError, validate_id
from emotical_shared.tokens import SESSION, Signer, TokenError

from .catalog import Catalog

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TurnContext:
    """Who is talking and about what, for the current user turn."""

    session_id: str
    shopper_id: str
    #: Whether the ids come from a verified session token (False: the operator's own tools).
    verified: bool
    #: Rasa's conversation id (names the stored tracker), as the channel gave it.
    sender_id: str
    product_id: Optional[str]
    message_id: str
    intent: Optional[str]
    sentiment: Optional[Dict[str, Any]]
    entities: List[Dict[str, Any]]
    timestamp: float


def last_user_event(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The newest `user` event, or None before the first message."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return event
    return None


def rasa_session(tracker: Tracker) -> str:
    """The current Rasa session's name: its `session_started` time ("-" before any).

    The windowed tracker store always sends a session's `session_started` with the window, so
    this needs no history beyond it."""
    for event in reversed(tracker.events):
        if event.get("event") == "session_started":
            return f"{float(event.get('timestamp') or 0.0):.6f}"
    return "-"


def events_this_session(tracker: Tracker) -> List[Dict[str, Any]]:
    """Events since the last `session_started` (all events when there is none)."""
    events = list(tracker.events)
    for i in range(len(events) - 1, -1, -1):
        if events[i].get("event") == "session_started":
            return events[i + 1:]
    return events


@dataclass(frozen=True)
class Identity:
    """The session and shopper a turn belongs to, and whether a token proved it."""

    session_id: str
    shopper_id: str
    verified: bool


def derived_id(sender: str) -> str:
    """The id of a sender id that does not fit the key schema: its own, stable, never shared."""
    return "x-" + hashlib.sha256(sender.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _sender(tracker: Tracker) -> str:
    try:
        return validate_id(tracker.sender_id, "sender")
    except InvalidIdError:
        return derived_id(str(tracker.sender_id))


def _metadata(event: Mapping[str, Any]) -> Mapping[str, Any]:
    return event.get("metadata") or {}


def identity(tracker: Tracker, signer: Signer, warn: bool = True) -> Identity:
    """Who the current turn belongs to: the verified token's ids, else the sender's own."""
    sender = _sender(tracker)
    token = _metadata(last_user_event(tracker) or {}).get("token")
    if token:
        try:
            claims = signer.verify(token, SESSION)
        except TokenError as exc:
            if warn:
                logs.event(logger, logging.WARNING, "turn_token_refused", reason=exc.reason)
        else:
            if claims.session_id == tracker.sender_id and claims.session_id is not None:
                return Identity(claims.session_id, claims.shopper_id, True)
            if warn:
                logs.event(logger, logging.WARNING, "turn_token_refused",
                           reason="token of another conversation")
    return Identity(sender, sender, False)


def session_id(tracker: Tracker, signer: Signer) -> str:
    """The session the current turn belongs to (what `turn_context` reads, without logging)."""
    return identity(tracker, signer, warn=False).session_id


def turn_context(tracker: Tracker, signer: Signer) -> TurnContext:
    """Read the current turn's ids, intent, sentiment and entities from the tracker."""
    event = last_user_event(tracker) or {}
    metadata = _metadata(event)
    parse: Mapping[str, Any] = event.get("parse_data") or tracker.latest_message or {}
    who = identity(tracker, signer)
    product = metadata.get("product_id") or tracker.get_slot("product_id")
    intent = (parse.get("intent") or {}).get("name")
    sentiment = parse.get("sentiment")
    return TurnContext(
        session_id=who.session_id,
        shopper_id=who.shopper_id,
        verified=who.verified,
        sender_id=tracker.sender_id,
        product_id=str(product) if product else None,
        message_id=str(event.get("message_id") or parse.get("message_id") or event.get("timestamp", "")),
        intent=intent,
        sentiment=sentiment if isinstance(sentiment, dict) else None,
        entities=list(parse.get("entities") or []),
        timestamp=float(event.get("timestamp") or 0.0),
    )


def entity_values(ctx: TurnContext, name: str) -> List[str]:
    """Values of one entity type in the current message, in order, without duplicates."""
    out: List[str] = []
    for ent in ctx.entities:
        if ent.get("entity") == name and isinstance(ent.get("value"), str):
            value = ent["value"].strip().lower()
            if value and value not in out:
                out.append(value)
    return out


def named_category(catalog: Catalog, tracker: Tracker, ctx: TurnContext) -> Optional[str]:
    """The catalog category the shopper is talking about, or None.

    Precedence: the first `product_category` entity of the latest message that the catalog
    knows as a category ("show me bags"); else the `product_category` slot, i.e. the category
    named earlier in the conversation (follow-ups like "what else?" or "ask me something" stay in
    it, and an entity the catalog does not know, such as "stuff", does not reset it); else None
    (the whole catalog). The product on screen is no category choice: preference questions use
    its own tags first, and recommendations are not narrowed to it unless the shopper names it.
    """
    for word in [*entity_values(ctx, "product_category"), tracker.get_slot("product_category")]:
        category = catalog.category_of(word) if isinstance(word, str) and word else None
        if category:
            return category
    return None


def bot_texts_this_session(tracker: Tracker) -> List[str]:
    """Texts the bot said in the events at hand since the session started (the window's part;
    `EmotionAction.said_before` adds the older ones from a bounded record)."""
    return [e.get("text") or "" for e in events_this_session(tracker) if e.get("event") == "bot"]
