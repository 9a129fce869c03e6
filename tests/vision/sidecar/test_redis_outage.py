"""Redis stopped and restarted mid-stream: frames keep being answered, then land again."""

from __future__ import annotations

import time

from emotical_shared import redis_schema as schema
from emotical_shared.logs import id_tag
from tests.vision.sidecar.helpers import auth, start_sidecar


def test_frames_land_again_after_redis_comes_back(own_redis, model_path, tmp_path,
                                                  webcam_jpeg):
    import redis

    sidecar = start_sidecar(own_redis.url, tmp_path / "sidecar.log")
    try:
        assert sidecar.post_frame("outage-1", webcam_jpeg)[2]["stored"] is True
        own_redis.stop()
        time.sleep(0.15)
        started = time.monotonic()
        status, _, body = sidecar.post_frame("outage-1", webcam_jpeg)
        assert status == 200 and body["stored"] is False, body  # answered, not stored
        assert time.monotonic() - started < 5, "a stopped Redis must not stall frames"
        assert sidecar.request("GET", "/healthz")[0] == 503
        assert sidecar.request("GET", "/api/sessions/outage-1/emotion",
                               headers=auth("outage-1"))[2]["error"]["code"] \
            == "store_unavailable"
        assert "redis_write_failed" in sidecar.log() and id_tag("outage-1") in sidecar.log()
        assert "outage-1" not in sidecar.log(), "logs name sessions by tag, never by id"

        own_redis.start()  # same port, same data folder
        time.sleep(0.15)
        status, _, body = sidecar.post_frame("outage-1", webcam_jpeg)
        assert status == 200 and body["stored"] is True, body
        client = redis.Redis.from_url(own_redis.url, decode_responses=True)
        assert client.hget(schema.session_emotion("outage-1"), "face_present") == "1"
        assert client.xlen(schema.session_history("outage-1")) >= 2
        client.close()
        assert sidecar.request("GET", "/healthz")[0] == 200
    finally:
        sidecar.stop()


def test_a_bad_setting_stops_the_process_with_a_message_naming_it(tmp_path):
    import os
    import subprocess
    import sys

    from tests.vision.sidecar.helpers import ROOT

    env = dict(os.environ, PYTHONPATH=str(ROOT), EMOTICAL_SIDECAR_PORT="eighty")
    done = subprocess.run([sys.executable, "-m", "vision_sidecar"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "EMOTICAL_SIDECAR_PORT" in done.stderr and "eighty" in done.stderr

