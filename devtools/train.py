"""`make train`: train the Rasa model only when its inputs changed.

The model is named by a content hash of config, domain, data and the custom NLU components
(stack/fingerprint.py). A model already in models/ or in the machine-wide cache
($EMOTICAL_CACHE_DIR/models) is reused as is; otherwise `rasa train` runs (with Rasa's own
fingerprinting) and the result is copied into the cache.
"""

from __future__ import annotations

import shutil
import sys
import time

from devtools.rasa_cli import run_rasa
from stack.fingerprint import cache_dir, model_fingerprint, model_path, models_dir


def ensure_model(force: bool = False) -> int:
    """Train or reuse the model for the current inputs; returns a process exit code."""
    target = model_path()
    cached = cache_dir() / target.name
    if target.exists() and not force:
        print(f"train: model up to date: {target.relative_to(target.parent.parent)}")
        return 0
    if cached.exists() and not force:
        models_dir().mkdir(parents=True, exist_ok=True)
        shutil.copy2(cached, target)
        print(f"train: reused cached model {cached}")
        return 0
    print(f"train: data or config changed (fingerprint {model_fingerprint()}); training...")
    start = time.monotonic()
    code = run_rasa(
        "train", "--out", str(models_dir()), "--fixed-model-name", target.name[: -len(".tar.gz")],
    )
    if code != 0:
        print("train: rasa train failed (see above)", file=sys.stderr)
        return code
    print(f"train: trained {target.name} in {time.monotonic() - start:.0f} s")
    try:
        cache_dir().mkdir(parents=True, exist_ok=True)
        shutil.copy2(target, cached)
    except OSError as exc:  # the cache is an optimisation, never a failure
        print(f"train: could not cache the model: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(ensure_model(force="--force" in sys.argv))
