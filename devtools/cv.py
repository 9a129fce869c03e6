"""`make cv`: Rasa's NLU cross-validation on data/nlu, without and with augmentation.

Rasa's `rasa test nlu --cross-validation` splits every example into folds, generated ones
included, so a paraphrase of a test sentence sits in the training folds and the augmented arm
is scored on near-copies of what it learnt. Here the folds are made of the hand-written
examples only (Rasa's own stratified `generate_folds`, seeded, the same folds for both arms);
the augmented arm augments each training fold with nlu_augment (vision environment, a child
process, the same options as `make augment`) and the test fold stays hand-written. Each fold
trains the project's NLU pipeline (config.yml) and is scored with Rasa's `combine_result`;
the accumulated results go through Rasa's `evaluate_intents` / `evaluate_entities`, which
write the usual files into results/cv/<arm>/, and devtools.nlu_report turns each folder into
nlu-report.md. results/cv/summary.md puts the arms side by side, per intent, with a chart.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from tqdm import tqdm

from devtools.augment_eval import eval_config
from devtools.nlu_report import Results, write_report
from devtools.rasa_cli import ROOT
from emotical_shared.childenv import child_env

ARMS = ("plain", "augmented")
GENERATED = "augmented.yml"


def hand_written_files(folder: Path) -> List[Path]:
    """The NLU files of ``folder`` a designer wrote (the generated file left out)."""
    return sorted(p for p in folder.glob("*.yml") if p.name != GENERATED)


def augment_fold(vision_python: str, train_file: Path, out: Path, seed: int,
                 extra: Sequence[str]) -> None:
    """Run nlu_augment on one training fold (vision environment)."""
    cmd = [vision_python, "-m", "nlu_augment", str(train_file), "--out", str(out), "--seed",
           str(seed), "--no-progress", "--rejects", str(ROOT / "data" / "augment-rejects.txt"),
           *extra]
    subprocess.run(cmd, cwd=ROOT, env=child_env(), check=True, stdout=subprocess.DEVNULL)


def summary(results: Dict[str, Results]) -> str:
    """Markdown: macro-F1 per arm, then one row per intent with each arm's F1."""
    names = sorted({s.name for r in results.values() for s in r.intents})
    f1 = {arm: {s.name: s.f1 for s in r.intents} for arm, r in results.items()}
    lines = ["# make cv: cross-validated NLU, hand-written folds", "",
             "| | " + " | ".join(results) + " |", "| --- |" + " ---: |" * len(results),
             "| intent macro-F1 | " + " | ".join(f"{r.macro_f1 or 0:.3f}" for r in results.values())
             + " |", "", "| intent | " + " | ".join(f"F1 {a}" for a in results) + " |",
             "| --- |" + " ---: |" * len(results)]
    for n in sorted(names, key=lambda n: min(f1[a].get(n, 0.0) for a in results)):
        lines.append(f"| {n} | " + " | ".join(f"{f1[a].get(n, 0.0):.3f}" for a in results) + " |")
    lines += ["", "![per-intent F1](per-intent-f1.png)", "",
              "Per arm: " + ", ".join(f"[{a}]({a}/nlu-report.md)" for a in results), ""]
    return "\n".join(lines)


def plot_arms(results: Dict[str, Results], out: Path) -> None:
    """Horizontal bars: per-intent F1 of each arm, weakest intent on top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted({s.name for r in results.values() for s in r.intents})
    f1 = {arm: {s.name: s.f1 for s in r.intents} for arm, r in results.items()}
    names.sort(key=lambda n: -min(f1[a].get(n, 0.0) for a in results))
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(names) + 1.5))
    height = 0.8 / max(1, len(results))
    for k, arm in enumerate(results):
        ax.barh([i + k * height for i in range(len(names))],
                [f1[arm].get(n, 0.0) for n in names], height=height,
                label=f"{arm} (macro {results[arm].macro_f1 or 0:.3f})")
    ax.set_yticks([i + height / 2 for i in range(len(names))], names, fontsize=8)
    ax.axvline(0.9, color="crimson", lw=0.8, ls="--")
    ax.set_xlim(0.5, 1.0)
    ax.set_xlabel("intent F1 (cross-validated)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def run_cv(args: argparse.Namespace) -> Dict[str, Results]:
    """Fold, (augment,) train and test each arm; write the reports; return what they say."""
    import numpy as np
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu
    from rasa.nlu.test import (
        _get_active_entity_extractors,
        combine_result,
        evaluate_entities,
        evaluate_intents,
        generate_folds,
    )
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    data = TrainingData().merge(*(load_data(str(p)) for p in hand_written_files(args.data)))
    np.random.seed(args.seed)  # generate_folds shuffles with numpy's global state
    folds = list(generate_folds(args.folds, data))
    work = args.workdir
    if work.exists():
        shutil.rmtree(work)
    config = work / "config.yml"
    work.mkdir(parents=True)
    eval_config(args.config, config, args.epochs)
    arms = [a for a in ARMS if a in args.arms]
    out: Dict[str, Results] = {}
    chosen = sorted(set(args.only_folds or range(len(folds))))
    if any(not 0 <= i < len(folds) for i in chosen):
        raise RuntimeError(f"--only-folds: folds are numbered 0..{len(folds) - 1}")
    bar = tqdm(total=len(arms) * len(chosen), desc="cv", unit="fold")
    for arm in arms:
        intent_results: List[Any] = []
        entity_results: List[Any] = []
        for i, (train, test) in enumerate(folds):
            if i not in chosen:
                continue
            bar.set_postfix_str(f"{arm} fold {i + 1}/{len(folds)}")
            fold = work / arm / f"fold-{i}"
            fold.mkdir(parents=True)
            RasaYAMLWriter().dump(fold / "train.yml", train)
            if arm == "augmented":
                augment_fold(args.vision_python, fold / "train.yml", fold / GENERATED,
                             args.seed + i, args.augment_args)
            model = train_nlu(str(config), str(fold), str(work / "models"),
                              fixed_model_name=f"{arm}-{i}")
            if model is None:
                raise RuntimeError(f"rasa train nlu failed for {arm} fold {i}")
            processor = Agent.load(model).processor
            asyncio.run(combine_result(defaultdict(list), defaultdict(lambda: defaultdict(list)),
                                       defaultdict(list), processor, test, intent_results,
                                       entity_results, []))
            bar.update(1)
        results_dir = args.out / arm
        if results_dir.exists():
            shutil.rmtree(results_dir)
        results_dir.mkdir(parents=True)
        evaluate_intents(intent_results, str(results_dir), False, True, True, True)
        if entity_results:
            evaluate_entities(entity_results, _get_active_entity_extractors(entity_results),
                              str(results_dir), False, True, True, True)
        scope = (f"{args.folds} folds" if len(chosen) == len(folds) else
                 f"fold {', '.join(str(i) for i in chosen)} of {args.folds}")
        out[arm] = write_report(results_dir, f"make cv ({scope}, {arm})")
    bar.close()
    (args.out / "summary.md").write_text(summary(out), encoding="utf-8")
    plot_arms(out, args.out / "per-intent-f1.png")
    print(f"cv: {args.out / 'summary.md'}")
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Cross-validate; exit 1 when the augmented arm misses macro-F1 0.95 or an intent 0.90."""
    p = argparse.ArgumentParser(prog="python -m devtools.cv", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=ROOT / "data" / "nlu")
    p.add_argument("--config", type=Path, default=ROOT / "config.yml")
    p.add_argument("--folds", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=100, help="DIET epochs (config.yml: 100)")
    p.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    p.add_argument("--only-folds", nargs="+", type=int, metavar="I",
                   help="test only these folds (0-based; same folds as a full run): a quick "
                        "A/B of a change, not the goal figure")
    p.add_argument("--out", type=Path, default=ROOT / "results" / "cv")
    p.add_argument("--workdir", type=Path, default=ROOT / "var" / "cv")
    p.add_argument("--vision-python", default=os.environ.get(
        "VIS_PY", str(ROOT / ".venv" / "vision" / "bin" / "python")))
    p.add_argument("--min-macro-f1", type=float, default=0.95)
    p.add_argument("--min-intent-f1", type=float, default=0.90)
    p.add_argument("augment_args", nargs="*", help="extra options for nlu_augment (after --)")
    args = p.parse_args(argv)
    try:
        results = run_cv(args)
    except (RuntimeError, subprocess.CalledProcessError) as err:
        print(f"cv: error: {err}", file=sys.stderr)
        return 2
    goal = results.get("augmented") or next(iter(results.values()))
    weak = [s for s in goal.intents if s.f1 < args.min_intent_f1]
    for arm, r in results.items():
        print(f"cv: {arm}: intent macro-F1 {r.macro_f1 or 0:.3f}")
    ok = (goal.macro_f1 or 0) >= args.min_macro_f1 and not weak
    print(f"cv: goal (macro-F1 >= {args.min_macro_f1}, every intent >= {args.min_intent_f1}): "
          + ("met" if ok else "NOT met" + (": " + ", ".join(f"{s.name} {s.f1:.2f}"
                                                               for s in weak) if weak else "")))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
