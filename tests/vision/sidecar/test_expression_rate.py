"""EMOTICAL_EXPRESSION_HZ: the expression model reads a session's face at most that often; the
frames in between are located and answered at once with the session's latest reading (its age
in `reading_age_s`), which they do not feed into the smoother again. Real frames of real faces
(the eval set's widget frames), the real face-api model, a real Redis."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
from typing import Dict, List, Sequence, Tuple

import numpy as np
import pytest

from emotical_shared import redis_schema as schema
from native import COL_LAST_TS, COL_WEIGHT
from vision_eval.dataset import load_bgr, moving_frames, read_manifest
from vision_sidecar import samples
from vision_sidecar.pipeline import FrameResult
from vision_sidecar.resources import open_pipeline
from vision_sidecar.sessions import ReadingClock
from vision_sidecar.settings import ROOT, Settings, SettingsError

T0 = 1_800_000_000.0  # frame times are the frames' own: any clock will do
Frame = Tuple[str, bytes, float]  # session id, JPEG, frame time


def face_frames(label: str, count: int = 6) -> List[bytes]:
    """Widget frames (320×240 JPEG) of the eval set's first face labelled `label`."""
    item = next(i for i in read_manifest() if i.label == label)
    return moving_frames(load_bgr(item), count)


def run(redis_url: str, frames: Sequence[Frame], processes: bool = False,
        **settings: object) -> Tuple[List[FrameResult], Dict[str, List[np.ndarray]]]:
    """Each frame through the sidecar's pipeline with its model (face-api): the replies, and
    per session its smoother row after each of its frames."""
    config = dataclasses.replace(Settings.from_env({}), redis_url=redis_url,
                                 frame_processes=processes, **settings)

    async def go() -> Tuple[List[FrameResult], Dict[str, List[np.ndarray]]]:
        rows: Dict[str, List[np.ndarray]] = {}
        replies = []
        async with open_pipeline(config) as pipeline:
            assert (pipeline.workers is not None) == processes
            for sid, data, ts in frames:
                session = pipeline.registry.get(sid)
                replies.append(await pipeline.process(session, data, ts=ts))
                rows.setdefault(sid, []).append(pipeline.registry.table[session.row].copy())
        return replies, rows

    return asyncio.run(go())


@pytest.fixture(scope="module")
def happy() -> List[bytes]:
    return face_frames("happy")


@pytest.fixture(scope="module")
def disgusted() -> List[bytes]:
    return face_frames("disgusted")


@pytest.mark.parametrize("processes", [False, True], ids=["threads", "worker-processes"])
def test_frames_between_readings_reuse_the_latest_one_and_a_new_one_follows_the_interval(
        redis_url, redis_client, happy, processes):
    sid = f"s-rate-{int(processes)}"
    times = [T0, T0 + 0.1, T0 + 0.196, T0 + 0.3, T0 + 0.4]  # 10 Hz, one tick 4 ms early
    replies, rows = run(redis_url, [(sid, happy[i], t) for i, t in enumerate(times)], processes)
    assert all(r.face_present and r.dominant == "happy" for r in replies)
    assert [r.reading_age_s for r in replies] == pytest.approx([0.0, 0.1, 0.0, 0.104, 0.0], abs=1e-6)
    row = rows[sid]
    # in between: answered with the state as it stood, nothing smoothed in, no confidence
    # counted a second time
    assert replies[1].probs == replies[0].probs and replies[1].valence == replies[0].valence
    assert np.array_equal(row[1], row[0]) and np.array_equal(row[3], row[2])
    # a reading: one smoothing step over the whole time since the last one
    assert row[2][COL_LAST_TS] == times[2] and row[4][COL_LAST_TS] == times[4]
    assert row[0][COL_WEIGHT] < row[2][COL_WEIGHT] < row[4][COL_WEIGHT]
    # every frame answered and stored, the in-between ones with their own time
    assert replies[1].stored and replies[1].to_json(2)["reading_age_s"] == 0.1
    history = redis_client.xrange(schema.session_history(sid))
    assert len(history) == 5
    assert float(history[1][1]["ts"]) == pytest.approx(times[1])


def test_two_sessions_keep_their_own_readings_and_schedules(redis_url, happy, disgusted):
    frames = [("s-rate-a", happy[0], T0), ("s-rate-b", disgusted[0], T0 + 0.05),
              ("s-rate-a", happy[1], T0 + 0.1), ("s-rate-b", disgusted[1], T0 + 0.15),
              ("s-rate-a", happy[2], T0 + 0.2), ("s-rate-b", disgusted[2], T0 + 0.25)]
    replies, _ = run(redis_url, frames)
    a, b = replies[0::2], replies[1::2]
    # b's first frame is read although a was read 50 ms before: each session its own clock
    assert [r.reading_age_s for r in a] == pytest.approx([0.0, 0.1, 0.0], abs=1e-6)
    assert [r.reading_age_s for r in b] == pytest.approx([0.0, 0.1, 0.0], abs=1e-6)
    # between readings each session answers with its own reading, never the other's
    assert all(r.dominant == "happy" for r in a) and all(r.dominant == "disgusted" for r in b)
    assert a[1].probs == a[0].probs and b[1].probs == b[0].probs != a[0].probs


def test_a_lost_face_and_a_deleted_session_are_read_again_at_once(redis_url, happy):
    # search_every=1: the face is searched for again in the next frames
    config = dataclasses.replace(Settings.from_env({}), redis_url=redis_url,
                                 frame_processes=False, search_every=1)
    no_face = samples.jpeg(samples.no_face_bgr())

    async def go() -> List[FrameResult]:
        async with open_pipeline(config) as pipeline:
            session = pipeline.registry.get("s-rate-lost")
            out = [await pipeline.process(session, happy[0], ts=T0),
                   await pipeline.process(session, no_face, ts=T0 + 0.01)]
            for k in range(2, 10):  # until the (background) search has found the face again
                back = await pipeline.process(session, happy[k % len(happy)], ts=T0 + 0.01 * k)
                if back.face_present:
                    break
            out.append(back)
            # what deleting a session does in the process (deletion.forget_in_process)
            assert pipeline.registry.drop("s-rate-lost")
            again = pipeline.registry.get("s-rate-lost")
            assert again.reading.read_ts is None
            out.append(await pipeline.process(again, happy[2], ts=T0 + 0.09))
            return out

    first, away, back, after_delete = asyncio.run(go())
    assert first.face_present and first.reading_age_s == 0.0
    assert not away.face_present and away.reading_age_s is None
    # both well within 200 ms of the first reading, but a face without a reading: read
    assert back.face_present and back.ts < T0 + 0.1
    assert back.reading_age_s == 0.0 and back.dominant == "happy"
    assert after_delete.face_present and after_delete.reading_age_s == 0.0
    assert after_delete.dominant == "happy"


@pytest.mark.parametrize("hz", [0.0, 10.0, 25.0])
def test_zero_or_at_least_the_frame_rate_reads_every_frame(redis_url, happy, hz):
    sid = f"s-rate-every-{hz:g}"
    times = [T0 + 0.1 * i for i in range(4)]
    replies, rows = run(redis_url, [(sid, happy[i], t) for i, t in enumerate(times)],
                        expression_hz=hz)
    assert [r.reading_age_s for r in replies] == [0.0] * 4
    weights = [row[COL_WEIGHT] for row in rows[sid]]
    assert weights == sorted(weights) and len(set(weights)) == 4  # each frame a reading


def test_the_reading_clock_keeps_to_the_rate_over_jittery_frames():
    rng = np.random.default_rng(3)
    for hz in (5.0, 4.0, 3.0, 9.0):
        clock = ReadingClock(interval=1 / hz, slack=0.05)
        reads = 0
        for k in range(600):  # a minute at 10 frames/s, each tick up to 4 ms late
            ts = T0 + 0.1 * k + rng.uniform(0, 0.004)
            if clock.due(ts):
                clock.read(ts)
                reads += 1
        # at most `hz` a second; a rate that does not divide the frame rate gets a little less
        assert 0.85 * 60 * hz <= reads <= 60 * hz + 1, hz
        if hz == 5.0:
            assert reads == 300  # every second frame
    clock = ReadingClock(interval=0.2, slack=0.05)
    clock.read(T0)
    assert not clock.due(T0 + 0.1) and clock.due(T0 - 5)  # a clock that went back: read


@pytest.mark.parametrize("value", ["-1", "fast", "nan", "inf"])
def test_a_bad_rate_stops_the_start_with_the_variable_named(value):
    with pytest.raises(SettingsError, match=rf"EMOTICAL_EXPRESSION_HZ='{value}' is not valid: "
                       r"expected readings per second, a number >= 0 \(0: every frame\)"):
        Settings.from_env({"EMOTICAL_EXPRESSION_HZ": value})


def test_the_rate_defaults_to_five_and_reads_as_an_interval():
    assert Settings.from_env({}).expression_hz == 5.0
    assert Settings.from_env({}).reading_interval_s == pytest.approx(0.2)
    assert Settings.from_env({"EMOTICAL_EXPRESSION_HZ": "2.5"}).reading_interval_s == 0.4
    assert Settings.from_env({"EMOTICAL_EXPRESSION_HZ": "0"}).reading_interval_s == 0.0
    assert Settings.from_env({"EMOTICAL_EXPRESSION_HZ": "12"}).reading_interval_s == 0.0


def test_the_sidecar_does_not_start_with_a_bad_rate():
    env = dict(os.environ, PYTHONPATH=str(ROOT), EMOTICAL_EXPRESSION_HZ="-2")
    done = subprocess.run([sys.executable, "-m", "vision_sidecar"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert ("vision sidecar: EMOTICAL_EXPRESSION_HZ='-2' is not valid: expected readings per "
            "second, a number >= 0 (0: every frame)") in done.stderr
