"""Chapters of a product video: checking, lookup by time, captions, what a chapter teaches."""

from __future__ import annotations

from emotical_shared.chapters import (
    Chapter,
    ChapterReaction,
    chapter_at,
    check_chapters,
    learned_step,
    reaction_from_fields,
    webvtt,
)
from emotical_shared.tag_rule import step_weight

TAGS = ["red", "mesh", "sporty", "lightweight"]
RAW = [{"start": 0, "end": 3, "tags": ["red", "mesh"], "caption": "Red mesh"},
       {"start": 4, "end": 6.5, "tags": ["sporty"], "caption": "Sporty --> fast"}]


def test_good_chapters_parse_and_a_gap_is_allowed() -> None:
    chapters, problems = check_chapters(RAW, TAGS)
    assert problems == []
    assert chapters == [Chapter(0, 0.0, 3.0, ("red", "mesh"), "Red mesh"),
                        Chapter(1, 4.0, 6.5, ("sporty",), "Sporty --> fast")]
    assert chapter_at(chapters, 0.0).index == 0 and chapter_at(chapters, 2.999).index == 0
    assert chapter_at(chapters, 3.5) is None and chapter_at(chapters, 6.5) is None
    assert chapter_at(chapters, 6.4).index == 1


def test_each_problem_names_its_chapter_and_field() -> None:
    raw = [dict(RAW[0]), {**RAW[1], "start": 2, "tags": ["blue"]}, {"start": 7, "end": 9}]
    _, problems = check_chapters(raw, TAGS, duration=8.0)
    got = {(p.chapter, p.field) for p in problems}
    assert (1, "tags") in got and (1, "start") in got  # unknown tag, overlap
    assert (2, "tags") in got and (2, "caption") in got and (2, "end") in got  # past the end


def test_webvtt_has_one_cue_per_chapter_and_no_cue_arrow_in_text() -> None:
    chapters, _ = check_chapters(RAW, TAGS)
    vtt = webvtt(chapters)
    assert vtt.startswith("WEBVTT\n\n")
    assert "00:00:00.000 --> 00:00:03.000\nRed mesh" in vtt
    assert "00:00:04.000 --> 00:00:06.500\nSporty -> fast" in vtt


def test_a_chapter_teaches_only_a_clear_reaction_with_faces() -> None:
    fields = {"0:frames": "10", "0:face": "8", "0:valence": "6.4", "0:confidence": "7.2",
              "0:emo:happy": "7", "0:emo:calm": "1", "1:frames": "10", "1:face": "2",
              "1:valence": "1.8", "1:confidence": "1.8"}
    smile = reaction_from_fields(fields, 0)
    assert smile.dominant == "happy" and smile.face_share == 0.8
    assert abs(smile.step(0.15, 0.2) - 0.15 * 0.9 * 0.8) < 1e-9
    assert reaction_from_fields(fields, 1).step(0.15, 0.2) == 0.0  # two face frames only
    assert ChapterReaction(10, 10, 1.0, 9.0, {}).step(0.15, 0.2) == 0.0  # valence 0.1: unclear
    assert ChapterReaction(10, 10, -5.0, 9.0, {}).step(0.15, 0.2) < 0
    assert reaction_from_fields({}, 3).step(0.15, 0.2) == 0.0


def test_the_one_bounded_update_never_crosses_the_bounds() -> None:
    assert step_weight(0.0, 0.5) == 0.5 and step_weight(0.5, 0.5) == 0.75
    assert step_weight(-0.9, -1.0) == -1.0 and step_weight(0.99, 2.0) == 1.0


def test_learned_step_reads_an_ended_chapters_step_and_nothing_else():
    fields = {"0:learned": "0.061200", "1:learned": "0.000000", "2:frames": "4",
              "3:learned": "n/a"}
    assert learned_step(fields, 0) == 0.0612
    assert learned_step(fields, 1) == 0.0  # ended, reaction unclear
    assert learned_step(fields, 2) is None  # still playing: no step yet
    assert learned_step(fields, 3) is None  # unreadable: not a reaction
