"""`make validate` names broken product video chapters by file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

import devtools.validate as validate

GOOD = (validate.ROOT / "tests" / "fixtures" / "catalog-chapters" / "shoes.yml").read_text()


def _catalog(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "catalog"
    folder.mkdir()
    (folder / "shoes.yml").write_text(text)
    return folder


def test_the_shipped_catalog_has_no_chapter_problems() -> None:
    assert validate.catalog_errors(validate.ROOT / "data" / "catalog") == []


def test_a_good_catalog_passes(tmp_path: Path) -> None:
    assert validate.catalog_errors(_catalog(tmp_path, GOOD)) == []


@pytest.mark.parametrize("old, new, line, words", [
    ("{start: 3, end: 6, tags: [sporty]", "{start: 2, end: 6, tags: [sporty]", 11, "overlap"),
    ("tags: [sporty]", "tags: [sporty, purple]", 11, "purple"),
    ("{start: 0, end: 3,", "{start: 0, end: 0,", 10, "before it"),
    ("caption: Sporty}", "caption: ''}", 11, "caption"),
    ("video: generated", "video: media/missing.webm", 8, "missing"),
    ("video: generated", "video: ../../etc/passwd.webm", 8, "inside the catalog folder"),
])
def test_broken_chapters_are_named_with_file_and_line(tmp_path: Path, old: str, new: str,
                                                      line: int, words: str) -> None:
    assert old in GOOD
    errors = validate.catalog_errors(_catalog(tmp_path, GOOD.replace(old, new)))
    assert len(errors) == 1, errors
    where, _, what = errors[0].partition(": ")
    assert where.endswith(f"shoes.yml:{line}"), errors[0]
    assert words in what and "shoe-01" in what, errors[0]


def test_a_designer_video_shorter_than_its_chapters_and_a_too_big_one(tmp_path: Path,
                                                                     monkeypatch) -> None:
    folder = _catalog(tmp_path, GOOD.replace("video: generated", "video: media/shoe.webm"))
    (folder / "media").mkdir()
    # a minimal WebM header: EBML, Segment, Info with TimecodeScale 1 ms and Duration 4000.0
    info = bytes.fromhex("2AD7B1830F4240") + bytes.fromhex("448988") + \
        __import__("struct").pack(">d", 4000.0)
    segment = bytes.fromhex("1549A966") + bytes([0x80 | len(info)]) + info
    webm = bytes.fromhex("1A45DFA3") + b"\x80" + bytes.fromhex("18538067") + \
        bytes([0x80 | len(segment)]) + segment
    (folder / "media" / "shoe.webm").write_bytes(webm)
    errors = validate.catalog_errors(folder)
    assert len(errors) == 1 and "past the end of the video (4.00 s)" in errors[0], errors
    assert errors[0].split(": ")[0].endswith("shoes.yml:11")
    monkeypatch.setattr(validate, "MAX_VIDEO_BYTES", 10)
    errors = validate.catalog_errors(folder)
    assert len(errors) == 1 and "limit" in errors[0] and ":8" in errors[0], errors


def test_main_fails_before_rasa_on_broken_chapters(tmp_path: Path, monkeypatch, capsys) -> None:
    folder = _catalog(tmp_path, GOOD.replace("tags: [sporty]", "tags: [blue]"))
    monkeypatch.setenv("EMOTICAL_CATALOG_PATH", str(folder))
    monkeypatch.setattr(validate, "run_rasa", lambda *a: pytest.fail("rasa must not run"))
    assert validate.main() == 1
    err = capsys.readouterr().err
    assert "shoes.yml:11: product 'shoe-01'" in err and "blue" in err
