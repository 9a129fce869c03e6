"""Run Rasa's own CLI from this environment with quiet, telemetry-free settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent

#: Lines of third-party noise that say nothing to a designer.
_NOISE = (
    "DeprecationWarning", "MovedIn20Warning", "declare_namespace", "pkg_resources",
    "Implementing implicit namespace", "Base: DeclarativeMeta", "xla_computation",
    "import pkg_resources", "UserWarning", "warnings.warn", "from jax import",
)


def rasa_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The environment for a Rasa child process: project on PYTHONPATH, telemetry off."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    env.setdefault("PYTHONWARNINGS", "ignore")
    if extra:
        env.update(extra)
    return env


def rasa_command(*args: str) -> List[str]:
    """`rasa ARGS` run by this interpreter (no reliance on PATH)."""
    return [sys.executable, "-m", "rasa", *args]


def run_rasa(*args: str, quiet_noise: bool = True) -> int:
    """Run `rasa ARGS` in the project root, stream its output minus noise, return its exit code."""
    proc = subprocess.Popen(
        rasa_command(*args), cwd=ROOT, env=rasa_env(), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, bufsize=1,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if quiet_noise and any(n in line for n in _NOISE):
            continue
        sys.stdout.write(line)
    return proc.wait()
