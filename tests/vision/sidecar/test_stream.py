"""Developer mode: a video file goes through the same pipeline into Redis."""

from __future__ import annotations

import os
import subprocess
import sys

import cv2

from emotical_shared import redis_schema as schema
from tests.vision.sidecar.helpers import ROOT
from vision_sidecar import samples


def write_video(path, count: int = 12) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (640, 480))
    assert writer.isOpened(), "OpenCV cannot write MJPG video here"
    for i in range(count):
        writer.write(samples.webcam_frame(dx=3 * i))
    writer.release()


def test_a_video_file_streams_into_the_session(tmp_path, redis_url, redis_client, model_path):
    video = tmp_path / "shopper.avi"
    write_video(video)
    env = dict(os.environ, PYTHONPATH=str(ROOT), REDIS_URL=redis_url, EMOTICAL_MAX_FPS="50")
    done = subprocess.run([sys.executable, "-m", "vision_sidecar.stream", "--source", str(video),
                           "--session", "dev-1"], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "12 frames of session dev-1 stored" in done.stdout
    assert redis_client.xlen(schema.session_history("dev-1")) == 12
    state = redis_client.hgetall(schema.session_emotion("dev-1"))
    assert state["face_present"] == "1" and state["dominant"] == "happy"


def test_a_missing_video_or_bad_session_says_so(tmp_path, redis_url):
    env = dict(os.environ, PYTHONPATH=str(ROOT), REDIS_URL=redis_url)
    for args, says in [(["--source", str(tmp_path / "nope.mp4"), "--session", "dev-2"],
                        "could not open video source"),
                       (["--source", "0", "--session", "bad id"], "invalid session id")]:
        done = subprocess.run([sys.executable, "-m", "vision_sidecar.stream", *args], env=env,
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and says in done.stderr, done.stderr
