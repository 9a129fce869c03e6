"""`make videos`: one short product video per catalog product, drawn from its chapters.

Each product whose `video` is `generated` (or missing) and which has chapters gets a VP8 WebM
(480×270, 12 frames/s, as long as its last chapter) in `<videos dir>/<catalog hash>/<id>.webm`:
its colours, its title, the caption and tags of the chapter on screen, a shape that moves and a
bar with the chapter bands. OpenCV's VideoWriter writes VP8 and VP9 WebM, which Chromium plays
(avc1 and Theora fail to write here, mp4v is written but Chromium refuses it). The drawing is
deterministic; the encoder's bytes are not (compare decoded frames, not files).

A file that is already there is kept; folders of older catalog hashes are removed.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any, List, Mapping, Optional, Sequence, Tuple

import cv2
import numpy as np
import yaml

from emotical_shared.chapters import GENERATED, Chapter, catalog_hash, chapter_at, check_chapters
from vision_sidecar.settings import DEFAULT_CATALOG_PATH, DEFAULT_VIDEOS_DIR

log = logging.getLogger(__name__)

WIDTH, HEIGHT, FPS = 480, 270, 12
FOURCC = "VP80"
_HASH_DIR = re.compile(r"^[0-9a-f]{12}$")


def _colour(seed: str, index: int, light: int) -> Tuple[int, int, int]:
    """A BGR colour derived from `seed` (stable across runs and machines)."""
    digest = hashlib.sha256(f"{seed}:{index}".encode()).digest()
    hsv = np.array([[[digest[0] * 180 // 256, 150, light]]], dtype=np.uint8)
    b, g, r = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]
    return int(b), int(g), int(r)


def _text(img: np.ndarray, text: str, org: Tuple[int, int], scale: float,
          colour: Tuple[int, int, int] = (255, 255, 255), thickness: int = 2) -> None:
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness + 3,
                cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thickness, cv2.LINE_AA)


def draw_frame(pid: str, title: str, chapters: Sequence[Chapter], t: float,
               duration: float) -> np.ndarray:
    """The picture at time `t` of a product's generated video (BGR, HEIGHT×WIDTH)."""
    chapter = chapter_at(chapters, t)
    idx = chapter.index if chapter else -1
    img = np.empty((HEIGHT, WIDTH, 3), dtype=np.uint8)
    img[:] = _colour(pid, idx, 120)
    # a shape per chapter, moving across while the chapter plays
    share = 0.0 if chapter is None else (t - chapter.start) / (chapter.end - chapter.start)
    cx, cy = int(60 + share * (WIDTH - 120)), 150
    accent = _colour(pid, idx + 100, 230)
    if idx % 3 == 0:
        cv2.circle(img, (cx, cy), 38, accent, -1, cv2.LINE_AA)
    elif idx % 3 == 1:
        cv2.rectangle(img, (cx - 34, cy - 34), (cx + 34, cy + 34), accent, -1, cv2.LINE_AA)
    else:
        pts = np.array([[cx, cy - 40], [cx + 40, cy + 32], [cx - 40, cy + 32]], np.int32)
        cv2.fillPoly(img, [pts], accent, cv2.LINE_AA)
    _text(img, title[:34], (16, 36), 0.8)
    if chapter is not None:
        _text(img, chapter.caption[:30], (16, 90), 0.9, thickness=2)
        _text(img, " ".join(f"#{tag}" for tag in chapter.tags)[:40], (16, 215), 0.6,
              colour=(230, 230, 230), thickness=1)
    # the timeline: chapter bands and the playhead
    top = HEIGHT - 28
    cv2.rectangle(img, (16, top), (WIDTH - 16, top + 10), (40, 40, 40), -1)
    span = WIDTH - 32
    for c in chapters:
        x0, x1 = 16 + int(span * c.start / duration), 16 + int(span * c.end / duration)
        band = (255, 255, 255) if c.index == idx else (150, 150, 150)
        cv2.rectangle(img, (x0 + 1, top + 2), (x1 - 1, top + 8), band, -1)
    x = 16 + int(span * min(t, duration) / duration)
    cv2.line(img, (x, top - 6), (x, top + 16), (0, 0, 255), 2)
    return img


def write_video(path: Path, pid: str, title: str, chapters: Sequence[Chapter]) -> int:
    """Draw and encode one product's video into `path` (atomically); returns its frame count."""
    duration = max(c.end for c in chapters)
    frames = round(duration * FPS)
    tmp = path.with_name(f".{path.stem}.tmp.webm")
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter.fourcc(*FOURCC), FPS, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {FOURCC} WebM here (its FFmpeg lacks libvpx)")
    try:
        for i in range(frames):
            writer.write(draw_frame(pid, title, chapters, i / FPS, duration))
    finally:
        writer.release()
    if not tmp.is_file() or tmp.stat().st_size == 0:
        raise RuntimeError(f"OpenCV wrote no video into {tmp}")
    tmp.replace(path)
    return frames


def _products(catalog_dir: Path) -> List[Mapping[str, Any]]:
    rows: List[Mapping[str, Any]] = []
    for path in sorted(catalog_dir.glob("*")):
        if path.suffix not in {".yml", ".yaml", ".json"}:
            continue
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        items = doc.get("products") if isinstance(doc, Mapping) else doc
        rows.extend(r for r in items or [] if isinstance(r, Mapping) and r.get("id"))
    return rows


def generate(catalog_dir: Path, videos_dir: Path) -> Tuple[int, int, Path]:
    """Write the missing generated videos of `catalog_dir`; (written, kept, folder)."""
    folder = videos_dir / catalog_hash(catalog_dir)
    written = kept = 0
    for row in _products(catalog_dir):
        if row.get("video", GENERATED) != GENERATED:
            continue
        chapters, problems = check_chapters(row.get("chapters"), row.get("tags") or [])
        if problems or not chapters:
            continue  # `make validate` names what is wrong; nothing to draw
        pid = str(row["id"])
        target = folder / f"{pid}.webm"
        if target.is_file() and target.stat().st_size > 0:
            kept += 1
            continue
        write_video(target, pid, str(row.get("title") or row.get("name") or pid), chapters)
        written += 1
    if videos_dir.is_dir():
        for old in videos_dir.iterdir():
            if old.is_dir() and _HASH_DIR.match(old.name) and old != folder:
                shutil.rmtree(old, ignore_errors=True)
    return written, kept, folder


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG_PATH)
    parser.add_argument("--out", type=Path, default=DEFAULT_VIDEOS_DIR)
    args = parser.parse_args(argv)
    start = time.monotonic()
    written, kept, folder = generate(args.catalog, args.out)
    size = sum(p.stat().st_size for p in folder.glob("*.webm")) if folder.is_dir() else 0
    print(f"videos: {written} written, {kept} kept in {folder} "
          f"({size / 1024:.0f} KiB, {time.monotonic() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
