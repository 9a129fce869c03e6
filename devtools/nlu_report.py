"""The designers' test report: `results/nlu-report.md` from the files `rasa test` writes.

Rasa leaves one JSON file per concern in its output folder (`intent_report.json`,
`intent_errors.json`, `DIETClassifier_report.json`, `DIETClassifier_errors.json`,
`failed_test_stories.yml`); a designer wants one page: which intents are weak, which are taken
for which, on which sentences and how sure the model was, the same for entities, and which
story step went wrong. This module reads those files (never Rasa itself, so it is testable on
a folder of JSON) and writes a Markdown page with a confusion-matrix picture beside it.
`make test-rasa` and `make cv` call `write_report`; `python -m devtools.nlu_report results`
rebuilds the page from an existing folder.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

REPORT_NAME = "nlu-report.md"
MATRIX_NAME = "nlu-confusion.png"
_AVERAGES = {"accuracy", "macro avg", "weighted avg", "micro avg"}
_STORY = re.compile(r"^- story: (?P<name>.*)$")
_STEP = re.compile(
    r"^\s*-?\s*(?P<key>intent|action|bot|[\w-]+): (?P<expected>[^#]*?)\s+# predicted: "
    r"(?P<predicted>.*)$"
)


@dataclass(frozen=True)
class IntentScore:
    """Precision, recall, F1 and support of one label (intent or entity)."""

    name: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Misclassified:
    """One sentence the model got wrong: what it is, what it was taken for, how sure."""

    text: str
    expected: str
    predicted: str
    confidence: float


@dataclass(frozen=True)
class EntityError:
    """One sentence whose entities were wrong: expected and predicted, as `value (entity)`."""

    text: str
    expected: Tuple[str, ...]
    predicted: Tuple[str, ...]


@dataclass(frozen=True)
class StoryFailure:
    """One story step predicted wrongly."""

    story: str
    kind: str
    expected: str
    predicted: str


@dataclass
class Results:
    """What one `rasa test` output folder says."""

    folder: Path
    intents: List[IntentScore]
    macro_f1: Optional[float]
    errors: List[Misclassified]
    entities: List[IntentScore] = field(default_factory=list)
    entity_errors: List[EntityError] = field(default_factory=list)
    stories: List[StoryFailure] = field(default_factory=list)
    story_file_present: bool = False

    def worst(self, n: int = 3) -> List[IntentScore]:
        """The ``n`` intents with the lowest F1 (ties: fewer examples last, then by name)."""
        return sorted(self.intents, key=lambda s: (s.f1, s.recall, s.name))[:n]

    def confusions(self) -> List[Tuple[Tuple[str, str], List[Misclassified]]]:
        """(expected, predicted) pairs with their sentences, most frequent pair first."""
        pairs: Dict[Tuple[str, str], List[Misclassified]] = defaultdict(list)
        for e in self.errors:
            pairs[(e.expected, e.predicted)].append(e)
        for errs in pairs.values():
            errs.sort(key=lambda e: -e.confidence)
        return sorted(pairs.items(), key=lambda kv: (-len(kv[1]), kv[0]))


def _scores(report: Dict[str, Any]) -> List[IntentScore]:
    return [
        IntentScore(name, float(v["precision"]), float(v["recall"]), float(v["f1-score"]),
                    int(v["support"]))
        for name, v in report.items()
        if name not in _AVERAGES and isinstance(v, dict) and "support" in v
    ]


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _entity_label(e: Dict[str, Any]) -> str:
    return f"{e.get('value', '?')} ({e.get('entity', '?')})"


def parse_failed_stories(text: str) -> List[StoryFailure]:
    """Wrong steps of Rasa's `failed_test_stories.yml` (its `# predicted:` comments).

    Rasa comments every user step of a failed test story, right or wrong; a step counts only
    when the prediction differs from what is written. A story listed without any comment (Rasa
    failed it on something it does not mark, e.g. an entity of its end-to-end check) is still
    a failure, reported as one row for the whole story.
    """
    out: List[StoryFailure] = []
    story = "?"
    stories: List[str] = []
    commented: Set[str] = set()
    for line in text.splitlines():
        m = _STORY.match(line)
        if m:
            story = m.group("name").strip()
            stories.append(story)
            continue
        m = _STEP.match(line)
        if not m:
            continue
        commented.add(story)
        key, expected, predicted = m.group("key"), m.group("expected").strip(), m.group(
            "predicted").strip()
        if key == "intent":
            predicted_intent, _, message = predicted.partition(": ")
            if predicted_intent == expected:
                continue
            predicted = f"{predicted_intent} (\"{message}\")" if message else predicted_intent
        elif key in ("action", "bot"):
            if predicted == expected:
                continue
        else:  # an entity line: "- colour: red  # predicted: attribute: red"
            expected = f"{expected} ({key})"
            key = "entity"
        out.append(StoryFailure(story, key, expected, predicted))
    out += [StoryFailure(name, "story", "as written", "failed, no step marked by Rasa: see "
                         "failed_test_stories.yml") for name in stories if name not in commented]
    return out


def load_results(folder: Path) -> Results:
    """Read a `rasa test` (or cross-validation) output folder; missing files are empty."""
    report = _read_json(folder / "intent_report.json") or {}
    errors = [
        Misclassified(
            e["text"], e["intent"], (e.get("intent_prediction") or {}).get("name") or "None",
            float((e.get("intent_prediction") or {}).get("confidence") or 0.0),
        )
        for e in (_read_json(folder / "intent_errors.json") or [])
    ]
    macro = report.get("macro avg", {}).get("f1-score")
    entity_report = _read_json(folder / "DIETClassifier_report.json") or {}
    entity_errors = [
        EntityError(
            e["text"], tuple(_entity_label(x) for x in e.get("entities", [])),
            tuple(_entity_label(x) for x in e.get("predicted_entities", [])),
        )
        for e in (_read_json(folder / "DIETClassifier_errors.json") or [])
    ]
    story_file = folder / "failed_test_stories.yml"
    stories = parse_failed_stories(story_file.read_text(encoding="utf-8")) if (
        story_file.exists()) else []
    return Results(
        folder, _scores(report), float(macro) if macro is not None else None, errors,
        _scores(entity_report), entity_errors, stories, story_file.exists(),
    )


def confusion_matrix(results: Results) -> Tuple[List[str], List[List[int]]]:
    """Counts [expected][predicted] from support and errors (every error, not Rasa's top 3)."""
    names = sorted({s.name for s in results.intents} | {e.predicted for e in results.errors}
                   | {e.expected for e in results.errors})
    index = {n: i for i, n in enumerate(names)}
    matrix = [[0] * len(names) for _ in names]
    support = {s.name: s.support for s in results.intents}
    wrong: Dict[str, int] = defaultdict(int)
    for e in results.errors:
        matrix[index[e.expected]][index[e.predicted]] += 1
        wrong[e.expected] += 1
    for name, n in support.items():
        matrix[index[name]][index[name]] += max(0, n - wrong[name])
    return names, matrix


def plot_confusion(results: Results, out: Path, title: str) -> Path:
    """The confusion matrix as a PNG (rows: written intent, columns: predicted; row-normalised
    colour, counts printed in the cells)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names, matrix = confusion_matrix(results)
    n = max(1, len(names))
    fig, ax = plt.subplots(figsize=(2.5 + 0.55 * n, 2.0 + 0.5 * n))
    shares = [[c / max(1, sum(row)) for c in row] for row in matrix]
    ax.imshow(shares or [[0.0]], cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set_xlabel("predicted intent")
    ax.set_ylabel("written intent")
    ax.set_title(title, fontsize=10)
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            if count:
                colour = "white" if shares[i][j] > 0.6 else ("crimson" if i != j else "black")
                ax.text(j, i, str(count), ha="center", va="center", fontsize=7, color=colour)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _score_table(rows: Sequence[IntentScore], label: str) -> List[str]:
    lines = [f"| {label} | precision | recall | F1 | examples |", "| --- | ---: | ---: | ---: | ---: |"]
    for s in sorted(rows, key=lambda s: (s.f1, s.name)):
        flag = " ⚠" if s.f1 < 0.9 else ""
        lines.append(f"| {s.name}{flag} | {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} | "
                     f"{s.support} |")
    return lines


def render_markdown(results: Results, title: str, matrix_png: Optional[str]) -> str:
    """The report page as Markdown (the picture is referenced by a relative path)."""
    out = [f"# {title}", ""]
    if results.macro_f1 is not None:
        worst = ", ".join(f"{s.name} {s.f1:.2f}" for s in results.worst())
        out += [f"Intent macro-F1 **{results.macro_f1:.3f}** over "
                f"{sum(s.support for s in results.intents)} examples; weakest: {worst}.", ""]
    out += ["## Intents", "", *_score_table(results.intents, "intent"), ""]
    if matrix_png:
        out += ["## Confusion matrix", "", f"![intent confusion matrix]({matrix_png})", ""]
    out += ["## Confused pairs", ""]
    confusions = results.confusions()
    if not confusions:
        out += ["No intent was mistaken for another.", ""]
    for (expected, predicted), errs in confusions:
        out += [f"### {expected} → {predicted} ({len(errs)})", "",
                "| sentence | confidence |", "| --- | ---: |"]
        out += [f"| {_md_escape(e.text)} | {e.confidence:.2f} |" for e in errs]
        out.append("")
    out += ["## Entities", ""]
    if results.entities:
        out += [*_score_table(results.entities, "entity"), ""]
    if results.entity_errors:
        out += ["| sentence | expected | predicted |", "| --- | --- | --- |"]
        out += [f"| {_md_escape(e.text)} | {', '.join(e.expected) or '—'} | "
                f"{', '.join(e.predicted) or '—'} |" for e in results.entity_errors]
    else:
        out.append("No entity mistakes.")
    out += ["", "## Stories", ""]
    if not results.story_file_present:
        out.append("No story test in this run.")
    elif not results.stories:
        out.append("Every test story was predicted as written.")
    else:
        out += ["| story | step | expected | predicted |", "| --- | --- | --- | --- |"]
        out += [f"| {_md_escape(f.story)} | {f.kind} | {_md_escape(f.expected)} | "
                f"{_md_escape(f.predicted)} |" for f in results.stories]
        out += ["", "Full stories with Rasa's comments: `failed_test_stories.yml`."]
    return "\n".join(out) + "\n"


def write_report(folder: Path, title: str = "NLU test report", plot: bool = True) -> Results:
    """Write `nlu-report.md` (and its matrix PNG) into ``folder``; print the path and the three
    weakest intents."""
    results = load_results(folder)
    png = None
    if plot and results.intents:
        png = plot_confusion(results, folder / MATRIX_NAME, title).name
    path = folder / REPORT_NAME
    path.write_text(render_markdown(results, title, png), encoding="utf-8")
    print(f"report: {path}")
    if results.intents:
        print("report: weakest intents: " + ", ".join(
            f"{s.name} F1 {s.f1:.2f} (recall {s.recall:.2f})" for s in results.worst()))
    for (expected, predicted), errs in results.confusions()[:3]:
        print(f"report: {expected} taken for {predicted} {len(errs)}x, e.g. \"{errs[0].text}\"")
    return results


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Rebuild the report of an existing results folder."""
    p = argparse.ArgumentParser(prog="python -m devtools.nlu_report", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", type=Path, nargs="?", default=Path("results"))
    p.add_argument("--title", default="NLU test report")
    args = p.parse_args(argv)
    if not (args.folder / "intent_report.json").exists():
        print(f"report: no intent_report.json in {args.folder}; run `make test-rasa`",
              file=sys.stderr)
        return 1
    write_report(args.folder, args.title)
    return 0


if __name__ == "__main__":
    sys.exit(main())
