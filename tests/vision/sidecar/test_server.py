"""The real sidecar process on a real Redis: faces in, emotion out, bad input refused."""

from __future__ import annotations

import asyncio
import socket
import time
from urllib.parse import urlparse

import aiohttp
import pytest

from emotical_shared import redis_schema as schema
from emotical_shared.labels import LABELS
from tests.vision.sidecar.helpers import auth, session_token
from tests.vision.sidecar.test_decode import bomb_png
from vision_sidecar import samples

ALL_FIELDS = set(LABELS) | set(schema.EMOTION_FIELDS)


def test_healthz_says_ready(sidecar):
    status, _, body = sidecar.request("GET", "/healthz")
    assert status == 200, body
    assert body["redis"] == "ok" and body["status"] == "ok"
    assert body["backend"] == "local" and body["native"] == "native"


def test_the_smiling_astronaut_comes_back_happy_and_lands_in_redis(sidecar, redis_client,
                                                                   astronaut_jpeg):
    status, _, body = sidecar.post_frame("astro-1", astronaut_jpeg)
    assert status == 200, body
    assert body["faces"] == 1 and body["face_present"] is True
    assert body["dominant"] == "happy", body["probs"]
    assert body["stored"] is True
    assert abs(sum(body["probs"].values()) - 1) < 1e-3

    stored = redis_client.hgetall(schema.session_emotion("astro-1"))
    assert set(stored) == ALL_FIELDS
    assert stored["dominant"] == "happy" and stored["face_present"] == "1"
    assert float(stored["happy"]) > 0.5
    assert -100 <= float(stored["score"]) <= 100 and float(stored["score"]) > 0
    assert abs(float(stored["ts"]) - time.time()) < 60
    assert 0 < redis_client.ttl(schema.session_emotion("astro-1")) <= schema.SESSION_TTL_S

    history = redis_client.xrange(schema.session_history("astro-1"))
    assert len(history) == 1 and history[0][1] == stored
    assert 0 < redis_client.ttl(schema.session_history("astro-1")) <= schema.SESSION_TTL_S


def test_a_photo_without_a_face_stores_face_present_false(sidecar, redis_client, no_face_jpeg):
    status, _, body = sidecar.post_frame("coffee-1", no_face_jpeg)
    assert status == 200, body
    assert body["faces"] == 0 and body["face_present"] is False
    stored = redis_client.hgetall(schema.session_emotion("coffee-1"))
    assert stored["face_present"] == "0" and stored["dominant"] == "calm"


def test_a_png_frame_works_too(sidecar):
    status, _, body = sidecar.post_frame("png-1", samples.png(samples.astronaut_bgr()),
                                         "image/png")
    assert status == 200 and body["dominant"] == "happy", body


@pytest.mark.parametrize(
    ("what", "sid", "data", "ctype", "status", "code"),
    [
        ("empty body", "bad-1", b"", "image/jpeg", 400, "bad_frame"),
        ("truncated JPEG", "bad-2", "TRUNCATED", "image/jpeg", 400, "bad_frame"),
        ("text sent as a JPEG", "bad-3", b"just some text", "image/jpeg", 415,
         "unsupported_media_type"),
        ("text content type", "bad-4", b"just some text", "text/plain", 415,
         "unsupported_media_type"),
        ("decompression bomb", "bad-5", bomb_png(), "image/png", 413, "frame_too_large"),
        ("malformed session id", "bad%20session!", b"x", "image/jpeg", 400,
         "invalid_session_id"),
        ("over-long session id", "s" * 129, b"x", "image/jpeg", 400, "invalid_session_id"),
    ],
)
def test_bad_uploads_get_a_clear_json_error(sidecar, webcam_jpeg, what, sid, data, ctype,
                                            status, code):
    if data == "TRUNCATED":
        data = webcam_jpeg[: len(webcam_jpeg) // 2]
    headers = {"Content-Type": ctype}
    if len(sid) <= 128 and " " not in sid and "%" not in sid:
        headers = auth(sid, **headers)
    got, _, body = sidecar.request("POST", f"/api/sessions/{sid}/frames", data, headers)
    assert (got, body["error"]["code"]) == (status, code), f"{what}: {body}"
    assert body["error"]["message"]


def test_a_50_mb_upload_is_refused_without_reading_it(sidecar, webcam_jpeg):
    url = urlparse(sidecar.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as conn:
        conn.sendall(b"POST /api/sessions/big-1/frames HTTP/1.1\r\nHost: x\r\n"
                     b"Authorization: Bearer " + session_token("big-1").encode() + b"\r\n"
                     b"Content-Type: image/jpeg\r\nContent-Length: 52428800\r\n\r\n")
        conn.sendall(b"\xff\xd8\xff" + b"\0" * 65536)
        answer = conn.recv(4096).decode(errors="replace")
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert "frame_too_large" in answer
    assert sidecar.post_frame("big-2", webcam_jpeg)[0] == 200  # still serving


def test_a_client_that_disconnects_mid_frame_does_not_hurt_others(sidecar, webcam_jpeg):
    url = urlparse(sidecar.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as conn:
        conn.sendall(b"POST /api/sessions/gone-1/frames HTTP/1.1\r\nHost: x\r\n"
                     b"Authorization: Bearer " + session_token("gone-1").encode() + b"\r\n"
                     b"Content-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(webcam_jpeg))
        conn.sendall(webcam_jpeg[:1000])
    status, _, body = sidecar.post_frame("gone-2", webcam_jpeg)
    assert status == 200 and body["face_present"] is True


def test_more_than_10_frames_per_second_get_429(sidecar, webcam_jpeg):
    statuses = [sidecar.post_frame("fast-1", webcam_jpeg)[:2] for _ in range(6)]
    codes = [s for s, _ in statuses]
    assert codes[0] == 200 and 429 in codes, codes
    assert any(h.get("Retry-After") for s, h in statuses if s == 429)
    assert sidecar.post_frame("fast-2", webcam_jpeg)[0] == 200  # other sessions unaffected


def test_emotion_history_and_delete(sidecar, redis_client, webcam_jpeg):
    sid = "hist-1"
    token = auth(sid)
    assert sidecar.request("GET", f"/api/sessions/{sid}/emotion", headers=token)[0] == 404
    for _ in range(3):
        assert sidecar.post_frame(sid, webcam_jpeg)[0] == 200
        time.sleep(0.12)
    status, _, latest = sidecar.request("GET", f"/api/sessions/{sid}/emotion", headers=token)
    assert status == 200 and latest["face_present"] is True and set(LABELS) <= set(latest)

    _, _, history = sidecar.request("GET", f"/api/sessions/{sid}/history", headers=token)
    entries = history["entries"]
    assert len(entries) == 3 and entries[0]["ts"] <= entries[-1]["ts"]
    _, _, after = sidecar.request("GET", f"/api/sessions/{sid}/history?since={entries[0]['id']}",
                                  headers=token)
    assert [e["id"] for e in after["entries"]] == [e["id"] for e in entries[1:]]
    assert sidecar.request("GET", f"/api/sessions/{sid}/history?since=yesterday",
                           headers=token)[0] == 400

    redis_client.xadd(schema.session_chat(sid), {"sentiment": "0.5"})
    status, _, deleted = sidecar.request("DELETE", f"/api/sessions/{sid}", headers=token)
    assert status == 200
    assert sorted(deleted["removed"]) == sorted([schema.session_emotion(sid),
                                                 schema.session_history(sid),
                                                 schema.session_chat(sid)])
    assert not any(redis_client.exists(k) for k in schema.session_keys(sid))
    assert sidecar.request("GET", f"/api/sessions/{sid}/emotion", headers=token)[0] == 410


def test_the_api_allows_the_configured_origins_only(sidecar):
    own = sidecar.url.replace("127.0.0.1", "localhost")
    _, head, _ = sidecar.request("GET", "/api/sessions/cors-1/history",
                                 headers=auth("cors-1", Origin=own))
    assert head.get("Access-Control-Allow-Origin") == own
    status, head, _ = sidecar.request("OPTIONS", "/api/sessions/cors-1/frames",
                                      headers={"Origin": sidecar.url,
                                               "Access-Control-Request-Method": "POST"})
    assert status == 204 and "POST" in head.get("Access-Control-Allow-Methods", "")
    assert "Authorization" in head.get("Access-Control-Allow-Headers", "")
    for other in ("https://evil.example", "http://localhost:5173"):
        _, head, _ = sidecar.request("GET", "/api/sessions/cors-1/history",
                                     headers=auth("cors-1", Origin=other))
        assert "Access-Control-Allow-Origin" not in head, other


async def _ws_session(url: str, frames: list, interval: float, sid: str,
                      lockstep: bool = False) -> list:
    """Send `frames` on one authenticated socket, `interval` s apart, and collect one reply
    each. With `lockstep`, each frame waits for the previous frame's reply first, so nothing is
    ever replaced by a newer frame however slow the machine (the latest-wins case is the
    zero-interval test's)."""
    replies: list = []
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.send_json({"type": "auth", "token": session_token(sid)})
        ready = await ws.receive_json(timeout=10)
        assert ready["type"] == "ready" and ready["session_id"] == sid, ready

        async def reader():
            async for msg in ws:
                replies.append(msg.json())
                if len(replies) == len(frames):
                    return

        task = asyncio.create_task(reader())
        for sent, frame in enumerate(frames, start=1):
            if isinstance(frame, str):
                await ws.send_str(frame)
            else:
                await ws.send_bytes(frame)
            while lockstep and len(replies) < sent and not task.done():
                await asyncio.sleep(0.01)
            await asyncio.sleep(interval)
        await asyncio.wait_for(task, 20)
    return replies


def test_websocket_frames_get_one_reply_each(sidecar, webcam_jpeg):
    url = sidecar.url.replace("http", "ws") + "/ws/frames"
    replies = asyncio.run(_ws_session(url, [webcam_jpeg] * 8, 0.11, "ws-1", lockstep=True))
    assert sorted(r["seq"] for r in replies) == list(range(1, 9))
    assert all(not r.get("dropped") for r in replies), replies
    assert all(r["face_present"] and r["dominant"] == "happy" for r in replies)


def test_websocket_frames_over_the_rate_are_dropped_latest_wins(sidecar, webcam_jpeg):
    url = sidecar.url.replace("http", "ws") + "/ws/frames"
    replies = asyncio.run(_ws_session(url, [webcam_jpeg] * 20, 0.0, "ws-2"))
    assert sorted(r["seq"] for r in replies) == list(range(1, 21))  # every frame answered
    dropped = [r["seq"] for r in replies if r.get("dropped")]
    processed = [r["seq"] for r in replies if not r.get("dropped")]
    assert dropped and 20 in processed, (dropped, processed)  # the latest one always wins
    assert len(processed) <= 5


def test_websocket_text_messages_and_bad_frames_get_errors(sidecar, webcam_jpeg):
    url = sidecar.url.replace("http", "ws") + "/ws/frames"
    replies = asyncio.run(_ws_session(url, ["hello", b"not an image", webcam_jpeg], 0.15,
                                      "ws-3"))
    assert replies[0]["error"]["code"] == "bad_frame"
    bad = next(r for r in replies if r.get("seq") == 1)
    assert bad["error"]["code"] == "unsupported_media_type"
    good = next(r for r in replies if r.get("seq") == 2)
    assert good["face_present"] is True
