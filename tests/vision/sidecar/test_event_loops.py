"""The sidecar serves on either event loop (EMOTICAL_EVENT_LOOP): uvloop by default, asyncio."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.vision.sidecar.helpers import session_token, start_sidecar


async def _one_ws_frame(url: str, sid: str, jpeg: bytes) -> dict:
    import aiohttp

    async with aiohttp.ClientSession() as client, client.ws_connect(
            url.replace("http", "ws") + "/ws/frames") as ws:
        await ws.send_str(json.dumps({"type": "auth", "token": session_token(sid)}))
        assert (await ws.receive_json(timeout=10))["type"] == "ready"
        await ws.send_bytes(jpeg)
        return await ws.receive_json(timeout=10)


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_the_sidecar_answers_frames_on_the_chosen_loop(loop, redis_server, model_path, tmp_path,
                                                       webcam_jpeg):
    sidecar = start_sidecar(redis_server.url, tmp_path / "sidecar.log",
                            EMOTICAL_EVENT_LOOP=loop, EMOTICAL_LOG_LEVEL="INFO")
    try:
        status, _, body = sidecar.post_frame(f"loop-{loop}-http", webcam_jpeg)
        assert status == 200 and body["face_present"] is True, body
        reply = asyncio.run(_one_ws_frame(sidecar.url, f"loop-{loop}-ws", webcam_jpeg))
        assert reply["seq"] == 1 and reply["face_present"] is True, reply
        assert "sidecar_ready" in sidecar.log() and f"loop='{loop}'" in sidecar.log()
    finally:
        sidecar.stop()
