"""`make demo`'s runner for real: everything starts, answers, restarts a Redis killed with
SIGKILL (from its AOF), and Ctrl-C leaves nothing behind."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, List

import redis

from emotical_shared.tokens import SESSION, Signer
from stack.fingerprint import model_path
from stack.processes import base_env, vision_python
from stack.redis_server import ROOT, free_port
from stack.rest import rest_turn


def _listening(port: int) -> List[str]:
    """Local addresses (hex, as /proc/net/tcp* writes them) with a socket listening on `port`."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:
                found.append(address)
    return found


def _children(pid: int) -> List[int]:
    """All descendants of pid, from /proc."""
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout
    parents = {}
    for line in out.splitlines():
        child, parent = map(int, line.split())
        parents.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat")
    return state.exists() and state.read_text().split()[2] != "Z"


def _reader(stream: IO[str]) -> queue.Queue[str]:
    """Lines of `stream` as they come, from a thread (so waiting for one is bounded)."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _wait_line(lines: queue.Queue[str], seen: List[str], needle: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            break
        seen.append(line)
        if needle in line:
            return True
    return False


def iter_queue(lines: queue.Queue[str]) -> List[str]:
    """What the reader has queued so far."""
    out = []
    while True:
        try:
            out.append(lines.get_nowait())
        except queue.Empty:
            return out


def _redis_pid(demo_pid: int) -> int:
    for pid in _children(demo_pid):
        try:
            if b"redis-server" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
        except OSError:
            continue
    raise AssertionError("the demo runs no redis-server")


def test_demo_starts_everything_and_ctrl_c_stops_all_of_it(tmp_path: Path) -> None:
    assert model_path().exists(), "`make train` runs before this test"
    ports = {name: free_port() for name in ("REDIS", "RASA", "ACTIONS", "SIDECAR")}
    env = base_env({f"EMOTICAL_{k}_PORT": str(v) for k, v in ports.items()})
    env.pop("REDIS_URL", None)
    env.pop("EMOTICAL_SECRET", None)  # the demo's own secret file is what is under test
    env["EMOTICAL_VAR_DIR"] = str(tmp_path)
    proc = subprocess.Popen(
        [vision_python(), "-m", "stack", "demo"], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    seen: List[str] = []
    try:
        assert proc.stdout is not None
        lines = _reader(proc.stdout)
        _wait_line(lines, seen, "Ctrl-C stops everything", 240)
        output = "".join(seen)
        assert "eMotical is running" in output, f"demo did not come up:\n{output}"
        assert f"http://127.0.0.1:{ports['SIDECAR']}/" in output
        state = json.loads((tmp_path / "run" / "stack.json").read_text())
        assert state["rasa"] == f"http://127.0.0.1:{ports['RASA']}"

        secret_file = tmp_path / "secret"
        assert secret_file.stat().st_mode & 0o077 == 0, "the demo's secret is readable by others"
        token = Signer(secret_file.read_text().strip()).mint(SESSION, "u-demo", "demo-test")
        replies = rest_turn(f"http://127.0.0.1:{ports['RASA']}", token, "hi")
        assert replies, "the demo's Rasa gave no reply to 'hi'"
        loopback = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1
        for name, port in ports.items():
            addresses = _listening(port)
            assert addresses and set(addresses) <= loopback, \
                f"{name} listens on {addresses} (hex), not only on loopback"
        with urllib.request.urlopen(f"http://127.0.0.1:{ports['SIDECAR']}/healthz", timeout=10) as r:
            assert r.status == 200
        client = redis.Redis(host="127.0.0.1", port=ports["REDIS"])
        client.set("emotical:demo-test:marker", "kept")
        client.close()

        # kill -9 the demo's Redis: the demo restarts it from the AOF and the bot answers again.
        time.sleep(1.5)  # appendfsync everysec: only the last second's writes are at risk
        os.kill(_redis_pid(proc.pid), signal.SIGKILL)
        assert _wait_line(lines, seen, "demo: restarted Redis", 30), \
            f"the demo did not restart Redis:\n{''.join(seen)}"
        client = redis.Redis(host="127.0.0.1", port=ports["REDIS"])
        assert client.get("emotical:demo-test:marker") == b"kept", "Redis lost data across kill -9"
        client.close()
        replies = []
        for _ in range(10):  # bounded
            try:
                replies = rest_turn(f"http://127.0.0.1:{ports['RASA']}", token, "hi", timeout=30)
            except (urllib.error.URLError, OSError):
                replies = []
            if replies:
                break
            time.sleep(1)
        assert replies, "no reply after the demo restarted Redis"

        children = _children(proc.pid)
        assert len(children) >= 4, f"expected Redis, Rasa, actions, sidecar; got {children}"
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=90)
        _wait_line(lines, seen, "demo: stopped", 5)
        rest = "".join(seen) + "".join(iter_queue(lines))
        assert proc.returncode == 0, rest
        assert "demo: stopped" in rest
        assert "Redis data flushed" in rest, rest
        time.sleep(0.5)
        orphans = [pid for pid in children if _alive(pid)]
        assert not orphans, f"processes left behind after Ctrl-C: {orphans}"
        aof = (tmp_path / "redis" / "appendonly.aof").read_bytes()
        assert b"emotical:demo-test:marker" in aof, "Redis did not flush the AOF on stop"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
