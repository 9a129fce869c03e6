"""`make cv` folds only what designers wrote and puts the arms side by side."""

from __future__ import annotations

from pathlib import Path

from devtools.cv import hand_written_files, plot_arms, summary
from devtools.nlu_report import load_results

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "rasa_results"
ROOT = Path(__file__).resolve().parents[3]


def test_the_generated_file_is_never_folded() -> None:
    files = [p.name for p in hand_written_files(ROOT / "data" / "nlu")]
    assert "augmented.yml" not in files and "chitchat.yml" in files


def test_summary_lists_every_intent_for_each_arm_weakest_first(tmp_path: Path) -> None:
    r = load_results(FIXTURE)
    page = summary({"plain": r, "augmented": r})
    lines = page.splitlines()
    table = lines[lines.index("| intent | F1 plain | F1 augmented |") + 2:]
    intents = [line.split(" | ")[0][2:] for line in table if line.startswith("| ")]
    assert set(intents) == {s.name for s in r.intents}
    assert intents[0] == "deny", "the weakest intent comes first"
    plot_arms({"plain": r, "augmented": r}, tmp_path / "f1.png")
    assert (tmp_path / "f1.png").read_bytes()[:4] == b"\x89PNG"
