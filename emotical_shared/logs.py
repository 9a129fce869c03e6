"""One logging style for every process: `getLogger(__name__)` and `event(...)` lines.

A line reads `name session=<tag> key=value ...`. The session comes from the context
(`session_scope(sid)` around the work of one shopper's request, frame or action), so every
record of that work names its session without each call passing it. The tag is the first 12
hex digits of the id's SHA-256, never the id itself: logs must not hand out ids that open a
shopper's data. `python -m emotical_shared.logs <id>` prints an id's tag, to find its lines.
Frame contents, message text and tag words are never logged: callers pass counts and codes.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import logging
import sys
import time
from typing import Any, Dict, Iterator, Optional

_SESSION: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar(
    "emotical_session", default=None)

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def configure(level: str = "INFO") -> None:
    """Log to stderr with timestamps at `level` (for processes whose logging we own)."""
    logging.basicConfig(level=level, format=FORMAT)


@contextlib.contextmanager
def session_scope(session_id: Optional[str]) -> Iterator[None]:
    """Within the block, every `event` names `session_id` (nested scopes restore the outer)."""
    token = _SESSION.set(session_id)
    try:
        yield
    finally:
        _SESSION.reset(token)


def current_session() -> Optional[str]:
    """The session of the enclosing `session_scope`, or None."""
    return _SESSION.get()


def id_tag(value: str) -> str:
    """What logs show instead of a session or shopper id: 12 hex digits of its SHA-256."""
    return hashlib.sha256(value.encode()).hexdigest()[:12]


def _render(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def event(logger: logging.Logger, level: int, name: str, /, **fields: Any) -> None:
    """Log `name` with the context's session and `fields` as key=value pairs."""
    if not logger.isEnabledFor(level):
        return
    session = fields.pop("session", None) or _SESSION.get()
    parts = [name]
    if session is not None:
        parts.append(f"session={id_tag(str(session))}")
    parts.extend(f"{k}={_render(v)}" for k, v in fields.items())
    logger.log(level, "%s", " ".join(parts))


class Throttled:
    """Emit a repeated warning at most once per `interval` seconds, with a count of the rest."""

    def __init__(self, interval: float = 5.0) -> None:
        self.interval = interval
        self._last: Dict[str, float] = {}
        self._suppressed: Dict[str, int] = {}

    def __call__(self, logger: logging.Logger, name: str, **fields: Any) -> None:
        now = time.monotonic()
        if now - self._last.get(name, -1e9) >= self.interval:
            suppressed = self._suppressed.pop(name, 0)
            if suppressed:
                fields["suppressed"] = suppressed
            self._last[name] = now
            event(logger, logging.WARNING, name, **fields)
        else:
            self._suppressed[name] = self._suppressed.get(name, 0) + 1


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(f"{arg} session={id_tag(arg)}")
