"""The product's processes: how each is started, checked for health and stopped.

Used by `make demo` (python -m stack demo), `make shell`, benchmarks and end-to-end tests, so
all of them start Rasa, the action server and the sidecar the same way. Standard library only.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Dict, List, Optional, Union
from urllib.parse import urlparse

from emotical_shared.childenv import child_env
from emotical_shared.tokens import SESSION, SHOPPER, Signer, derived_secret
from stack.redis_server import ROOT, RedisServer, free_port

#: Where every service listens unless EMOTICAL_BIND_HOST says otherwise.
LOOPBACK = "127.0.0.1"

log = logging.getLogger("emotical.stack")


def bot_python() -> str:
    """Interpreter of the bot environment ($EMOTICAL_BOT_PYTHON or .venv/bot)."""
    return os.environ.get("EMOTICAL_BOT_PYTHON") or str(ROOT / ".venv" / "bot" / "bin" / "python")


def vision_python() -> str:
    """Interpreter of the vision environment ($EMOTICAL_VISION_PYTHON or .venv/vision)."""
    return os.environ.get("EMOTICAL_VISION_PYTHON") or str(
        ROOT / ".venv" / "vision" / "bin" / "python"
    )


def redis_env(redis_url: str) -> Dict[str, str]:
    """The EMOTICAL_REDIS_* variables that endpoints.yml reads, derived from a redis:// URL."""
    u = urlparse(redis_url)
    if u.scheme not in {"redis", "rediss"}:
        raise ValueError(f"REDIS_URL must start with redis:// (got {redis_url!r})")
    db = (u.path or "/0").lstrip("/") or "0"
    return {
        "REDIS_URL": redis_url,
        "EMOTICAL_REDIS_HOST": u.hostname or "127.0.0.1",
        "EMOTICAL_REDIS_PORT": str(u.port or 6379),
        "EMOTICAL_REDIS_DB": db,
        "EMOTICAL_REDIS_PASSWORD": u.password or "",
    }


def base_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Environment for a child: emotical_shared.childenv.child_env (project on PYTHONPATH,
    Rasa/TensorFlow quiet, no telemetry, the project's WordNet), then `extra`."""
    return child_env(extra)


def http_ok(url: str, timeout: float = 1.0) -> bool:
    """True when GET url answers 2xx."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return 200 <= resp.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


@dataclass
class Service:
    """One child process with a health URL; its own process group, so stop() leaves no orphan."""

    name: str
    cmd: List[str]
    health_url: str
    env: Dict[str, str] = field(default_factory=base_env)
    log_file: Optional[Path] = None
    proc: Optional[subprocess.Popen] = None

    def start(self) -> Service:
        out: Union[int, IO[bytes]] = subprocess.DEVNULL
        if self.log_file is not None:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            out = open(self.log_file, "ab")  # noqa: SIM115 - lives as long as the child
        self.proc = subprocess.Popen(
            self.cmd, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        if not isinstance(out, int):
            out.close()  # the child has its own copy
        log.info("started %s (pid %s): %s", self.name, self.proc.pid, " ".join(self.cmd))
        return self

    def wait_healthy(self, timeout: float) -> None:
        """Wait until the health URL answers; raise with the log's tail if the child dies."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with code {self.proc.returncode}.\n{self.log_tail()}"
                )
            if http_ok(self.health_url):
                return
            time.sleep(0.25)
        raise RuntimeError(
            f"{self.name} did not answer {self.health_url} within {timeout:.0f} s.\n"
            f"{self.log_tail()}"
        )

    def alive(self) -> bool:
        """Whether the child process is running."""
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> Optional[int]:
        """The exit code once the child has exited, else None (also when never started)."""
        return None if self.proc is None else self.proc.poll()

    def healthy(self, timeout: float = 1.0) -> bool:
        """Whether the child runs and its health URL answers 2xx within `timeout`."""
        return self.alive() and http_ok(self.health_url, timeout)

    def log_tail(self, lines: int = 30) -> str:
        if self.log_file is None or not self.log_file.exists():
            return "(no log)"
        text = self.log_file.read_text(errors="replace").splitlines()[-lines:]
        return f"last lines of {self.log_file}:\n" + "\n".join(text)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the process group, then SIGKILL whatever is left after `timeout`."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        log.info("stopped %s", self.name)


def secret_env(secret: str) -> Dict[str, str]:
    """What every service needs to know of the secret: it, and the derived door tokens.

    Rasa sends EMOTICAL_ACTIONS_TOKEN to the action server (endpoints.yml); the action server
    (rasa_sdk_plugins) derives the same value from the secret and refuses anything else.
    """
    return {"EMOTICAL_SECRET": secret,
            "EMOTICAL_ACTIONS_TOKEN": derived_secret(secret, "actions")}


def action_server(port: int, redis_url: str, log_dir: Path,
                  extra_env: Optional[Dict[str, str]] = None, host: str = LOOPBACK) -> Service:
    """`rasa run actions` equivalent (rasa_sdk's own entry point) serving actions/.

    rasa_sdk binds SANIC_HOST (0.0.0.0 by default): here `host`, loopback unless told.
    """
    return Service(
        name="action server",
        cmd=[bot_python(), "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
        health_url=f"http://127.0.0.1:{port}/health",
        env=base_env({**redis_env(redis_url), "SANIC_HOST": host, **(extra_env or {})}),
        log_file=log_dir / "actions.log",
    )


def rasa_server(
    port: int, model: Path, redis_url: str, actions_url: str, log_dir: Path,
    cors: Optional[List[str]] = None, extra_env: Optional[Dict[str, str]] = None,
    host: str = LOOPBACK,
) -> Service:
    """`rasa run` on `host` with the rest and socketio channels, Redis stores, and the HTTP API.

    The API needs `?token=` (the secret's derived "rasa-api" token, when EMOTICAL_SECRET is in
    `extra_env`); CORS allows only the `cors` origins (the shop page), never "*".
    """
    env = base_env({**redis_env(redis_url), "EMOTICAL_ACTIONS_URL": actions_url,
                    **(extra_env or {})})
    cmd = [bot_python(), "-m", "rasa", "run", "--interface", host, "--enable-api",
           "--port", str(port), "--model", str(model), "--endpoints", "endpoints.yml",
           "--credentials", "credentials.yml", "--log-file", str(log_dir / "rasa-debug.log")]
    health = f"http://127.0.0.1:{port}/status"
    if env.get("EMOTICAL_SECRET"):
        api_token = derived_secret(env["EMOTICAL_SECRET"], "rasa-api")
        cmd += ["--auth-token", api_token]
        health += f"?token={api_token}"
    if cors:
        cmd += ["--cors", *cors]
    return Service(name="rasa", cmd=cmd, health_url=health, env=env,
                   log_file=log_dir / "rasa.log")


def sidecar(port: int, redis_url: str, rasa_url: str, log_dir: Path,
            extra_env: Optional[Dict[str, str]] = None, host: str = LOOPBACK) -> Service:
    """The vision sidecar (vision environment) on `host`."""
    return Service(
        name="vision sidecar",
        cmd=[vision_python(), "-m", "vision_sidecar"],
        health_url=f"http://127.0.0.1:{port}/healthz",
        env=base_env({**redis_env(redis_url), "EMOTICAL_SIDECAR_PORT": str(port),
                      "EMOTICAL_SIDECAR_HOST": host, "EMOTICAL_RASA_URL": rasa_url,
                      **(extra_env or {})}),
        log_file=log_dir / "sidecar.log",
    )


@dataclass
class Stack:
    """Redis (embedded unless REDIS_URL is given), Rasa, the action server and the sidecar.

    Ports default to free ones (tests); `make demo` passes the documented defaults. Every
    service gets the signing `secret` (a fresh random one per Stack unless given: tests mint
    their shoppers' tokens with `signer`) and listens on `host` (loopback unless given).
    """

    model: Path
    log_dir: Path
    redis_url: Optional[str] = None
    redis_dir: Optional[Path] = None
    #: Where the action server spools profile updates Redis could not take (default
    #: `<log_dir>/spool`, unless EMOTICAL_SPOOL_DIR is set).
    spool_dir: Optional[Path] = None
    redis_port: int = 0
    rasa_port: int = 0
    actions_port: int = 0
    sidecar_port: int = 0
    with_sidecar: bool = True
    extra_env: Dict[str, str] = field(default_factory=dict)
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    host: str = LOOPBACK
    redis: Optional[RedisServer] = None
    services: List[Service] = field(default_factory=list)
    #: After stop(): whether the embedded Redis shut down cleanly (AOF complete); None when
    #: there is no embedded Redis.
    redis_flushed: Optional[bool] = None

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.actions_port}/webhook"

    @property
    def sidecar_url(self) -> str:
        return f"http://127.0.0.1:{self.sidecar_port}"

    @property
    def signer(self) -> Signer:
        """Mints tokens the stack's services accept (for tests, benchmarks and tools)."""
        return Signer(self.secret)

    def session_token(self, session_id: str, shopper_id: Optional[str] = None) -> str:
        """A session token for `session_id` (its shopper: `shopper_id`, else derived from it)."""
        return self.signer.mint(SESSION, shopper_id or f"u-{session_id}", session_id)

    def shopper_token(self, shopper_id: str) -> str:
        """A shopper token for `shopper_id`."""
        return self.signer.mint(SHOPPER, shopper_id)

    @property
    def rasa_api_token(self) -> str:
        """The token Rasa's HTTP API wants (`?token=`)."""
        return derived_secret(self.secret, "rasa-api")

    @property
    def shop_origins(self) -> List[str]:
        """Origins of the shop page, the only ones allowed to call Rasa from a browser."""
        if not self.with_sidecar:
            return []
        return [f"http://127.0.0.1:{self.sidecar_port}", f"http://localhost:{self.sidecar_port}"]

    def start(self, timeout: float = 180.0) -> Stack:
        """Start everything and wait for every health check; on failure stop what started."""
        try:
            if not self.redis_url:
                self.redis = RedisServer(
                    data_dir=self.redis_dir or (self.log_dir / "redis"), port=self.redis_port,
                    log_file=self.log_dir / "redis.log",
                ).start()
                self.redis_url = self.redis.url
            self.rasa_port = self.rasa_port or free_port()
            self.actions_port = self.actions_port or free_port()
            env = {**secret_env(self.secret), **self.extra_env}
            actions_env = dict(env)
            if "EMOTICAL_SPOOL_DIR" not in os.environ:
                actions_env.setdefault("EMOTICAL_SPOOL_DIR",
                                       str(self.spool_dir or self.log_dir / "spool"))
            if self.with_sidecar:
                self.sidecar_port = self.sidecar_port or free_port()
                # The bot's report links point at this sidecar, whatever its port.
                actions_env.setdefault("EMOTICAL_REPORT_URL",
                                       f"{self.sidecar_url}/report/{{session_id}}")
            self.services = [
                action_server(self.actions_port, self.redis_url, self.log_dir, actions_env,
                              host=self.host),
                rasa_server(self.rasa_port, self.model, self.redis_url, self.actions_url,
                            self.log_dir, cors=self.shop_origins, extra_env=env, host=self.host),
            ]
            if self.with_sidecar:
                self.services.append(sidecar(self.sidecar_port, self.redis_url, self.rasa_url,
                                             self.log_dir, env, host=self.host))
            for service in self.services:
                service.start()
            for service in self.services:
                service.wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the services in reverse order, then Redis (which flushes its AOF).

        `redis_flushed` then says whether Redis really shut down cleanly.
        """
        for service in reversed(self.services):
            service.stop()
        if self.redis is not None:
            self.redis_flushed = self.redis.stop()

    def describe(self) -> Dict[str, str]:
        info = {"redis": self.redis_url or "", "rasa": self.rasa_url,
                "actions": self.actions_url}
        if self.with_sidecar:
            info["shop"] = self.sidecar_url + "/"
        return info

    def write_state(self, path: Path) -> None:
        """Record the running addresses (for `make shell` and scripts)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.describe(), indent=2))

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
