"""The one interface every expression backend implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

#: Side of the square grey face crop the local model takes.
FACE_SIZE = 64


@dataclass(frozen=True)
class FaceJob:
    """One face to classify: its session, its normalised crop (1×64×64), the encoded frame."""

    sid: str
    tensor: np.ndarray
    image: bytes = b""


class ExpressionBackend(Protocol):
    """Classifies a batch of faces; thread-safe; returns float (n, 8) rows over LABELS."""

    name: str

    def classify(self, jobs: Sequence[FaceJob]) -> np.ndarray: ...
