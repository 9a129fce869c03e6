"""Checking and decoding one uploaded frame: size, type, header dimensions, then the pixels.

The header is read before any pixel is decoded, so a small file announcing a huge image (a
decompression bomb) is refused without allocating it. JPEGs are decoded by libjpeg at 1/2, 1/4
or 1/8 scale straight to grey (`IMREAD_REDUCED_GRAYSCALE_*`): the pipeline never needs more
than about 320 pixels across. A model that reads colour (`FaceCrop.colour`) has the frame
decoded in colour at the same scale instead, and the grey frame the detectors search made
from it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Optional, Tuple

import cv2
import numpy as np

from native import kernels
from vision_sidecar.errors import (
    BadFrameError,
    FrameTooLargeError,
    UnsupportedMediaError,
)
from vision_sidecar.settings import FaceCrop

ACCEPTED_CONTENT_TYPES = ("image/jpeg", "image/jpg", "image/png", "application/octet-stream")
#: Decoded width the pipeline aims for (faces of a webcam shopper stay ≥ 50 px across).
TARGET_WIDTH = 320
_REDUCED = {1: cv2.IMREAD_GRAYSCALE, 2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
            4: cv2.IMREAD_REDUCED_GRAYSCALE_4, 8: cv2.IMREAD_REDUCED_GRAYSCALE_8}
_REDUCED_COLOUR = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2,
                   4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


@dataclass(frozen=True)
class DecodedFrame:
    """A grey frame at reduced size (and its colour pixels, BGR, when decoded in colour);
    `scale` maps its pixels back to the original image."""

    gray: np.ndarray
    scale: int
    width: int
    height: int
    kind: str
    bgr: Optional[np.ndarray] = None

    def face_input(self, boxes: np.ndarray, crop: FaceCrop) -> np.ndarray:
        """The model input of each (x, y, w, h) box: (n, C, size, size) float32 in [-1, 1],
        cut by the native kernel from the colour frame (C = 3, BGR) or the grey one (C = 1)."""
        image = self.gray
        if crop.colour:
            if self.bgr is None:
                raise ValueError("a colour crop of a frame decoded without colour")
            image = self.bgr
        return kernels.prepare_faces(image, np.asarray(boxes, dtype=np.int32).reshape(-1, 4),
                                     crop.size)


def check_content_type(content_type: Optional[str]) -> None:
    """Refuse a declared content type that is not an image we take (missing is allowed)."""
    if content_type and content_type.split(";")[0].strip().lower() not in ACCEPTED_CONTENT_TYPES:
        raise UnsupportedMediaError(
            f"content type {content_type!r} is not accepted: send image/jpeg or image/png"
        )


def _jpeg_size(data: bytes) -> Tuple[int, int]:
    pos = 2
    n = len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            raise BadFrameError(f"JPEG is corrupt: marker expected at byte {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        if marker in _JPEG_SOF:
            if pos + 9 > n:
                break
            height, width = struct.unpack(">HH", data[pos + 5:pos + 9])
            return width, height
        if marker == 0xDA or length < 2:
            break
        pos += 2 + length
    raise BadFrameError("JPEG is truncated or corrupt: no frame header (SOF) found")


def image_header(data: bytes) -> Tuple[str, int, int]:
    """(kind, width, height) from a JPEG or PNG header; BadFrame/UnsupportedMedia otherwise."""
    if data[:3] == b"\xff\xd8\xff":
        width, height = _jpeg_size(data)
        kind = "jpeg"
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise BadFrameError("PNG is truncated or corrupt: no IHDR header")
        width, height = struct.unpack(">II", data[16:24])
        kind = "png"
    else:
        raise UnsupportedMediaError("body is not a JPEG or PNG image (checked its first bytes)")
    if width == 0 or height == 0:
        raise BadFrameError(f"{kind.upper()} header announces an empty image ({width}×{height})")
    return kind, width, height


def _is_complete(kind: str, data: bytes) -> bool:
    tail = data[-64:]
    if kind == "jpeg":
        return b"\xff\xd9" in tail
    return b"IEND" in tail


def decode_frame(data: bytes, max_bytes: int, max_pixels: int,
                 colour: bool = False) -> DecodedFrame:
    """Check `data` and decode it to a reduced grey frame (and its colour pixels, with
    `colour`); raise a SidecarError saying why not."""
    if not data:
        raise BadFrameError("empty frame: the body held no bytes")
    if len(data) > max_bytes:
        raise FrameTooLargeError(f"frame of {len(data)} bytes is over the {max_bytes}-byte limit")
    kind, width, height = image_header(data)
    if width * height > max_pixels:
        raise FrameTooLargeError(
            f"{kind.upper()} header announces {width}×{height} pixels, over the limit of "
            f"{max_pixels} pixels; nothing was decoded"
        )
    if not _is_complete(kind, data):
        raise BadFrameError(f"{kind.upper()} is truncated: its end marker is missing")
    scale = 1
    if kind == "jpeg":
        while scale < 8 and width // (scale * 2) >= TARGET_WIDTH:
            scale *= 2
    pixels = cv2.imdecode(np.frombuffer(data, dtype=np.uint8),
                          (_REDUCED_COLOUR if colour else _REDUCED)[scale])
    if pixels is None or pixels.size == 0:
        raise BadFrameError(f"{kind.upper()} could not be decoded (corrupt data)")
    if kind == "png" and width > TARGET_WIDTH * 2:
        scale = max(1, width // TARGET_WIDTH)
        pixels = cv2.resize(pixels, (width // scale, height // scale), interpolation=cv2.INTER_AREA)
    if not colour:
        return DecodedFrame(gray=pixels, scale=scale, width=width, height=height, kind=kind)
    return DecodedFrame(gray=cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY), scale=scale, width=width,
                        height=height, kind=kind, bgr=pixels)
