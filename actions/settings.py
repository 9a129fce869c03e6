"""The action server's settings: one object, read from `EMOTICAL_*` environment variables.

Every value has a default; a bad value stops the server at start with a message naming the
variable (`SettingsError`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Optional, Tuple, TypeVar

ROOT = Path(__file__).resolve().parent.parent

T = TypeVar("T")


class SettingsError(ValueError):
    """An environment variable holds a value the action server cannot use."""


@dataclass(frozen=True)
class Settings:
    """Tunable behaviour of the emotion-aware actions."""

    redis_url: str = "redis://127.0.0.1:6379/0"
    #: Seconds to wait for a Redis connection / reply before degrading to "no Redis".
    redis_timeout_s: float = 0.25
    #: After Redis failed, skip it for this long before trying again (no stall per turn).
    redis_retry_s: float = 2.0
    #: Off: the actions never read the live emotion state (bench baseline, privacy switch).
    emotion_reads: bool = True
    catalog_path: Path = ROOT / "data" / "catalog"
    #: Fusion weights of the face reading and the message sentiment (need not sum to 1).
    face_weight: float = 0.6
    text_weight: float = 0.4
    #: A face reading older than this (seconds) counts for nothing.
    face_stale_s: float = 10.0
    #: |valence| at or above which the mood is positive/negative; the next two raise sympathy
    #: to levels 2 and 3.
    sympathy_thresholds: Tuple[float, float, float] = (0.2, 0.4, 0.65)
    #: A face's own probability of confused/fearful that asks for at least level-1 sympathy.
    help_emotion_min_prob: float = 0.45
    #: Base step of a tag-weight update (scaled by emotion intensity, bounded in [-1, 1]).
    learning_rate: float = 0.35
    #: Step factor for tags reached only through WordNet (per relation hop).
    related_factor: float = 0.5
    #: Minimum |face valence| of a fresh face reading that updates the shown product's tags.
    face_reaction_min: float = 0.5
    #: Use WordNet to relate shopper words to catalog tags.
    wordnet: bool = True
    top_k: int = 3
    #: Link to the session report page; `{session_id}` is filled in.
    report_url: str = "/report/{session_id}"
    #: Rasa saves the conversation after the delete action returns, so its stored tracker is
    #: deleted once more this many seconds later.
    tracker_delete_delay_s: float = 2.0
    #: Folder where profile updates that could not reach Redis wait to be retried.
    spool_dir: Path = ROOT / "var" / "actions" / "spool"

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> Settings:
        """Read settings from `env` (default `os.environ`); raise SettingsError on a bad value."""
        env = os.environ if env is None else env
        d = cls()

        def get(name: str, parse: Callable[[str], T], default: T, check: str = "") -> T:
            raw = env.get(name)
            if raw is None or raw == "":
                return default
            try:
                value = parse(raw)
            except (TypeError, ValueError) as exc:
                raise SettingsError(f"{name}={raw!r} is not valid: {exc}") from None
            if check and not _CHECKS[check](value):
                raise SettingsError(f"{name}={raw!r} is not valid: must be {check}")
            return value

        thresholds = get("EMOTICAL_SYMPATHY_THRESHOLDS", _floats3, d.sympathy_thresholds,
                         "three increasing numbers in (0, 1]")
        report_url = get("EMOTICAL_REPORT_URL", str, d.report_url)
        if "{session_id}" not in report_url:
            raise SettingsError(f"EMOTICAL_REPORT_URL={report_url!r} must contain {{session_id}}")
        redis_url = env.get("REDIS_URL") or d.redis_url
        if not redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError(f"REDIS_URL={redis_url!r} must start with redis://, rediss:// or unix://")
        return cls(
            redis_url=redis_url,
            redis_timeout_s=get("EMOTICAL_REDIS_TIMEOUT_S", float, d.redis_timeout_s, "positive"),
            redis_retry_s=get("EMOTICAL_REDIS_RETRY_S", float, d.redis_retry_s, "non-negative"),
            emotion_reads=get("EMOTICAL_EMOTION_READS", _bool, d.emotion_reads),
            catalog_path=get("EMOTICAL_CATALOG_PATH", Path, d.catalog_path),
            face_weight=get("EMOTICAL_FACE_WEIGHT", float, d.face_weight, "non-negative"),
            text_weight=get("EMOTICAL_TEXT_WEIGHT", float, d.text_weight, "non-negative"),
            face_stale_s=get("EMOTICAL_FACE_STALE_S", float, d.face_stale_s, "positive"),
            sympathy_thresholds=thresholds,
            help_emotion_min_prob=get("EMOTICAL_HELP_EMOTION_MIN_PROB", float,
                                      d.help_emotion_min_prob, "in [0, 1]"),
            learning_rate=get("EMOTICAL_LEARNING_RATE", float, d.learning_rate, "in [0, 1]"),
            related_factor=get("EMOTICAL_RELATED_FACTOR", float, d.related_factor, "in [0, 1]"),
            face_reaction_min=get("EMOTICAL_FACE_REACTION_MIN", float, d.face_reaction_min,
                                  "in [0, 1]"),
            wordnet=get("EMOTICAL_WORDNET", _bool, d.wordnet),
            top_k=get("EMOTICAL_TOP_K", int, d.top_k, "positive"),
            report_url=report_url,
            spool_dir=get("EMOTICAL_SPOOL_DIR", Path, d.spool_dir),
            tracker_delete_delay_s=get("EMOTICAL_TRACKER_DELETE_DELAY_S", float,
                                       d.tracker_delete_delay_s, "non-negative"),
        )


def _bool(raw: str) -> bool:
    low = raw.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ValueError("use 1/0, true/false, yes/no or on/off")


def _floats3(raw: str) -> Tuple[float, float, float]:
    parts = [float(p) for p in raw.split(",")]
    if len(parts) != 3:
        raise ValueError("give three comma-separated numbers")
    return (parts[0], parts[1], parts[2])


_CHECKS: dict = {
    "positive": lambda v: v > 0,
    "non-negative": lambda v: v >= 0,
    "in [0, 1]": lambda v: 0 <= v <= 1,
    "three increasing numbers in (0, 1]": lambda v: 0 < v[0] < v[1] < v[2] <= 1,
}
