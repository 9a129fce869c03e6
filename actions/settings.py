"""The action server's settings: one object, read from `EMOTICAL_*` environment variables.

Every value has a default; a bad value stops the server at start with a message naming the
variable (`SettingsError`, from `emotical_shared.envconfig`, which reads every variable).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Tuple

from emotical_shared.envconfig import (
    SettingsError,
    non_negative,
    parse_bool,
    parse_floats,
    positive,
    read,
    redis_url,
    unit_interval,
)

__all__ = ["ROOT", "Settings", "SettingsError"]

ROOT = Path(__file__).resolve().parent.parent


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
    sympathy_thresholds: Tuple[float, ...] = (0.2, 0.4, 0.65)
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
    #: A shopper profile (tag weights, seen products, session list) is deleted after this many
    #: seconds without use (EMOTICAL_PROFILE_TTL_DAYS, 180 days).
    profile_ttl_s: int = 180 * 24 * 3600
    #: Folder where profile updates that could not reach Redis wait to be retried.
    spool_dir: Path = ROOT / "var" / "actions" / "spool"
    #: The spool holds at most this many bytes; further updates are dropped (with a warning).
    spool_max_bytes: int = 5 * 1024 * 1024
    #: While updates wait, the action server tries to replay them this often (seconds).
    spool_replay_s: float = 5.0

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> Settings:
        """Read settings from `env` (default `os.environ`); raise SettingsError on a bad value."""
        env = os.environ if env is None else env
        d = cls()
        return cls(
            redis_url=read(env, "REDIS_URL", d.redis_url, str, redis_url,
                           "a URL starting with redis://, rediss:// or unix://"),
            redis_timeout_s=read(env, "EMOTICAL_REDIS_TIMEOUT_S", d.redis_timeout_s, float,
                                 positive, "seconds > 0"),
            redis_retry_s=read(env, "EMOTICAL_REDIS_RETRY_S", d.redis_retry_s, float,
                               non_negative, "seconds >= 0"),
            emotion_reads=read(env, "EMOTICAL_EMOTION_READS", d.emotion_reads, parse_bool),
            catalog_path=read(env, "EMOTICAL_CATALOG_PATH", d.catalog_path, Path),
            face_weight=read(env, "EMOTICAL_FACE_WEIGHT", d.face_weight, float, non_negative,
                             "a number >= 0"),
            text_weight=read(env, "EMOTICAL_TEXT_WEIGHT", d.text_weight, float, non_negative,
                             "a number >= 0"),
            face_stale_s=read(env, "EMOTICAL_FACE_STALE_S", d.face_stale_s, float, positive,
                              "seconds > 0"),
            sympathy_thresholds=read(env, "EMOTICAL_SYMPATHY_THRESHOLDS", d.sympathy_thresholds,
                                     parse_floats(3), _increasing_in_unit,
                                     "three increasing numbers in (0, 1]"),
            help_emotion_min_prob=read(env, "EMOTICAL_HELP_EMOTION_MIN_PROB",
                                       d.help_emotion_min_prob, float, unit_interval,
                                       "a number in [0, 1]"),
            learning_rate=read(env, "EMOTICAL_LEARNING_RATE", d.learning_rate, float,
                               unit_interval, "a number in [0, 1]"),
            related_factor=read(env, "EMOTICAL_RELATED_FACTOR", d.related_factor, float,
                                unit_interval, "a number in [0, 1]"),
            face_reaction_min=read(env, "EMOTICAL_FACE_REACTION_MIN", d.face_reaction_min, float,
                                   unit_interval, "a number in [0, 1]"),
            wordnet=read(env, "EMOTICAL_WORDNET", d.wordnet, parse_bool),
            top_k=read(env, "EMOTICAL_TOP_K", d.top_k, int, positive, "a whole number > 0"),
            report_url=read(env, "EMOTICAL_REPORT_URL", d.report_url, str,
                            lambda v: "{session_id}" in v, "a URL containing {session_id}"),
            spool_dir=read(env, "EMOTICAL_SPOOL_DIR", d.spool_dir, Path),
            spool_max_bytes=read(env, "EMOTICAL_SPOOL_MAX_BYTES", d.spool_max_bytes, int,
                                 positive, "a whole number of bytes > 0"),
            spool_replay_s=read(env, "EMOTICAL_SPOOL_REPLAY_S", d.spool_replay_s, float,
                                positive, "seconds > 0"),
            profile_ttl_s=int(24 * 3600 * read(env, "EMOTICAL_PROFILE_TTL_DAYS",
                                               d.profile_ttl_s / 86400, float, positive,
                                               "days > 0")),
        )


def _increasing_in_unit(v: Tuple[float, ...]) -> bool:
    return 0 < v[0] < v[1] < v[2] <= 1
