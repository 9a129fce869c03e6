"""Aspect attribution with the application served in process on a real Redis: frames sent with
the product video's state land in the history with it, a smiling face during a chapter moves
that chapter's tags (and no other's), a paused video, an empty frame or a deleted session teach
nothing, and deletion removes the chapter counts."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from emotical_shared import redis_schema as schema
from tests.vision.sidecar.helpers import FixedBackend, call, in_process
from vision_sidecar import samples
from vision_sidecar.settings import Settings

FACE = samples.jpeg(samples.webcam_frame())
EMPTY = samples.jpeg(np.full((480, 640, 3), 96, dtype=np.uint8))  # nobody in view
#: shoe-01: chapter 0 (0-3 s) red, mesh; chapter 1 (3-6 s) sporty.
CATALOG = (Path(__file__).resolve().parents[2] / "fixtures" / "catalog-chapters" / "shoes.yml").read_text()


def _settings(redis_url: str, tmp_path: Path) -> Settings:
    (tmp_path / "catalog").mkdir(exist_ok=True)
    (tmp_path / "catalog" / "shoes.yml").write_text(CATALOG)
    # tau 0.01 s: the smoothed state follows the face at once, whatever the frames' spacing
    return Settings(redis_url=redis_url, workers=1, max_fps=1000.0, tau_s=0.01,
                    catalog_path=tmp_path / "catalog", videos_dir=tmp_path / "videos")


async def _session(client: TestClient) -> Dict[str, Any]:
    status, _, body = await call(client, "POST", "/api/sessions", b'{"product_id": "shoe-01"}')
    assert status == 201, body
    return body


async def _watch(client: TestClient, session: Dict[str, Any],
                 frames: List[tuple], delete_before_close: bool = False) -> List[dict]:
    """Send (frame, stamp or None) pairs over one socket, each after the previous reply."""
    replies = []
    async with client.ws_connect("/ws/frames") as sock:
        await sock.send_json({"type": "auth", "token": session["session_token"]})
        assert (await sock.receive_json(timeout=10))["type"] == "ready"
        for frame, stamp in frames:
            if stamp is not None:
                await sock.send_str(json.dumps({"type": "video", **stamp}))
            await sock.send_bytes(frame)
            msg = await sock.receive(timeout=10)
            assert msg.type == WSMsgType.TEXT, msg
            replies.append(msg.json())
            await asyncio.sleep(0.02)
        if delete_before_close:
            status, _, _ = await call(client, "DELETE", f"/api/sessions/{session['session_id']}",
                                      headers={"Authorization":
                                               f"Bearer {session['session_token']}"})
            assert status == 200
    await asyncio.sleep(0.2)  # the socket's close (and its chapter's learning) on the server
    return replies


def _run(redis_url: str, tmp_path: Path, plan: List[tuple],
         delete_before_close: bool = False) -> tuple:
    async def talk(client: TestClient) -> tuple:
        session = await _session(client)
        replies = await _watch(client, session, plan, delete_before_close)
        return session, replies

    return in_process(_settings(redis_url, tmp_path), FixedBackend("happy"), talk)


def _playing(t: float, playing: bool = True, ended: Optional[bool] = None) -> dict:
    return {"t": t, "playing": playing, **({} if ended is None else {"ended": ended})}


def test_a_smile_during_a_chapter_moves_its_tags_only(redis_url, redis_client, tmp_path):
    plan = [(FACE, _playing(0.2 + 0.3 * i)) for i in range(6)]  # chapter 1: red, mesh
    plan += [(FACE, _playing(3.2)), (FACE, _playing(3.5))]  # chapter 2, two frames: too few
    plan += [(FACE, None)]  # a frame without a stamp: no video fields, counts nowhere
    session, replies = _run(redis_url, tmp_path, plan)
    assert all(r["face_present"] and r["dominant"] == "happy" for r in replies), replies
    sid, uid = session["session_id"], session["shopper_id"]

    history = redis_client.xrange(schema.session_history(sid))
    assert len(history) == 9
    assert [f.get("video_t") for _, f in history] == [
        "0.200", "0.500", "0.800", "1.100", "1.400", "1.700", "3.200", "3.500", None]
    assert [f.get("playing") for _, f in history[:8]] == ["1"] * 8
    assert [f.get("chapter") for _, f in history] == ["0"] * 6 + ["1", "1", None]
    assert "video_t" not in redis_client.hgetall(schema.session_emotion(sid))

    counts = redis_client.hgetall(schema.session_chapters(sid))
    assert counts["0:frames"] == "6" and counts["0:face"] == "6" and counts["0:emo:happy"] == "6"
    assert float(counts["0:valence"]) > 6 * 0.5 and float(counts["0:learned"]) > 0.1
    assert counts["1:frames"] == "2" and float(counts["1:learned"]) == 0.0  # closed, unclear
    assert 0 < redis_client.ttl(schema.session_chapters(sid)) <= schema.SESSION_TTL_S

    tags = redis_client.hgetall(schema.shopper_tags(uid))
    assert set(tags) == {"red", "mesh"}, tags
    step = float(counts["0:learned"])
    assert abs(float(tags["red"]) - step) < 1e-5 and abs(float(tags["mesh"]) - step) < 1e-5
    assert step <= 0.15  # EMOTICAL_CHAPTER_LEARNING_RATE, scaled by confidence and face share
    assert redis_client.hgetall(schema.shopper_tag_counts(uid)) == {"red": "1.0", "mesh": "1.0"}


def test_a_paused_video_and_an_empty_frame_teach_nothing(redis_url, redis_client, tmp_path):
    paused = [(FACE, _playing(1.0, playing=False)) for _ in range(6)]
    session, _ = _run(redis_url, tmp_path, paused)
    sid, uid = session["session_id"], session["shopper_id"]
    assert [f["playing"] for _, f in redis_client.xrange(schema.session_history(sid))] == \
        ["0"] * 6
    assert redis_client.exists(schema.session_chapters(sid)) == 0
    assert redis_client.exists(schema.shopper_tags(uid)) == 0

    empty = [(EMPTY, _playing(0.3 * i)) for i in range(6)]
    session, replies = _run(redis_url, tmp_path, empty)
    sid, uid = session["session_id"], session["shopper_id"]
    assert not any(r["face_present"] for r in replies)
    counts = redis_client.hgetall(schema.session_chapters(sid))
    assert counts["0:frames"] == "6" and "0:face" not in counts and counts["0:learned"] == \
        "0.000000"
    assert redis_client.exists(schema.shopper_tags(uid)) == 0


def test_an_ended_video_closes_its_chapter_and_a_stale_stamp_counts_nowhere(
        redis_url, redis_client, tmp_path, monkeypatch):
    from vision_sidecar import chapters

    plan = [(FACE, _playing(3.1 + 0.3 * i)) for i in range(5)]
    plan += [(FACE, _playing(6.0, playing=False, ended=True))]
    session, _ = _run(redis_url, tmp_path, plan)
    counts = redis_client.hgetall(schema.session_chapters(session["session_id"]))
    assert counts["1:frames"] == "5" and float(counts["1:learned"]) > 0
    assert set(redis_client.hgetall(schema.shopper_tags(session["shopper_id"]))) == \
        {"sporty"}

    monkeypatch.setattr(chapters, "STAMP_MAX_AGE_S", -1.0)  # every stamp is too old
    session, _ = _run(redis_url, tmp_path, [(FACE, _playing(0.3 * i)) for i in range(6)])
    assert redis_client.exists(schema.session_chapters(session["session_id"])) == 0
    assert redis_client.exists(schema.shopper_tags(session["shopper_id"])) == 0


def test_a_deleted_session_learns_nothing_and_loses_its_counts(redis_url, redis_client,
                                                               tmp_path):
    assert schema.session_chapters("s-x") in schema.session_keys("s-x")
    plan = [(FACE, _playing(0.2 + 0.3 * i)) for i in range(6)]
    session, _ = _run(redis_url, tmp_path, plan, delete_before_close=True)
    assert redis_client.exists(schema.session_chapters(session["session_id"])) == 0
    assert redis_client.exists(schema.shopper_tags(session["shopper_id"])) == 0


def test_a_bad_video_stamp_is_answered_with_an_error(redis_url, tmp_path):
    async def talk(client: TestClient) -> List[dict]:
        session = await _session(client)
        out = []
        async with client.ws_connect("/ws/frames") as sock:
            await sock.send_json({"type": "auth", "token": session["session_token"]})
            await sock.receive_json(timeout=10)
            for bad in ({"type": "video", "t": -1, "playing": True},
                        {"type": "video", "t": 1, "playing": "yes"}, {"type": "other"}):
                await sock.send_json(bad)
                out.append(await sock.receive_json(timeout=10))
        return out

    answers = in_process(_settings(redis_url, tmp_path), FixedBackend(), talk)
    assert [a["error"]["code"] for a in answers] == ["bad_frame"] * 3, answers
