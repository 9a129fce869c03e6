"""Plain numpy reference of the native kernels (`kernels.pyx`); tests hold the compiled twin to it.

Three kernels:
- `prepare_faces`: grey or colour frame + face boxes → the expression model's normalised input
  batch
  (crop, bilinear resize with half-pixel centres, border replicated, `x / 127.5 - 1`).
- `update_sessions`: one time-aware exponential smoothing step per session row of a state table,
  with valence, arousal, dominant label and the running -100..100 session score.
- `decode_faces`: BlazeFace's raw SSD outputs → scored face boxes after non-maximum suppression.
"""

from __future__ import annotations

import numpy as np

#: Columns of the session state table: the smoothed probabilities, then these three.
COL_LAST_TS = 8
COL_WEIGHT = 9
COL_VALENCE_SUM = 10
STATE_COLUMNS = 11
#: Columns of `update_sessions`' output.
OUT_VALENCE, OUT_AROUSAL, OUT_SCORE, OUT_DOMINANT = 0, 1, 2, 3


def _axis_taps(start: int, length: int, size: int, limit: int):
    """Source indices and weights of one axis for a half-pixel-centred bilinear resize."""
    scale = max(length, 1) / size
    src = start + (np.arange(size, dtype=np.float64) + 0.5) * scale - 0.5
    src = np.clip(src, 0.0, limit - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, limit - 1)
    return lo, hi, src - lo


def prepare_faces(image: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """Crop each (x, y, w, h) box of `image` (uint8, H×W grey or H×W×C colour), resize to
    size×size, scale to [-1, 1].

    Returns float32 (n, C, size, size), C = 1 for a grey image, channels in the image's order.
    Boxes may reach past the frame; the border is repeated.
    """
    img = np.asarray(image, dtype=np.uint8)
    if img.ndim == 2:
        img = img[:, :, None]
    boxes = np.asarray(boxes, dtype=np.int32).reshape(-1, 4)
    height, width, channels = img.shape
    out = np.empty((len(boxes), channels, size, size), dtype=np.float32)
    pixels = img.astype(np.float64).transpose(2, 0, 1)  # (C, H, W)
    for i, (x, y, w, h) in enumerate(boxes):
        x0, x1, fx = _axis_taps(int(x), int(w), size, width)
        y0, y1, fy = _axis_taps(int(y), int(h), size, height)
        top = pixels[:, y0][:, :, x0] * (1 - fx) + pixels[:, y0][:, :, x1] * fx
        bottom = pixels[:, y1][:, :, x0] * (1 - fx) + pixels[:, y1][:, :, x1] * fx
        value = top * (1 - fy[:, None]) + bottom * fy[:, None]
        out[i] = value / 127.5 - 1.0
    return out


def update_sessions(table: np.ndarray, rows: np.ndarray, probs: np.ndarray, ts: np.ndarray,
                    present: np.ndarray, valence: np.ndarray, arousal: np.ndarray,
                    neutral: int, tau: float, tau_decay: float, max_dt: float) -> np.ndarray:
    """Advance each listed session row of `table` (float64, rows × STATE_COLUMNS) by one frame.

    With a face (`present` 1 and finite, positive `probs`), the smoothed vector moves towards
    the frame's probabilities with weight `1 - exp(-dt / tau)`; without one it decays towards the
    neutral label with time constant `tau_decay`. A row's first frame sets the state outright.
    The session score is 100 × the mean frame valence, weighted by the model's confidence (its top
    probability). Returns float64 (n, 4): valence, arousal, score, dominant label index.
    """
    out = np.zeros((len(rows), 4), dtype=np.float64)
    for i, row in enumerate(rows):
        p = np.asarray(probs[i], dtype=np.float64)
        total = p.sum() if np.all(np.isfinite(p)) and np.all(p >= 0) else 0.0
        has_face = bool(present[i]) and total > 0
        target = np.zeros(8, dtype=np.float64)
        if has_face:
            target = p / total
        else:
            target[neutral] = 1.0
        state = table[row]
        last = state[COL_LAST_TS]
        t = float(ts[i])
        if last <= 0:
            alpha = 1.0
            state[COL_LAST_TS] = t
        else:
            dt = min(max(t - last, 0.0), max_dt)
            alpha = 1.0 - np.exp(-dt / (tau if has_face else tau_decay))
            state[COL_LAST_TS] = max(t, last)
        state[:8] += alpha * (target - state[:8])
        if has_face:
            conf = target.max()
            state[COL_WEIGHT] += conf
            state[COL_VALENCE_SUM] += conf * float(target @ valence)
        out[i, OUT_VALENCE] = float(state[:8] @ valence)
        out[i, OUT_AROUSAL] = float(state[:8] @ arousal)
        weight = state[COL_WEIGHT]
        out[i, OUT_SCORE] = 100.0 * state[COL_VALENCE_SUM] / weight if weight > 0 else 0.0
        out[i, OUT_DOMINANT] = float(np.argmax(state[:8]))
    return out


def decode_faces(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
                 input_size: int, min_score: float, iou_threshold: float,
                 max_faces: int) -> np.ndarray:
    """BlazeFace SSD outputs → faces after non-maximum suppression, best first.

    `raw_boxes` (n, ≥4) holds per anchor the centre offset and size in input pixels,
    `raw_scores` (n,) the logits, `anchors` (n, 2) the anchor centres in [0, 1]. A face
    scores `sigmoid(clip(logit, -80, 80))`; faces under `min_score` are dropped, then greedily
    every face overlapping a better one by IoU > `iou_threshold`. Returns float32 (k, 5):
    x0, y0, x1, y1 (in [0, 1] of the square input) and the score, k ≤ `max_faces`.
    """
    raw = np.asarray(raw_boxes, dtype=np.float32).reshape(len(anchors), -1)
    logits = np.clip(np.asarray(raw_scores, dtype=np.float32).reshape(-1), -80.0, 80.0)
    scores = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    anchors = np.asarray(anchors, dtype=np.float32).reshape(-1, 2)
    cx = raw[:, 0] / input_size + anchors[:, 0]
    cy = raw[:, 1] / input_size + anchors[:, 1]
    hw, hh = raw[:, 2] / input_size / 2, raw[:, 3] / input_size / 2
    boxes = np.stack([cx - hw, cy - hh, cx + hw, cy + hh], axis=1).astype(np.float64)
    keep = np.flatnonzero((scores >= min_score) & (hw > 0) & (hh > 0))
    order = keep[np.argsort(-scores[keep], kind="stable")]
    chosen: list[int] = []
    for i in order:
        if len(chosen) >= max_faces:
            break
        ok = True
        for j in chosen:
            if _iou(boxes[i], boxes[j]) > iou_threshold:
                ok = False
                break
        if ok:
            chosen.append(int(i))
    out = np.zeros((len(chosen), 5), dtype=np.float32)
    for k, i in enumerate(chosen):
        out[k, :4] = boxes[i]
        out[k, 4] = scores[i]
    return out


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0
