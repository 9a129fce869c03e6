"""Helpers of the sidecar tests: a real sidecar process, or the application served in process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Optional, Sequence, Tuple, TypeVar

import numpy as np
from aiohttp.test_utils import TestClient, TestServer

from emotical_shared.tokens import SESSION, Signer
from stack.redis_server import free_port
from vision_sidecar.app import make_app
from vision_sidecar.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
#: The signing secret of every sidecar these tests start or serve in process.
TEST_SECRET = "test-secret-of-the-sidecar-tests-0123456789"
TEST_SIGNER = Signer(TEST_SECRET)
TEST_SHOPPER = "u-test"


def session_token(sid: str, uid: str = TEST_SHOPPER, ttl_s: float = 3600,
                  now: Optional[float] = None) -> str:
    """A session token for `sid` signed with the tests' secret."""
    return TEST_SIGNER.mint(SESSION, uid, sid, ttl_s=ttl_s, now=now)


def auth(sid: str, uid: str = TEST_SHOPPER, **headers: str) -> Dict[str, str]:
    """Request headers with a valid session token of `sid` (and `headers`)."""
    return {"Authorization": f"Bearer {session_token(sid, uid)}", **headers}


@dataclass
class Sidecar:
    """A `python -m vision_sidecar` child process on a free port."""

    proc: subprocess.Popen
    url: str
    log_path: Path

    def request(self, method: str, path: str, data: Optional[bytes] = None,
                headers: Optional[Dict[str, str]] = None,
                timeout: float = 10.0) -> Tuple[int, Dict[str, str], dict]:
        """(status, headers, JSON body) of one HTTP request; error statuses are returned too."""
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, head, body = resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            status, head, body = err.code, dict(err.headers), err.read()
        return status, head, (json.loads(body) if body else {})

    def post_frame(self, sid: str, data: bytes, content_type: str = "image/jpeg",
                   token: Optional[str] = None):
        """One frame of `sid`, with `token` (default: a valid one for `sid`)."""
        token = session_token(sid) if token is None else token
        return self.request("POST", f"/api/sessions/{sid}/frames", data,
                            {"Content-Type": content_type, "Authorization": f"Bearer {token}"})

    def open_session(self, body: Optional[dict] = None) -> dict:
        """`POST /api/sessions`: the new session's ids and tokens."""
        status, _, answer = self.request("POST", "/api/sessions",
                                         json.dumps(body or {}).encode(),
                                         {"Content-Type": "application/json"})
        assert status == 201, (status, answer)
        return answer

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_sidecar(redis_url: str, log_path: Path, **env: str) -> Sidecar:
    """Start the sidecar on a free port against `redis_url`; wait until /healthz answers 200."""
    port = free_port()
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), REDIS_URL=redis_url,
                    EMOTICAL_SIDECAR_PORT=str(port), EMOTICAL_SIDECAR_HOST="127.0.0.1",
                    EMOTICAL_SECRET=TEST_SECRET)
    full_env.update(env)
    log_file = log_path.open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "vision_sidecar"], env=full_env, cwd=ROOT,
                            stdout=log_file, stderr=subprocess.STDOUT)
    sidecar = Sidecar(proc, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sidecar exited with {proc.returncode}:\n{sidecar.log()}")
        try:
            if sidecar.request("GET", "/healthz", timeout=1)[0] == 200:
                return sidecar
        except OSError:
            pass
        time.sleep(0.1)
    sidecar.stop()
    raise RuntimeError(f"sidecar did not become healthy in 60 s:\n{sidecar.log()}")


class FixedBackend:
    """An expression backend that reads every face as `label` (for tests that need no model)."""

    name = "fixed"

    def __init__(self, label: str = "happy") -> None:
        from emotical_shared.labels import LABEL_INDEX, LABELS

        self.labels = (label,)
        self.row = np.zeros(len(LABELS))
        self.row[LABEL_INDEX[label]] = 1.0

    def classify(self, jobs: Sequence[Any]) -> np.ndarray:
        return np.tile(self.row, (len(jobs), 1))


T = TypeVar("T")


def in_process(settings: Settings, backend: Any,
               talk: Callable[[TestClient], Awaitable[T]]) -> T:
    """Run `talk(client)` against `make_app(settings, backend=backend)` served in this process
    (tokens signed with TEST_SIGNER)."""

    async def run() -> T:
        app = make_app(settings, backend=backend, signer=TEST_SIGNER)
        async with TestClient(TestServer(app)) as client:
            return await talk(client)

    return asyncio.run(run())


async def call(client: TestClient, method: str, path: str, data: Optional[bytes] = None,
               headers: Optional[Dict[str, str]] = None) -> Tuple[int, Dict[str, str], Any]:
    """(status, headers, body: JSON when the answer is JSON, else text) of one request."""
    async with client.request(method, path, data=data, headers=headers) as resp:
        body = await resp.read()
        ctype = resp.headers.get("Content-Type", "")
        return resp.status, dict(resp.headers), (json.loads(body) if "json" in ctype
                                                 else body.decode(errors="replace"))
