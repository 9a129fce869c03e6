"""Builders for the action tests: sidecar emotion hashes, user events, trackers."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any, Dict, List, Optional, Tuple

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from emotical_shared.labels import LABELS, VALENCE_AROUSAL
from emotical_shared.tokens import SESSION, Signer

#: The action tests' server secret (conftest puts it in EMOTICAL_SECRET before the runtime starts).
TEST_SECRET = "action-tests-secret-" + "x" * 24
SIGNER = Signer(TEST_SECRET)


def emotion_hash(probs: Dict[str, float], age_s: float = 0.5, face: bool = True,
                 uncertain: bool = False) -> Dict[str, str]:
    """The emotion hash the vision sidecar writes, for a probability vector over LABELS
    (`uncertain`: a face without a confident reading, as `store.state_fields` writes it)."""
    full = {label: float(probs.get(label, 0.0)) for label in LABELS}
    total = sum(full.values()) or 1.0
    full = {k: v / total for k, v in full.items()}
    valence = sum(p * VALENCE_AROUSAL[k][0] for k, p in full.items())
    arousal = sum(p * VALENCE_AROUSAL[k][1] for k, p in full.items())
    out = {k: f"{v:.4f}" for k, v in full.items()}
    out.update(dominant="uncertain" if uncertain else max(full, key=full.__getitem__),
               valence=f"{valence:.4f}", arousal=f"{arousal:.4f}", score=f"{100 * valence:.1f}",
               face_present="1" if face else "0", uncertain="1" if uncertain else "0",
               ts=f"{time.time() - age_s:.3f}")
    return out


def sentiment(score: float) -> Dict[str, Any]:
    """Parse-data sentiment as the NLU component writes it."""
    label = "positive" if score >= 0.05 else "negative" if score <= -0.05 else "neutral"
    return {"vader_compound": score, "textblob_polarity": score, "textblob_subjectivity": 0.5,
            "score": score, "label": label}


def user_event(intent: str, text: str = "", score: Optional[float] = 0.0,
               entities: Optional[List[Dict[str, Any]]] = None,
               metadata: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """A stored `user` event as Rasa sends it to the action server."""
    mid = uuid.uuid4().hex
    parse: Dict[str, Any] = {"intent": {"name": intent, "confidence": 0.99},
                             "entities": entities or [], "text": text, "message_id": mid}
    if score is not None:
        parse["sentiment"] = sentiment(score)
    return {"event": "user", "timestamp": time.time(), "text": text, "parse_data": parse,
            "metadata": metadata or {}, "message_id": mid}


def attribute(value: str) -> Dict[str, Any]:
    """An `attribute` entity."""
    return {"entity": "attribute", "value": value, "start": 0, "end": len(value)}


def stamped(event: Dict[str, Any], sender: str) -> Dict[str, Any]:
    """`event` as Rasa's channel stores it: metadata ids replaced by a verified session token.

    The metadata's `session_id` (default: the sender) and `shopper_id` (default: the session)
    become a token's ids, as if the sidecar had minted it for that shopper.
    """
    meta = dict(event.get("metadata") or {})
    if event.get("event") != "user" or "token" in meta or not (
            {"session_id", "shopper_id"} & meta.keys()):
        return event
    sid = meta.get("session_id") or sender
    uid = meta.get("shopper_id") or sid
    meta.update(session_id=sid, shopper_id=uid, token=SIGNER.mint(SESSION, uid, sid))
    return {**event, "metadata": meta}


def make_tracker(events: List[Dict[str, Any]], slots: Optional[Dict[str, Any]] = None,
                 sender: Optional[str] = None) -> Tracker:
    """A rasa-sdk Tracker over these events, as the channel makes them: the conversation is the
    last user event's session (`sender` overrides it), and metadata ids arrive as a token."""
    last_user = next((e for e in reversed(events) if e.get("event") == "user"), None)
    conversation = sender or ((last_user or {}).get("metadata") or {}).get("session_id") \
        or "sender-1"
    events = [stamped(e, conversation) for e in events]
    last_user = next((e for e in reversed(events) if e.get("event") == "user"), None)
    return Tracker(conversation, dict(slots or {}), (last_user or {}).get("parse_data") or {},
                   events, False, None, {}, None)


def run_action(action: Any, tracker: Tracker,
               domain: Dict[str, Any]) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """Run an action as the action server would: (events, messages)."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, domain))
    return list(events or []), dispatcher.messages


def slots_of(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Slot name → value from SlotSet events."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
