"""`make test-rasa`: Rasa's own tests of the trained model.

One `rasa test` run (the model loads once):
1. the test stories (tests/test_stories.yml) with --fail-on-prediction-errors: every step of
   every story, its intents included, must be predicted as written;
2. the NLU on tests/nlu_holdout.yml (hand-written examples not in the training
   data); prints intent macro-F1 and fails below EMOTICAL_MIN_INTENT_F1 (default 0.75).
"""

from __future__ import annotations

import json
import os
import sys

from devtools.rasa_cli import ROOT, run_rasa
from stack.fingerprint import model_path

RESULTS = ROOT / "results"


def main() -> int:
    model = model_path()
    if not model.exists():
        print(f"test-rasa: no model {model.name}; run `make train`", file=sys.stderr)
        return 1
    # One `rasa test` run (core and NLU), so the model is loaded once.
    code = run_rasa(
        "test", "--model", str(model), "--stories", "tests/test_stories.yml",
        "--nlu", "tests/nlu_holdout.yml", "--fail-on-prediction-errors", "--out", str(RESULTS),
    )
    if code != 0:
        print("test-rasa: a test story was not predicted as written; see "
              "results/failed_test_stories.yml", file=sys.stderr)
        return code
    report = json.loads((RESULTS / "intent_report.json").read_text())
    macro_f1 = float(report["macro avg"]["f1-score"])
    floor = float(os.environ.get("EMOTICAL_MIN_INTENT_F1", "0.75"))
    print(f"test-rasa: intent macro-F1 on tests/nlu_holdout.yml = {macro_f1:.3f} (floor {floor})")
    worst = sorted(
        (v["f1-score"], k) for k, v in report.items() if isinstance(v, dict) and "support" in v
        and k not in {"macro avg", "weighted avg", "micro avg"}
    )[:3]
    print("test-rasa: weakest intents: " + ", ".join(f"{k} {f:.2f}" for f, k in worst))
    if macro_f1 < floor:
        print(f"test-rasa: intent macro-F1 {macro_f1:.3f} is below {floor}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
