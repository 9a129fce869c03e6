"""Fixtures for the sidecar tests: sample frames, the model file, a real sidecar process."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from stack.redis_server import RedisServer, free_port
from tests.vision.sidecar.helpers import Sidecar, start_sidecar
from vision_sidecar import samples
from vision_sidecar.settings import FER_MODEL_FILE, Settings


@pytest.fixture(scope="session")
def model_path() -> Path:
    """The default expression model's ONNX file built by `make setup`; fails (not skips) when it
    is missing."""
    path = Settings().model_path
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `make setup` (scripts/setup.d/30-models.sh)")
    return path


@pytest.fixture(scope="session")
def fer_model_path(model_path: Path) -> Path:
    """fer's mini-Xception (64×64 grey), for the tests that feed it grey crops themselves."""
    path = model_path.parent / FER_MODEL_FILE
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `make setup` (scripts/setup.d/30-models.sh)")
    return path


@pytest.fixture(scope="session")
def astronaut_jpeg() -> bytes:
    return samples.jpeg(samples.astronaut_bgr())


@pytest.fixture(scope="session")
def webcam_jpeg() -> bytes:
    return samples.jpeg(samples.webcam_frame())


@pytest.fixture(scope="session")
def no_face_jpeg() -> bytes:
    return samples.jpeg(samples.no_face_bgr())


@pytest.fixture(scope="module")
def sidecar(redis_server: RedisServer, model_path: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sidecar]:
    """One real sidecar for a test module, on the session's real Redis."""
    proc = start_sidecar(redis_server.url, tmp_path_factory.mktemp("sidecar") / "sidecar.log")
    yield proc
    proc.stop()


@pytest.fixture()
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of the test's own, which the test may stop and restart."""
    server = RedisServer(data_dir=tmp_path / "redis", port=free_port())
    server.start()
    yield server
    server.stop()
