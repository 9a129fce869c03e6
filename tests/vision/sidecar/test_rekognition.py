"""The Rekognition backend on botocore's Stubber (real response shape), with its fallbacks,
budgets, circuit breaker, own threads and the face crop it sends."""

from __future__ import annotations

import asyncio
import threading

import cv2
import numpy as np
import pytest

boto3 = pytest.importorskip("boto3")
from botocore.config import Config  # noqa: E402
from botocore.stub import Stubber  # noqa: E402

from emotical_shared.labels import LABEL_INDEX, LABELS  # noqa: E402
from emotical_shared.logs import id_tag  # noqa: E402
from stack.redis_server import free_port  # noqa: E402
from vision_sidecar.expression.base import FaceJob  # noqa: E402
from vision_sidecar.expression.local import FER7_LABELS  # noqa: E402
from vision_sidecar.expression.rekognition import (  # noqa: E402
    CLIENT_CONFIG,
    MIN_CROP_SIDE,
    RekognitionBackend,
    face_crop_jpeg,
)


class FixedLocal:
    """Stands in for the local model in these tests: always 'calm', so fallbacks are visible."""

    name = "local"
    labels = FER7_LABELS

    def classify(self, jobs):
        out = np.zeros((len(jobs), len(LABELS)), dtype=np.float32)
        out[:, LABEL_INDEX["calm"]] = 1.0
        return out


def client(**kwargs):
    return boto3.client("rekognition", region_name="eu-west-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing", **kwargs)


def detect_faces_answer(emotions, box=(0.3, 0.2, 0.3, 0.4)):
    """The shape AWS documents for DetectFaces with Attributes=['EMOTIONS']."""
    face = {
        "BoundingBox": {"Width": box[2], "Height": box[3], "Left": box[0], "Top": box[1]},
        "Emotions": [{"Type": t, "Confidence": c} for t, c in emotions.items()],
        "Confidence": 99.9,
    }
    return {"FaceDetails": [face], "ResponseMetadata": {"HTTPStatusCode": 200}}


JOB = FaceJob("shopper-1", np.zeros((1, 64, 64), np.float32), image=b"\xff\xd8\xffjpeg-bytes")
EXPECTED = {"Image": {"Bytes": JOB.image}, "Attributes": ["EMOTIONS"]}


def read(backend: RekognitionBackend, job: FaceJob = JOB) -> np.ndarray:
    """What the pipeline does with one face: the local reading, Rekognition's when it may ask."""
    local = backend.classify([job])[0]
    if not backend.wants(job.sid):
        return local
    remote = asyncio.run(backend.refine(job))
    return local if remote is None else remote


def test_rekognition_emotions_map_onto_the_eight_labels():
    rek = client()
    backend = RekognitionBackend(rek, FixedLocal(), per_minute=5)
    with Stubber(rek) as stub:
        stub.add_response("detect_faces", detect_faces_answer(
            {"HAPPY": 80.0, "SURPRISED": 10.0, "CALM": 5.0, "CONFUSED": 5.0, "UNKNOWN": 3.0}),
            EXPECTED)
        probs = read(backend)
        stub.assert_no_pending_responses()
    assert LABELS[int(np.argmax(probs))] == "happy"
    np.testing.assert_allclose(probs[LABEL_INDEX["happy"]], 0.8, atol=1e-6)
    np.testing.assert_allclose(probs[LABEL_INDEX["confused"]], 0.05, atol=1e-6)
    assert abs(probs.sum() - 1) < 1e-6


def test_each_backend_declares_the_labels_it_reads_and_only_rekognition_reads_confused(
        fer_model_path):
    from vision_sidecar.expression.local import LocalOnnxBackend

    local = LocalOnnxBackend(fer_model_path)
    assert "confused" not in local.labels and set(local.labels) == set(LABELS) - {"confused"}
    batch = np.random.default_rng(0).uniform(-1, 1, (8, 1, 64, 64)).astype(np.float32)
    probs = local.classify([FaceJob("s", t) for t in batch])
    unread = [LABEL_INDEX[label] for label in LABELS if label not in local.labels]
    assert np.all(probs[:, unread] == 0)  # what it does not declare it never gives
    remote = RekognitionBackend(client(), local, per_minute=5)
    try:
        assert remote.labels == LABELS and "confused" in remote.labels
    finally:
        remote.close()


def test_the_largest_face_in_the_answer_is_the_shopper():
    rek = client()
    answer = detect_faces_answer({"SAD": 90.0, "CALM": 10.0}, box=(0.1, 0.1, 0.1, 0.1))
    answer["FaceDetails"].append(
        detect_faces_answer({"ANGRY": 70.0, "CALM": 30.0}, box=(0.4, 0.2, 0.4, 0.5))
        ["FaceDetails"][0])
    with Stubber(rek) as stub:
        stub.add_response("detect_faces", answer, EXPECTED)
        probs = read(RekognitionBackend(rek, FixedLocal(), 5))
    assert LABELS[int(np.argmax(probs))] == "angry"


def test_the_per_session_budget_bounds_the_calls_and_the_local_model_fills_the_gaps():
    rek = client()
    now = [1000.0]
    backend = RekognitionBackend(rek, FixedLocal(), per_minute=2, clock=lambda: now[0])
    with Stubber(rek) as stub:
        for _ in range(3):
            stub.add_response("detect_faces", detect_faces_answer({"HAPPY": 100.0}), EXPECTED)
        answers = [LABELS[int(np.argmax(read(backend)))] for _ in range(5)]
        assert answers == ["happy", "happy", "calm", "calm", "calm"]
        now[0] += 61  # a minute later the budget is back
        assert LABELS[int(np.argmax(read(backend)))] == "happy"
        stub.assert_no_pending_responses()
    assert backend.stats["calls"] == 3


def test_throttling_falls_back_to_the_local_model_and_backs_off(caplog):
    rek = client()
    now = [1000.0]
    backend = RekognitionBackend(rek, FixedLocal(), per_minute=10, cooldown_s=30,
                                 clock=lambda: now[0])
    with Stubber(rek) as stub:
        stub.add_client_error("detect_faces", service_error_code="ThrottlingException",
                              service_message="Rate exceeded", http_status_code=400)
        first = read(backend)
        second = read(backend)  # in the cool-down: no call at all
        stub.assert_no_pending_responses()
    assert LABELS[int(np.argmax(first))] == "calm" and LABELS[int(np.argmax(second))] == "calm"
    assert backend.stats["throttled"] == 1 and backend.stats["calls"] == 1
    assert "rekognition_failed" in caplog.text and "ThrottlingException" in caplog.text
    assert id_tag("shopper-1") in caplog.text and "shopper-1" not in caplog.text


def test_a_network_error_falls_back_to_the_local_model(caplog):
    port = free_port()  # nothing listens there: a real connection error
    rek = client(endpoint_url=f"http://127.0.0.1:{port}",
                 config=Config(**CLIENT_CONFIG))
    backend = RekognitionBackend(rek, FixedLocal(), per_minute=10)
    probs = read(backend)
    assert LABELS[int(np.argmax(probs))] == "calm"
    assert backend.stats["error"] == 1
    assert "EndpointConnectionError" in caplog.text
    assert backend.breaker_open, "a network error must open the breaker too"


def test_any_error_opens_the_breaker_not_only_throttling():
    rek = client()
    now = [1000.0]
    backend = RekognitionBackend(rek, FixedLocal(), per_minute=10, cooldown_s=30,
                                 clock=lambda: now[0])
    with Stubber(rek) as stub:
        stub.add_client_error("detect_faces", service_error_code="InvalidImageFormatException",
                              http_status_code=400)
        assert LABELS[int(np.argmax(read(backend)))] == "calm"
        assert backend.breaker_open and not backend.wants("shopper-2")
        now[0] += 31  # the cool-down is over: calls again
        stub.add_response("detect_faces", detect_faces_answer({"SAD": 100.0}), EXPECTED)
        assert LABELS[int(np.argmax(read(backend)))] == "sad"
        stub.assert_no_pending_responses()


def test_the_global_budget_bounds_calls_over_all_sessions():
    backend = RekognitionBackend(client(), FixedLocal(), per_minute=10, global_per_minute=3,
                                 clock=lambda: 1000.0)
    granted = [backend.wants(f"shopper-{i}") for i in range(10)]
    assert granted == [True] * 3 + [False] * 7


def test_calls_run_on_the_backends_own_threads():
    threads: list = []

    class Recording:
        def detect_faces(self, **kwargs):
            threads.append(threading.current_thread().name)
            return detect_faces_answer({"HAPPY": 100.0})

    backend = RekognitionBackend(Recording(), FixedLocal(), per_minute=5)
    assert backend.wants("shopper-1")
    asyncio.run(backend.refine(JOB))
    backend.close()
    assert threads and all(t.startswith("rekognition") for t in threads), threads


def test_the_client_has_short_timeouts_and_no_retries(model_path, monkeypatch):
    from vision_sidecar.expression import make_backend
    from vision_sidecar.settings import Settings

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    backend = make_backend(Settings(backend="rekognition"))
    config = backend.client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (1, 2)
    assert config.retries["total_max_attempts"] == 1  # one try: the local model is the retry
    backend.close()


def test_only_the_face_crop_is_sent_at_least_80_px_a_side():
    gray = np.full((240, 320), 128, np.uint8)
    for box, _ in (((100, 60, 40, 50), "small face"), ((60, 20, 160, 200), "large face")):
        crop = cv2.imdecode(np.frombuffer(face_crop_jpeg(gray, box), np.uint8),
                            cv2.IMREAD_GRAYSCALE)
        assert min(crop.shape) >= MIN_CROP_SIDE, crop.shape
        assert crop.shape[0] * crop.shape[1] < gray.size or box[2] > 100, crop.shape
    small = cv2.imdecode(np.frombuffer(face_crop_jpeg(gray, (100, 60, 100, 100)), np.uint8),
                         cv2.IMREAD_GRAYSCALE)
    assert small.shape == (150, 150)  # the face and a quarter of it on each side


def test_the_pipeline_sends_rekognition_the_crop_not_the_frame(redis_url, model_path):
    from vision_sidecar import samples
    from vision_sidecar.expression.local import LocalOnnxBackend
    from vision_sidecar.resources import open_pipeline
    from vision_sidecar.settings import Settings

    sent: list = []

    class Recording:
        def detect_faces(self, Image, Attributes):  # noqa: N803 (boto's parameter names)
            sent.append(Image["Bytes"])
            return detect_faces_answer({"SURPRISED": 100.0})

    backend = RekognitionBackend(Recording(), LocalOnnxBackend(model_path), per_minute=5)
    frame = samples.jpeg(samples.astronaut_bgr())

    async def run():
        async with open_pipeline(Settings(redis_url=redis_url, workers=1), backend) as pipeline:
            return await pipeline.process(pipeline.registry.get("crop-1"), frame)

    result = asyncio.run(run())
    assert len(sent) == 1 and result.probs["surprised"] > 0
    crop = cv2.imdecode(np.frombuffer(sent[0], np.uint8), cv2.IMREAD_GRAYSCALE)
    full = cv2.imdecode(np.frombuffer(frame, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert min(crop.shape) >= MIN_CROP_SIDE and crop.size < full.size / 2, (crop.shape, full.shape)
