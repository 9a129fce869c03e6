"""The per-intent summary table printed after a run."""

from __future__ import annotations

from typing import Mapping

from nlu_augment.pipeline import FILTERS, AugmentResult, IntentStats

_HEADERS = ("intent", "in", "generated", *(f"-{f}" for f in FILTERS), "kept", "+swap", "+noise",
            "out")


def summary_table(stats: Mapping[str, IntentStats]) -> str:
    """A fixed-width table: one row per intent and a total row."""
    rows = []
    total = IntentStats()
    for intent, st in stats.items():
        rows.append(_row(intent, st))
        total.inputs += st.inputs
        total.generated += st.generated
        for f in FILTERS:
            total.dropped[f] += st.dropped[f]
        total.kept += st.kept
        total.swaps += st.swaps
        total.noise += st.noise
    rows.append(_row("TOTAL", total))
    widths = [max(len(str(r[i])) for r in [_HEADERS, *rows]) for i in range(len(_HEADERS))]

    def fmt(r) -> str:
        return "  ".join(
            str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(_HEADERS), sep, *map(fmt, rows[:-1]), sep, fmt(rows[-1])])


def _row(name: str, st: IntentStats) -> tuple:
    return (name, st.inputs, st.generated, *(st.dropped[f] for f in FILTERS), st.kept, st.swaps,
            st.noise, st.total)


def rules_line(result: AugmentResult, n_rejects: int = 0) -> str:
    """Drops per named rule and the sentiment-flip count over the whole output."""
    n_out = sum(len(v) for v in result.examples.values())
    rules = ", ".join(f"{k} {v}" for k, v in result.rules.items()) or "none"
    rejected = sum(s.dropped["rejected"] for s in result.stats.values())
    flips = ("not measured (--no-sentiment)" if result.flips is None
             else f"{result.flips} of {n_out} outputs")
    return (f"rejected by rule: {rules}; by the rejects file: {rejected} ({n_rejects} lines); "
            f"sentiment label flipped against the source: {flips}")
