"""Rasa's entity annotation syntax: parsing, rendering, relocation in paraphrases."""

from __future__ import annotations

import pytest

from nlu_augment.annotation import (
    AnnotationError,
    Entity,
    Example,
    parse_annotated,
    relocate_entities,
    render_annotated,
)

ROUND_TRIP = [
    "i want [suede](attribute) [boots](product_category)",
    "can i buy [running shoes](product_category:sneakers)",
    'compare [black]{"entity": "attribute", "role": "first"} and [brown]{"entity": '
    '"attribute", "role": "second"}',
    'either [suede]{"entity": "attribute", "group": "1", "value": "Suede"} or not',
    '[berlin][{"entity": "city", "role": "from"}, {"entity": "location"}] please',
    "no entities at all, [just brackets]",
]


@pytest.mark.parametrize("annotated", ROUND_TRIP)
def test_parse_then_render_gives_back_the_same_annotation(annotated: str) -> None:
    example = parse_annotated(annotated)
    assert example.render() == annotated


def test_parse_gives_rasa_offsets_values_roles_and_groups() -> None:
    ex = parse_annotated(
        'compare [black]{"entity": "attribute", "role": "first"} with '
        "[running shoes](product_category:sneakers)"
    )
    assert ex.text == "compare black with running shoes"
    black, shoes = ex.entities
    assert (black.start, black.end, black.entity, black.role) == (8, 13, "attribute", "first")
    assert ex.text[shoes.start : shoes.end] == "running shoes"
    assert shoes.resolved_value == "sneakers" and shoes.value == "sneakers"
    assert black.resolved_value == "black" and black.value is None


def test_value_equal_to_text_is_not_a_synonym() -> None:
    assert parse_annotated("[red](colour:red)").entities[0].value is None


def test_bad_entity_json_names_the_example() -> None:
    with pytest.raises(AnnotationError, match="show me"):
        parse_annotated('show me [red]{"entity": attribute}')
    with pytest.raises(AnnotationError, match="unknown entity keys"):
        parse_annotated('[red]{"entity": "attribute", "colour": "x"}')


def test_render_refuses_spans_that_do_not_match_the_text() -> None:
    with pytest.raises(AnnotationError):
        render_annotated("show me red", [Entity("attribute", "blue", 8, 12)])


def test_relocation_moves_entities_to_their_new_positions() -> None:
    src = parse_annotated(
        'compare the [black]{"entity": "attribute", "role": "first"} and the '
        '[brown]{"entity": "attribute", "role": "second", "group": "g"} [boots](product_category)'
    )
    moved = relocate_entities(src, "which boots are nicer: brown or black?")
    assert moved is not None
    assert sorted(e.label() for e in moved.entities) == sorted(e.label() for e in src.entities)
    assert moved.render() == (
        'which [boots](product_category) are nicer: [brown]{"entity": "attribute", "role": '
        '"second", "group": "g"} or [black]{"entity": "attribute", "role": "first"}?'
    )


@pytest.mark.parametrize(
    "candidate, why",
    [
        ("show me some boots", "entity lost"),
        ("show me Suede boots", "entity garbled (case)"),
        ("show me suedes boots", "entity inside a longer word"),
        ("show me suede boots, suede ones", "entity duplicated"),
    ],
)
def test_relocation_rejects_lost_garbled_or_duplicated_entities(candidate: str, why: str) -> None:
    src = parse_annotated("show me [suede](attribute) boots")
    assert relocate_entities(src, candidate) is None, why


def test_relocation_keeps_plain_examples_plain() -> None:
    assert relocate_entities(Example("hi"), "hello there") == Example("hello there", ())
