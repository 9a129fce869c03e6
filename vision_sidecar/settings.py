"""The sidecar's one settings object, read from environment variables and validated at start."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Optional, TypeVar

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_DIR = ROOT / "var" / "models"
FER_MODEL_FILE = "fer_mini_xception.onnx"

T = TypeVar("T")


class SettingsError(ValueError):
    """An environment variable holds a value the sidecar cannot use; the message names it."""


def _read(env: Mapping[str, str], name: str, default: T, parse: Callable[[str], T],
          check: Optional[Callable[[T], bool]] = None, expect: str = "") -> T:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not valid: expected {expect}") from None
    if check is not None and not check(value):
        raise SettingsError(f"{name}={raw!r} is not valid: expected {expect}")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything the sidecar can be told from outside. Build with `Settings.from_env()`."""

    host: str = "127.0.0.1"
    port: int = 8765
    redis_url: str = "redis://127.0.0.1:6379/0"
    #: Threads for decode, detection and the model; default: the machine's cores.
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    #: Expression backend: `local` (fer mini-Xception, ONNX) or `rekognition` (AWS).
    backend: str = "local"
    model_dir: Path = DEFAULT_MODEL_DIR
    #: Frames processed per session and second; extra frames are dropped (latest wins).
    max_fps: float = 10.0
    max_frame_bytes: int = 5 * 1024 * 1024
    #: Largest image accepted, in pixels (width × height), checked from the header.
    max_pixels: int = 4096 * 4096
    #: Run the face detector every N frames while a face is tracked (tracking in between).
    detect_every: int = 5
    #: Without a face, look for one over the whole frame only every N frames.
    search_every: int = 3
    #: Each fruitless search doubles that wait, up to this many frames.
    search_every_max: int = 10
    #: Time constants of the smoother (seconds): following a face, and decaying without one.
    tau_s: float = 0.8
    tau_decay_s: float = 3.0
    rekognition_per_minute: int = 6
    #: Python's thread switch interval (seconds) in the sidecar: see app.py.
    switch_interval_s: float = 0.001
    aws_region: str = "eu-west-1"
    log_level: str = "INFO"

    @property
    def model_path(self) -> Path:
        return self.model_dir / FER_MODEL_FILE

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> Settings:
        """Read every setting from `env` (default: os.environ); raise SettingsError on a bad one."""
        env = os.environ if env is None else env
        d = cls()

        def positive_int(name: str, default: int) -> int:
            return _read(env, name, default, int, lambda v: v > 0, "a positive integer")

        def positive_float(name: str, default: float) -> float:
            return _read(env, name, default, float, lambda v: v > 0, "a positive number")

        backend = _read(env, "EMOTICAL_EXPRESSION_BACKEND", d.backend, str.strip,
                        lambda v: v in ("local", "rekognition"), "`local` or `rekognition`")
        return cls(
            host=_read(env, "EMOTICAL_SIDECAR_HOST", d.host, str.strip, bool, "a host name"),
            port=_read(env, "EMOTICAL_SIDECAR_PORT", d.port, int, lambda v: 0 < v < 65536,
                       "a TCP port 1-65535"),
            redis_url=_read(env, "REDIS_URL", d.redis_url, str.strip,
                            lambda v: v.startswith(("redis://", "rediss://", "unix://")),
                            "a redis://, rediss:// or unix:// URL"),
            workers=positive_int("EMOTICAL_SIDECAR_WORKERS", d.workers),
            backend=backend,
            model_dir=_read(env, "EMOTICAL_MODEL_DIR", d.model_dir, Path),
            max_fps=positive_float("EMOTICAL_MAX_FPS", d.max_fps),
            max_frame_bytes=positive_int("EMOTICAL_MAX_FRAME_BYTES", d.max_frame_bytes),
            max_pixels=positive_int("EMOTICAL_MAX_PIXELS", d.max_pixels),
            detect_every=positive_int("EMOTICAL_DETECT_EVERY", d.detect_every),
            search_every=positive_int("EMOTICAL_SEARCH_EVERY", d.search_every),
            search_every_max=positive_int("EMOTICAL_SEARCH_EVERY_MAX", d.search_every_max),
            tau_s=positive_float("EMOTICAL_SMOOTHING_TAU_S", d.tau_s),
            tau_decay_s=positive_float("EMOTICAL_DECAY_TAU_S", d.tau_decay_s),
            switch_interval_s=positive_float("EMOTICAL_SWITCH_INTERVAL_S", d.switch_interval_s),
            rekognition_per_minute=_read(env, "EMOTICAL_REKOGNITION_PER_MINUTE",
                                         d.rekognition_per_minute, int, lambda v: v >= 0,
                                         "an integer >= 0"),
            aws_region=_read(env, "AWS_DEFAULT_REGION", d.aws_region, str.strip, bool,
                             "an AWS region name"),
            log_level=_read(env, "EMOTICAL_LOG_LEVEL", d.log_level, str.upper,
                            lambda v: v in ("DEBUG", "INFO", "WARNING", "ERROR"),
                            "DEBUG, INFO, WARNING or ERROR"),
        )

    def check_files(self) -> None:
        """Raise SettingsError when a file the chosen configuration needs is missing."""
        if not self.model_path.is_file():
            raise SettingsError(
                f"EMOTICAL_MODEL_DIR={self.model_dir}: {FER_MODEL_FILE} not found there; "
                "run `make setup` (it fetches fer's weights and converts them to ONNX)"
            )
