"""Product videos and their chapters: the catalog's `video` and `chapters` fields, checked,
looked up by video time, turned into WebVTT captions, and how a watched chapter teaches its
tags. Pure standard library: the sidecar, the video generator and `make validate` share it.

A product's catalog entry may carry

    video: generated            # `make videos` draws it from the chapters (the default)
    video: media/shoe-01.webm   # or a designer's file, relative to the catalog folder
    chapters:
    - {start: 0, end: 3, tags: [red, mesh], caption: The red mesh upper}

Chapters are in seconds, in order, never overlapping (gaps are allowed: nothing is attributed
there), within the video, and name only the product's own tags.
"""

from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

#: `video` value for a video `make videos` draws from the chapters.
GENERATED = "generated"
#: Version of the drawing in `vision_sidecar/videos.py`; part of the videos' folder name.
GENERATOR_VERSION = "1"
#: A designer's video larger than this is refused by `make validate` and not served.
MAX_VIDEO_BYTES = 40 * 1024 * 1024
#: File types the shop serves (Chromium plays VP8/VP9 WebM; H.264 MP4 only where licensed).
VIDEO_TYPES = {".webm": "video/webm", ".mp4": "video/mp4"}
#: Longest chapter caption.
MAX_CAPTION = 120


@dataclass(frozen=True)
class Chapter:
    """One aspect on screen from `start` to `end` seconds."""

    index: int
    start: float
    end: float
    tags: Tuple[str, ...]
    caption: str

    def as_json(self) -> Dict[str, Any]:
        return {"index": self.index, "start": self.start, "end": self.end,
                "tags": list(self.tags), "caption": self.caption}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a product's chapters: `chapter` is its position (None: the product's
    `video` or `chapters` field), `field` the key at fault."""

    chapter: Optional[int]
    field: str
    message: str


def _seconds(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def check_chapters(raw: Any, product_tags: Iterable[str],
                   duration: Optional[float] = None) -> Tuple[List[Chapter], List[Problem]]:
    """The chapters of a catalog entry and what is wrong with them (empty when all is well).

    `duration` is the video's length when known: chapters must end within it.
    """
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        return [], [Problem(None, "chapters", "chapters must be a list of "
                                              "{start, end, tags, caption}")]
    own = set(product_tags)
    chapters: List[Chapter] = []
    problems: List[Problem] = []
    for i, row in enumerate(raw):
        if not isinstance(row, Mapping):
            problems.append(Problem(i, "", f"chapter {i + 1} must be a mapping"))
            continue
        unknown_keys = sorted(set(map(str, row)) - {"start", "end", "tags", "caption"})
        if unknown_keys:
            problems.append(Problem(i, unknown_keys[0],
                                    f"chapter {i + 1} has unknown fields {unknown_keys}"))
        start, end = _seconds(row.get("start")), _seconds(row.get("end"))
        if start is None or start < 0:
            problems.append(Problem(i, "start", f"chapter {i + 1} start must be seconds >= 0"))
        if end is None:
            problems.append(Problem(i, "end", f"chapter {i + 1} end must be seconds"))
        tags = row.get("tags")
        if not isinstance(tags, list) or not tags or not all(isinstance(t, str) for t in tags):
            problems.append(Problem(i, "tags", f"chapter {i + 1} tags must be a non-empty list "
                                               "of the product's tags"))
            tags = []
        else:
            unknown = [t for t in tags if t not in own]
            if unknown:
                problems.append(Problem(i, "tags", f"chapter {i + 1} names tags the product "
                                                   f"does not have: {unknown}"))
        caption = row.get("caption")
        if not isinstance(caption, str) or not caption.strip() or len(caption) > MAX_CAPTION:
            problems.append(Problem(i, "caption", f"chapter {i + 1} caption must be text of "
                                                  f"1-{MAX_CAPTION} characters"))
            caption = ""
        if start is None or end is None:
            continue
        if end <= start:
            problems.append(Problem(i, "end", f"chapter {i + 1} ends ({end:g} s) before it "
                                              f"starts ({start:g} s)"))
            continue
        if chapters and start < chapters[-1].end:
            problems.append(Problem(i, "start", f"chapter {i + 1} starts at {start:g} s, inside "
                                                f"chapter {chapters[-1].index + 1} (ends "
                                                f"{chapters[-1].end:g} s): chapters overlap or "
                                                "are out of order"))
            continue
        if duration is not None and end > duration + 0.05:
            problems.append(Problem(i, "end", f"chapter {i + 1} ends at {end:g} s, past the end "
                                              f"of the video ({duration:.2f} s)"))
        chapters.append(Chapter(i, start, end, tuple(tags), caption.strip()))
    return chapters, problems


def chapter_at(chapters: Sequence[Chapter], t: float) -> Optional[Chapter]:
    """The chapter on screen at video time `t` (start inclusive, end exclusive), or None."""
    for chapter in chapters:
        if chapter.start <= t < chapter.end:
            return chapter
    return None


def _vtt_time(t: float) -> str:
    ms = round(t * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def webvtt(chapters: Sequence[Chapter]) -> str:
    """A WebVTT captions track with each chapter's caption during the chapter."""
    cues = [f"chapter-{c.index + 1}\n{_vtt_time(c.start)} --> {_vtt_time(c.end)}\n"
            f"{c.caption.replace('-->', '->')}\n" for c in chapters]
    return "WEBVTT\n\n" + "\n".join(cues)


# --- where a product's video is -------------------------------------------------------------

def catalog_hash(catalog_dir: Path) -> str:
    """12 hex digits over the catalog files and the generator's version: the folder name of the
    generated videos (`var/videos/<hash>/`), so a changed catalog gets new videos."""
    h = hashlib.sha256(GENERATOR_VERSION.encode())
    for path in sorted(Path(catalog_dir).glob("*")):
        if path.suffix in {".yml", ".yaml", ".json"} and path.is_file():
            h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def video_path(video: Any, product_id: str, catalog_dir: Path, videos_dir: Path) -> Optional[Path]:
    """The file a product's `video` field names: the generated one (`video` missing or
    `generated`) or the designer's, relative to the catalog folder; None for a bad value."""
    if video in (None, GENERATED):
        return Path(videos_dir) / catalog_hash(catalog_dir) / f"{product_id}.webm"
    if not isinstance(video, str) or not video.strip() or "://" in video:
        return None
    path = (Path(catalog_dir) / video.strip()).resolve()
    root = Path(catalog_dir).resolve()
    if root not in path.parents or path.suffix.lower() not in VIDEO_TYPES:
        return None
    return path


# --- WebM duration (EBML), so chapters can be checked against the real file ---------------

_SEGMENT, _INFO, _SCALE, _DURATION = 0x18538067, 0x1549A966, 0x2AD7B1, 0x4489


def _vint(data: bytes, pos: int, strip: bool) -> Tuple[int, int]:
    first = data[pos]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8:
        raise ValueError("bad EBML number")
    value = first & ((0x80 >> (length - 1)) - 1) if strip else first
    for b in data[pos + 1:pos + length]:
        value = (value << 8) | b
    return value, pos + length


def webm_duration(path: Path) -> Optional[float]:
    """Seconds of a WebM file from its Segment Info (None when it does not say)."""
    data = Path(path).read_bytes()[:1 << 20]
    pos, scale, duration = 0, 1_000_000, None
    try:
        while pos < len(data):
            ident, pos = _vint(data, pos, strip=False)
            size, pos = _vint(data, pos, strip=True)
            if ident in (_SEGMENT, _INFO):
                continue  # descend into the master element
            if ident == _SCALE:
                scale = int.from_bytes(data[pos:pos + size], "big")
            elif ident == _DURATION:
                duration = struct.unpack(">f" if size == 4 else ">d", data[pos:pos + size])[0]
            if duration is not None and ident not in (_SCALE, _DURATION):
                break
            pos += size
    except (IndexError, ValueError, struct.error):
        pass
    return None if duration is None else duration * scale / 1e9


# --- what a watched chapter teaches ---------------------------------------------------------

#: Fewer frames with a face than this in a chapter teach nothing.
MIN_FACE_FRAMES = 3


@dataclass(frozen=True)
class ChapterReaction:
    """What the sidecar saw while a chapter played (one chapter's `session:{sid}:chapters`
    fields), and the reaction it reads from them."""

    frames: int
    face_frames: int
    valence_sum: float
    confidence_sum: float
    emotions: Mapping[str, int]

    @property
    def face_share(self) -> float:
        return self.face_frames / self.frames if self.frames else 0.0

    @property
    def mean_valence(self) -> float:
        return self.valence_sum / self.face_frames if self.face_frames else 0.0

    @property
    def mean_confidence(self) -> float:
        return self.confidence_sum / self.face_frames if self.face_frames else 0.0

    @property
    def dominant(self) -> Optional[str]:
        return max(sorted(self.emotions), key=lambda k: self.emotions[k]) if self.emotions \
            else None

    def polarity(self, min_valence: float) -> int:
        """+1 clearly positive, -1 clearly negative, 0 neither (or too few face frames)."""
        if self.face_frames < MIN_FACE_FRAMES or abs(self.mean_valence) < min_valence:
            return 0
        return 1 if self.mean_valence > 0 else -1

    def step(self, rate: float, min_valence: float) -> float:
        """Signed step for the chapter's tags: `rate` scaled by the model's mean confidence and
        the share of frames that showed a face; 0 when the reaction is not clear."""
        return self.polarity(min_valence) * rate * self.mean_confidence * self.face_share


def reaction_from_fields(fields: Mapping[str, str], index: int) -> ChapterReaction:
    """Chapter `index`'s reaction from the `session:{sid}:chapters` hash (`<i>:frames`,
    `<i>:face`, `<i>:valence`, `<i>:confidence`, `<i>:emo:<label>`)."""
    prefix = f"{index}:"

    def num(name: str) -> float:
        try:
            return float(fields.get(prefix + name, 0) or 0)
        except ValueError:
            return 0.0

    emotions = {k[len(prefix) + 4:]: int(float(v)) for k, v in fields.items()
                if k.startswith(prefix + "emo:")}
    return ChapterReaction(frames=int(num("frames")), face_frames=int(num("face")),
                           valence_sum=num("valence"), confidence_sum=num("confidence"),
                           emotions=emotions)


def learned_step(fields: Mapping[str, str], index: int) -> Optional[float]:
    """The signed step chapter `index` gave its tags when it ended (`<i>:learned`; 0.0: the
    reaction was not clear), None while it has not ended or for an unreadable value."""
    raw = fields.get(f"{index}:learned")
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def chapter_indices(fields: Mapping[str, str]) -> List[int]:
    """The chapters a `session:{sid}:chapters` hash has numbers for, in order."""
    out = set()
    for key in fields:
        head = key.split(":", 1)[0]
        if head.isdigit():
            out.add(int(head))
    return sorted(out)
