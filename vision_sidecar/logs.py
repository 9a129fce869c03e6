"""Structured log lines: `event key=value ...`, naming the session, never frame contents."""

from __future__ import annotations

import logging
import time
from typing import Any, Dict


def configure(level: str) -> None:
    """Log to stderr with timestamps at `level`."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")


def event(logger: logging.Logger, level: int, name: str, **fields: Any) -> None:
    """Log `name` with `fields` rendered as key=value pairs."""
    if logger.isEnabledFor(level):
        parts = " ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}"
                         for k, v in fields.items())
        logger.log(level, "%s %s", name, parts)


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
