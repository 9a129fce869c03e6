"""The environment of a child process the project starts (Rasa, actions, sidecar, tools).

One builder for every launcher (`stack`, the make-target drivers, the Makefile through
`python -m emotical_shared.childenv`): the project root on PYTHONPATH, Rasa's telemetry off,
TensorFlow and SQLAlchemy quiet, NLTK pointed at the project's WordNet.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Dict, Mapping, Optional

ROOT = Path(__file__).resolve().parent.parent

#: Set for every child unless the caller's environment already sets them.
DEFAULTS: Mapping[str, str] = {
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "PYTHONWARNINGS": "ignore",
    "NLTK_DATA": str(ROOT / "var" / "nltk_data"),
}


def child_env(extra: Optional[Mapping[str, str]] = None,
              base: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """`base` (default os.environ) with the project first on PYTHONPATH, DEFAULTS, then `extra`."""
    env = dict(os.environ if base is None else base)
    rest = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(ROOT)]
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *rest])
    for key, value in DEFAULTS.items():
        env.setdefault(key, value)
    if extra:
        env.update(extra)
    return env


def _main() -> None:
    """Print the child environment's additions as `export` lines (used by the Makefile)."""
    env = child_env()
    for key in ("PYTHONPATH", *DEFAULTS):
        sys.stdout.write(f"export {key} := {env[key]}\n")


if __name__ == "__main__":
    _main()
