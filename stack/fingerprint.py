"""Content hash of everything a trained model depends on: which model file to train or reuse."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Iterable, List

ROOT = Path(__file__).resolve().parent.parent

#: What a trained model depends on: data, config, the pins, and the code of bot/ that the
#: model's graph runs (config.yml's `bot.components` and what it imports from bot/; a test
#: keeps this list complete). bot/'s server-side code (channels, tracker store) is left out,
#: so changing it does not retrain.
MODEL_INPUTS = (
    "config.yml",
    "domain.yml",
    "data",
    "bot/components.py",
    "bot/sentiment.py",
    "bot/sentiment_features.py",
    "bot/sentence_features.py",
    "bot/intent_classifier.py",
    "bot/action_validation.py",
    "requirements/bot.lock",
    "var/models/sentence-encoder/stamp",
)
_SKIP_PARTS = {"__pycache__", "catalog"}
_SUFFIXES = {".yml", ".yaml", ".py", ".json", ".txt", ".lock"}


def project_files(
    root: Path, paths: Iterable[str], suffixes: Iterable[str], skip_parts: Iterable[str] = ()
) -> List[Path]:
    """Files named by `paths` (files as given, folders searched for `suffixes`), sorted.

    Files inside a folder whose path has a part in `skip_parts` are left out.
    """
    wanted, skip = set(suffixes), set(skip_parts)
    out: List[Path] = []
    for rel in paths:
        p = root / rel
        if p.is_file():
            out.append(p)
        elif p.is_dir():
            out.extend(
                f for f in p.rglob("*")
                if f.is_file() and f.suffix in wanted
                and not skip.intersection(f.relative_to(root).parts)
            )
    return sorted(out)


def model_fingerprint() -> str:
    """16 hex digits over the names and contents of MODEL_INPUTS."""
    h = hashlib.sha256()
    for f in project_files(ROOT, MODEL_INPUTS, _SUFFIXES, _SKIP_PARTS):
        h.update(str(f.relative_to(ROOT)).encode())
        h.update(b"\0")
        h.update(f.read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:16]


def models_dir() -> Path:
    return ROOT / "models"


def cache_dir() -> Path:
    """Trained models shared across clones on this machine ($EMOTICAL_CACHE_DIR/models)."""
    base = os.environ.get("EMOTICAL_CACHE_DIR") or str(Path.home() / ".cache" / "emotical")
    return Path(base) / "models"


def model_path() -> Path:
    """Where the model for the current inputs lives (it may not be trained yet)."""
    return models_dir() / f"emotical-{model_fingerprint()}.tar.gz"
