"""`make test-rasa`: Rasa's own tests of the trained model, and the designers' report.

One `rasa test` run (the model loads once):
1. the test stories (tests/test_stories.yml): every step of every story, its intents included,
   must be predicted as written (a story in results/failed_test_stories.yml fails the run, as
   `--fail-on-prediction-errors` would, but only after the NLU half has run too, so the
   report is never half stale);
2. the NLU on tests/nlu_holdout.yml (hand-written examples not in the training
   data); prints intent macro-F1 and fails below EMOTICAL_MIN_INTENT_F1 (default 0.75).
Then results/nlu-report.md (devtools.nlu_report): per-intent table, confusion matrix picture,
the misclassified sentences of each confused pair, entity mistakes, story failures.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from devtools.nlu_report import write_report
from devtools.rasa_cli import ROOT, run_rasa
from stack.fingerprint import model_path

RESULTS = ROOT / "results"
#: What `rasa test` writes at the top of its output folder (cleared first, so nothing is stale;
#: results/bench and other sub-folders are left alone).
RASA_OUTPUTS = ("*_report.json", "*_errors.json", "*_successes.json", "*.png",
                "failed_test_stories.yml", "stories_with_warnings.yml", "nlu-report.md")


def clear_outputs(folder: Path) -> None:
    """Remove the files a previous `rasa test` left in ``folder``."""
    for pattern in RASA_OUTPUTS:
        for f in folder.glob(pattern):
            if f.is_file():
                f.unlink()


def failed_story_count(folder: Path) -> int:
    """Stories Rasa wrote to failed_test_stories.yml (it writes only failed ones)."""
    path = folder / "failed_test_stories.yml"
    if not path.exists():
        return 0
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines()
               if line.startswith("- story:"))


def main() -> int:
    model = model_path()
    if not model.exists():
        print(f"test-rasa: no model {model.name}; run `make train`", file=sys.stderr)
        return 1
    RESULTS.mkdir(exist_ok=True)
    clear_outputs(RESULTS)
    # One `rasa test` run (core and NLU), so the model is loaded once.
    code = run_rasa(
        "test", "--model", str(model), "--stories", "tests/test_stories.yml",
        "--nlu", "tests/nlu_holdout.yml", "--out", str(RESULTS),
    )
    if code != 0 or not (RESULTS / "intent_report.json").exists():
        print("test-rasa: rasa test failed (see above)", file=sys.stderr)
        return code or 1
    results = write_report(RESULTS, "make test-rasa: tests/nlu_holdout.yml and "
                           "tests/test_stories.yml")
    failed = failed_story_count(RESULTS)
    floor = float(os.environ.get("EMOTICAL_MIN_INTENT_F1", "0.75"))
    macro_f1 = results.macro_f1 or 0.0
    print(f"test-rasa: intent macro-F1 on tests/nlu_holdout.yml = {macro_f1:.3f} (floor {floor})")
    status = 0
    if failed:
        print(f"test-rasa: {failed} test stories were not predicted as written; see "
              "results/nlu-report.md (Stories) and results/failed_test_stories.yml",
              file=sys.stderr)
        status = 1
    if macro_f1 < floor:
        print(f"test-rasa: intent macro-F1 {macro_f1:.3f} is below {floor}", file=sys.stderr)
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
