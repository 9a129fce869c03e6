"""Frames in worker processes (EMOTICAL_FRAME_PROCESSES, `frame_worker.WorkerPool`): the same
answers as the thread pool, the session's tracking carried to the worker and back, bad frames
refused with the same error, a frame to the least-queued worker, a dead or stuck worker's
frames answered busy and the worker started again."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import pickle
import signal
from concurrent.futures import Future

import numpy as np
import pytest

from emotical_shared import redis_schema as schema
from vision_sidecar import frame_worker, samples
from vision_sidecar.errors import BusyError, UnsupportedMediaError
from vision_sidecar.faces import TrackState
from vision_sidecar.pipeline import Analysis
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
            pids = pipeline.workers.pids if pipeline.workers else []
            return {"workers": pipeline.workers is not None, "pids": pids,
                    "replies": replies, "tracked": tracked}

    return asyncio.run(go())


def test_worker_processes_answer_as_the_thread_pool_does(redis_url, redis_client):
    threads = run_frames(redis_url, processes=False)
    procs = run_frames(redis_url, processes=True)
    assert not threads["workers"] and procs["workers"]
    assert len(procs["pids"]) == Settings.from_env({}).workers
    assert os.getpid() not in procs["pids"]
    assert procs["replies"] == threads["replies"]
    assert all(present and dominant == "happy" for present, dominant, _ in procs["replies"])
    # the template tracker ran in the worker between detections: its state came back
    assert procs["tracked"] == [0, 1, 2, 3, 4, 0, 1] == threads["tracked"]
    assert redis_client.xlen(schema.session_history("s-worker-1")) == 7
    for pid in procs["pids"]:  # closing the pool ended its processes
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_frame_goes_to_the_worker_with_the_fewest_queued_and_a_dead_one_restarts(
        monkeypatch):
    monkeypatch.setattr(frame_worker, "RESTART_S", 0.05)
    frame = samples.jpeg(samples.webcam_frame())

    async def go() -> dict:
        pool = await frame_worker.WorkerPool(Settings.from_env({}), 2).start()
        try:
            first = [asyncio.ensure_future(pool.run(f"s-{i}", TrackState(), frame, False))
                     for i in range(3)]
            await asyncio.sleep(0)
            spread = pool.queued()
            await asyncio.gather(*first)
            victim = pool.workers[0]
            assert victim is not None
            doomed = asyncio.ensure_future(pool.run("s-doomed", TrackState(), frame, False))
            await asyncio.sleep(0)
            os.kill(victim.pid, signal.SIGKILL)
            with pytest.raises(BusyError, match="frame worker stopped"):
                await doomed
            # meanwhile the other worker takes every frame
            survivor = await pool.run("s-after", TrackState(), frame, False)
            for _ in range(600):
                if len(pool.pids) == 2:
                    break
                await asyncio.sleep(0.05)
            restarted = pool.pids
            again = await asyncio.gather(*(pool.run(f"s-{i}", TrackState(), frame, False)
                                           for i in range(4)))
            return {"spread": spread, "victim": victim.pid, "restarted": restarted,
                    "survivor": survivor, "again": again, "deaths": pool.deaths}
        finally:
            await pool.close()

    got = asyncio.run(go())
    assert sorted(got["spread"]) == [1, 2]  # three frames: two to one worker, one to the other
    assert got["survivor"][0].box is not None
    assert got["deaths"] == [1, 0]
    assert len(got["restarted"]) == 2 and got["victim"] not in got["restarted"]
    assert all(analysis.box is not None for analysis, _, _ in got["again"])


def test_a_stuck_worker_is_killed_and_started_again(monkeypatch):
    """A worker that stops answering (SIGSTOP) fails its frame as busy after FRAME_TIMEOUT_S
    and is replaced."""
    monkeypatch.setattr(frame_worker, "FRAME_TIMEOUT_S", 0.5)
    monkeypatch.setattr(frame_worker, "WATCH_S", 0.1)
    monkeypatch.setattr(frame_worker, "RESTART_S", 0.05)
    frame = samples.jpeg(samples.webcam_frame())

    async def go() -> tuple:
        pool = await frame_worker.WorkerPool(Settings.from_env({}), 1).start()
        try:
            stuck = pool.pids[0]
            os.kill(stuck, signal.SIGSTOP)
            with pytest.raises(BusyError, match="frame worker stopped"):
                await pool.run("s-stuck", TrackState(), frame, False)
            for _ in range(600):
                if pool.pids:
                    break
                await asyncio.sleep(0.05)
            analysis, _, _ = await pool.run("s-again", TrackState(), frame, False)
            return stuck, pool.pids, analysis
        finally:
            await pool.close()

    stuck, pids, analysis = asyncio.run(go())
    assert len(pids) == 1 and pids[0] != stuck and analysis.box is not None


def test_a_worker_pool_without_live_workers_answers_busy():
    pool = frame_worker.WorkerPool(Settings.from_env({}), 2)  # never started

    async def go() -> None:
        await pool.run("s-x", TrackState(), b"", False)

    with pytest.raises(BusyError, match="no frame worker"):
        asyncio.run(go())


def test_an_error_that_cannot_travel_comes_back_as_its_text(monkeypatch):
    class UnpicklableError(Exception):
        def __reduce__(self):
            raise TypeError("not picklable")

    def boom(*args):
        raise UnpicklableError("the kernel said no")

    monkeypatch.setattr(frame_worker, "analyse_and_classify", boom)
    job, status, exc = __import__("pickle").loads(frame_worker.answer(7, ())[4:])
    assert (job, status) == (7, "error")
    assert isinstance(exc, RuntimeError) and str(exc) == "UnpicklableError: the kernel said no"


def test_the_wire_form_carries_every_field_of_the_track_and_the_analysis():
    """What travels between the loop and a worker is plain values (no class or NumPy array is
    pickled), and it gives back every field of the track, the analysis and the probabilities;
    a TrackState or Analysis field added later fails here until the wire form carries it."""
    assert {f.name for f in dataclasses.fields(TrackState)} == {
        "box", "template", "template_scale", "since_detect", "search_countdown", "misses",
        "search", "faces"}
    assert {f.name for f in dataclasses.fields(Analysis)} == {
        "faces", "box", "tensor", "scale", "timings", "crop"}
    frame_worker.init(Settings.from_env({}))
    track = TrackState()
    for i, read in enumerate([True, False, True]):  # detection, then the template tracker
        analysis, probs, track = frame_worker.analyse_and_classify(
            "s-wire", track, samples.jpeg(samples.webcam_frame(dx=5 * i)), False, read)
    assert track.template is not None and track.since_detect == 2 and analysis.box is not None
    track.search = Future()  # a background search stays in the sidecar
    wire = pickle.dumps(frame_worker.reply_to_wire(analysis, probs, track))
    assert b"numpy" not in wire and b"vision_sidecar" not in wire
    got, got_probs, got_track = frame_worker.reply_from_wire(pickle.loads(wire))
    assert got_track.search is None
    assert got_track.template.dtype == np.uint8 and got_track.template.flags.writeable
    assert np.array_equal(got_track.template, track.template)
    for name in ("box", "template_scale", "since_detect", "search_countdown", "misses", "faces"):
        assert getattr(got_track, name) == getattr(track, name), name
    for name in ("faces", "box", "scale", "timings", "crop"):
        assert getattr(got, name) == getattr(analysis, name), name
    assert got.tensor is not None and got.tensor.size == 0  # read: the model input stays there
    assert got_probs.dtype == np.float64 and np.array_equal(got_probs, probs)
    assert probs.sum() == pytest.approx(1.0)
    unread, _, _ = frame_worker.reply_from_wire(frame_worker.reply_to_wire(
        dataclasses.replace(analysis, tensor=None), probs * 0, TrackState()))
    assert unread.tensor is None
    fresh = frame_worker.track_from_wire(frame_worker.track_to_wire(TrackState()))
    assert fresh.template is None and fresh.box is None
