"""`make videos`: one short product video per catalog product, drawn from its chapters.

Each product whose `video` is `generated` (or missing) and which has chapters gets a VP8 WebM
(480×270, 12 frames/s, as long as its last chapter) in `<videos dir>/<catalog hash>/<id>.webm`:
its colours, its title, the caption and tags of the chapter on screen, a shape that moves and a
bar with the chapter bands. OpenCV's VideoWriter writes VP8 and VP9 WebM, which Chromium plays
(avc1 and Theora fail to write here, mp4v is written but Chromium refuses it). The drawing is
deterministic; the encoder's bytes are not (compare decoded frames, not files).

A file that is already there is kept; folders of older catalog hashes are removed. A finished
set is cached machine-wide in `$EMOTICAL_CACHE_DIR/videos/<catalog hash>/` with a manifest of
each file's size and sha256, written last; a fresh clone hardlinks (or copies) the set from there
when every file matches the manifest, and redraws when the entry is incomplete or corrupt. The
cache is an optimisation: a cache that cannot be read or written is logged, never a failure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import cv2
import numpy as np
import yaml

from emotical_shared.chapters import GENERATED, Chapter, catalog_hash, chapter_at, check_chapters
from stack.fingerprint import cache_dir
from vision_sidecar.settings import DEFAULT_CATALOG_PATH, DEFAULT_VIDEOS_DIR

log = logging.getLogger(__name__)

WIDTH, HEIGHT, FPS = 480, 270, 12
FOURCC = "VP80"
_HASH_DIR = re.compile(r"^[0-9a-f]{12}$")
MANIFEST = "manifest.json"


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


def default_cache() -> Path:
    """The machine-wide video cache: `$EMOTICAL_CACHE_DIR/videos` (beside the models)."""
    return cache_dir().parent / "videos"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _cached_set(entry: Path, names: Sequence[str]) -> Optional[Dict[str, Path]]:
    """The files of a complete cache entry (manifest names exactly `names`, every size and
    sha256 matching), else None."""
    try:
        manifest = json.loads((entry / MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
        if not isinstance(files, dict) or sorted(files) != sorted(names):
            return None
        for name, meta in files.items():
            path = entry / name
            if path.stat().st_size != meta["size"] or _sha256(path) != meta["sha256"]:
                return None
        return {name: entry / name for name in names}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _place(source: Path, target: Path) -> None:
    """`source` at `target`: a hardlink on the same filesystem, else a copy (atomically)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    tmp.replace(target)


def _store(folder: Path, names: Sequence[str], entry: Path) -> None:
    """Copy the finished set into the cache: files first, the manifest last, then one rename."""
    tmp = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    files = {}
    for name in names:
        _place(folder / name, tmp / name)
        files[name] = {"size": (tmp / name).stat().st_size, "sha256": _sha256(tmp / name)}
    (tmp / MANIFEST).write_text(json.dumps({"files": files}, indent=1), encoding="utf-8")
    shutil.rmtree(entry, ignore_errors=True)
    tmp.replace(entry)


def generate(catalog_dir: Path, videos_dir: Path,
             cache: Optional[Path] = None) -> Tuple[int, int, int, Path]:
    """Write the missing generated videos of `catalog_dir`, from `cache`'s complete entry when
    it has one (None: no cache); (written, kept, from cache, folder)."""
    digest = catalog_hash(catalog_dir)
    folder = videos_dir / digest
    names = [f"{row['id']}.webm" for row, _ in _drawable(catalog_dir)]
    entry = cache / digest if cache is not None else None
    written = kept = cached = 0
    hit = _cached_set(entry, names) if entry is not None and names else None
    for row, chapters in _drawable(catalog_dir):
        pid = str(row["id"])
        target = folder / f"{pid}.webm"
        if target.is_file() and target.stat().st_size > 0:
            kept += 1
            continue
        if hit is not None:
            try:
                _place(hit[target.name], target)
                cached += 1
                continue
            except OSError as exc:
                log.warning("video cache %s unusable (%s); drawing", entry, exc)
                hit = None
        write_video(target, pid, str(row.get("title") or row.get("name") or pid), chapters)
        written += 1
    if entry is not None and names and hit is None:
        try:
            _store(folder, names, entry)
        except OSError as exc:
            log.warning("could not cache the videos in %s (%s)", entry, exc)
    if videos_dir.is_dir():
        for old in videos_dir.iterdir():
            if old.is_dir() and _HASH_DIR.match(old.name) and old != folder:
                shutil.rmtree(old, ignore_errors=True)
    return written, kept, cached, folder


def _drawable(catalog_dir: Path) -> List[Tuple[Mapping[str, Any], Tuple[Chapter, ...]]]:
    """(row, chapters) of each product to draw: `video: generated` (or none) and valid
    chapters (`make validate` names what is wrong with the others)."""
    rows = []
    for row in _products(catalog_dir):
        if row.get("video", GENERATED) != GENERATED:
            continue
        chapters, problems = check_chapters(row.get("chapters"), row.get("tags") or [])
        if not problems and chapters:
            rows.append((row, tuple(chapters)))
    return rows


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG_PATH)
    parser.add_argument("--out", type=Path, default=DEFAULT_VIDEOS_DIR)
    parser.add_argument("--cache", type=Path, default=None,
                        help="machine-wide cache (default $EMOTICAL_CACHE_DIR/videos)")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor fill it")
    args = parser.parse_args(argv)
    start = time.monotonic()
    cache = None if args.no_cache else (args.cache or default_cache())
    written, kept, cached, folder = generate(args.catalog, args.out, cache)
    size = sum(p.stat().st_size for p in folder.glob("*.webm")) if folder.is_dir() else 0
    print(f"videos: {written} written, {kept} kept, {cached} from cache in {folder} "
          f"({size / 1024:.0f} KiB, {time.monotonic() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
