"""The demo's supervisor on real processes with a test clock: backoff, crash loop, Redis from AOF."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import List

import pytest
import redis

from stack.processes import Service, Stack
from stack.redis_server import RedisServer
from stack.supervisor import CrashLoopError, Policy, Supervisor


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _stack(tmp_path: Path, services: List[Service], redis_server: RedisServer = None) -> Stack:
    return Stack(model=tmp_path / "model.tar.gz", log_dir=tmp_path, redis=redis_server,
                 services=services, with_sidecar=False)


def test_a_child_that_keeps_dying_is_restarted_with_backoff_then_stops_the_demo(
        tmp_path: Path) -> None:
    crasher = Service("crasher", [sys.executable, "-c", "print('boom'); raise SystemExit(3)"],
                      health_url="http://127.0.0.1:9/", log_file=tmp_path / "crasher.log")
    said: List[str] = []
    clock = Clock()
    sup = Supervisor(_stack(tmp_path, [crasher]), said.append, Policy(), clock)
    crasher.start()
    delays = []
    with pytest.raises(CrashLoopError, match="crasher died 5 times"):
        for _ in range(10):  # bounded: the fifth death must raise
            assert crasher.proc is not None
            crasher.proc.wait(timeout=10)
            sup.tick()
            watch = sup.watches[0]
            assert watch.restart_at is not None
            delays.append(watch.restart_at - clock.now)
            clock.now = watch.restart_at
            sup.tick()  # restarts it
    assert delays == [1.0, 2.0, 4.0, 8.0], delays
    assert any("crasher exited (code 3)" in line for line in said), said
    assert any("restarted crasher" in line for line in said), said


def test_redis_killed_is_restarted_from_its_aof_and_reported_down_and_back(
        tmp_path: Path) -> None:
    server = RedisServer(data_dir=tmp_path / "redis", log_file=tmp_path / "redis.log").start()
    said: List[str] = []
    clock = Clock()
    sup = Supervisor(_stack(tmp_path, [], server), said.append, Policy(), clock)
    try:
        client = redis.Redis.from_url(server.url)
        client.set("emotical:sup:marker", "kept")
        maxmemory = client.config_get("maxmemory")["maxmemory"]
        policy = client.config_get("maxmemory-policy")["maxmemory-policy"]
        assert int(maxmemory) == 512 * 1024 * 1024 and policy == "noeviction"
        time.sleep(1.2)  # appendfsync everysec
        port = server.port
        os.kill(server.pid, signal.SIGKILL)
        assert server.proc is not None
        server.proc.wait(timeout=10)
        sup.tick()
        assert any("Redis exited (code -9)" in line for line in said), said
        assert any("Redis is down" in line for line in said), said
        clock.now = 1.0
        sup.tick()
        assert server.alive() and server.port == port
        assert any("restarted Redis" in line and "AOF" in line for line in said), said
        assert client.get("emotical:sup:marker") == b"kept", "redis-py reconnects, data kept"
        clock.now = 2.0
        sup.tick()
        assert any("Redis is back" in line for line in said), said
        client.close()
        assert server.stop() is True, "a clean SHUTDOWN reports True"
        assert server.stop() is False, "a Redis that is not running did not flush anything"
    finally:
        server.stop()
