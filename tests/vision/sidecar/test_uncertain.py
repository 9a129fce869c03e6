"""The `uncertain` outcome: a face whose smoothed top probability is under
EMOTICAL_UNCERTAIN_BELOW is published as no confident reading (reply, Redis hash, history,
chapters), and the local model's probabilities are scaled by EMOTICAL_EXPRESSION_TEMPERATURE."""

from __future__ import annotations

import asyncio
from typing import Any, Sequence

import numpy as np
import pytest

from emotical_shared import redis_schema as schema
from emotical_shared.labels import LABEL_INDEX, LABELS, UNCERTAIN
from vision_sidecar import samples
from vision_sidecar.chapters import attribution
from vision_sidecar.expression.local import LocalOnnxBackend, scale_probs
from vision_sidecar.faces import make_detector
from vision_sidecar.report import parse_history_entry
from vision_sidecar.resources import open_pipeline
from vision_sidecar.settings import Settings, SettingsError


class SpreadBackend:
    """Reads every face as the same spread-out row: happy 0.42, sad 0.33, calm 0.25."""

    name = "spread"
    labels = ("happy", "sad", "calm")

    def classify(self, jobs: Sequence[Any]) -> np.ndarray:
        row = np.zeros(len(LABELS))
        row[[LABEL_INDEX["happy"], LABEL_INDEX["sad"], LABEL_INDEX["calm"]]] = 0.42, 0.33, 0.25
        return np.tile(row, (len(jobs), 1))


def _frames(redis_url: str, uncertain_below: float, sid: str) -> list:
    settings = Settings(redis_url=redis_url, workers=1, max_fps=1000.0,
                        uncertain_below=uncertain_below)
    frames = [samples.jpeg(samples.webcam_frame(dx=4 * i)) for i in range(3)]

    async def go() -> list:
        async with open_pipeline(settings, SpreadBackend()) as pipeline:
            session = pipeline.registry.get(sid)
            return [await pipeline.process(session, f) for f in frames]

    return asyncio.run(go())


def test_a_face_without_a_confident_label_is_published_as_uncertain(redis_url, redis_client):
    results = _frames(redis_url, 0.5, "s-unsure")
    assert all(r.face_present and r.uncertain and r.dominant == UNCERTAIN for r in results)
    reply = results[-1].to_json(3)
    assert reply["uncertain"] is True and reply["dominant"] == "uncertain"
    assert reply["probs"]["happy"] == pytest.approx(0.42)  # the reading itself stays visible
    stored = redis_client.hgetall(schema.session_emotion("s-unsure"))
    assert stored["dominant"] == "uncertain" and stored["uncertain"] == "1"
    assert stored["face_present"] == "1"
    entry_id, fields = redis_client.xrange(schema.session_history("s-unsure"))[-1]
    row = parse_history_entry(entry_id, fields)
    assert row["uncertain"] is True and row["face_present"] is True


def test_the_same_face_over_the_threshold_or_with_it_off_reads_as_its_label(redis_url,
                                                                             redis_client):
    results = _frames(redis_url, 0.4, "s-sure")
    assert all(not r.uncertain and r.dominant == "happy" for r in results)
    assert redis_client.hget(schema.session_emotion("s-sure"), "uncertain") == "0"
    off = _frames(redis_url, 0.0, "s-off")
    assert all(not r.uncertain and r.dominant == "happy" for r in off)


def test_an_uncertain_frame_counts_in_a_chapter_as_a_frame_without_a_face():
    from emotical_shared.chapters import Chapter
    from vision_sidecar.chapters import FrameVideo, VideoStamp

    chapter = Chapter(index=1, start=0.0, end=3.0, caption="the strap", tags=("leather",))
    video = FrameVideo(VideoStamp(t=1.0, playing=True, ended=False, received=0.0), chapter, True)
    base = {"happy": "0.42000", "valence": "0.30000", "face_present": "1"}
    _, sure = attribution(video, {**base, "dominant": "happy", "uncertain": "0"})
    _, unsure = attribution(video, {**base, "dominant": "uncertain", "uncertain": "1"})
    assert "1:face" in sure and "1:emo:happy" in sure
    assert unsure == ["1:frames", "1"]


def test_temperature_scaling_keeps_the_top_class_and_softens_above_one():
    probs = np.array([[0.7, 0.2, 0.1], [0.05, 0.9, 0.05]])
    assert scale_probs(probs, 1.0) is probs
    soft, sharp = scale_probs(probs, 2.0), scale_probs(probs, 0.5)
    assert np.allclose(soft.sum(axis=1), 1) and np.allclose(sharp.sum(axis=1), 1)
    assert (soft.argmax(axis=1) == probs.argmax(axis=1)).all()
    assert (soft.max(axis=1) < probs.max(axis=1)).all()
    assert (sharp.max(axis=1) > probs.max(axis=1)).all()
    # p^(1/T) renormalised is softmax(log p / T)
    logits = np.log(probs[0]) / 2.0
    assert soft[0] == pytest.approx(np.exp(logits) / np.exp(logits).sum())


def test_the_local_model_applies_its_temperature(fer_model_path):
    face = samples.astronaut_bgr()
    import cv2

    from native import kernels
    from vision_sidecar.expression.base import FACE_SIZE, FaceJob

    gray = cv2.cvtColor(face, cv2.COLOR_BGR2GRAY)
    box = make_detector("blazeface", fer_model_path.parent).detect(gray)[0]
    tensor = kernels.prepare_faces(gray, np.array([box], dtype=np.int32), FACE_SIZE)[0]
    plain = LocalOnnxBackend(fer_model_path).classify([FaceJob("s", tensor)])[0]
    warm = LocalOnnxBackend(fer_model_path, temperature=3.0).classify([FaceJob("s", tensor)])[0]
    assert plain.argmax() == warm.argmax() and warm.max() < plain.max()
    assert warm[LABEL_INDEX["confused"]] == 0.0  # a label the model cannot read stays 0


def test_the_thresholds_are_checked_at_start():
    s = Settings.from_env({"EMOTICAL_UNCERTAIN_BELOW": "0.6",
                           "EMOTICAL_EXPRESSION_TEMPERATURE": "1.5"})
    assert (s.uncertain_below, s.expression_temperature) == (0.6, 1.5)
    with pytest.raises(SettingsError, match="EMOTICAL_UNCERTAIN_BELOW"):
        Settings.from_env({"EMOTICAL_UNCERTAIN_BELOW": "1.2"})
    with pytest.raises(SettingsError, match="EMOTICAL_EXPRESSION_TEMPERATURE"):
        Settings.from_env({"EMOTICAL_EXPRESSION_TEMPERATURE": "0"})
