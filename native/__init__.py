"""The sidecar's native core: one import point for the compiled kernels or their numpy twins.

Runs in the vision environment (`.venv/vision`).

`kernels.pyx` (Cython, built by `make setup`) and `kernels_py.py` (numpy reference) share one
interface. The compiled one is used when it is built, unless `EMOTICAL_NATIVE=py` asks for the
reference (benchmarks compare the two).
"""

from __future__ import annotations

import logging
import os

from native import kernels_py
from native.kernels_py import (
    COL_LAST_TS,
    COL_VALENCE_SUM,
    COL_WEIGHT,
    OUT_AROUSAL,
    OUT_DOMINANT,
    OUT_SCORE,
    OUT_VALENCE,
    STATE_COLUMNS,
)

log = logging.getLogger(__name__)


def load(prefer: str = "auto"):
    """Return the kernels module: `native` (compiled, error if missing), `py`, or `auto`."""
    if prefer == "py":
        return kernels_py
    try:
        from native import kernels
    except ImportError as exc:
        if prefer == "native":
            raise ImportError(
                "native.kernels is not built: run `make setup` (or "
                "`python setup.py build_ext --inplace`)"
            ) from exc
        log.warning("native.kernels not built (%s); using the numpy reference", exc)
        return kernels_py
    return kernels


kernels = load(os.environ.get("EMOTICAL_NATIVE", "auto"))
IMPLEMENTATION = "native" if kernels is not kernels_py else "numpy"

__all__ = [
    "COL_LAST_TS",
    "COL_VALENCE_SUM",
    "COL_WEIGHT",
    "IMPLEMENTATION",
    "OUT_AROUSAL",
    "OUT_DOMINANT",
    "OUT_SCORE",
    "OUT_VALENCE",
    "STATE_COLUMNS",
    "kernels",
    "kernels_py",
    "load",
]
