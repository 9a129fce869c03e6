"""The application served in this process (`make_app(settings, backend=...)`) on a real Redis:
every error a client can cause comes back in the one JSON error shape with its status."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from emotical_shared import redis_schema as schema
from emotical_shared.logs import id_tag
from stack.redis_server import free_port
from tests.vision.sidecar.helpers import auth, call, in_process, session_token
from tests.vision.sidecar.test_decode import bomb_png
from vision_sidecar.expression.local import LocalOnnxBackend
from vision_sidecar.settings import Settings

MAX_FRAME_BYTES = 200_000
BAD_ID = "bad%20id!"


@pytest.fixture(scope="module")
def backend(model_path: Path) -> LocalOnnxBackend:
    """The real local model, loaded once for the module."""
    return LocalOnnxBackend(model_path)


def settings_for(redis_url: str, **overrides: Any) -> Settings:
    return Settings(redis_url=redis_url, workers=1, max_frame_bytes=MAX_FRAME_BYTES, **overrides)


def assert_error(answer: tuple, status: int, code: str, what: str) -> None:
    got, _, body = answer
    assert isinstance(body, dict) and "error" in body, f"{what}: not the JSON error shape: {body}"
    assert (got, body["error"]["code"]) == (status, code), f"{what}: {got} {body}"
    assert body["error"]["message"], f"{what}: an error without a message for the shopper"


def test_a_face_is_processed_and_stored_in_process(redis_url, redis_client, backend,
                                                   astronaut_jpeg):
    async def talk(client: TestClient):
        return await call(client, "POST", "/api/sessions/inproc-1/frames", astronaut_jpeg,
                          auth("inproc-1", **{"Content-Type": "image/jpeg"}))

    status, _, body = in_process(settings_for(redis_url), backend, talk)
    assert status == 200 and body["dominant"] == "happy" and body["stored"] is True, body
    assert redis_client.hget(schema.session_emotion("inproc-1"), "dominant") == "happy"


@pytest.mark.parametrize(
    ("what", "data", "ctype", "status", "code"),
    [
        ("empty body", b"", "image/jpeg", 400, "bad_frame"),
        ("truncated JPEG", "TRUNCATED", "image/jpeg", 400, "bad_frame"),
        ("text sent as a JPEG", b"just some text", "image/jpeg", 415, "unsupported_media_type"),
        ("text content type", b"just some text", "text/plain", 415, "unsupported_media_type"),
        ("decompression bomb", "BOMB", "image/png", 413, "frame_too_large"),
        ("over the byte limit", b"\xff\xd8\xff" + b"\0" * MAX_FRAME_BYTES, "image/jpeg", 413,
         "frame_too_large"),
    ],
)
def test_a_bad_frame_gets_the_json_error_shape(redis_url, backend, webcam_jpeg, what, data,
                                               ctype, status, code):
    data = {"TRUNCATED": webcam_jpeg[: len(webcam_jpeg) // 2], "BOMB": bomb_png()}.get(data, data)

    async def talk(client: TestClient):
        return await call(client, "POST", "/api/sessions/bad-frame/frames", data,
                          auth("bad-frame", **{"Content-Type": ctype}))

    assert_error(in_process(settings_for(redis_url), backend, talk), status, code, what)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", f"/api/sessions/{BAD_ID}/frames"),
        ("GET", f"/api/sessions/{BAD_ID}/emotion"),
        ("GET", f"/api/sessions/{BAD_ID}/history"),
        ("GET", f"/api/sessions/{BAD_ID}/report"),
        ("DELETE", f"/api/sessions/{BAD_ID}"),
        ("GET", f"/report/{BAD_ID}"),
        ("GET", f"/api/sessions/{'s' * 129}/emotion"),
    ],
)
def test_every_session_route_refuses_an_invalid_id(redis_url, backend, method, path):
    async def talk(client: TestClient):
        return await call(client, method, path, b"x" if method == "POST" else None,
                          {"Content-Type": "image/jpeg"})

    assert_error(in_process(settings_for(redis_url), backend, talk), 400, "invalid_session_id",
                 f"{method} {path}")


def test_an_unknown_session_has_no_emotion_but_an_empty_history_and_report(redis_url, backend):
    async def talk(client: TestClient):
        return [await call(client, "GET", f"/api/sessions/nobody/{what}", headers=auth("nobody"))
                for what in ("emotion", "history", "report")]

    emotion, history, report = in_process(settings_for(redis_url), backend, talk)
    assert_error(emotion, 404, "not_found", "emotion of an unknown session")
    assert history[0] == 200 and history[2]["entries"] == []
    assert report[0] == 200 and report[2]["history"] == [] and report[2]["keys"] == []


def test_a_bad_history_query_is_a_400(redis_url, backend):
    async def talk(client: TestClient):
        return [await call(client, "GET", f"/api/sessions/h-1/history?{query}",
                           headers=auth("h-1"))
                for query in ("since=yesterday", "count=0", "count=many")]

    for answer in in_process(settings_for(redis_url), backend, talk):
        assert answer[0] == 400 and answer[2]["error"]["message"], answer


def test_redis_down_gives_503_store_unavailable_and_frames_still_answered(backend, webcam_jpeg):
    down = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there

    async def talk(client: TestClient):
        frame = await call(client, "POST", "/api/sessions/down-1/frames", webcam_jpeg,
                           auth("down-1", **{"Content-Type": "image/jpeg"}))
        reads = [await call(client, method, path, headers=auth("down-1")) for method, path in [
            ("GET", "/api/sessions/down-1/emotion"), ("GET", "/api/sessions/down-1/history"),
            ("GET", "/api/sessions/down-1/report"), ("DELETE", "/api/sessions/down-1")]]
        return frame, await call(client, "GET", "/healthz"), reads

    frame, health, reads = in_process(settings_for(down), backend, talk)
    assert frame[0] == 200 and frame[2]["stored"] is False, frame
    assert health[0] == 503 and health[2]["redis"] == "down"
    assert health[2]["status"] == "degraded"
    for answer, what in zip(reads, ("emotion", "history", "report", "delete"), strict=True):
        assert_error(answer, 503, "store_unavailable", f"{what} with Redis down")


def test_a_wrong_method_on_the_api_is_a_json_405(redis_url, backend):
    async def talk(client: TestClient):
        return await call(client, "PUT", "/api/sessions/s-1/emotion", headers=auth("s-1"))

    assert_error(in_process(settings_for(redis_url), backend, talk), 405, "method_not_allowed",
                 "PUT on the emotion route")


def test_websocket_text_messages_get_a_bad_frame_error(redis_url, backend):
    async def talk(client: TestClient):
        async with client.ws_connect("/ws/frames") as ws:
            await ws.send_json({"type": "auth", "token": session_token("ws-in-1")})
            assert (await ws.receive_json(timeout=10))["type"] == "ready"
            await ws.send_str("hello")
            return await ws.receive_json(timeout=10)

    reply = in_process(settings_for(redis_url), backend, talk)
    assert reply["error"]["code"] == "bad_frame" and reply["error"]["message"]


def test_log_lines_of_a_request_name_its_session(redis_url, backend, caplog):
    async def talk(client: TestClient):
        return await call(client, "DELETE", "/api/sessions/logged-1", headers=auth("logged-1"))

    with caplog.at_level(logging.INFO, logger="vision_sidecar"):
        assert in_process(settings_for(redis_url), backend, talk)[0] == 200
    deleted = [r.getMessage() for r in caplog.records if "session_deleted" in r.getMessage()]
    assert deleted and f"session={id_tag('logged-1')}" in deleted[0], deleted


def test_the_widget_paces_frames_at_the_configured_rate(redis_url, backend):
    async def talk(client: TestClient):
        return await call(client, "GET", "/api/config")

    status, _, body = in_process(settings_for(redis_url, max_fps=4.0), backend, talk)
    assert status == 200 and body["max_fps"] == 4.0
