"""`make eval-augment`: does augmentation help when designers write only a few examples?

For each split seed: keep N examples per intent (nlu_augment.eval_split, the rest held out),
augment those N with nlu_augment (vision environment, run as a child process), then train the
project's NLU pipeline twice with identical config (epochs overridden for speed, same for both
arms) -- once on the N examples, once on the N plus the generated file -- and evaluate both on
the held-out examples (plus tests/nlu_holdout.yml). Prints intent macro-F1 and entity F1 side
by side and writes var/augment-eval/summary.json.

Runs in the bot environment (Rasa); the augmentation itself runs in the vision environment.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional, Sequence

import yaml

from devtools.rasa_cli import ROOT
from emotical_shared.childenv import child_env

ARMS = ("plain", "augmented")


def eval_config(source: Path, target: Path, epochs: int) -> None:
    """Copy the project's config with every DIETClassifier's epochs set to ``epochs``."""
    config = yaml.safe_load(source.read_text(encoding="utf-8"))
    for component in config.get("pipeline", []):
        if component.get("name") == "DIETClassifier":
            component["epochs"] = epochs
    config.pop("policies", None)
    target.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def _vision(vision_python: str, *args: str) -> None:
    cmd = [vision_python, "-m", *args]
    print("eval-augment: " + " ".join(cmd[1:]), flush=True)
    subprocess.run(cmd, cwd=ROOT, env=child_env(), check=True)


def merge_holdout(test_file: Path, extra: Sequence[Path]) -> None:
    """Append the intent examples of extra held-out files to the split's test file."""
    doc = yaml.safe_load(test_file.read_text(encoding="utf-8"))
    for path in extra:
        more = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        doc["nlu"].extend(item for item in more.get("nlu", []) if "intent" in item)
    test_file.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), "utf-8")


def read_scores(results: Path) -> Dict[str, float]:
    """Intent macro-F1 and entity micro-F1 (DIET) from `rasa test nlu` reports."""
    intents = json.loads((results / "intent_report.json").read_text())
    scores = {"intent_macro_f1": float(intents["macro avg"]["f1-score"])}
    entity_file = results / "DIETClassifier_report.json"
    if entity_file.exists():
        report = json.loads(entity_file.read_text())
        avg = report.get("micro avg") or report.get("weighted avg")
        scores["entity_f1"] = float(avg["f1-score"]) if avg else 0.0
    else:
        scores["entity_f1"] = float("nan")
    return scores


def count_examples(folder: Path) -> int:
    """Intent examples in the YAML files of a folder."""
    n = 0
    for path in sorted(folder.glob("*.yml")):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            if "intent" in item and isinstance(item.get("examples"), str):
                n += sum(1 for line in item["examples"].splitlines() if line.strip())
    return n


def train_and_test(config: Path, data: Path, test: Path, work: Path, arm: str) -> Dict[str, float]:
    """Train an NLU model on ``data`` and score it on ``test``, in this process (one Rasa
    import for all arms keeps the run short)."""
    import asyncio
    import logging

    from rasa.model_testing import test_nlu
    from rasa.model_training import train_nlu
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)

    print(f"eval-augment: training the {arm} arm on {data}", flush=True)
    model = train_nlu(str(config), str(data), str(work / "models"), fixed_model_name=arm)
    if model is None:
        raise RuntimeError(f"rasa train nlu failed for the {arm} arm ({data})")
    results = work / "results" / arm
    asyncio.run(test_nlu(model, str(test), str(results),
                         {"disable_plotting": True, "errors": True}))
    return read_scores(results)


def run_seed(args: argparse.Namespace, seed: int) -> Dict[str, Dict[str, float]]:
    """Split, augment, train and test both arms for one seed."""
    work = args.workdir / f"seed-{seed}"
    if work.exists():
        shutil.rmtree(work)
    _vision(args.vision_python, "nlu_augment.eval_split", str(args.data), "--per-intent",
            str(args.per_intent), "--seed", str(seed), "--out", str(work))
    plain, augmented = work / "train", work / "augmented"
    augmented.mkdir()
    shutil.copy2(plain / "train.yml", augmented / "train.yml")
    _vision(args.vision_python, "nlu_augment", str(plain / "train.yml"), "--out",
            str(augmented / "augmented.yml"), "--seed", str(seed), "--no-progress",
            *args.augment_args)
    holdout = [p for p in args.extra_test if p.exists()]
    merge_holdout(work / "test.yml", holdout)
    config = work / "config.yml"
    eval_config(args.config, config, args.epochs)
    out: Dict[str, Dict[str, float]] = {}
    for arm, folder in zip(ARMS, (plain, augmented), strict=True):
        out[arm] = train_and_test(config, folder, work / "test.yml", work, arm)
        out[arm]["train_examples"] = count_examples(folder)
    return out


def table(per_seed: Dict[int, Dict[str, Dict[str, float]]]) -> str:
    """Side-by-side table: one row per seed and arm, then the mean and the difference."""
    lines = [f"{'seed':>6}  {'arm':<10}  {'train ex.':>9}  {'intent macro-F1':>15}  "
             f"{'entity F1':>9}"]
    means = {arm: {"intent_macro_f1": 0.0, "entity_f1": 0.0} for arm in ARMS}
    for seed, arms in per_seed.items():
        for arm in ARMS:
            s = arms[arm]
            lines.append(f"{seed:>6}  {arm:<10}  {int(s['train_examples']):>9}  "
                         f"{s['intent_macro_f1']:>15.3f}  {s['entity_f1']:>9.3f}")
            for k in means[arm]:
                means[arm][k] += s[k] / len(per_seed)
    for arm in ARMS:
        lines.append(f"{'mean':>6}  {arm:<10}  {'':>9}  {means[arm]['intent_macro_f1']:>15.3f}  "
                     f"{means[arm]['entity_f1']:>9.3f}")
    d_int = 100 * (means["augmented"]["intent_macro_f1"] - means["plain"]["intent_macro_f1"])
    d_ent = 100 * (means["augmented"]["entity_f1"] - means["plain"]["entity_f1"])
    lines.append(f"augmented - plain: intent macro-F1 {d_int:+.1f} points, entity F1 "
                 f"{d_ent:+.1f} points")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the evaluation; exit 1 if the goal (>= +3 macro-F1, entity F1 not lower) is missed."""
    p = argparse.ArgumentParser(prog="python -m devtools.augment_eval", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=ROOT / "data" / "nlu")
    p.add_argument("--config", type=Path, default=ROOT / "config.yml")
    p.add_argument("--extra-test", type=Path, nargs="*", default=[ROOT / "tests" / "nlu_holdout.yml"])
    p.add_argument("--workdir", type=Path, default=ROOT / "var" / "augment-eval")
    p.add_argument("--per-intent", type=int, default=5)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--epochs", type=int, default=100,
                   help="DIET epochs for both arms (config.yml's own value is 100)")
    p.add_argument("--vision-python", default=os.environ.get(
        "VIS_PY", str(ROOT / ".venv" / "vision" / "bin" / "python")))
    p.add_argument("--min-gain", type=float, default=3.0,
                   help="required intent macro-F1 gain in points")
    p.add_argument("augment_args", nargs="*", help="extra options for nlu_augment (after --)")
    args = p.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    per_seed = {}
    try:
        for seed in args.seeds:
            per_seed[seed] = run_seed(args, seed)
    except (RuntimeError, subprocess.CalledProcessError) as err:
        print(f"eval-augment: error: {err}", file=sys.stderr)
        return 2
    text = table(per_seed)
    print("\n" + text)
    (args.workdir / "summary.json").write_text(json.dumps(per_seed, indent=2), encoding="utf-8")
    mean = {arm: sum(r[arm]["intent_macro_f1"] for r in per_seed.values()) / len(per_seed)
            for arm in ARMS}
    ent = {arm: sum(r[arm]["entity_f1"] for r in per_seed.values()) / len(per_seed)
           for arm in ARMS}
    gain = 100 * (mean["augmented"] - mean["plain"])
    ok = gain >= args.min_gain and ent["augmented"] >= ent["plain"] - 1e-9
    print(f"eval-augment: goal (+{args.min_gain:g} intent macro-F1 points, entity F1 not lower): "
          + ("met" if ok else "NOT met"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
