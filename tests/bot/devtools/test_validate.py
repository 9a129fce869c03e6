"""Designers' YAML mistakes come back as file, line and what is wrong."""

from __future__ import annotations

from pathlib import Path

import devtools.validate as validate


def test_broken_indentation_is_reported_with_file_line_and_problem(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(validate, "ROOT", tmp_path)
    broken = tmp_path / "data" / "nlu" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        'version: "3.1"\n'
        "nlu:\n"
        "- intent: greet\n"
        "  examples: |\n"
        "    - hi\n"
        "   - intent: bye\n"  # one space short: not a valid continuation
        "  examples: [unclosed\n"
    )
    (tmp_path / "data" / "nlu" / "fine.yml").write_text('version: "3.1"\nnlu: []\n')
    errors = validate.yaml_errors(validate.yaml_files(["data"]))
    assert len(errors) == 1, errors
    where, _, what = errors[0].partition(": ")
    path, line, column = where.split(":")
    assert path == "data/nlu/broken.yml"
    assert int(line) in {6, 7, 8}, errors[0]
    assert int(column) >= 1
    assert what, "the problem itself must be named"


def test_project_yaml_is_valid() -> None:
    assert validate.yaml_errors(validate.yaml_files()) == []


def test_non_utf8_file_is_named(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(validate, "ROOT", tmp_path)
    bad = tmp_path / "domain.yml"
    bad.write_bytes(b"responses:\n  utter_x:\n  - text: caf\xe9\n")
    errors = validate.yaml_errors(validate.yaml_files(["domain.yml"]))
    assert errors and errors[0].startswith("domain.yml: not UTF-8"), errors
