"""bot.action_validation: Rasa's check of action server answers, cached, with the same verdicts."""

from __future__ import annotations

from typing import Any, Dict

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

import bot.components  # noqa: F401  (importing it installs the cached validator)
from bot import action_validation

GOOD: Dict[str, Dict[str, Any]] = {
    "empty": {},
    "no events": {"events": [], "responses": []},
    "slots and a text": {
        "events": [{"event": "slot", "name": "mood", "value": "negative", "timestamp": None},
                   {"event": "slot", "name": "valence", "value": -0.4}],
        "responses": [{"text": "I'm sorry to hear that.", "buttons": []}],
    },
    "followup and bot event": {
        "events": [{"event": "followup", "name": "action_recommend"},
                   {"event": "bot", "text": "hi", "data": {}, "metadata": {}}],
    },
    "reminder-free restart": {"events": [{"event": "restart"}, {"event": "action_execution_rejected",
                                                               "name": "action_x"}]},
}
BAD: Dict[str, Dict[str, Any]] = {
    "events is not a list": {"events": {"event": "slot"}},
    "unknown event type": {"events": [{"event": "teleport", "name": "x"}]},
    "slot event without a name": {"events": [{"event": "slot", "value": 1}]},
    "response is a string": {"responses": ["hello"]},
    "event is not an object": {"events": ["slot"]},
}


def _verdict(method: Any, result: Dict[str, Any]) -> str:
    try:
        method(RemoteAction("action_x", None), result)
        return "ok"
    except ValidationError as exc:
        return f"error: {exc.message}"


def test_importing_our_components_installs_the_cached_validator() -> None:
    assert RemoteAction._validate_action_result is action_validation.validate_action_result


@pytest.mark.parametrize("name", sorted(GOOD) + sorted(BAD))
def test_same_verdict_and_same_message_as_rasas_own_check(name: str) -> None:
    """Each answer goes through Rasa's original method and ours: both accept it, or both
    refuse it with the same message (the best-matching error plus Rasa's hint)."""
    result = {**GOOD, **BAD}[name]
    ours = _verdict(action_validation.validate_action_result, result)
    theirs = _verdict(action_validation.ORIGINAL, result)
    assert ours == theirs
    assert (ours == "ok") == (name in GOOD), ours
    if name in BAD:
        assert "Failed to validate Action server response" in ours


def test_uninstall_puts_rasas_method_back() -> None:
    action_validation.uninstall()
    try:
        assert RemoteAction._validate_action_result is action_validation.ORIGINAL
    finally:
        action_validation.install()
