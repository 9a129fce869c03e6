"""The sidecar's bounds on what one client, and all of them together, may hold at once.

- `WindowRate`: events per key in a sliding minute (new sessions per remote address).
- `InflightGate`: frames in work over every connection (HTTP and WebSocket).
- `SocketTable`: open WebSockets per remote address, in all, and one per session.

Each is used from the event loop thread only, and its memory is bounded by what it counts.
"""

from __future__ import annotations

import collections
import time
from typing import Callable, Deque, Dict, Optional

from aiohttp import web

WINDOW_S = 60.0


class WindowRate:
    """At most `limit` events per key in any `window_s` seconds."""

    def __init__(self, limit: int, window_s: float = WINDOW_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._events: Dict[str, Deque[float]] = {}
        self._pruned_at = clock()

    def try_acquire(self, key: str) -> float:
        """0.0 and the event counted, or the seconds until `key` may try again."""
        now = self.clock()
        self._prune(now)
        events = self._events.setdefault(key, collections.deque())
        while events and now - events[0] >= self.window_s:
            events.popleft()
        if len(events) >= self.limit:
            return self.window_s - (now - events[0])
        events.append(now)
        return 0.0

    def _prune(self, now: float) -> None:
        """Forget keys whose last event left the window (once a window)."""
        if now - self._pruned_at < self.window_s:
            return
        self._pruned_at = now
        self._events = {k: q for k, q in self._events.items()
                        if q and now - q[-1] < self.window_s}


class InflightGate:
    """Counts frames in work; `try_enter` refuses once `cap` are."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.inflight = 0
        self.refused = 0

    def try_enter(self) -> bool:
        if self.inflight >= self.cap:
            self.refused += 1
            return False
        self.inflight += 1
        return True

    def leave(self) -> None:
        self.inflight -= 1


class SocketTable:
    """Open WebSockets: by remote address (counted), by session (one each)."""

    def __init__(self, per_client: int, total: int) -> None:
        self.per_client = per_client
        self.total = total
        self._by_client: Dict[str, int] = {}
        self._by_session: Dict[str, web.WebSocketResponse] = {}

    def __len__(self) -> int:
        return sum(self._by_client.values())

    def refusal(self, client: str) -> Optional[str]:
        """Why a new socket of `client` is refused now, or None."""
        if len(self) >= self.total:
            return f"the sidecar holds its maximum of {self.total} WebSockets"
        if self._by_client.get(client, 0) >= self.per_client:
            return f"this address holds its maximum of {self.per_client} WebSockets"
        return None

    def open(self, client: str) -> None:
        self._by_client[client] = self._by_client.get(client, 0) + 1

    def close(self, client: str) -> None:
        left = self._by_client.get(client, 0) - 1
        if left > 0:
            self._by_client[client] = left
        else:
            self._by_client.pop(client, None)

    def bind(self, sid: str, ws: web.WebSocketResponse) -> bool:
        """Make `ws` the socket of session `sid`; False if the session already has one."""
        current = self._by_session.get(sid)
        if current is not None and not current.closed:
            return False
        self._by_session[sid] = ws
        return True

    def unbind(self, sid: str, ws: web.WebSocketResponse) -> None:
        if self._by_session.get(sid) is ws:
            del self._by_session[sid]

    def of_session(self, sid: str) -> Optional[web.WebSocketResponse]:
        return self._by_session.get(sid)
