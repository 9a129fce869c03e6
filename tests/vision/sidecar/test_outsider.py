"""An outsider against the real sidecar process and a real Redis.

A victim has a session with data and a profile. The outsider knows the victim's session and
shopper ids and has a valid session of their own; they try every door: each HTTP route with
no token, their own, a forged and an expired one; the WebSocket without auth, with their own
token and the victim's id wherever it fits, from another page's Origin; the report; DELETE;
"delete my data". Every door stays shut, and after each attempt Redis holds exactly the
victim's data as before. A flood of new sessions from one client is refused while honest
shoppers with sessions keep being served.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List

import aiohttp
import pytest
from aiohttp import web

from emotical_shared import redis_schema as schema
from emotical_shared.tokens import SESSION, SHOPPER, Signer
from tests.vision.sidecar.helpers import TEST_SIGNER, Sidecar, start_sidecar
from vision_sidecar import routes, samples

FRAME = samples.jpeg(samples.webcam_frame())
FORGER = Signer("the-outsiders-own-guess-at-a-secret-000000")
VICTIM_WORDS = "my order 4711 for 12 Elm Street never came"


@pytest.fixture(scope="module")
def victim(sidecar: Sidecar, redis_server: Any) -> Dict[str, Any]:
    """A shopper with a session holding frames, a chat message and a profile."""
    import redis

    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    who = sidecar.open_session({"product_id": "shoe-01"})
    for _ in range(3):
        status, _, body = sidecar.post_frame(who["session_id"], FRAME, token=who["session_token"])
        assert status == 200 and body["stored"], body
        time.sleep(0.12)
    client.xadd(schema.session_chat(who["session_id"]), {"ts": "1", "score": "-0.5"})
    # The conversation as the windowed tracker store (endpoints.yml) keeps it: a list of events
    # and one of marks, which the report reads.
    client.rpush(schema.session_tracker_events(who["session_id"]),
                 json.dumps({"event": "user", "text": VICTIM_WORDS, "timestamp": 1.0}),
                 json.dumps({"event": "bot", "text": "Sorry to hear that.", "timestamp": 1.1}))
    client.rpush(schema.session_tracker_marks(who["session_id"]), '{"at":2,"slots":{}}')
    client.hset(schema.shopper_tags(who["shopper_id"]), mapping={"running": "0.7"})
    client.sadd(schema.shopper_seen(who["shopper_id"]), "shoe-01")
    client.close()
    return who


@pytest.fixture()
def outsider(sidecar: Sidecar) -> Dict[str, Any]:
    return sidecar.open_session()


def snapshot(redis_server: Any, who: Dict[str, Any]) -> Dict[str, Any]:
    """Every value under the victim's keys (session and profile), as Redis holds it."""
    import redis

    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    out: Dict[str, Any] = {}
    keys = [*schema.session_keys(who["session_id"]), *schema.shopper_keys(who["shopper_id"]),
            schema.session_tombstone(who["session_id"])]
    for key in keys:
        kind = client.type(key)
        out[key] = {"hash": client.hgetall, "stream": client.xrange, "set": client.smembers,
                    "string": client.get, "list": lambda k: client.lrange(k, 0, -1),
                    "none": lambda k: None}[kind](key)
    client.close()
    assert out[schema.session_emotion(who["session_id"])], "the victim has no data to protect"
    assert out[schema.session_tracker_events(who["session_id"])], "the victim has no conversation"
    return out


def victim_paths(sid: str) -> List[tuple]:
    return [(r.method, r.path.replace("{sid}", sid)) for r in routes.ROUTES
            if isinstance(r, web.RouteDef) and "{sid}" in r.path
            and r.path not in routes.PUBLIC_SHELLS]


def test_every_http_door_of_the_victims_session_stays_shut(sidecar, redis_server, victim,
                                                           outsider):
    sid, uid = victim["session_id"], victim["shopper_id"]
    before = snapshot(redis_server, victim)
    tokens = {
        "no token": (None, 401),
        "own token": (outsider["session_token"], 403),
        "forged token": (FORGER.mint(SESSION, uid, sid), 401),
        "expired token": (TEST_SIGNER.mint(SESSION, uid, sid, ttl_s=60,
                                           now=time.time() - 3600), 401),
        "shopper token as session token": (outsider["shopper_token"], 401),
    }
    for method, path in victim_paths(sid):
        for what, (token, expected) in tokens.items():
            headers = {"Content-Type": "image/jpeg"}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            status, _, body = sidecar.request(method, path, FRAME if method == "POST" else None,
                                              headers)
            assert status == expected, f"{method} {path} with {what}: {status} {body}"
            assert "history" not in body and "removed" not in body, f"{what}: {body}"
            assert snapshot(redis_server, victim) == before, f"{method} {path} with {what}"


def test_the_outsiders_own_token_never_reaches_the_victims_data(sidecar, redis_server, victim,
                                                                 outsider):
    sid, uid = victim["session_id"], victim["shopper_id"]
    own = {"Authorization": f"Bearer {outsider['session_token']}"}
    before = snapshot(redis_server, victim)
    # the victim's id in the query, next to the outsider's own session: only their own data
    status, _, report = sidecar.request(
        "GET", f"/api/sessions/{outsider['session_id']}/report?session={sid}&shopper={uid}",
        headers=own)
    assert status == 200 and report["session_id"] == outsider["session_id"]
    assert sid not in json.dumps(report) and uid not in json.dumps(report)
    assert VICTIM_WORDS not in json.dumps(report) and report["conversation"] == []
    # ... while the victim's own token does read that conversation from the new keys
    status, _, theirs = sidecar.request(
        "GET", f"/api/sessions/{sid}/report",
        headers={"Authorization": f"Bearer {victim['session_token']}"})
    assert status == 200 and VICTIM_WORDS in json.dumps(theirs["conversation"]), theirs
    # the report page of the victim: an empty shell
    with urllib.request.urlopen(f"{sidecar.url}/report/{sid}", timeout=10) as page:
        html = page.read().decode()
    assert html == (routes.STATIC_DIR / "report.html").read_text() and sid not in html
    # a new session naming the victim's shopper id is not the victim's profile
    status, _, fresh = sidecar.request("POST", "/api/sessions", json.dumps(
        {"shopper_id": uid, "session_id": sid}).encode())
    assert status == 201 and fresh["shopper_id"] != uid and fresh["session_id"] != sid
    for token in (FORGER.mint(SHOPPER, uid),
                  TEST_SIGNER.mint(SHOPPER, uid, ttl_s=60, now=time.time() - 3600)):
        status, _, body = sidecar.request("POST", "/api/sessions",
                                          json.dumps({"shopper_token": token}).encode())
        assert status == 401 and body["error"]["code"] == "unauthorized", body
    assert snapshot(redis_server, victim) == before


def test_delete_my_data_deletes_only_the_token_holders_data(sidecar, redis_server, victim,
                                                            outsider):
    uid = victim["shopper_id"]
    before = snapshot(redis_server, victim)
    for what, token in (("no token", None), ("forged", FORGER.mint(SHOPPER, uid)),
                        ("expired", TEST_SIGNER.mint(SHOPPER, uid, ttl_s=60,
                                                     now=time.time() - 3600)),
                        ("garbage", "v1.e30.AAAA")):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        status, _, body = sidecar.request("DELETE", "/api/shoppers/me", headers=headers)
        assert status == 401, f"{what}: {status} {body}"
        assert snapshot(redis_server, victim) == before, what
    status, _, body = sidecar.request(
        "DELETE", "/api/shoppers/me",
        headers={"Authorization": f"Bearer {outsider['shopper_token']}"})
    assert status == 200 and body["sessions"] == [outsider["session_id"]], body
    assert snapshot(redis_server, victim) == before, "deleting one's own data touched the victim's"


async def _ws_try(url: str, first: Any, origin: str = "", frames: int = 0) -> Dict[str, Any]:
    """Open the socket, send `first`, then `frames` frames; what came back and the close code."""
    out: Dict[str, Any] = {"replies": [], "close": None, "status": None}
    headers = {"Origin": origin} if origin else {}
    async with aiohttp.ClientSession() as http:
        try:
            sock = await http.ws_connect(url, headers=headers)
        except aiohttp.WSServerHandshakeError as exc:
            out["status"] = exc.status
            return out
        async with sock:
            if isinstance(first, (bytes, str)):
                await (sock.send_bytes(first) if isinstance(first, bytes)
                       else sock.send_str(first))
            elif first is not None:
                await sock.send_json(first)
            deadline = time.monotonic() + 10
            sent = 0
            while time.monotonic() < deadline:
                msg = await sock.receive(timeout=10)
                if msg.type == aiohttp.WSMsgType.CLOSE:
                    out["close"] = msg.data
                    break
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                out["replies"].append(msg.json())
                if sent < frames:
                    await asyncio.sleep(0.12)
                    await sock.send_bytes(FRAME)
                    sent += 1
                elif len(out["replies"]) > frames:
                    break
    return out


def test_the_websocket_lets_the_outsider_near_nothing_of_the_victims(sidecar, redis_server,
                                                                     victim, outsider):
    sid, uid = victim["session_id"], victim["shopper_id"]
    base = sidecar.url.replace("http", "ws") + "/ws/frames"
    own = outsider["session_token"]
    before = snapshot(redis_server, victim)
    tries = {
        "a frame instead of auth": (base, FRAME, "", 4401),
        "no token": (base, {"type": "auth"}, "", 4401),
        "the victim's id as token": (base, {"type": "auth", "token": sid}, "", 4401),
        "forged": (base, {"type": "auth", "token": FORGER.mint(SESSION, uid, sid)}, "", 4401),
        "expired": (base, {"type": "auth", "token": TEST_SIGNER.mint(
            SESSION, uid, sid, ttl_s=60, now=time.time() - 3600)}, "", 4401),
        "own token naming the victim": (base, {"type": "auth", "token": own,
                                               "session_id": sid}, "", 4403),
    }
    for what, (url, first, origin, code) in tries.items():
        got = asyncio.run(_ws_try(url, first, origin))
        assert got["close"] == code, f"{what}: {got}"
        assert snapshot(redis_server, victim) == before, what
    evil = asyncio.run(_ws_try(base, {"type": "auth", "token": own},
                               origin="https://evil.example"))
    assert evil["status"] == 403, evil
    # own token with the victim's id in the URL: the socket serves the outsider's session only
    got = asyncio.run(_ws_try(f"{base}?session={sid}&shopper={uid}",
                              {"type": "auth", "token": own}, frames=2))
    assert got["replies"][0] == {"type": "ready", "session_id": outsider["session_id"],
                                 "max_fps": 10.0}, got
    assert any(r.get("stored") for r in got["replies"][1:]), got
    assert snapshot(redis_server, victim) == before, "the outsider's frames reached the victim"


@pytest.fixture()
def small_sidecar(redis_server: Any, model_path: Path, tmp_path: Path) -> Iterator[Sidecar]:
    proc = start_sidecar(redis_server.url, tmp_path / "sidecar.log",
                         EMOTICAL_SESSIONS_PER_MINUTE="15", EMOTICAL_WS_PER_CLIENT="12")
    yield proc
    proc.stop()


def test_a_flood_of_new_sessions_is_refused_while_shoppers_keep_being_served(small_sidecar):
    """500 `POST /api/sessions` from one client (loopback: every client has this address, so
    the limit is set to 15 here and the 10 honest shoppers open their sessions first)."""
    base = small_sidecar.url
    honest = [small_sidecar.open_session() for _ in range(10)]

    async def shopper(http: aiohttp.ClientSession, who: Dict[str, Any], stop: float) -> int:
        served = 0
        async with http.ws_connect(base.replace("http", "ws") + "/ws/frames") as sock:
            await sock.send_json({"type": "auth", "token": who["session_token"]})
            assert (await sock.receive_json(timeout=10))["type"] == "ready"
            for _ in range(200):  # bounded: 200 frames or until the flood is over
                if time.monotonic() > stop:
                    break
                await sock.send_bytes(FRAME)
                reply = await sock.receive_json(timeout=10)
                served += bool(reply.get("stored"))
                await asyncio.sleep(0.2)
        return served

    async def flood(http: aiohttp.ClientSession) -> List[int]:
        statuses: List[int] = []

        async def one() -> None:
            async with http.post(base + "/api/sessions") as r:
                statuses.append(r.status)

        for _ in range(10):  # 500 requests, 50 at a time
            await asyncio.gather(*(one() for _ in range(50)))
        return statuses

    async def run() -> tuple:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
            stop = time.monotonic() + 6
            results = await asyncio.wait_for(asyncio.gather(
                flood(http), *(shopper(http, who, stop) for who in honest)), 90)
        return results[0], results[1:]

    statuses, served = asyncio.run(run())
    assert len(statuses) == 500
    assert statuses.count(201) <= 5 and statuses.count(429) >= 495, \
        {s: statuses.count(s) for s in set(statuses)}
    assert all(n >= 10 for n in served), f"honest shoppers starved during the flood: {served}"
