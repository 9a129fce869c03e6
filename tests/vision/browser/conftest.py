"""Fixtures of the browser tests: the whole stack on free ports, a fake camera, headless Chromium.

The Playwright tests run only under `make test-browser` (EMOTICAL_BROWSER_TESTS=1): they need a
trained model, both environments and Debian's chromium. The report API tests beside them need
only Redis and run everywhere.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
import redis

from stack.redis_server import ROOT
from tests.vision.browser.fake_camera import face_frames, write_y4m

CHROMIUM = os.environ.get("EMOTICAL_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "var" / "screenshots"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_tests_enabled() -> None:
    if os.environ.get("EMOTICAL_BROWSER_TESTS") != "1":
        pytest.skip("browser tests run under `make test-browser` (EMOTICAL_BROWSER_TESTS=1)")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} not found: run `make setup` (it installs Debian's chromium)")


@dataclass
class RunningStack:
    """Addresses of a stack someone else started (`make demo` writes them to var/run/stack.json);
    its secret comes from EMOTICAL_SECRET or var/secret, as the stack's own processes read it.
    It has no services to stop: tests that restart one skip."""

    redis_url: str
    rasa_url: str
    sidecar_url: str
    secret: str
    services: tuple = ()

    @property
    def rasa_api_token(self) -> str:
        from emotical_shared.tokens import derived_secret

        return derived_secret(self.secret, "rasa-api")

    @property
    def signer(self) -> object:
        from emotical_shared.tokens import Signer

        return Signer(self.secret)


@pytest.fixture(scope="session")
def stack(browser_tests_enabled: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Redis, the action server, Rasa and the sidecar on free ports; stopped by PID at the end.

    EMOTICAL_BROWSER_STACK=var/run/stack.json runs the tests against an already running stack.
    """
    from stack.fingerprint import model_path
    from stack.processes import Stack

    existing = os.environ.get("EMOTICAL_BROWSER_STACK")
    if existing:
        from emotical_shared.tokens import load_secret

        info = json.loads(Path(existing).read_text())
        yield RunningStack(info["redis"], info["rasa"], info["shop"].rstrip("/"),
                           load_secret(create=False))
        return

    check_credentials(ROOT / "credentials.yml")
    model = model_path()
    if not model.exists():
        pytest.fail(f"no trained model {model.name}: run `make train` first (make test-browser does)")
    log_dir = ROOT / "var" / "log" / "browser-tests"
    log_dir.mkdir(parents=True, exist_ok=True)
    # The bot's report link relative to the page, whatever free port the sidecar got.
    running = Stack(model=model, log_dir=log_dir, redis_dir=tmp_path_factory.mktemp("redis"),
                    extra_env={"EMOTICAL_REPORT_URL": "/report/{session_id}"})
    running.start(timeout=240)
    yield running
    running.stop()


def check_credentials(path: Path) -> None:
    """Fail at once, with the fix, when Rasa would serve the widget through the stock channel."""
    import yaml

    channels = yaml.safe_load(path.read_text()) or {}
    ours = channels.get("bot.channels.PersistentSocketIOInput")
    if not isinstance(ours, dict) or ours.get("session_persistence") is not True \
            or ours.get("metadata_key") != "customData":
        pytest.fail(
            f"{path.name} must serve the widget through bot.channels.PersistentSocketIOInput with "
            "session_persistence: true and metadata_key: customData (see docs/widget.md); with "
            "Rasa's stock socketio channel the session id is not the conversation id, replies to "
            "a reloaded page are lost and deleting a session leaves its conversation behind"
        )


@pytest.fixture(scope="session")
def stack_redis(stack: object) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(stack.redis_url, decode_responses=True)  # type: ignore[attr-defined]
    yield client
    client.close()


@pytest.fixture(scope="session")
def face_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A y4m clip of a real face photo for Chromium's fake camera."""
    return write_y4m(tmp_path_factory.mktemp("camera") / "astronaut.y4m", face_frames())


@pytest.fixture(scope="session")
def browser(browser_tests_enabled: None, face_video: Path) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_FLAGS, "--use-fake-device-for-media-stream",
                  "--use-fake-ui-for-media-stream", f"--use-file-for-fake-video-capture={face_video}"],
        )
        yield chromium
        chromium.close()


#: Records every Content-Security-Policy violation of a page (the binding is added per context).
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => window.__emoticalCsp({
  directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile, line: e.lineNumber,
  page: location.pathname}));
"""


def watch_csp(context: object) -> list:
    """A list that fills with the CSP violations (securitypolicyviolation events and Chromium's
    console reports) of every page of `context`, across navigations."""
    violations: list = []
    context.expose_binding("__emoticalCsp",  # type: ignore[attr-defined]
                           lambda _source, v: violations.append(v))
    context.add_init_script(CSP_LISTENER)  # type: ignore[attr-defined]

    def console(msg: object) -> None:
        text = msg.text  # type: ignore[attr-defined]
        if "Content Security Policy" in text:
            violations.append({"console": text})

    context.on("console", console)  # type: ignore[attr-defined]
    return violations


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
