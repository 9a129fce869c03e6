"""The labelled face set: manifest rows and their images, as the widget would send them."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import List

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = Path(__file__).resolve().parent / "manifest.csv"
EVAL_DIR = ROOT / "var" / "eval"
#: The widget sends 320-px-wide JPEGs (vision_sidecar/static/js/camera.js).
FRAME_WIDTH = 320


@dataclass(frozen=True)
class Item:
    """One manifest row."""

    id: str
    source: str
    version: str
    member: str
    label: str
    label_how: str
    licence: str
    subject: str
    sequence: str
    part: str
    use: str


def read_manifest(path: Path = MANIFEST) -> List[Item]:
    """Every row of the manifest."""
    with open(path, newline="", encoding="utf-8") as fh:
        return [Item(**row) for row in csv.DictReader(fh)]


def load_bgr(item: Item, eval_dir: Path = EVAL_DIR) -> np.ndarray:
    """The item's image (BGR uint8) from var/eval/ or scikit-image's bundled data."""
    if item.source == "scikit-image":
        from skimage import data

        if item.member == "skimage.data.astronaut":
            return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
        index = int(item.member.split("[")[1].rstrip("]"))
        face = (data.lfw_subset()[index] * 255).round().astype(np.uint8)
        return cv2.cvtColor(face, cv2.COLOR_GRAY2BGR)
    path = eval_dir / item.source / item.version / item.member
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"{path} missing: run `make setup` (it fetches the eval set)")
    return image


def as_frame(image: np.ndarray, width: int = FRAME_WIDTH, quality: int = 85) -> bytes:
    """`image` scaled to the widget's frame width and JPEG-encoded, as the widget sends it."""
    scale = width / image.shape[1]
    frame = cv2.resize(image, (width, max(1, round(image.shape[0] * scale))),
                       interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"could not encode a frame of {image.shape}")
    return buf.tobytes()


#: The widget's camera frame (camera.js: 640×480 asked of the camera, scaled to 320 px wide,
#: JPEG quality 0.7, about libjpeg's 70).
CAMERA_SIZE = (640, 480)
WIDGET_SIZE = (320, 240)
WIDGET_QUALITY = 70


def moving_frames(image: np.ndarray, count: int, phase: float = 0.0) -> List[bytes]:
    """`count` widget frames of `image` as a webcam would see it (cropped to 4:3, 640×480),
    moving up to 10 px sideways and 4 px up and down as a head does: JPEGs of 320×240 at the
    widget's quality."""
    h, w = image.shape[:2]
    cw, ch = min(w, round(h * 4 / 3)), min(h, round(w * 3 / 4))
    image = image[(h - ch) // 2:(h - ch) // 2 + ch, (w - cw) // 2:(w - cw) // 2 + cw]
    camera = cv2.resize(image, CAMERA_SIZE, interpolation=cv2.INTER_AREA)
    out = []
    for i in range(count):
        shift = np.array([[1, 0, 10 * np.sin(i / 4 + phase)], [0, 1, 4 * np.cos(i / 6 + phase)]],
                         dtype=np.float32)
        moved = cv2.warpAffine(camera, shift, CAMERA_SIZE, borderMode=cv2.BORDER_REPLICATE)
        small = cv2.resize(moved, WIDGET_SIZE, interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, WIDGET_QUALITY])
        if not ok:
            raise ValueError(f"could not encode a frame of {small.shape}")
        out.append(buf.tobytes())
    return out
