"""Rasa's entity annotation syntax, parsed and rendered without importing Rasa.

Supported forms (the same as Rasa 3.x's YAML reader):
``[text](entity)``, ``[text](entity:synonym_value)``,
``[text]{"entity": "e", "role": "r", "group": "g", "value": "v"}`` and
``[text][{"entity": "a"}, {"entity": "b"}]`` (several annotations on one span).
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field, replace
from typing import Iterable, Optional

# The same grammar as rasa.shared.nlu.training_data.entities_parser.ENTITY_REGEX.
ENTITY_REGEX = re.compile(
    r"\[(?P<text>[^\]]+?)\]"
    r"(\((?P<entity>[^:)]+?)(?::(?P<value>[^)]+))?\)"
    r"|\{(?P<dict>[^}]+?)\}"
    r"|\[(?P<dicts>.*?)\])"
)
_SINGLE_DICT = re.compile(r"{(?P<dict>[^}]+?)\}")
_ALLOWED_KEYS = {"entity", "role", "group", "value"}


class AnnotationError(ValueError):
    """An example's entity annotation cannot be parsed or rendered."""


@dataclass(frozen=True)
class Entity:
    """One entity annotation: a labelled span of the plain text.

    ``value`` is the explicit synonym value (None when it equals the surface text).
    """

    entity: str
    text: str
    start: int = -1
    end: int = -1
    value: Optional[str] = None
    role: Optional[str] = None
    group: Optional[str] = None

    @property
    def resolved_value(self) -> str:
        """The value Rasa stores for this entity (synonym value or surface text)."""
        return self.value if self.value is not None else self.text

    def label(self) -> tuple[str, Optional[str], Optional[str], str]:
        """What must survive a paraphrase: type, role, group and resolved value."""
        return (self.entity, self.role, self.group, self.resolved_value)

    def at(self, start: int, text: Optional[str] = None) -> Entity:
        """The same annotation moved to ``start`` (optionally with a new surface text)."""
        surface = self.text if text is None else text
        return replace(self, text=surface, start=start, end=start + len(surface))


@dataclass(frozen=True)
class Example:
    """A training example: plain text plus its entity annotations, sorted by position."""

    text: str
    entities: tuple[Entity, ...] = field(default_factory=tuple)

    def render(self) -> str:
        """The example in Rasa's annotated form."""
        return render_annotated(self.text, self.entities)


def _entity_from_dict(text: str, raw: str, source: str) -> Entity:
    try:
        data = json.loads("{" + raw + "}")
    except json.JSONDecodeError as err:
        raise AnnotationError(f"invalid entity JSON {{{raw}}} in example {source!r}: {err}") from err
    if not isinstance(data, dict) or not isinstance(data.get("entity"), str):
        raise AnnotationError(f"entity JSON needs an 'entity' string in example {source!r}")
    unknown = set(data) - _ALLOWED_KEYS
    if unknown:
        raise AnnotationError(f"unknown entity keys {sorted(unknown)} in example {source!r}")
    value = data.get("value")
    return Entity(
        entity=data["entity"],
        text=text,
        value=None if value is None or value == text else str(value),
        role=data.get("role"),
        group=data.get("group"),
    )


def parse_annotated(annotated: str) -> Example:
    """Parse an annotated example into plain text and entities (Rasa's offsets)."""
    plain: list[str] = []
    entities: list[Entity] = []
    pos = 0
    out_len = 0
    for match in ENTITY_REGEX.finditer(annotated):
        before = annotated[pos : match.start()]
        plain.append(before)
        out_len += len(before)
        text = match.group("text")
        if match.group("entity"):
            value = match.group("value")
            found = [
                Entity(
                    entity=match.group("entity"),
                    text=text,
                    value=None if value is None or value == text else value,
                )
            ]
        elif match.group("dict") is not None:
            found = [_entity_from_dict(text, match.group("dict"), annotated)]
        else:
            found = [
                _entity_from_dict(text, inner.group("dict"), annotated)
                for inner in _SINGLE_DICT.finditer(match.group("dicts"))
            ]
            if not found:
                raise AnnotationError(f"empty entity list in example {annotated!r}")
        entities.extend(e.at(out_len) for e in found)
        plain.append(text)
        out_len += len(text)
        pos = match.end()
    plain.append(annotated[pos:])
    return Example("".join(plain), tuple(sorted(entities, key=_entity_sort_key)))


def _entity_sort_key(e: Entity) -> tuple:
    return (e.start, e.end, e.entity, e.role or "", e.group or "", e.value or "")


def _render_one(e: Entity) -> str:
    if e.role is None and e.group is None:
        if e.value is None:
            return f"({e.entity})"
        if ":" not in e.entity and ")" not in e.value:
            return f"({e.entity}:{e.value})"
    return _render_dict(e)


def _render_dict(e: Entity) -> str:
    data: dict[str, str] = {"entity": e.entity}
    for key in ("role", "group", "value"):
        val = getattr(e, key)
        if val is not None:
            data[key] = val
    return json.dumps(data, ensure_ascii=False)


def render_annotated(text: str, entities: Iterable[Entity]) -> str:
    """Render plain text with entities in Rasa's annotation syntax.

    Raises AnnotationError when spans overlap without coinciding or do not match the text.
    """
    spans: dict[tuple[int, int], list[Entity]] = {}
    for e in sorted(entities, key=_entity_sort_key):
        if text[e.start : e.end] != e.text or e.start < 0:
            raise AnnotationError(
                f"entity {e.entity!r} claims {e.text!r} at {e.start}:{e.end} of {text!r}"
            )
        spans.setdefault((e.start, e.end), []).append(e)
    out: list[str] = []
    pos = 0
    for (start, end), group in sorted(spans.items()):
        if start < pos:
            raise AnnotationError(f"overlapping entity spans in {text!r}")
        surface = text[start:end]
        if "[" in surface or "]" in surface:
            raise AnnotationError(f"entity text {surface!r} contains a bracket")
        out.append(text[pos:start])
        if len(group) == 1:
            out.append(f"[{surface}]{_render_one(group[0])}")
        else:
            out.append(f"[{surface}][" + ", ".join("{" + _render_dict(e)[1:] for e in group) + "]")
        pos = end
    out.append(text[pos:])
    return "".join(out)


_WORD_CHAR = re.compile(r"\w")


def _occurrences(text: str, needle: str) -> list[int]:
    """Start offsets of ``needle`` in ``text`` that are not inside a longer word."""
    found = []
    start = text.find(needle)
    while start != -1:
        end = start + len(needle)
        left_ok = start == 0 or not (_WORD_CHAR.match(text[start - 1]) and _WORD_CHAR.match(needle[0]))
        right_ok = end == len(text) or not (
            _WORD_CHAR.match(text[end]) and _WORD_CHAR.match(needle[-1])
        )
        if left_ok and right_ok:
            found.append(start)
        start = text.find(needle, start + 1)
    return found


def relocate_entities(source: Example, candidate_text: str) -> Optional[Example]:
    """Re-annotate ``candidate_text`` with the entities of ``source`` at their new positions.

    Each distinct entity surface must occur in the candidate exactly as often as in the source
    text, case-sensitively and on word boundaries; the k-th occurrence in the source maps to the
    k-th occurrence in the candidate. Returns None when an entity is lost, duplicated, garbled
    or the spans would overlap.
    """
    if not source.entities:
        return Example(candidate_text, ())
    placed: list[Entity] = []
    for surface in sorted({e.text for e in source.entities}):
        in_source = _occurrences(source.text, surface)
        in_candidate = _occurrences(candidate_text, surface)
        if len(in_candidate) != len(in_source):
            return None
        index_of = {start: i for i, start in enumerate(in_source)}
        for e in source.entities:
            if e.text == surface:
                if e.start not in index_of:
                    return None
                placed.append(e.at(in_candidate[index_of[e.start]]))
    placed.sort(key=_entity_sort_key)
    spans = sorted({(e.start, e.end) for e in placed})
    for (_, end_a), (start_b, _) in itertools.pairwise(spans):
        if start_b < end_a:
            return None
    return Example(candidate_text, tuple(placed))
