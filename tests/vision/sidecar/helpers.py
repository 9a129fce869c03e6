"""Helpers of the sidecar tests: run a real sidecar process and talk HTTP to it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple

from stack.redis_server import free_port

ROOT = Path(__file__).resolve().parents[3]


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

    def post_frame(self, sid: str, data: bytes, content_type: str = "image/jpeg"):
        return self.request("POST", f"/api/sessions/{sid}/frames", data,
                            {"Content-Type": content_type})

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
                    EMOTICAL_SIDECAR_PORT=str(port), EMOTICAL_SIDECAR_HOST="127.0.0.1", **env)
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
