"""Offline sample frames built from scikit-image's bundled photos (tests, benchmarks, demos)."""

from __future__ import annotations

import cv2
import numpy as np


def astronaut_bgr() -> np.ndarray:
    """Eileen Collins smiling (512×512, BGR): a real face photo that ships with scikit-image."""
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def no_face_bgr() -> np.ndarray:
    """A rocket on its launch pad (427×640, BGR): a real photo without a face, in which no
    detector of the sidecar sees one (in scikit-image's coffee cup, `coffee_bgr`, BlazeFace
    sees a face at 0.59: docs/vision-eval.md)."""
    from skimage import data

    return cv2.cvtColor(data.rocket(), cv2.COLOR_RGB2BGR)


def coffee_bgr() -> np.ndarray:
    """A cup of coffee with latte art (400×600, BGR), seen from above."""
    from skimage import data

    return cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR)


def webcam_frame(dx: int = 0, dy: int = 0) -> np.ndarray:
    """A 640×480 webcam-like frame with the astronaut's face, shifted by (dx, dy) pixels."""
    frame = np.full((480, 640, 3), 96, dtype=np.uint8)
    photo = astronaut_bgr()[:400, 40:480]
    y0, x0 = 40 + dy, 100 + dx
    frame[max(0, y0):y0 + 400, max(0, x0):x0 + 440] = photo[max(0, -y0):480 - y0,
                                                           max(0, -x0):640 - x0]
    return frame


def jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    """`image` encoded as JPEG bytes."""
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("could not encode JPEG")
    return buf.tobytes()


def png(image: np.ndarray) -> bytes:
    """`image` encoded as PNG bytes."""
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise ValueError("could not encode PNG")
    return buf.tobytes()
