"""One running bot stack (Rasa, the action server, the suite's Redis) shared by this folder."""

from __future__ import annotations

from typing import Iterator

import pytest

from stack.fingerprint import model_path
from stack.processes import Stack
from stack.redis_server import RedisServer


@pytest.fixture(scope="session")
def stack(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Rasa with the trained model and the action server on free loopback ports."""
    model = model_path()
    assert model.exists(), f"no trained model {model}: `make train` runs before these tests"
    running = Stack(
        model=model, log_dir=tmp_path_factory.mktemp("logs"), redis_url=redis_server.url,
        with_sidecar=False,
    ).start()
    yield running
    running.stop()
