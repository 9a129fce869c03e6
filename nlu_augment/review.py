"""Review before commit: every generated example beside its source, and the designer's rejects.

`make augment` writes a Markdown review file (default `results/augment-review.md`): per
intent, one row per generated example with its source, the generator that made it and its
filter scores (adequacy cosine, margin to the nearest other intent, sentiment of source and
output). A line the designer does not want goes, copied as `intent: text`, into the rejects
file (`data/augment-rejects.txt`); the next `make augment` drops it (filter `rejected`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from nlu_augment.annotation import parse_annotated
from nlu_augment.pipeline import AugmentResult, reject_key

REJECTS_HEADER = """\
# Generated NLU examples `make augment` must not write again, one per line: `intent: text`
# (copy the line from results/augment-review.md; entity annotations may stay, case and edge
# punctuation do not matter). Lines starting with # are comments.
"""


def load_rejects(path: Optional[Path]) -> set[str]:
    """The reject keys (nlu_augment.pipeline.reject_key) of a rejects file; none if absent."""
    if path is None or not path.exists():
        return set()
    keys: set[str] = set()
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        intent, sep, text = line.partition(":")
        if not sep or not text.strip() or " " in intent.strip():
            raise ValueError(f"{path}:{n}: expected `intent: text`, got {raw!r}")
        keys.add(reject_key(intent.strip(), parse_annotated(text.strip()).text))
    return keys


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _fmt(scores: dict[str, float], name: str) -> str:
    return f"{scores[name]:.2f}" if name in scores else ""


def render_review(result: AugmentResult) -> str:
    """The review page: one table per intent, a row per generated example."""
    out = ["# Generated NLU examples to review", "",
           "Each row: the generated example as a rejects line (`intent: text`; copy it into "
           "`data/augment-rejects.txt` to drop it next time), its source, the generator, the "
           "cosine to the source, the margin to the nearest other intent, the sentiment score "
           "(`bot/sentiment.py`) of source → output.", ""]
    for intent, examples in result.examples.items():
        if not examples:
            continue
        out += [f"## {intent} ({len(examples)})", "",
                "| generated (rejects line) | source | by | cosine | margin | sentiment |",
                "| --- | --- | --- | ---: | ---: | --- |"]
        for ex, (src, kind), sc in zip(examples, result.origins[intent],
                                       result.scores.get(intent, [{}] * len(examples)),
                                       strict=True):
            senti = (f"{sc['sentiment_source']:+.2f} → {sc['sentiment']:+.2f}"
                     if "sentiment" in sc else "")
            out.append(f"| `{_cell(intent)}: {_cell(ex.render())}` | {_cell(src.render())} | "
                       f"{kind} | {_fmt(sc, 'adequacy')} | {_fmt(sc, 'intent_margin')} | "
                       f"{senti} |")
        out.append("")
    return "\n".join(out)


def write_review(result: AugmentResult, path: Path) -> Path:
    """Write the review page to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_review(result), encoding="utf-8")
    return path
