"""Reading settings from environment variables: one reader for every process.

Each process keeps one frozen settings dataclass with defaults; its `from_env` calls `read` for
each variable. A bad value raises `SettingsError` naming the variable, the value and what was
expected, so the process stops at start with a message a person can act on.
"""

from __future__ import annotations

from typing import Callable, Mapping, Optional, Tuple, TypeVar

T = TypeVar("T")


class SettingsError(ValueError):
    """An environment variable holds a value the process cannot use; the message names it."""


def read(env: Mapping[str, str], name: str, default: T, parse: Callable[[str], T],
         check: Optional[Callable[[T], bool]] = None, expect: str = "") -> T:
    """`env[name]` parsed with `parse` and checked with `check`; `default` when unset or empty.

    Raises SettingsError("NAME='raw' is not valid: expected <expect>") when parsing fails or
    the check is false.
    """
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = parse(raw)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{name}={raw!r} is not valid: expected {expect or exc}") from None
    if check is not None and not check(value):
        raise SettingsError(f"{name}={raw!r} is not valid: expected {expect}")
    return value


def parse_bool(raw: str) -> bool:
    """1/0, true/false, yes/no, on/off (any case)."""
    low = raw.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ValueError("1/0, true/false, yes/no or on/off")


def parse_floats(count: int) -> Callable[[str], Tuple[float, ...]]:
    """A parser for `count` comma-separated numbers."""
    def parse(raw: str) -> Tuple[float, ...]:
        parts = tuple(float(p) for p in raw.split(","))
        if len(parts) != count:
            raise ValueError(f"{count} comma-separated numbers")
        return parts
    return parse


def positive(v: float) -> bool:
    return v > 0


def non_negative(v: float) -> bool:
    return v >= 0


def unit_interval(v: float) -> bool:
    return 0 <= v <= 1


REDIS_URL_SCHEMES = ("redis://", "rediss://", "unix://")


def redis_url(v: str) -> bool:
    """A URL redis-py can open."""
    return v.startswith(REDIS_URL_SCHEMES)
