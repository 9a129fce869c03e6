"""The running stack for end-to-end tests: Redis, the action server and Rasa with the trained
model, on free ports, driven over the REST channel.

Runs only with EMOTICAL_E2E=1 (`make test-actions-e2e`, which trains first); `pytest tests/bot`
skips it because the model may not be trained yet.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

E2E = os.environ.get("EMOTICAL_E2E") == "1"
ROOT_DOMAIN = Path(__file__).resolve().parents[3] / "domain.yml"


class RestClient:
    """Talks to Rasa's REST channel like a shopper's client would: with a session token the
    sidecar would have minted for (session, shopper)."""

    def __init__(self, stack: Any) -> None:
        self.stack = stack

    def send(self, session: str, message: str, shopper: Optional[str] = None,
             metadata: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
        from stack.rest import rest_turn

        token = self.stack.session_token(session, shopper)
        return rest_turn(self.stack.rasa_url, token, message, metadata)

    @staticmethod
    def texts(replies: List[Dict[str, Any]]) -> List[str]:
        return [r.get("text", "") for r in replies if r.get("text")]


@pytest.fixture(scope="session")
def running_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not E2E:
        pytest.skip("end-to-end stack tests run with EMOTICAL_E2E=1 (make test-actions-e2e)")
    from stack.fingerprint import model_path
    from stack.processes import Stack

    model = model_path()
    if not model.exists():
        pytest.fail(f"no trained model at {model}: run `make train` first")
    log_dir: Path = tmp_path_factory.mktemp("e2e-stack")
    stack = Stack(model=model, log_dir=log_dir, with_sidecar=False,
                  extra_env={"EMOTICAL_SPOOL_DIR": str(log_dir / "spool")})
    stack.start(timeout=240)
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def rest(running_stack: Any) -> RestClient:
    return RestClient(running_stack)


@pytest.fixture()
def stack_redis(running_stack: Any) -> Iterator[Any]:
    import redis

    client = redis.Redis.from_url(running_stack.redis_url, decode_responses=True)
    yield client
    client.close()
