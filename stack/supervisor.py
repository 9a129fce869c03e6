"""Keeps a running `Stack` running: restarts a child that dies, reports parts going down and back.

`make demo` calls `Supervisor.tick()` about once a second. A child that exits is restarted
after a backoff (1 s, doubling to 30 s; back to 1 s after a minute of health); Redis first,
from its AOF (same data folder, same port), and no other child is restarted while Redis is
down. A child that dies `max_deaths` times within `window_s` raises `CrashLoopError`. Every exit and
restart is a structured log line with the exit code and the tail of the child's log.
Standard library only.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Deque, List, Optional, Union

from emotical_shared import logs
from stack.processes import Service, Stack
from stack.redis_server import RedisServer

log = logging.getLogger("emotical.stack.supervisor")

Child = Union[Service, RedisServer]
#: A running child is reported down after this many failed health checks in a row (a busy
#: Rasa may miss one).
DOWN_AFTER_CHECKS = 3


class CrashLoopError(RuntimeError):
    """A child keeps dying: the demo stops (the message says which and how often)."""


@dataclass(frozen=True)
class Policy:
    """Restart timing and the crash-loop limit."""

    first_delay_s: float = 1.0
    max_delay_s: float = 30.0
    #: Healthy this long after a restart: the next death waits `first_delay_s` again.
    reset_after_s: float = 60.0
    max_deaths: int = 5
    window_s: float = 120.0


@dataclass
class _Watch:
    """One child's supervision state."""

    name: str
    child: Child
    delay_s: float
    deaths: Deque[float] = field(default_factory=deque)
    restart_at: Optional[float] = None
    healthy: bool = True
    healthy_since: Optional[float] = None
    failed_checks: int = 0


def _tail(child: Child, lines: int = 12) -> str:
    if isinstance(child, Service):
        return child.log_tail(lines)
    if child.log_file is None or not child.log_file.exists():
        return "(no log)"
    text = child.log_file.read_text(errors="replace").splitlines()[-lines:]
    return f"last lines of {child.log_file}:\n" + "\n".join(text)


class Supervisor:
    """Restarts the children of `stack` and tells `say` when a part goes down or comes back."""

    def __init__(self, stack: Stack, say: Callable[[str], None],
                 policy: Policy = Policy(), clock: Callable[[], float] = time.monotonic) -> None:
        self.stack, self.say, self.policy, self.clock = stack, say, policy, clock
        self.watches: List[_Watch] = []
        if stack.redis is not None:  # first: the others need it
            self.watches.append(_Watch("Redis", stack.redis, policy.first_delay_s))
        self.watches += [_Watch(s.name, s, policy.first_delay_s) for s in stack.services]
        now = clock()
        for w in self.watches:
            w.healthy_since = now

    def _redis_down(self) -> bool:
        redis = self.stack.redis
        return redis is not None and not redis.alive()

    def tick(self) -> None:
        """One round: notice exits, restart what is due, report health changes."""
        now = self.clock()
        for w in self.watches:
            if w.restart_at is None and not w.child.alive():
                self._died(w, now)
            if w.restart_at is not None and now >= w.restart_at:
                if w.child is not self.stack.redis and self._redis_down():
                    continue  # Redis comes back first
                self._restart(w)
        for w in self.watches:
            self._health(w, self.clock())

    def _died(self, w: _Watch, now: float) -> None:
        code = w.child.returncode
        w.deaths.append(now)
        while w.deaths and now - w.deaths[0] > self.policy.window_s:
            w.deaths.popleft()
        tail = _tail(w.child)
        if len(w.deaths) >= self.policy.max_deaths:
            logs.event(log, logging.ERROR, "child_crash_loop", child=w.name, exit_code=code,
                       deaths=len(w.deaths), window_s=self.policy.window_s)
            raise CrashLoopError(f"{w.name} died {len(w.deaths)} times within "
                         f"{self.policy.window_s:.0f} s (last exit code {code}); giving up.\n"
                         f"{tail}")
        if w.healthy_since is not None and now - w.healthy_since >= self.policy.reset_after_s:
            w.delay_s = self.policy.first_delay_s
        w.restart_at = now + w.delay_s
        logs.event(log, logging.WARNING, "child_exited", child=w.name, exit_code=code,
                   restart_in_s=w.delay_s, deaths_in_window=len(w.deaths),
                   log_tail=" | ".join(tail.splitlines()[1:]))
        self.say(f"demo: {w.name} exited (code {code}); restarting it in {w.delay_s:.0f} s")
        w.delay_s = min(w.delay_s * 2, self.policy.max_delay_s)
        self._mark(w, healthy=False)

    def _restart(self, w: _Watch) -> None:
        w.restart_at = None
        try:
            w.child.start()
        except RuntimeError as exc:  # Redis could not come up: counts as another death
            logs.event(log, logging.ERROR, "child_restart_failed", child=w.name,
                       error=str(exc).splitlines()[0])
            return
        what = "from its AOF, same port and data folder" if w.child is self.stack.redis else ""
        pid = w.child.proc.pid if w.child.proc is not None else None
        logs.event(log, logging.WARNING, "child_restarted", child=w.name, pid=pid,
                   next_delay_s=w.delay_s)
        self.say(f"demo: restarted {w.name} (pid {pid}){' ' + what if what else ''}")

    def _health(self, w: _Watch, now: float) -> None:
        ok = w.child.healthy()
        w.failed_checks = 0 if ok else w.failed_checks + 1
        if ok and not w.healthy:
            w.healthy_since = now
            self._mark(w, healthy=True)
        elif w.healthy and (not w.child.alive() or w.failed_checks >= DOWN_AFTER_CHECKS):
            self._mark(w, healthy=False)
        if ok and w.healthy_since is not None and now - w.healthy_since >= self.policy.reset_after_s:
            w.delay_s = self.policy.first_delay_s

    def _mark(self, w: _Watch, healthy: bool) -> None:
        if healthy == w.healthy:
            return
        w.healthy = healthy
        if not healthy:
            w.healthy_since = None
        logs.event(log, logging.INFO if healthy else logging.WARNING,
                   "part_up" if healthy else "part_down", child=w.name)
        self.say(f"demo: {w.name} is {'back (healthy)' if healthy else 'down'}")
