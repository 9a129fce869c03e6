# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled twin of `kernels_py.py` (same signatures, same results to 1e-5); the GIL is released."""

import numpy as np
cimport numpy as cnp
from libc.math cimport exp, floor, isfinite

cnp.import_array()

cdef enum:
    NLAB = 8
    COL_LAST_TS = 8
    COL_WEIGHT = 9
    COL_VALENCE_SUM = 10


cdef inline void _taps(int start, int length, int size, int limit, Py_ssize_t* lo,
                       Py_ssize_t* hi, double* frac) noexcept nogil:
    cdef double scale = (length if length > 1 else 1) / <double>size
    cdef double src
    cdef int k
    for k in range(size):
        src = start + (k + 0.5) * scale - 0.5
        if src < 0.0:
            src = 0.0
        if src > limit - 1:
            src = limit - 1
        lo[k] = <Py_ssize_t>floor(src)
        hi[k] = lo[k] + 1 if lo[k] + 1 < limit else limit - 1
        frac[k] = src - lo[k]


def prepare_faces(image, boxes, int size):
    """Crop, resize (bilinear, half-pixel centres) and scale each box to [-1, 1]; see kernels_py."""
    src = np.asarray(image, dtype=np.uint8)
    if src.ndim == 2:
        src = src[:, :, None]
    cdef const unsigned char[:, :, ::1] img = np.ascontiguousarray(src)
    cdef const int[:, ::1] bx = np.ascontiguousarray(np.asarray(boxes, dtype=np.int32).reshape(-1, 4))
    cdef Py_ssize_t n = bx.shape[0]
    cdef Py_ssize_t channels = img.shape[2]
    out_arr = np.empty((n, channels, size, size), dtype=np.float32)
    cdef float[:, :, :, ::1] out = out_arr
    cdef int height = img.shape[0], width = img.shape[1]
    cdef Py_ssize_t[::1] x0 = np.empty(size, dtype=np.intp), x1 = np.empty(size, dtype=np.intp)
    cdef Py_ssize_t[::1] y0 = np.empty(size, dtype=np.intp), y1 = np.empty(size, dtype=np.intp)
    cdef double[::1] fx = np.empty(size, dtype=np.float64), fy = np.empty(size, dtype=np.float64)
    cdef Py_ssize_t i, r, c, k
    cdef double top, bottom, value
    with nogil:
        for i in range(n):
            _taps(bx[i, 0], bx[i, 2], size, width, &x0[0], &x1[0], &fx[0])
            _taps(bx[i, 1], bx[i, 3], size, height, &y0[0], &y1[0], &fy[0])
            for k in range(channels):
                for r in range(size):
                    for c in range(size):
                        top = img[y0[r], x0[c], k] * (1.0 - fx[c]) + img[y0[r], x1[c], k] * fx[c]
                        bottom = img[y1[r], x0[c], k] * (1.0 - fx[c]) + img[y1[r], x1[c], k] * fx[c]
                        value = top * (1.0 - fy[r]) + bottom * fy[r]
                        out[i, k, r, c] = <float>(value / 127.5 - 1.0)
    return out_arr


def update_sessions(double[:, ::1] table, rows, probs, ts, present, valence, arousal,
                    int neutral, double tau, double tau_decay, double max_dt):
    """One time-aware smoothing step per listed session row; see kernels_py.update_sessions."""
    cdef const long long[::1] rw = np.ascontiguousarray(rows, dtype=np.int64)
    cdef const double[:, ::1] pr = np.ascontiguousarray(probs, dtype=np.float64).reshape(-1, NLAB)
    cdef const double[::1] tt = np.ascontiguousarray(ts, dtype=np.float64)
    cdef const unsigned char[::1] pres = np.ascontiguousarray(present, dtype=np.uint8)
    cdef const double[::1] val = np.ascontiguousarray(valence, dtype=np.float64)
    cdef const double[::1] aro = np.ascontiguousarray(arousal, dtype=np.float64)
    cdef Py_ssize_t n = rw.shape[0]
    if pr.shape[0] != n or tt.shape[0] != n or pres.shape[0] != n:
        raise ValueError("rows, probs, ts and present must have the same length")
    if val.shape[0] != NLAB or aro.shape[0] != NLAB or not 0 <= neutral < NLAB:
        raise ValueError("valence and arousal need 8 entries and neutral an index below 8")
    out_arr = np.zeros((n, 4), dtype=np.float64)
    cdef double[:, ::1] out = out_arr
    cdef double target[NLAB]
    cdef Py_ssize_t i, k, row, best
    cdef double total, last, t, dt, alpha, conf, v, a, vt, weight
    cdef bint ok, has_face
    for i in range(n):
        if not 0 <= rw[i] < table.shape[0]:
            raise IndexError(f"row {rw[i]} outside the state table")
    if table.shape[1] < COL_VALENCE_SUM + 1:
        raise ValueError("state table needs 11 columns")
    with nogil:
        for i in range(n):
            row = rw[i]
            total = 0.0
            ok = True
            for k in range(NLAB):
                if not isfinite(pr[i, k]) or pr[i, k] < 0:
                    ok = False
                total += pr[i, k]
            if not ok:
                total = 0.0
            has_face = pres[i] != 0 and total > 0
            for k in range(NLAB):
                target[k] = pr[i, k] / total if has_face else (1.0 if k == neutral else 0.0)
            last = table[row, COL_LAST_TS]
            t = tt[i]
            if last <= 0:
                alpha = 1.0
                table[row, COL_LAST_TS] = t
            else:
                dt = t - last
                if dt < 0:
                    dt = 0.0
                if dt > max_dt:
                    dt = max_dt
                alpha = 1.0 - exp(-dt / (tau if has_face else tau_decay))
                table[row, COL_LAST_TS] = t if t > last else last
            v = 0.0
            a = 0.0
            vt = 0.0
            conf = 0.0
            best = 0
            for k in range(NLAB):
                table[row, k] += alpha * (target[k] - table[row, k])
                v += table[row, k] * val[k]
                a += table[row, k] * aro[k]
                vt += target[k] * val[k]
                if target[k] > conf:
                    conf = target[k]
                if table[row, k] > table[row, best]:
                    best = k
            if has_face:
                table[row, COL_WEIGHT] += conf
                table[row, COL_VALENCE_SUM] += conf * vt
            weight = table[row, COL_WEIGHT]
            out[i, 0] = v
            out[i, 1] = a
            out[i, 2] = 100.0 * table[row, COL_VALENCE_SUM] / weight if weight > 0 else 0.0
            out[i, 3] = best
    return out_arr


cdef inline double _box_iou(double[:, ::1] b, Py_ssize_t i, Py_ssize_t j) noexcept nogil:
    cdef double w = min(b[i, 2], b[j, 2]) - max(b[i, 0], b[j, 0])
    cdef double h = min(b[i, 3], b[j, 3]) - max(b[i, 1], b[j, 1])
    cdef double inter, union
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = ((b[i, 2] - b[i, 0]) * (b[i, 3] - b[i, 1]) + (b[j, 2] - b[j, 0]) * (b[j, 3] - b[j, 1])
             - inter)
    return inter / union if union > 0 else 0.0


def decode_faces(raw_boxes, raw_scores, anchors, int input_size, double min_score,
                 double iou_threshold, int max_faces):
    """BlazeFace SSD outputs → faces after non-maximum suppression; see kernels_py.decode_faces."""
    cdef const float[:, ::1] an = np.ascontiguousarray(anchors, dtype=np.float32).reshape(-1, 2)
    cdef Py_ssize_t n = an.shape[0]
    cdef const float[:, ::1] raw = np.ascontiguousarray(raw_boxes, dtype=np.float32).reshape(n, -1)
    cdef const float[::1] logit = np.ascontiguousarray(raw_scores, dtype=np.float32).reshape(-1)
    if raw.shape[1] < 4 or logit.shape[0] != n:
        raise ValueError("raw_boxes needs (n, >=4) and raw_scores (n,) for n anchors")
    boxes_arr = np.empty((n, 4), dtype=np.float64)
    scores_arr = np.empty(n, dtype=np.float64)
    cdef double[:, ::1] boxes = boxes_arr
    cdef double[::1] scores = scores_arr
    cdef Py_ssize_t i, j, k, count = 0
    cdef double cx, cy, hw, hh, z
    with nogil:
        for i in range(n):
            z = logit[i]
            if z < -80.0:
                z = -80.0
            if z > 80.0:
                z = 80.0
            scores[i] = 1.0 / (1.0 + exp(-z))
            cx = raw[i, 0] / <float>input_size + an[i, 0]
            cy = raw[i, 1] / <float>input_size + an[i, 1]
            hw = raw[i, 2] / <float>input_size / 2
            hh = raw[i, 3] / <float>input_size / 2
            boxes[i, 0] = <float>(cx - hw)
            boxes[i, 1] = <float>(cy - hh)
            boxes[i, 2] = <float>(cx + hw)
            boxes[i, 3] = <float>(cy + hh)
            if scores[i] < min_score or hw <= 0 or hh <= 0:
                scores[i] = -1.0
    order = np.argsort(-scores_arr, kind="stable")
    cdef const long long[::1] od = order.astype(np.int64)
    chosen_arr = np.empty(max(max_faces, 0), dtype=np.int64)
    cdef long long[::1] chosen = chosen_arr
    cdef bint ok
    with nogil:
        for k in range(n):
            i = od[k]
            if scores[i] < 0 or count >= max_faces:
                break
            ok = True
            for j in range(count):
                if _box_iou(boxes, i, chosen[j]) > iou_threshold:
                    ok = False
                    break
            if ok:
                chosen[count] = i
                count += 1
    out = np.zeros((count, 5), dtype=np.float32)
    for k in range(count):
        out[k, :4] = boxes_arr[chosen[k]]
        out[k, 4] = scores_arr[chosen[k]]
    return out
