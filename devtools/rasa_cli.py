"""Run Rasa's own CLI from this environment with quiet, telemetry-free settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import List

from emotical_shared.childenv import child_env

ROOT = Path(__file__).resolve().parent.parent

#: Lines of third-party noise that say nothing to a designer.
_NOISE = (
    "DeprecationWarning", "MovedIn20Warning", "declare_namespace", "pkg_resources",
    "Implementing implicit namespace", "Base: DeclarativeMeta", "xla_computation",
    "import pkg_resources", "UserWarning", "warnings.warn", "from jax import",
)


def rasa_command(*args: str) -> List[str]:
    """`rasa ARGS` run by this interpreter (no reliance on PATH)."""
    return [sys.executable, "-m", "rasa", *args]


def run_rasa(*args: str, quiet_noise: bool = True) -> int:
    """Run `rasa ARGS` in the project root, stream its output minus noise, return its exit code."""
    proc = subprocess.Popen(
        rasa_command(*args), cwd=ROOT, env=child_env(), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, bufsize=1,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if quiet_noise and any(n in line for n in _NOISE):
            continue
        sys.stdout.write(line)
    return proc.wait()
