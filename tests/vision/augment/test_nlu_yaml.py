"""Reading and writing Rasa NLU YAML without Rasa."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.augment.nlu_yaml import (
    GENERATED_MARKER,
    NluFormatError,
    dump_nlu,
    load_nlu,
    nlu_files,
)


def test_loads_intents_lookups_and_synonyms(nlu_data) -> None:
    assert list(nlu_data.intents) == [
        "search_product", "compare_products", "greet", "goodbye", "complain"
    ]
    assert "scarves" in nlu_data.lookups["product_category"]
    assert nlu_data.synonyms["sneakers"] == ["running shoes", "trainers"]
    roles = [e.role for e in nlu_data.intents["compare_products"][0].entities]
    assert roles == ["first", "second", None]


def test_dump_then_load_is_lossless(nlu_data, tmp_path: Path) -> None:
    out = tmp_path / "copy.yml"
    out.write_text(dump_nlu(nlu_data.intents, ["a header"], data=nlu_data), encoding="utf-8")
    again = load_nlu([out])
    assert again.intents == nlu_data.intents
    assert again.lookups == nlu_data.lookups
    assert again.synonyms == nlu_data.synonyms


def test_generated_files_and_the_output_are_never_read_as_input(nlu_dir, tmp_path) -> None:
    for f in nlu_dir.iterdir():
        (tmp_path / f.name).write_text(f.read_text())
    (tmp_path / "augmented.yml").write_text(
        f"{GENERATED_MARKER}\nversion: '3.1'\nnlu:\n- intent: greet\n  examples: |\n    - yo\n"
    )
    (tmp_path / "other_out.yml").write_text("version: '3.1'\nnlu: []\n")
    found = nlu_files(tmp_path, exclude=[tmp_path / "other_out.yml"])
    assert [p.name for p in found] == ["lookups.yml", "shopping.yml"]


def test_list_form_examples_with_metadata_are_read(tmp_path: Path) -> None:
    f = tmp_path / "meta.yml"
    f.write_text(
        "nlu:\n- intent: greet\n  examples:\n  - text: |\n      hi [bot](who)\n"
        "    metadata: {sentiment: neutral}\n"
    )
    (ex,) = load_nlu([f]).intents["greet"]
    assert ex.text == "hi bot" and ex.entities[0].entity == "who"


@pytest.mark.parametrize(
    "body, message",
    [
        ("nlu:\n- intent: greet\n  examples: |\n    hi\n", "does not start with '- '"),
        ("nlu:\n- answer: 42\n", "unknown nlu item"),
        ("nlu:\n- intent: greet\n  examples: |\n    - [x]{bad json}\n", "invalid entity JSON"),
        ("nlu: 3\n", "'nlu' must be a list"),
    ],
)
def test_bad_files_are_named_with_the_problem(tmp_path: Path, body: str, message: str) -> None:
    f = tmp_path / "bad.yml"
    f.write_text(body)
    with pytest.raises(NluFormatError, match=message) as err:
        load_nlu([f])
    assert "bad.yml" in str(err.value)
