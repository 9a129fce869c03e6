"""A y4m video for Chromium's fake camera, made from a real face photo (scikit-image's astronaut)."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
from skimage import data

WIDTH, HEIGHT, FPS = 640, 480, 10


def face_frames(n_frames: int = 20) -> list[np.ndarray]:
    """`n_frames` BGR frames: the astronaut photo on a grey background, drifting a few pixels
    so that consecutive frames differ as a real camera's do."""
    face = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    face = cv2.resize(face, (HEIGHT, HEIGHT), interpolation=cv2.INTER_AREA)
    frames = []
    for i in range(n_frames):
        canvas = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
        dx = (WIDTH - HEIGHT) // 2 + round(6 * math.sin(2 * math.pi * i / n_frames))
        canvas[:, dx:dx + HEIGHT] = face
        frames.append(canvas)
    return frames


def write_y4m(path: Path, frames: list[np.ndarray], fps: int = FPS) -> Path:
    """Write BGR frames as an uncompressed YUV 4:2:0 y4m file (what Chromium's fake camera reads)."""
    height, width = frames[0].shape[:2]
    if width % 2 or height % 2:
        raise ValueError(f"y4m 4:2:0 needs even sizes, got {width}x{height}")
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path
