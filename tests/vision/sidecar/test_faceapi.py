"""face-api's expression net: its tfjs weights read and dequantised, the PyTorch/ONNX port held
to face-api's own bundle under node, and the sidecar's backend on a real photo."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from vision_sidecar import samples
from vision_sidecar.decode import decode_frame
from vision_sidecar.expression.faceapi_convert import decode_weights, load_weights
from vision_sidecar.faces import make_detector
from vision_sidecar.settings import DEFAULT_MODEL_DIR, EXPRESSION_MODELS

FACEAPI = EXPRESSION_MODELS["face-api"]
ONNX = DEFAULT_MODEL_DIR / FACEAPI.file
#: Where scripts/setup.d/52-faceapi-model.sh keeps the files of face-api's npm tarball.
PACKAGE = (Path(os.environ.get("EMOTICAL_CACHE_DIR") or Path.home() / ".cache" / "emotical")
           / "npm" / "face-api-1.7.15" / "package")
REFERENCE = Path(__file__).with_name("faceapi_reference.cjs")


def test_a_tiny_manifest_is_read_and_dequantised(tmp_path):
    """uint8 and uint16 tensors become byte × scale + min, float32 ones are read as they are,
    in the manifest's order, over two weight files."""
    manifest = [{"paths": ["a.bin", "b.bin"], "weights": [
        {"name": "conv/filters", "shape": [2, 2], "dtype": "float32",
         "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1.0}},
        {"name": "conv/bias", "shape": [3], "dtype": "float32"},
        {"name": "fc/weights", "shape": [2], "dtype": "float32",
         "quantization": {"dtype": "uint16", "scale": 0.25, "min": 2.0}},
    ]}]
    data = bytes([0, 1, 2, 255]) + struct.pack("<3f", 1.5, -2.0, 0.25) + struct.pack("<2H", 4, 1000)
    (tmp_path / "m.json").write_text(json.dumps(manifest))
    (tmp_path / "a.bin").write_bytes(data[:6])  # a tensor may span two files
    (tmp_path / "b.bin").write_bytes(data[6:])
    weights = load_weights(tmp_path / "m.json")
    assert list(weights) == ["conv/filters", "conv/bias", "fc/weights"]
    np.testing.assert_allclose(weights["conv/filters"], [[-1.0, -0.5], [0.0, 126.5]])
    np.testing.assert_allclose(weights["conv/bias"], [1.5, -2.0, 0.25])
    np.testing.assert_allclose(weights["fc/weights"], [3.0, 252.0])
    assert all(w.dtype == np.float32 for w in weights.values())
    with pytest.raises(ValueError, match="manifest needs"):
        decode_weights(manifest[0]["weights"], data[:-1])
    with pytest.raises(ValueError, match="holds"):
        decode_weights(manifest[0]["weights"], data + b"\0")


def _faces() -> np.ndarray:
    """Real face crops as the sidecar cuts them for face-api: (n, 3, 112, 112) BGR in [-1, 1]."""
    detector = make_detector("blazeface", DEFAULT_MODEL_DIR)
    crops = []
    for image in (samples.astronaut_bgr(), samples.webcam_frame(), samples.webcam_frame(40, 10)):
        frame = decode_frame(samples.jpeg(image), 5 << 20, 1 << 24, colour=True)
        box = detector.detect(frame.gray)[0]
        crops.append(frame.face_input(np.array([box]), FACEAPI.crop)[0])
    return np.stack(crops)


def test_the_onnx_port_matches_face_apis_own_bundle_under_node(tmp_path):
    """face-api's dist bundle (tfjs CPU backend) and the ONNX port give the same
    probabilities on real faces and on noise."""
    node = shutil.which("node")
    if node is None or not (PACKAGE / "dist" / "face-api.js").is_file():
        pytest.skip("needs node and face-api's files in the cache (make setup)")
    import onnxruntime as ort

    rng = np.random.default_rng(7)
    x = np.concatenate([_faces(), rng.uniform(-1, 1, (2, 3, 112, 112))]).astype(np.float32)
    rgb = ((x + 1) * 127.5)[:, ::-1].transpose(0, 2, 3, 1)  # what face-api takes: RGB 0-255
    pixels = tmp_path / "pixels.f32"
    pixels.write_bytes(np.ascontiguousarray(rgb, dtype="<f4").tobytes())
    done = subprocess.run([node, str(REFERENCE), str(PACKAGE), str(pixels), str(len(x))],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    want = np.array(json.loads(done.stdout))
    got = ort.InferenceSession(str(ONNX), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    assert want.shape == got.shape == (len(x), 7)
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert int(np.argmax(want[0])) == 1  # the astronaut: happy


def test_the_face_api_backend_reads_the_smiling_astronaut_happy():
    """Through the sidecar's own path (colour decode, BlazeFace, the native colour crop): one
    row over LABELS per face, non-zero only on the labels face-api's classes map onto."""
    from emotical_shared.labels import FACEAPI_TO_LABEL, LABELS
    from vision_sidecar.expression.base import FaceJob
    from vision_sidecar.expression.local import LocalOnnxBackend

    backend = LocalOnnxBackend(ONNX, model=FACEAPI)
    assert backend.labels == tuple(label for label in LABELS if label in FACEAPI_TO_LABEL.values())
    assert "confused" not in backend.labels and backend.input_shape == (3, 112, 112)
    faces = _faces()
    rows = backend.classify([FaceJob("s", face) for face in faces])
    assert rows.shape == (len(faces), len(LABELS))
    np.testing.assert_allclose(rows.sum(axis=1), 1.0, atol=1e-5)
    assert rows[:, LABELS.index("confused")].max() == 0.0
    assert [LABELS[i] for i in rows.argmax(axis=1)] == ["happy"] * len(faces)
    # the backend chosen by file name is the same model
    assert LocalOnnxBackend(ONNX).labels == backend.labels
