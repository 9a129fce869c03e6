"""Swap entity values for other values of the same entity (lookup tables, synonyms, data)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Optional

from nlu_augment.annotation import Entity, Example
from nlu_augment.nlu_yaml import NluData


@dataclass
class EntityValuePool:
    """Surface forms per entity type, each with the synonym value Rasa should map it to."""

    values: dict[str, list[tuple[str, Optional[str]]]] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: NluData) -> EntityValuePool:
        """Collect lookup table entries named after an entity, annotated values and synonyms."""
        canonical_of: dict[str, str] = {}
        for canonical, variants in data.synonyms.items():
            for variant in variants:
                canonical_of[variant] = canonical
        pools: dict[str, dict[str, Optional[str]]] = {}
        seen_values: dict[str, set[str]] = {}
        for _, example in data.examples():
            for e in example.entities:
                pools.setdefault(e.entity, {})[e.text] = e.value
                seen_values.setdefault(e.entity, set()).add(e.resolved_value)
        for entity in list(pools):
            for item in data.lookups.get(entity, []):
                pools[entity].setdefault(item, canonical_of.get(item))
            values = seen_values[entity] | set(data.lookups.get(entity, []))
            for variant, canonical in canonical_of.items():
                if canonical in values:
                    pools[entity].setdefault(variant, canonical)
        return cls(
            {
                name: sorted((s, v if v != s else None) for s, v in pool.items() if _usable(s))
                for name, pool in sorted(pools.items())
            }
        )

    def swaps(self, example: Example, rng: random.Random, limit: int) -> list[Example]:
        """Up to ``limit`` copies of ``example`` with every entity given another value."""
        spans = [(e.start, e.end) for e in example.entities]
        if not spans or len(set(spans)) != len(spans):
            return []  # no entities, or several annotations share a span
        out: list[Example] = []
        seen = {example.text}
        for _ in range(limit * 3):
            if len(out) >= limit:
                break
            new = self._swap_once(example, rng)
            if new is not None and new.text not in seen:
                seen.add(new.text)
                out.append(new)
        return out

    def _swap_once(self, example: Example, rng: random.Random) -> Optional[Example]:
        text = example.text
        shift = 0
        entities: list[Entity] = []
        changed = False
        used = {e.text for e in example.entities}
        for e in example.entities:
            options = [o for o in self.values.get(e.entity, []) if o[0] not in used]
            start = e.start + shift
            if options:
                surface, value = options[rng.randrange(len(options))]
                used.add(surface)
                changed = True
            else:
                surface, value = e.text, e.value
            text = text[:start] + surface + text[start + len(e.text) :]
            shift += len(surface) - len(e.text)
            entities.append(Entity(e.entity, surface, start, start + len(surface), value,
                                   e.role, e.group))
        return Example(text, tuple(entities)) if changed else None


def _usable(surface: str) -> bool:
    return bool(surface.strip()) and not any(c in surface for c in "[]{}()\n")
