"""Frames in worker processes (EMOTICAL_FRAME_PROCESSES): the same answers as the thread pool,
the session's tracking carried to the worker and back, bad frames refused with the same error."""

from __future__ import annotations

import asyncio
import dataclasses
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from emotical_shared import redis_schema as schema
from vision_sidecar import samples
from vision_sidecar.errors import UnsupportedMediaError
from vision_sidecar.resources import open_pipeline
from vision_sidecar.settings import Settings


def run_frames(redis_url: str, processes: bool) -> dict:
    settings = dataclasses.replace(Settings.from_env({}), redis_url=redis_url,
                                   frame_processes=processes)

    async def go() -> dict:
        async with open_pipeline(settings) as pipeline:
            session = pipeline.registry.get(f"s-worker-{int(processes)}")
            replies, tracked = [], []
            for i in range(7):
                result = await pipeline.process(session,
                                                samples.jpeg(samples.webcam_frame(dx=6 * i)))
                replies.append((result.face_present, result.dominant, result.box))
                tracked.append(session.track.since_detect)
            with pytest.raises(UnsupportedMediaError, match="not a JPEG or PNG"):
                await pipeline.process(session, b"not an image")
            return {"pool": type(pipeline.pool), "replies": replies, "tracked": tracked}

    return asyncio.run(go())


def test_worker_processes_answer_as_the_thread_pool_does(redis_url, redis_client):
    threads = run_frames(redis_url, processes=False)
    procs = run_frames(redis_url, processes=True)
    assert threads["pool"] is ThreadPoolExecutor and procs["pool"] is ProcessPoolExecutor
    assert procs["replies"] == threads["replies"]
    assert all(present and dominant == "happy" for present, dominant, _ in procs["replies"])
    # the template tracker ran in the worker between detections: its state came back
    assert procs["tracked"] == [0, 1, 2, 3, 4, 0, 1] == threads["tracked"]
    assert redis_client.xlen(schema.session_history("s-worker-1")) == 7
