"""The Rekognition backend on botocore's Stubber (real response shape), with its fallbacks."""

from __future__ import annotations

import numpy as np
import pytest

boto3 = pytest.importorskip("boto3")
from botocore.config import Config  # noqa: E402
from botocore.stub import Stubber  # noqa: E402

from emotical_shared.labels import LABEL_INDEX, LABELS  # noqa: E402
from emotical_shared.logs import id_tag  # noqa: E402
from stack.redis_server import free_port  # noqa: E402
from vision_sidecar.expression.base import FaceJob  # noqa: E402
from vision_sidecar.expression.rekognition import RekognitionBackend  # noqa: E402


class FixedLocal:
    """Stands in for the local model in these tests: always 'calm', so fallbacks are visible."""

    name = "local"

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


def test_rekognition_emotions_map_onto_the_eight_labels():
    rek = client()
    backend = RekognitionBackend(rek, FixedLocal(), per_minute=5)
    with Stubber(rek) as stub:
        stub.add_response("detect_faces", detect_faces_answer(
            {"HAPPY": 80.0, "SURPRISED": 10.0, "CALM": 5.0, "CONFUSED": 5.0, "UNKNOWN": 3.0}),
            EXPECTED)
        probs = backend.classify([JOB])[0]
        stub.assert_no_pending_responses()
    assert LABELS[int(np.argmax(probs))] == "happy"
    np.testing.assert_allclose(probs[LABEL_INDEX["happy"]], 0.8, atol=1e-6)
    np.testing.assert_allclose(probs[LABEL_INDEX["confused"]], 0.05, atol=1e-6)
    assert abs(probs.sum() - 1) < 1e-6


def test_the_largest_face_in_the_answer_is_the_shopper():
    rek = client()
    answer = detect_faces_answer({"SAD": 90.0, "CALM": 10.0}, box=(0.1, 0.1, 0.1, 0.1))
    answer["FaceDetails"].append(
        detect_faces_answer({"ANGRY": 70.0, "CALM": 30.0}, box=(0.4, 0.2, 0.4, 0.5))
        ["FaceDetails"][0])
    with Stubber(rek) as stub:
        stub.add_response("detect_faces", answer, EXPECTED)
        probs = RekognitionBackend(rek, FixedLocal(), 5).classify([JOB])[0]
    assert LABELS[int(np.argmax(probs))] == "angry"


def test_the_per_session_budget_bounds_the_calls_and_the_local_model_fills_the_gaps():
    rek = client()
    now = [1000.0]
    backend = RekognitionBackend(rek, FixedLocal(), per_minute=2, clock=lambda: now[0])
    with Stubber(rek) as stub:
        for _ in range(3):
            stub.add_response("detect_faces", detect_faces_answer({"HAPPY": 100.0}), EXPECTED)
        answers = [LABELS[int(np.argmax(backend.classify([JOB])[0]))] for _ in range(5)]
        assert answers == ["happy", "happy", "calm", "calm", "calm"]
        now[0] += 61  # a minute later the budget is back
        assert LABELS[int(np.argmax(backend.classify([JOB])[0]))] == "happy"
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
        first = backend.classify([JOB])[0]
        second = backend.classify([JOB])[0]  # in the cool-down: no call at all
        stub.assert_no_pending_responses()
    assert LABELS[int(np.argmax(first))] == "calm" and LABELS[int(np.argmax(second))] == "calm"
    assert backend.stats["throttled"] == 1 and backend.stats["calls"] == 1
    assert "rekognition_failed" in caplog.text and "ThrottlingException" in caplog.text
    assert id_tag("shopper-1") in caplog.text and "shopper-1" not in caplog.text


def test_a_network_error_falls_back_to_the_local_model(caplog):
    port = free_port()  # nothing listens there: a real connection error
    rek = client(endpoint_url=f"http://127.0.0.1:{port}",
                 config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1))
    backend = RekognitionBackend(rek, FixedLocal(), per_minute=10)
    probs = backend.classify([JOB])[0]
    assert LABELS[int(np.argmax(probs))] == "calm"
    assert backend.stats["error"] == 1
    assert "EndpointConnectionError" in caplog.text
