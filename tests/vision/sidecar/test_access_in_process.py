"""Who may touch a session, with the application served in process on a real Redis: every
`{sid}` route wants that session's token, sessions are minted by the server, the WebSocket
authenticates and is capped, a deleted session stays deleted, pages carry the security headers."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Dict, List

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient

from emotical_shared import redis_schema as schema
from emotical_shared.tokens import SESSION, SHOPPER, Signer
from tests.vision.sidecar.helpers import (
    TEST_SIGNER,
    FixedBackend,
    auth,
    call,
    in_process,
    session_token,
)
from vision_sidecar import routes, samples, ws
from vision_sidecar.access import session_route
from vision_sidecar.settings import Settings

VICTIM, OTHER = "s-victim", "s-other"
FRAME = samples.jpeg(samples.webcam_frame())


def settings_for(redis_url: str, **overrides: Any) -> Settings:
    return Settings(redis_url=redis_url, **{"workers": 1, "max_fps": 1000.0, **overrides})


def session_paths(sid: str) -> List[tuple]:
    """(method, path) of every route in the table with `{sid}`, except the public shells."""
    return [(r.method, r.path.replace("{sid}", sid)) for r in routes.ROUTES
            if isinstance(r, web.RouteDef) and "{sid}" in r.path
            and r.path not in routes.PUBLIC_SHELLS]


def test_the_table_has_session_routes_to_check():
    methods = {m for m, _ in session_paths("x")}
    assert len(session_paths("x")) >= 5 and {"GET", "POST", "DELETE"} <= methods


def test_every_session_route_refuses_a_missing_forged_expired_or_other_sessions_token(
        redis_url, redis_client):
    redis_client.hset(schema.session_emotion(VICTIM), mapping={"dominant": "sad"})
    forged = Signer("another-secret-that-is-long-enough-000000").mint(SESSION, "u-x", VICTIM)
    expired = session_token(VICTIM, now=time.time() - 7200, ttl_s=60)
    tries = {"no token": ({}, 401), "forged": ({"Authorization": f"Bearer {forged}"}, 401),
             "expired": ({"Authorization": f"Bearer {expired}"}, 401),
             "not bearer": ({"Authorization": f"Basic {session_token(VICTIM)}"}, 401),
             "other session's token": (auth(OTHER), 403)}

    async def talk(client: TestClient) -> Dict[str, tuple]:
        out = {}
        for method, path in session_paths(VICTIM):
            for what, (headers, _) in tries.items():
                status, _, body = await call(client, method, path, FRAME if method == "POST"
                                             else None, {"Content-Type": "image/jpeg", **headers})
                out[f"{method} {path} with {what}"] = (status, body)
        return out

    answers = in_process(settings_for(redis_url), FixedBackend(), talk)
    for name, (status, body) in answers.items():
        expected = tries[name.rsplit(" with ", 1)[1]][1]
        assert status == expected, f"{name}: {status} {body}"
        assert body["error"]["code"] == ("unauthorized" if expected == 401 else "forbidden")
    assert redis_client.hgetall(schema.session_emotion(VICTIM)) == {"dominant": "sad"}
    assert redis_client.exists(schema.session_history(VICTIM)) == 0


def test_a_session_route_without_the_token_check_cannot_be_registered(monkeypatch):
    async def leaky(request: web.Request) -> web.Response:
        return web.json_response({})

    monkeypatch.setattr(routes, "ROUTES", [*routes.ROUTES,
                                           web.get("/api/sessions/{sid}/leak", leaky)])
    with pytest.raises(ValueError, match="leak"):
        routes.setup_routes(web.Application())
    guarded = session_route(lambda request, access: leaky(request))  # type: ignore[arg-type]
    assert routes.unguarded_session_routes([web.get("/api/sessions/{sid}/x", guarded)]) == []


def test_the_report_page_is_an_empty_shell(redis_url, redis_client):
    redis_client.hset(schema.session_emotion(VICTIM), mapping={"dominant": "sad"})
    redis_client.hset(schema.session_meta(VICTIM), mapping={"shopper_id": "u-victim"})

    async def talk(client: TestClient) -> tuple:
        return await call(client, "GET", f"/report/{VICTIM}")

    status, _, html = in_process(settings_for(redis_url), FixedBackend(), talk)
    assert status == 200 and html == (routes.STATIC_DIR / "report.html").read_text()
    assert VICTIM not in html and "u-victim" not in html and "sad" not in html


def test_sessions_are_minted_by_the_server_and_recorded(redis_url, redis_client):
    async def talk(client: TestClient) -> list:
        first = await call(client, "POST", "/api/sessions", b'{"product_id": "shoe-01"}')
        again = await call(client, "POST", "/api/sessions",
                           f'{{"shopper_token": "{first[2]["shopper_token"]}"}}'.encode())
        empty = await call(client, "POST", "/api/sessions")
        bad = await call(client, "POST", "/api/sessions", b'{"shopper_token": "v1.x.y"}')
        foreign = await call(client, "POST", "/api/sessions",
                             f'{{"shopper_token": "{first[2]["session_token"]}"}}'.encode())
        return [first, again, empty, bad, foreign]

    first, again, empty, bad, foreign = in_process(settings_for(redis_url), FixedBackend(), talk)
    body = first[2]
    assert first[0] == 201 and body["session_id"].startswith("s-") and \
        body["shopper_id"].startswith("u-") and len(body["session_id"]) > 20, body
    claims = TEST_SIGNER.verify(body["session_token"], SESSION)
    assert (claims.session_id, claims.shopper_id) == (body["session_id"], body["shopper_id"])
    assert TEST_SIGNER.verify(body["shopper_token"], SHOPPER).shopper_id == body["shopper_id"]
    assert abs(body["expires_at"] - (time.time() + 12 * 3600)) < 60
    assert again[0] == 201 and again[2]["shopper_id"] == body["shopper_id"]
    assert again[2]["session_id"] != body["session_id"]
    assert empty[0] == 201 and empty[2]["shopper_id"] != body["shopper_id"]
    assert bad[0] == 401 and bad[2]["error"]["code"] == "unauthorized"
    # a session token names the shopper too, so it proves them as well as a shopper token
    assert foreign[0] == 201 and foreign[2]["shopper_id"] == body["shopper_id"]
    meta = redis_client.hgetall(schema.session_meta(body["session_id"]))
    assert meta["shopper_id"] == body["shopper_id"] and meta["product_id"] == "shoe-01"
    assert 0 < redis_client.ttl(schema.session_meta(body["session_id"])) <= schema.SESSION_TTL_S
    sessions = schema.shopper_sessions(body["shopper_id"])
    assert redis_client.smembers(sessions) == {body["session_id"], again[2]["session_id"],
                                               foreign[2]["session_id"]}
    assert redis_client.ttl(sessions) > 179 * 24 * 3600


def test_new_sessions_per_client_and_minute_are_capped(redis_url):
    async def talk(client: TestClient) -> list:
        return [await call(client, "POST", "/api/sessions") for _ in range(5)]

    answers = in_process(settings_for(redis_url, sessions_per_minute=3), FixedBackend(), talk)
    assert [a[0] for a in answers] == [201, 201, 201, 429, 429]
    assert 1 <= int(answers[3][1]["Retry-After"]) <= 60
    assert answers[3][2]["error"]["code"] == "rate_limited"


async def _ws_auth(client: TestClient, message: Any, **kwargs: Any) -> tuple:
    """(first reply or None, close code) of a socket that sends `message` first."""
    async with client.ws_connect("/ws/frames", **kwargs) as sock:
        if message is not None:
            await sock.send_json(message) if not isinstance(message, str) else \
                await sock.send_str(message)
        msg = await sock.receive(timeout=10)
        first = msg.json() if msg.type == WSMsgType.TEXT else None
        if first is not None and first.get("type") == "ready":
            return first, None
        if msg.type not in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
            await sock.receive(timeout=10)
        return first, sock.close_code


def test_the_websocket_wants_an_auth_message_with_a_valid_token(redis_url, monkeypatch):
    monkeypatch.setattr(ws, "AUTH_TIMEOUT_S", 0.3)
    expired = session_token(VICTIM, now=time.time() - 7200, ttl_s=60)

    async def talk(client: TestClient) -> dict:
        return {
            "ready": await _ws_auth(client, {"type": "auth", "token": session_token(VICTIM)}),
            "silent": await _ws_auth(client, None),
            "binary first": await _ws_frame_first(client),
            "not json": await _ws_auth(client, "hello"),
            "no token": await _ws_auth(client, {"type": "auth"}),
            "expired": await _ws_auth(client, {"type": "auth", "token": expired}),
            "other session": await _ws_auth(client, {"type": "auth", "session_id": VICTIM,
                                                     "token": session_token(OTHER)}),
        }

    got = in_process(settings_for(redis_url), FixedBackend(), talk)
    assert got["ready"][0] == {"type": "ready", "session_id": VICTIM, "max_fps": 1000.0}
    for what in ("silent", "binary first", "not json", "no token", "expired"):
        assert got[what][1] == 4401, (what, got[what])
    assert got["other session"][1] == 4403


async def _ws_frame_first(client: TestClient) -> tuple:
    async with client.ws_connect("/ws/frames") as sock:
        await sock.send_bytes(FRAME)
        await sock.receive(timeout=10)
        return None, sock.close_code


def test_the_websocket_handshake_checks_origin_and_caps(redis_url):
    settings = settings_for(redis_url, port=8765, ws_per_client=2, allow_no_origin=False)

    async def talk(client: TestClient) -> dict:
        out: Dict[str, Any] = {}
        for name, origin in (("evil", "https://evil.example"), ("none", None),
                             ("other port", "http://127.0.0.1:9999")):
            status, _, body = await call(client, "GET", "/ws/frames", headers={
                "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                **({"Origin": origin} if origin else {})})
            out[name] = (status, body)
        own = "http://localhost:8765"
        first = await client.ws_connect("/ws/frames", origin=own)
        second = await client.ws_connect("/ws/frames", origin=own)
        status, _, body = await call(client, "GET", "/ws/frames", headers={
            "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Origin": own})
        out["third"] = (status, body)
        await first.close()
        await second.close()
        return out

    got = in_process(settings, FixedBackend(), talk)
    for name in ("evil", "none", "other port"):
        assert got[name][0] == 403 and got[name][1]["error"]["code"] == "forbidden_origin", got
    assert got["third"][0] == 503 and got["third"][1]["error"]["code"] == "busy"


def test_a_second_socket_of_a_session_is_refused_and_the_first_keeps_working(redis_url):
    async def talk(client: TestClient) -> tuple:
        token = {"type": "auth", "token": session_token(VICTIM)}
        async with client.ws_connect("/ws/frames") as first:
            await first.send_json(token)
            assert (await first.receive_json(timeout=10))["type"] == "ready"
            second = await _ws_auth(client, token)
            await first.send_bytes(FRAME)
            reply = await first.receive_json(timeout=10)
        return second, reply

    second, reply = in_process(settings_for(redis_url), FixedBackend(), talk)
    assert second[1] == 4409
    assert reply["seq"] == 1 and reply["stored"] is True


def test_late_frames_after_delete_recreate_nothing(redis_url, redis_client):
    """Frames stream over the WebSocket and over HTTP; the session is deleted mid-stream; frames
    in flight and new ones with the still-valid token land nowhere, and the client is told."""
    sid, uid = "s-late", "u-late"
    token = session_token(sid, uid)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg"}

    async def talk(client: TestClient) -> dict:
        sock = await client.ws_connect("/ws/frames")
        await sock.send_json({"type": "auth", "token": token})
        assert (await sock.receive_json(timeout=10))["type"] == "ready"
        stored = 0
        for _ in range(5):
            await sock.send_bytes(FRAME)
            reply = await sock.receive_json(timeout=10)
            stored += bool(reply.get("stored"))
        in_flight = [asyncio.ensure_future(call(client, "POST", f"/api/sessions/{sid}/frames",
                                                FRAME, headers)) for _ in range(3)]
        for _ in range(3):
            await sock.send_bytes(FRAME)
        deleted = await call(client, "DELETE", f"/api/sessions/{sid}", headers=headers)
        late = [await f for f in in_flight]
        closing = await sock.receive(timeout=10)
        while closing.type == WSMsgType.TEXT:
            closing = await sock.receive(timeout=10)
        new = [await call(client, "POST", f"/api/sessions/{sid}/frames", FRAME, headers)
               for _ in range(3)]
        reads = [await call(client, "GET", f"/api/sessions/{sid}/{what}", headers=headers)
                 for what in ("emotion", "history", "report")]
        again = await _ws_auth(client, {"type": "auth", "token": token})
        assert closing.type == WSMsgType.CLOSE, closing
        return {"stored": stored, "deleted": deleted, "late": late, "close": closing.data,
                "new": new, "reads": reads, "again": again}

    got = in_process(settings_for(redis_url), FixedBackend(), talk)
    assert got["stored"] == 5 and got["deleted"][0] == 200
    # in flight: stored before the delete (and deleted with it), refused after it, or over the
    # session's frame rate
    assert all(status in (200, 410, 429) for status, _, _ in got["late"]), got["late"]
    assert got["close"] == 4410
    assert [a[0] for a in got["new"]] == [410] * 3
    assert all(a[2]["error"]["code"] == "session_deleted" for a in got["new"] + got["reads"])
    assert got["again"][1] == 4410
    leftover = [k for k in schema.session_keys(sid) if redis_client.exists(k)]
    assert leftover == [], f"a late frame recreated {leftover}"
    assert redis_client.exists(schema.session_tombstone(sid))


class SlowBackend(FixedBackend):
    def classify(self, jobs: Any) -> Any:
        time.sleep(0.3)
        return super().classify(jobs)


def test_frames_over_the_global_in_flight_cap_get_503_busy(redis_url):
    async def talk(client: TestClient) -> list:
        posts = [call(client, "POST", f"/api/sessions/s-busy-{i}/frames", FRAME,
                      auth(f"s-busy-{i}", **{"Content-Type": "image/jpeg"})) for i in range(4)]
        return list(await asyncio.gather(*posts))

    answers = in_process(settings_for(redis_url, max_inflight_frames=2, workers=2),
                         SlowBackend(), talk)
    statuses = sorted(a[0] for a in answers)
    assert statuses == [200, 200, 503, 503], statuses
    busy = [a for a in answers if a[0] == 503]
    assert all(a[1]["Retry-After"] == "1" and a[2]["error"]["code"] == "busy" for a in busy)


def test_pages_send_the_csp_and_every_answer_nosniff(redis_url):
    settings = settings_for(redis_url, rasa_url="http://127.0.0.1:5999")

    async def talk(client: TestClient) -> list:
        return [await call(client, "GET", path) for path in
                ("/", f"/report/{VICTIM}", "/api/config", "/healthz", "/static/js/shop.js")]

    page, report_page, config, health, script = in_process(settings, FixedBackend(), talk)
    csp = ("default-src 'self'; script-src 'self'; connect-src 'self' http://127.0.0.1:5999 "
           "ws://127.0.0.1:5999; img-src 'self' data: blob:; media-src 'self' blob:; "
           "style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
    for answer in (page, report_page):
        assert answer[1]["Content-Security-Policy"] == csp
        assert answer[1]["Referrer-Policy"] == "no-referrer"
    for answer in (page, report_page, config, health, script):
        assert answer[1]["X-Content-Type-Options"] == "nosniff"
    assert config[2]["backend"] == "fixed"


def test_the_pages_have_no_inline_script_or_style_the_csp_would_block():
    import re

    for page in ("index.html", "report.html"):
        html = (routes.STATIC_DIR / page).read_text()
        inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=", html)
        assert inline == [], f"{page}: {inline}"


def test_the_config_names_the_backend_and_what_it_reads(redis_url, model_path):
    from vision_sidecar.expression.local import LocalOnnxBackend

    async def talk(client: TestClient) -> tuple:
        return await call(client, "GET", "/api/config")

    _, _, body = in_process(settings_for(redis_url), LocalOnnxBackend(model_path), talk)
    assert body["backend"] == "local" and "happy" in body["backend_labels"]
    assert body["backend_labels"] == list(LocalOnnxBackend.labels)  # the backend's own list
    assert "confused" not in body["backend_labels"]  # no local model reads it
    assert "no image leaves" in body["backend_description"]


def test_the_report_is_paged_and_shows_the_shoppers_profile(redis_url, redis_client):
    sid, uid = "s-paged", "u-paged"
    for i in range(5):
        redis_client.xadd(schema.session_history(sid), {"dominant": "happy", "valence": "0.5",
                                                        "face_present": "1", "happy": "1",
                                                        "ts": str(1000 + i)})
    redis_client.hset(schema.shopper_tags(uid), mapping={"running": "0.4", "red": "-0.2"})
    redis_client.sadd(schema.shopper_seen(uid), "shoe-01")
    headers = auth(sid, uid)

    async def talk(client: TestClient) -> list:
        first = await call(client, "GET", f"/api/sessions/{sid}/report?limit=2", headers=headers)
        pages, after = [first], first[2]["page"]["next"]
        for _ in range(5):
            if after is None:
                break
            pages.append(await call(client, "GET",
                                    f"/api/sessions/{sid}/report?limit=2&after={after}",
                                    headers=headers))
            after = pages[-1][2]["page"]["next"]
        bad = [await call(client, "GET", f"/api/sessions/{sid}/report?{q}", headers=headers)
               for q in ("limit=0", "limit=2001", "after=yesterday")]
        return [pages, bad]

    pages, bad = in_process(settings_for(redis_url), FixedBackend(), talk)
    rows = [len(p[2]["history"]) for p in pages]
    assert rows == [2, 2, 1] and pages[-1][2]["page"]["next"] is None, rows
    assert pages[0][2]["page"]["total"] == 5
    assert pages[0][2]["score"]["face_frames"] == 5  # the score covers the whole session
    assert pages[1][2]["score"] is None
    profile = pages[0][2]["profile"]
    assert profile["shopper_id"] == uid and profile["tags"] == {"red": -0.2, "running": 0.4}
    assert profile["seen_products"] == ["shoe-01"]
    assert [b[0] for b in bad] == [400, 400, 400]


def test_delete_my_data_removes_the_profile_and_every_session(redis_url, redis_client):
    async def talk(client: TestClient) -> tuple:
        first = (await call(client, "POST", "/api/sessions"))[2]
        second = (await call(client, "POST", "/api/sessions",
                             f'{{"shopper_token": "{first["shopper_token"]}"}}'.encode()))[2]
        other = (await call(client, "POST", "/api/sessions"))[2]
        for s in (first, second, other):
            status, _, _ = await call(client, "POST", f"/api/sessions/{s['session_id']}/frames",
                                      FRAME, {"Authorization": f"Bearer {s['session_token']}"})
            assert status == 200
        redis_client.hset(schema.shopper_tags(first["shopper_id"]), "running", "0.5")
        none = await call(client, "DELETE", "/api/shoppers/me")
        deleted = await call(client, "DELETE", "/api/shoppers/me",
                             headers={"Authorization": f"Bearer {first['shopper_token']}"})
        late = await call(client, "POST", f"/api/sessions/{second['session_id']}/frames", FRAME,
                          {"Authorization": f"Bearer {second['session_token']}"})
        return first, second, other, none, deleted, late

    first, second, other, none, deleted, late = in_process(settings_for(redis_url),
                                                           FixedBackend(), talk)
    assert none[0] == 401
    assert deleted[0] == 200 and set(deleted[2]["sessions"]) == {first["session_id"],
                                                                  second["session_id"]}
    assert late[0] == 410
    for s in (first, second):
        assert not any(redis_client.exists(k) for k in schema.session_keys(s["session_id"]))
        assert redis_client.exists(schema.session_tombstone(s["session_id"]))
    assert not any(redis_client.exists(k) for k in schema.shopper_keys(first["shopper_id"]))
    assert redis_client.exists(schema.session_emotion(other["session_id"])), \
        "another shopper's session was deleted too"
