"""HTTP frames with the product video's time (`?video_t=&playing=`), on a real Redis: the
history entry holds it, a frame inside a chapter counts for that chapter (and its end teaches its
tags), and bad values are a 400 `bad_frame` that changes nothing in Redis."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

from aiohttp.test_utils import TestClient

from emotical_shared import redis_schema as schema
from tests.vision.sidecar.helpers import FixedBackend, call, in_process
from tests.vision.sidecar.test_chapters_in_process import FACE, _session, _settings


async def _post(client: TestClient, session: Dict[str, Any], query: str) -> tuple:
    status, _, body = await call(
        client, "POST", f"/api/sessions/{session['session_id']}/frames?{query}", FACE,
        headers={"Authorization": f"Bearer {session['session_token']}",
                 "Content-Type": "image/jpeg"})
    return status, body


def _run(redis_url: str, tmp_path: Path, queries: List[str]) -> tuple:
    async def talk(client: TestClient) -> tuple:
        session = await _session(client)
        return session, [await _post(client, session, q) for q in queries]

    return in_process(_settings(redis_url, tmp_path), FixedBackend("happy"), talk)


def test_http_frames_in_a_chapter_count_for_it_and_teach_its_tags(redis_url, redis_client,
                                                                  tmp_path):
    queries = [f"video_t={0.2 + 0.3 * i:.1f}&playing=true" for i in range(6)]  # chapter 0
    queries += ["video_t=3.2&playing=false", "video_t=3.5&playing=true", ""]
    session, replies = _run(redis_url, tmp_path, queries)
    assert [s for s, _ in replies] == [200] * 9, replies
    sid, uid = session["session_id"], session["shopper_id"]
    history = redis_client.xrange(schema.session_history(sid))
    assert [f.get("video_t") for _, f in history] == [
        "0.200", "0.500", "0.800", "1.100", "1.400", "1.700", "3.200", "3.500", None]
    assert [f.get("playing") for _, f in history] == ["1"] * 6 + ["0", "1", None]
    assert [f.get("chapter") for _, f in history] == ["0"] * 6 + ["1", "1", None]
    counts = redis_client.hgetall(schema.session_chapters(sid))
    assert counts["0:frames"] == "6" and counts["0:emo:happy"] == "6"
    assert counts["1:frames"] == "1"  # the paused frame counts nowhere
    assert float(counts["0:learned"]) > 0.1  # chapter 0 ended when chapter 1 began
    assert set(redis_client.hgetall(schema.shopper_tags(uid))) == {"red", "mesh"}


def test_bad_video_values_are_a_400_and_change_nothing(redis_url, redis_client, tmp_path):
    bad = ["video_t=abc&playing=true", "video_t=-1&playing=true", "video_t=nan&playing=true",
           "video_t=1e9&playing=true", "video_t=inf&playing=true", "video_t=1&playing=yes",
           "video_t=1", "playing=true", "video_t=1&playing=true&ended=1"]
    session, replies = _run(redis_url, tmp_path, bad)
    for query, (status, body) in zip(bad, replies, strict=True):
        assert status == 400 and body["error"]["code"] == "bad_frame", (query, body)
        assert "video" in body["error"]["message"], (query, body)
    sid = session["session_id"]
    assert redis_client.xlen(schema.session_history(sid)) == 0
    assert not redis_client.exists(schema.session_chapters(sid))
    assert not redis_client.exists(schema.session_emotion(sid))
