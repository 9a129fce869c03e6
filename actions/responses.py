"""Pick and fill response texts from the domain, so designers edit wording in `domain.yml`.

The actions choose the variation themselves (rather than letting Rasa pick at random) when a
line must not repeat within a session, and fill `{placeholders}` from their own values.

Every response an action sends is listed in `FILLS` with the placeholders the code fills in it;
the actions write no wording of their own. A response the domain lacks raises
`MissingResponseError` (the action fails, and both servers log it), instead of the shopper
getting some other text. `tests/bot/actions/test_responses.py` checks every name the actions use
against `domain.yml`.
"""

from __future__ import annotations

import json
import string
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Set, Tuple

DomainDict = Mapping[str, Any]

#: Sympathy lines by kind, weakest first (strength 1, 2, 3); `action_express_sympathy` picks.
SYMPATHY_RESPONSES: Mapping[str, Tuple[str, str, str]] = {
    "apologise": ("utter_sympathy_apologise_1", "utter_sympathy_apologise_2",
                  "utter_sympathy_apologise_3"),
    "comfort": ("utter_sympathy_comfort_1", "utter_sympathy_comfort_2",
                "utter_sympathy_comfort_3"),
    "reassure": ("utter_sympathy_reassure_1", "utter_sympathy_reassure_2",
                 "utter_sympathy_reassure_3"),
    "explain": ("utter_sympathy_explain_1", "utter_sympathy_explain_2",
                "utter_sympathy_explain_3"),
}

#: Response name → the placeholders the actions fill in its text and button titles. The wording
#: in domain.yml may use any of them and no other.
FILLS: Mapping[str, FrozenSet[str]] = {
    "utter_ask_preference": frozenset({"tag"}),
    "utter_ask_chapter_liked": frozenset({"chapter", "tag"}),
    "utter_ask_chapter_disliked": frozenset({"chapter", "tag"}),
    "utter_recommend": frozenset(),
    "utter_recommend_category": frozenset({"category"}),
    "utter_cold_start": frozenset({"category"}),
    "utter_no_products": frozenset({"category"}),
    "utter_product_info": frozenset({"title", "description", "tags", "price"}),
    "utter_product_unknown": frozenset(),
    "utter_session_report": frozenset({"score", "report_url"}),
    "utter_session_report_empty": frozenset({"report_url"}),
    "utter_confirm_delete": frozenset(),
    "utter_data_deleted": frozenset({"count", "what"}),
    "utter_data_kept": frozenset(),
    "utter_delete_failed": frozenset(),
    **{name: frozenset() for names in SYMPATHY_RESPONSES.values() for name in names},
}


class ResponseError(LookupError):
    """An action asked for a response the code does not declare or the domain does not hold."""


class MissingResponseError(ResponseError):
    """The domain Rasa sent lacks a response an action sends."""


class _Keep(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str, **values: Any) -> str:
    """Fill `{name}` placeholders; unknown ones stay as they are."""
    try:
        return string.Formatter().vformat(template, (), _Keep(values))
    except (ValueError, IndexError):
        return template


def placeholders(template: str) -> Set[str]:
    """The `{name}` placeholders of a template."""
    try:
        return {field for _, field, _, _ in string.Formatter().parse(template) if field}
    except ValueError:
        return set()


def variations(domain: DomainDict, name: str,
               values: Optional[Mapping[str, Any]] = None) -> List[Dict[str, Any]]:
    """The variations of response `name`; raises when the code or the domain lacks it, or when
    `values` are not exactly the placeholders `FILLS` declares for it."""
    if name not in FILLS:
        raise ResponseError(f"response {name!r} is not declared in actions.responses.FILLS")
    if values is not None and set(values) != FILLS[name]:
        raise ResponseError(f"response {name!r} is filled with {sorted(values)}, "
                            f"but FILLS declares {sorted(FILLS[name])}")
    found = [v for v in (domain.get("responses") or {}).get(name) or [] if isinstance(v, dict)]
    if not found:
        raise MissingResponseError(
            f"response {name!r} is not in the domain the action received: add it to domain.yml "
            "(and give the action `send_domain: true` there)")
    return found


def _filled(variation: Mapping[str, Any], name: str, values: Mapping[str, Any]) -> Dict[str, Any]:
    buttons = [{**b, "title": fill(str(b.get("title", "")), **values)}
               for b in variation.get("buttons") or [] if isinstance(b, dict)]
    out = {**variation, "text": fill(str(variation.get("text", "")), **values),
           "response_name": name}
    if buttons:
        out["buttons"] = buttons
    return out


def first_unused(domain: DomainDict, names: Iterable[str], used_texts: Iterable[str],
                 **values: Any) -> Optional[Dict[str, Any]]:
    """The first variation, across `names` in order, whose filled text was not said yet."""
    used = set(used_texts)
    for name in names:
        for variation in variations(domain, name, values):
            message = _filled(variation, name, values)
            if message["text"] and message["text"] not in used:
                return message
    return None


def render(domain: DomainDict, name: str, index: int = 0, **values: Any) -> Dict[str, Any]:
    """Variation `index` (wrapping) of response `name`, its text and button titles filled."""
    found = variations(domain, name, values)
    return _filled(found[index % len(found)], name, values)


def intent_payload(intent: str, **entities: Any) -> str:
    """A button payload that triggers `intent` with entities: `/intent{"name": "value"}`."""
    return f"/{intent}{json.dumps(entities)}" if entities else f"/{intent}"
