"""Fixtures for the action tests: a runtime on the test Redis, trackers, the real domain."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
import yaml

from actions.runtime import Runtime, build_runtime, set_runtime
from actions.settings import Settings

from .helpers import TEST_SECRET

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def domain() -> Dict[str, Any]:
    """The real domain.yml (responses the actions render)."""
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def _shared_runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    # WordNet and the catalog load once; tests swap in their own settings/store.
    settings = Settings(spool_dir=tmp_path_factory.mktemp("spool"))
    # The runtime verifies the channel's session tokens with the server secret: the tests' own
    # (set only while it is built, so no other test or child process inherits it).
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EMOTICAL_SECRET", TEST_SECRET)
        rt = build_runtime(settings, warm_wordnet=False)
    rt.relater.warm_up(background=False)
    return rt


def make_runtime(base: Runtime, **overrides: Any) -> Runtime:
    """A runtime sharing catalog and WordNet with `base`, with other settings and a new store."""
    from actions.store import Store

    settings = replace(base.settings, **overrides)
    return Runtime(settings, base.catalog, Store(settings), base.relater, base.signer)


@pytest.fixture()
def runtime(_shared_runtime: Runtime, redis_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """The process runtime pointed at the emptied test Redis, with its own spool folder."""
    rt = make_runtime(_shared_runtime, redis_url=redis_url, spool_dir=tmp_path / "spool")
    set_runtime(rt)
    yield rt
    set_runtime(None)
