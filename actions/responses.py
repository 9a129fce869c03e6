"""Pick and fill response texts from the domain, so designers edit wording in `domain.yml`.

The actions choose the variation themselves (rather than letting Rasa pick at random) when a
line must not repeat within a session, and fill `{placeholders}` from their own values.
"""

from __future__ import annotations

import json
import string
from typing import Any, Dict, Iterable, List, Mapping, Optional

DomainDict = Mapping[str, Any]


class _Keep(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str, **values: Any) -> str:
    """Fill `{name}` placeholders; unknown ones stay as they are."""
    try:
        return string.Formatter().vformat(template, (), _Keep(values))
    except (ValueError, IndexError):
        return template


def variations(domain: DomainDict, name: str) -> List[Dict[str, Any]]:
    """The variations of response `name` ([] when the domain lacks it)."""
    found = (domain.get("responses") or {}).get(name) or []
    return [v for v in found if isinstance(v, dict)]


def first_unused(domain: DomainDict, names: Iterable[str], used_texts: Iterable[str],
                 **values: Any) -> Optional[Dict[str, Any]]:
    """The first variation, across `names` in order, whose filled text was not said yet."""
    used = set(used_texts)
    for name in names:
        for variation in variations(domain, name):
            text = fill(str(variation.get("text", "")), **values)
            if text and text not in used:
                return {**variation, "text": text, "response_name": name}
    return None


def render(domain: DomainDict, name: str, index: int = 0, **values: Any) -> Optional[Dict[str, Any]]:
    """Variation `index` (wrapping) of response `name`, filled; None when the domain lacks it."""
    found = variations(domain, name)
    if not found:
        return None
    variation = found[index % len(found)]
    return {**variation, "text": fill(str(variation.get("text", "")), **values)}


def intent_payload(intent: str, **entities: Any) -> str:
    """A button payload that triggers `intent` with entities: `/intent{"name": "value"}`."""
    return f"/{intent}{json.dumps(entities)}" if entities else f"/{intent}"
