"""The designers' report says which intents are weak, what they are taken for, on which
sentences, and which story step went wrong."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from devtools import evaluate
from devtools.nlu_report import confusion_matrix, load_results, parse_failed_stories, write_report

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "rasa_results"


@pytest.fixture()
def results_dir(tmp_path: Path) -> Path:
    out = tmp_path / "results"
    shutil.copytree(FIXTURE, out)
    return out


def test_report_lists_each_intent_with_precision_recall_and_f1(results_dir: Path) -> None:
    write_report(results_dir, plot=False)
    page = (results_dir / "nlu-report.md").read_text()
    report = json.loads((FIXTURE / "intent_report.json").read_text())
    intents = [k for k in report if k not in {"accuracy", "macro avg", "weighted avg", "micro avg"}]
    for intent in intents:
        assert f"| {intent}" in page, f"{intent} is missing from the per-intent table"
    assert f"{report['macro avg']['f1-score']:.3f}" in page


def test_a_confused_pair_shows_its_sentence_and_confidence(results_dir: Path) -> None:
    write_report(results_dir, plot=False)
    page = (results_dir / "nlu-report.md").read_text()
    assert "### deny → express_dislike (1)" in page
    assert "| I'd rather not | 0.86 |" in page, "the misclassified sentence and its confidence"


def test_entity_mistakes_show_expected_and_predicted(results_dir: Path) -> None:
    write_report(results_dir, plot=False)
    page = (results_dir / "nlu-report.md").read_text()
    assert "| my package arrived damaged | — | package (attribute) |" in page


def test_story_failures_show_expected_and_predicted_step_only_when_wrong() -> None:
    failures = parse_failed_stories((FIXTURE / "failed_test_stories.yml").read_text())
    assert [(f.kind, f.expected, f.predicted.split(" ")[0]) for f in failures] == [
        ("intent", "deny", "express_dislike"),
        ("action", "utter_ok", "action_ask_preference"),
    ], "a correct step Rasa merely commented must not be listed"
    assert failures[0].story.startswith("refuse a suggestion")


def test_worst_intents_are_printed_with_the_report_path(results_dir: Path, capsys) -> None:
    results = write_report(results_dir, plot=False)
    out = capsys.readouterr().out
    assert str(results_dir / "nlu-report.md") in out
    worst = results.worst()
    assert len(worst) == 3 and {w.name for w in worst} >= {"deny", "express_dislike"}
    assert all(w.name in out for w in worst)


def test_confusion_matrix_counts_every_error_and_the_rest_on_the_diagonal(results_dir: Path) -> None:
    results = load_results(results_dir)
    names, matrix = confusion_matrix(results)
    i, j = names.index("deny"), names.index("express_dislike")
    assert matrix[i][j] == 1
    support = {s.name: s.support for s in results.intents}
    assert matrix[i][i] == support["deny"] - 1
    assert sum(map(sum, matrix)) == sum(support.values())


def test_confusion_matrix_picture_is_written(results_dir: Path) -> None:
    write_report(results_dir)
    png = results_dir / "nlu-confusion.png"
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert "![intent confusion matrix](nlu-confusion.png)" in (results_dir / "nlu-report.md").read_text()


def test_failed_stories_count_fails_the_run(results_dir: Path, tmp_path: Path) -> None:
    assert evaluate.failed_story_count(results_dir) == 2
    (tmp_path / "failed_test_stories.yml").write_text("# None of the test stories failed - all good!")
    assert evaluate.failed_story_count(tmp_path) == 0


def test_old_outputs_are_cleared_but_benchmarks_are_kept(results_dir: Path) -> None:
    (results_dir / "bench").mkdir()
    (results_dir / "bench" / "x.png").write_bytes(b"")
    evaluate.clear_outputs(results_dir)
    assert not (results_dir / "intent_report.json").exists()
    assert (results_dir / "bench" / "x.png").exists()


def test_a_failed_story_without_a_marked_step_is_still_listed() -> None:
    text = ("version: \"3.1\"\nstories:\n- story: complaint while angry (tests/test_stories.yml)\n"
            "  steps:\n  - intent: complain\n    entities:\n    - product_category: shoes\n"
            "  - action: action_express_sympathy\n")
    failures = parse_failed_stories(text)
    assert [(f.story, f.kind) for f in failures] == [
        ("complaint while angry (tests/test_stories.yml)", "story")]
    assert "failed_test_stories.yml" in failures[0].predicted
