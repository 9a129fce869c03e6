"""The sidecar's one settings object, read from environment variables and validated at start."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Mapping, NamedTuple, Optional, Tuple

# SettingsError is the shared class, importable from here as before.
from emotical_shared import envconfig
from emotical_shared.envconfig import SettingsError, non_negative, parse_bool, positive, read
from emotical_shared.labels import FACEAPI_CLASSES, FACEAPI_TO_LABEL, FER7_CLASSES, FER7_TO_LABEL

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_DIR = ROOT / "var" / "models"
DEFAULT_CATALOG_PATH = ROOT / "data" / "catalog"
DEFAULT_VIDEOS_DIR = ROOT / "var" / "videos"
FER_MODEL_FILE = "fer_mini_xception.onnx"


class FaceCrop(NamedTuple):
    """The face crop a model takes: a `size`×`size` square of the grey frame, or of the colour
    (BGR) frame when `colour`; the native kernel makes it (`DecodedFrame.face_input`)."""

    size: int
    colour: bool = False


@dataclass(frozen=True)
class ExpressionModel:
    """A local expression model: its ONNX file in the model dir, the crop it takes, its output
    classes and their LABELS, the temperature fitted on the eval set's `choose` part
    (docs/vision-eval.md) and the setup step that makes its file."""

    file: str
    crop: FaceCrop
    classes: Tuple[str, ...]
    to_label: Mapping[str, str]
    temperature: float
    made_by: str


#: EMOTICAL_EXPRESSION_MODEL's choices. face-api's temperature is 1, not its fit: it reads every
#: `choose` face right, so the likelihood there keeps rising as T falls and the fit stops at
#: its search bound (docs/vision-eval.md, Calibration).
EXPRESSION_MODELS: Dict[str, ExpressionModel] = {
    "fer-mini-xception": ExpressionModel(FER_MODEL_FILE, FaceCrop(64), FER7_CLASSES,
                                         FER7_TO_LABEL, 1.09, "scripts/setup.d/30-models.sh"),
    "face-api": ExpressionModel("faceapi_expression.onnx", FaceCrop(112, colour=True),
                                FACEAPI_CLASSES, FACEAPI_TO_LABEL, 1.0,
                                "scripts/setup.d/52-faceapi-model.sh"),
}
#: EMOTICAL_FACE_DETECTOR's choices and the model file each needs in the model dir.
FACE_DETECTOR_FILES = {"blazeface": "face_detection_short_range.tflite", "haar": ""}
#: Rasa's port when `EMOTICAL_RASA_URL` is unset: the widget then talks to this host on it.
DEFAULT_RASA_PORT = 5005


def _http_url(v: str) -> bool:
    return v.startswith(("http://", "https://"))


def _origins(raw: str) -> Tuple[str, ...]:
    return tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())


def _valid_origins(origins: Tuple[str, ...]) -> bool:
    return bool(origins) and all(_http_url(o) and o.count("/") == 2 for o in origins)


#: Addresses only this machine reaches. Listening anywhere else needs an operator-provided
#: EMOTICAL_SECRET, not one a first start happened to write into var/secret.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
EVENT_LOOPS = ("uvloop", "asyncio")


@dataclass(frozen=True)
class Settings:
    """Everything the sidecar can be told from outside. Build with `Settings.from_env()`."""

    host: str = "127.0.0.1"
    port: int = 8765
    redis_url: str = "redis://127.0.0.1:6379/0"
    #: Frame workers (processes, or threads) for decode, detection and the model; default:
    #: the machine's cores.
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    #: Run that frame work in `workers` single-threaded processes fed by the event loop
    #: (`frame_worker.py`); false: on as many threads of the sidecar process.
    frame_processes: bool = True
    #: Expression backend: `local` (the local model, ONNX) or `rekognition` (AWS).
    backend: str = "local"
    #: The local expression model (EXPRESSION_MODELS): face-api's, chosen on the eval set's
    #: `choose` part (docs/vision-eval.md).
    expression_model: str = "face-api"
    model_dir: Path = DEFAULT_MODEL_DIR
    #: Frames processed per session and second; extra frames are dropped (latest wins).
    max_fps: float = 10.0
    #: Readings of the expression model per session and second (`sessions.ReadingClock`):
    #: frames in between are located and answered with the session's latest reading. 0, or
    #: at least `max_fps`: every frame with a face is read.
    expression_hz: float = 5.0
    #: Largest frame upload (bytes): the widget sends 320-px-wide JPEGs of 10-30 KB.
    max_frame_bytes: int = 512 * 1024
    #: Largest image accepted, in pixels (width × height), checked from the header before any
    #: pixel is decoded: a black 4096×4096 PNG of 49 KB took 200 ms to decode.
    max_pixels: int = 1280 * 960
    #: Face detector: `blazeface` (short-range BlazeFace, LiteRT) or `haar` (OpenCV cascade).
    face_detector: str = "blazeface"
    #: Run the face detector every N frames while a face is tracked (tracking in between).
    detect_every: int = 5
    #: Without a face, look for one over the whole frame only every N frames.
    search_every: int = 3
    #: Each fruitless search doubles that wait, up to this many frames.
    search_every_max: int = 10
    #: Temperature of the local expression model's probabilities (p^(1/T), renormalised);
    #: None: the model's own, fitted by `make eval-vision` on the eval set's `choose` part
    #: (docs/vision-eval.md, Calibration); 1 leaves the model's own probabilities.
    expression_temperature: Optional[float] = None
    #: A face whose smoothed top probability is below this is published as `uncertain` (no
    #: confident reading: `dominant` "uncertain", `uncertain` "1"); 0 never says so.
    uncertain_below: float = 0.5
    #: Time constants of the smoother (seconds): following a face, and decaying without one.
    tau_s: float = 0.8
    tau_decay_s: float = 3.0
    rekognition_per_minute: int = 6
    #: Rekognition calls per minute over all sessions together (the bill and AWS's quota).
    rekognition_global_per_minute: int = 120
    #: Lifetime of a session token (seconds) and of a shopper token (days, = the profile's).
    session_token_ttl_s: int = 12 * 3600
    profile_ttl_days: int = 180
    #: Page origins allowed to open the WebSocket and call the API (CORS); empty: the
    #: sidecar's own `http://127.0.0.1:<port>` and `http://localhost:<port>`.
    allowed_origins: Tuple[str, ...] = ()
    #: Whether a WebSocket without an `Origin` header may connect. Browsers always send one;
    #: non-browser clients (`vision_sidecar.stream`, the benchmark, scripts) send none and must
    #: still present a session token, so the Origin check only guards against other web pages.
    allow_no_origin: bool = True
    #: Open WebSockets per remote address, and in all.
    ws_per_client: int = 4
    ws_max: int = 200
    #: Frames in work at once over every connection; 0: 8 per worker thread, twice.
    max_inflight_frames: int = 0
    #: New sessions per remote address and minute (behind a reverse proxy every shopper has
    #: the proxy's address, so this is then a limit for all of them together).
    sessions_per_minute: int = 30
    #: Python's thread switch interval (seconds) in the sidecar: see runtime.py.
    switch_interval_s: float = 0.001
    #: The sidecar's event loop: `uvloop` (libuv's; less CPU per frame on the loop) or
    #: `asyncio` (the standard library's).
    event_loop: str = "uvloop"
    aws_region: str = "eu-west-1"
    log_level: str = "INFO"
    #: Product catalog folder of the shop page (the bot's actions read the same variable).
    catalog_path: Path = DEFAULT_CATALOG_PATH
    #: Where the widget finds Rasa; empty: the page's own host on DEFAULT_RASA_PORT.
    rasa_url: str = ""
    #: Generated product videos (`make videos`: `<dir>/<catalog hash>/<product>.webm`).
    videos_dir: Path = DEFAULT_VIDEOS_DIR
    #: Step of a watched chapter's tags (before confidence and face share scale it); the
    #: chat's EMOTICAL_LEARNING_RATE is 0.35.
    chapter_learning_rate: float = 0.15
    #: A chapter's mean face valence must be at least this far from 0 to teach its tags.
    chapter_min_valence: float = 0.2

    @property
    def expression(self) -> ExpressionModel:
        """The local expression model's description."""
        return EXPRESSION_MODELS[self.expression_model]

    @property
    def model_path(self) -> Path:
        return self.model_dir / self.expression.file

    @property
    def temperature(self) -> float:
        """The temperature the local model runs at (EMOTICAL_EXPRESSION_TEMPERATURE, or the
        model's fitted one)."""
        if self.expression_temperature is None:
            return self.expression.temperature
        return self.expression_temperature

    @property
    def reading_interval_s(self) -> float:
        """Seconds between two expression readings of one session; 0: every frame."""
        if self.expression_hz <= 0 or self.expression_hz >= self.max_fps:
            return 0.0
        return 1.0 / self.expression_hz

    @property
    def origins(self) -> Tuple[str, ...]:
        """The allowed page origins (the sidecar's own when none are configured)."""
        return self.allowed_origins or (f"http://127.0.0.1:{self.port}",
                                        f"http://localhost:{self.port}")

    @property
    def inflight_cap(self) -> int:
        """Frames in work at once over all connections."""
        return self.max_inflight_frames or 2 * self.workers * 8

    @property
    def profile_ttl_s(self) -> int:
        return self.profile_ttl_days * 24 * 3600

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> Settings:
        """Read every setting from `env` (default: os.environ); raise SettingsError on a bad one."""
        env = os.environ if env is None else env
        d = cls()

        def positive_int(name: str, default: int) -> int:
            return read(env, name, default, int, positive, "a positive integer")

        def positive_float(name: str, default: float) -> float:
            return read(env, name, default, float, positive, "a positive number")

        backend = read(env, "EMOTICAL_EXPRESSION_BACKEND", d.backend, str.strip,
                       lambda v: v in ("local", "rekognition"), "`local` or `rekognition`")
        return cls(
            host=read(env, "EMOTICAL_SIDECAR_HOST", d.host, str.strip,
                      lambda h: bool(h) and (h in LOOPBACK_HOSTS or bool(env.get("EMOTICAL_SECRET"))),
                      "127.0.0.1, localhost or ::1; another address only with EMOTICAL_SECRET "
                      "set (docs/security.md)"),
            port=read(env, "EMOTICAL_SIDECAR_PORT", d.port, int, lambda v: 0 < v < 65536,
                      "a TCP port 1-65535"),
            redis_url=read(env, "REDIS_URL", d.redis_url, str.strip, envconfig.redis_url,
                           "a redis://, rediss:// or unix:// URL"),
            workers=positive_int("EMOTICAL_SIDECAR_WORKERS", d.workers),
            frame_processes=read(env, "EMOTICAL_FRAME_PROCESSES", d.frame_processes, parse_bool,
                                 None, "true or false"),
            backend=backend,
            expression_model=read(env, "EMOTICAL_EXPRESSION_MODEL", d.expression_model,
                                  str.strip, lambda v: v in EXPRESSION_MODELS,
                                  " or ".join(f"`{name}`" for name in EXPRESSION_MODELS)),
            model_dir=read(env, "EMOTICAL_MODEL_DIR", d.model_dir, Path),
            max_fps=positive_float("EMOTICAL_MAX_FPS", d.max_fps),
            expression_hz=read(env, "EMOTICAL_EXPRESSION_HZ", d.expression_hz, float,
                               lambda v: math.isfinite(v) and v >= 0,
                               "readings per second, a number >= 0 (0: every frame)"),
            max_frame_bytes=positive_int("EMOTICAL_MAX_FRAME_BYTES", d.max_frame_bytes),
            max_pixels=positive_int("EMOTICAL_MAX_PIXELS", d.max_pixels),
            face_detector=read(env, "EMOTICAL_FACE_DETECTOR", d.face_detector, str.strip,
                               lambda v: v in FACE_DETECTOR_FILES, "`blazeface` or `haar`"),
            detect_every=positive_int("EMOTICAL_DETECT_EVERY", d.detect_every),
            search_every=positive_int("EMOTICAL_SEARCH_EVERY", d.search_every),
            search_every_max=positive_int("EMOTICAL_SEARCH_EVERY_MAX", d.search_every_max),
            expression_temperature=read(env, "EMOTICAL_EXPRESSION_TEMPERATURE",
                                        d.expression_temperature, float,
                                        lambda v: v is not None and positive(v),
                                        "a positive number"),
            uncertain_below=read(env, "EMOTICAL_UNCERTAIN_BELOW", d.uncertain_below, float,
                                 lambda v: 0 <= v < 1, "a number from 0 up to (not incl.) 1"),
            tau_s=positive_float("EMOTICAL_SMOOTHING_TAU_S", d.tau_s),
            tau_decay_s=positive_float("EMOTICAL_DECAY_TAU_S", d.tau_decay_s),
            switch_interval_s=positive_float("EMOTICAL_SWITCH_INTERVAL_S", d.switch_interval_s),
            event_loop=read(env, "EMOTICAL_EVENT_LOOP", d.event_loop, str.strip,
                            lambda v: v in EVENT_LOOPS, "`uvloop` or `asyncio`"),
            rekognition_per_minute=read(env, "EMOTICAL_REKOGNITION_PER_MINUTE",
                                        d.rekognition_per_minute, int, non_negative,
                                        "an integer >= 0"),
            rekognition_global_per_minute=read(env, "EMOTICAL_REKOGNITION_GLOBAL_PER_MINUTE",
                                               d.rekognition_global_per_minute, int,
                                               non_negative, "an integer >= 0"),
            session_token_ttl_s=positive_int("EMOTICAL_SESSION_TOKEN_TTL_S",
                                             d.session_token_ttl_s),
            profile_ttl_days=positive_int("EMOTICAL_PROFILE_TTL_DAYS", d.profile_ttl_days),
            allowed_origins=read(env, "EMOTICAL_ALLOWED_ORIGINS", d.allowed_origins, _origins,
                                 _valid_origins,
                                 "comma-separated origins like http://shop.example:8765"),
            allow_no_origin=read(env, "EMOTICAL_ALLOW_NO_ORIGIN", d.allow_no_origin,
                                 parse_bool, None, "true or false"),
            ws_per_client=positive_int("EMOTICAL_WS_PER_CLIENT", d.ws_per_client),
            ws_max=positive_int("EMOTICAL_WS_MAX", d.ws_max),
            max_inflight_frames=positive_int("EMOTICAL_MAX_INFLIGHT_FRAMES",
                                             d.max_inflight_frames),
            sessions_per_minute=positive_int("EMOTICAL_SESSIONS_PER_MINUTE",
                                             d.sessions_per_minute),
            aws_region=read(env, "AWS_DEFAULT_REGION", d.aws_region, str.strip, bool,
                            "an AWS region name"),
            log_level=read(env, "EMOTICAL_LOG_LEVEL", d.log_level, str.upper,
                           lambda v: v in ("DEBUG", "INFO", "WARNING", "ERROR"),
                           "DEBUG, INFO, WARNING or ERROR"),
            catalog_path=read(env, "EMOTICAL_CATALOG_PATH", d.catalog_path, Path),
            rasa_url=read(env, "EMOTICAL_RASA_URL", d.rasa_url, lambda v: v.strip().rstrip("/"),
                          _http_url, "an http:// or https:// URL"),
            videos_dir=read(env, "EMOTICAL_VIDEOS_DIR", d.videos_dir, Path),
            chapter_learning_rate=read(env, "EMOTICAL_CHAPTER_LEARNING_RATE",
                                       d.chapter_learning_rate, float, lambda v: 0 <= v <= 1,
                                       "a number from 0 to 1"),
            chapter_min_valence=read(env, "EMOTICAL_CHAPTER_MIN_VALENCE", d.chapter_min_valence,
                                     float, lambda v: 0 <= v <= 1, "a number from 0 to 1"),
        )

    def check_files(self) -> None:
        """Raise SettingsError when a file the chosen configuration needs is missing."""
        if not self.model_path.is_file():
            raise SettingsError(
                f"EMOTICAL_EXPRESSION_MODEL={self.expression_model}: {self.expression.file} not "
                f"found in EMOTICAL_MODEL_DIR={self.model_dir}; run `make setup` "
                f"({self.expression.made_by} fetches its weights and converts them to ONNX)"
            )
        detector_file = FACE_DETECTOR_FILES[self.face_detector]
        if detector_file and not (self.model_dir / detector_file).is_file():
            raise SettingsError(
                f"EMOTICAL_FACE_DETECTOR={self.face_detector}: {detector_file} not found in "
                f"{self.model_dir}; run `make setup` (scripts/setup.d/30-models.sh)")
