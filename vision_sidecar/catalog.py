"""The product catalog of the shop page: `EMOTICAL_CATALOG_PATH` (the bot's actions read the same
folder), each product in the fields the page shows, a generated picture for products without
one, and each product's video and chapters (`emotical_shared.chapters`).

A product's video is served only when its file is there and at most `MAX_VIDEO_BYTES`;
otherwise the page shows the picture (and the sidecar logs `product_video_missing` /
`product_video_too_big` once per file). Chapters with problems (`make validate` names them) are
dropped for that product, so nothing is attributed to a chapter the designer did not mean.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

import yaml

from emotical_shared.chapters import (
    MAX_VIDEO_BYTES,
    Chapter,
    check_chapters,
    video_path,
)
from emotical_shared.logs import event

log = logging.getLogger(__name__)

#: Shown when data/catalog/ holds no products yet, so the page is never empty.
FALLBACK_PRODUCTS: Tuple[Dict[str, Any], ...] = (
    {"id": "trail-runner", "name": "Trail Runner", "category": "shoes", "price": 89.0,
     "description": "Light trail running shoe with a grippy sole.", "tags": ["sport", "outdoor"]},
    {"id": "city-backpack", "name": "City Backpack", "category": "bags", "price": 59.0,
     "description": "Water-resistant 20 l backpack with a laptop sleeve.", "tags": ["urban"]},
    {"id": "wool-beanie", "name": "Wool Beanie", "category": "accessories", "price": 19.0,
     "description": "Soft merino beanie for cold mornings.", "tags": ["winter", "casual"]},
)


def _product_rows(doc: Any) -> List[Mapping[str, Any]]:
    """Products in one parsed catalog file: a list, or a mapping with a `products` list."""
    if isinstance(doc, Mapping):
        doc = doc.get("products", [])
    if not isinstance(doc, list):
        return []
    return [row for row in doc if isinstance(row, Mapping) and row.get("id")]


def normalise_product(row: Mapping[str, Any]) -> Dict[str, Any]:
    """The fields the page shows, whatever spelling the catalog uses."""
    pid = str(row["id"])
    image = row.get("image") or row.get("image_url") or row.get("picture")
    price = row.get("price")
    try:
        price = float(price) if price is not None else None
    except (TypeError, ValueError):
        price = None
    tags = row.get("tags") or []
    if isinstance(tags, Mapping):
        tags = list(tags)
    return {
        "id": pid,
        "name": str(row.get("name") or row.get("title") or pid),
        "category": str(row.get("category") or ""),
        "price": price,
        "currency": str(row.get("currency") or "EUR"),
        "description": str(row.get("description") or ""),
        "tags": [str(t) for t in tags],
        "image": str(image) if image else f"/api/products/{pid}/image.svg",
        "video": None,
        "captions": None,
        "chapters": [],
    }


@dataclass(frozen=True)
class Media:
    """A product's `video` field as the catalog gives it and its valid chapters."""

    video: Any
    chapters: Tuple[Chapter, ...]


@dataclass
class _Loaded:
    products: List[Dict[str, Any]]
    media: Dict[str, Media]


_catalog_cache: Dict[Tuple[Any, ...], _Loaded] = {}
_warned: Set[str] = set()


def _loaded(catalog_dir: Path) -> _Loaded:
    files = sorted(p for p in catalog_dir.glob("*") if p.suffix in {".yml", ".yaml", ".json"}) \
        if catalog_dir.is_dir() else []
    stamp = (str(catalog_dir), *((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files))
    if stamp not in _catalog_cache:
        _catalog_cache.clear()
        _catalog_cache[stamp] = _read_catalog(files)
    return _catalog_cache[stamp]


def load_products(catalog_dir: Path, videos_dir: Optional[Path] = None) -> List[Dict[str, Any]]:
    """Every product in `catalog_dir` (*.yml, *.yaml, *.json), de-duplicated by id, with the
    addresses of its video and captions when `videos_dir` is given and its file is servable.

    Unreadable files are logged and skipped; an empty catalog yields FALLBACK_PRODUCTS. The
    catalog is cached until a file's name, size or modification time changes; the video files
    are looked at on every call (a video `make videos` just drew is served at once).
    """
    loaded = _loaded(catalog_dir)
    if videos_dir is None:
        return loaded.products
    out = []
    for product in loaded.products:
        pid = product["id"]
        media = loaded.media.get(pid)
        if media is None:
            out.append(product)
            continue
        has_video = video_file(catalog_dir, videos_dir, pid) is not None
        out.append({**product,
                    "video": f"/api/products/{pid}/video" if has_video else None,
                    "captions": f"/api/products/{pid}/captions.vtt" if media.chapters else None,
                    "chapters": [c.as_json() for c in media.chapters]})
    return out


def product_chapters(catalog_dir: Path, pid: Optional[str]) -> Tuple[Chapter, ...]:
    """The valid chapters of product `pid` (none for an unknown product or no id)."""
    media = _loaded(catalog_dir).media.get(pid or "")
    return media.chapters if media else ()


def video_file(catalog_dir: Path, videos_dir: Path, pid: str) -> Optional[Path]:
    """The servable video file of product `pid`, or None (no product, missing, too big)."""
    media = _loaded(catalog_dir).media.get(pid)
    if media is None:
        return None
    path = video_path(media.video, pid, catalog_dir, videos_dir)
    try:
        size = path.stat().st_size if path is not None else -1
    except OSError:
        size = -1
    why = "product_video_missing" if size < 0 else \
        "product_video_too_big" if size > MAX_VIDEO_BYTES else ""
    if not why:
        return path
    if f"{why}:{path}" not in _warned:
        _warned.add(f"{why}:{path}")
        event(log, logging.WARNING, why, product=pid, bytes=size, limit=MAX_VIDEO_BYTES,
              hint="run `make videos`" if media.video in (None, "generated")
              else "see docs/videos.md")
    return None


def _read_catalog(files: List[Path]) -> _Loaded:
    products: Dict[str, Dict[str, Any]] = {}
    media: Dict[str, Media] = {}
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
            doc = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            log.warning("catalog file %s skipped: %s", path, exc)
            continue
        for row in _product_rows(doc):
            pid = str(row["id"])
            if pid in products:
                continue
            products[pid] = normalise_product(row)
            chapters, problems = check_chapters(row.get("chapters"), products[pid]["tags"])
            if problems:
                log.warning("catalog %s: product %s chapters ignored: %s", path.name, pid,
                            problems[0].message)
                chapters = []
            if "chapters" in row or "video" in row:
                media[pid] = Media(video=row.get("video"), chapters=tuple(chapters))
    if not products:
        return _Loaded([normalise_product(p) for p in FALLBACK_PRODUCTS], {})
    return _Loaded(list(products.values()), media)


def product_svg(product: Mapping[str, Any]) -> str:
    """A simple picture for a product: its name on a colour derived from its id."""
    digest = hashlib.sha256(str(product["id"]).encode()).digest()
    hue_a, hue_b = digest[0] * 360 // 256, digest[1] * 360 // 256
    name = escape(str(product.get("name", product["id"])))
    category = escape(str(product.get("category", "")))
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 320 200" role="img" '
        f'aria-label="{name}">'
        '<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="hsl({hue_a},65%,55%)"/>'
        f'<stop offset="1" stop-color="hsl({hue_b},65%,35%)"/></linearGradient></defs>'
        '<rect width="320" height="200" fill="url(#g)"/>'
        f'<circle cx="260" cy="50" r="70" fill="hsla({hue_b},80%,85%,0.25)"/>'
        '<text x="20" y="150" font-family="sans-serif" font-size="26" font-weight="bold" '
        f'fill="#fff">{name}</text>'
        '<text x="20" y="178" font-family="sans-serif" font-size="16" fill="#f0f0f0">'
        f"{category}</text></svg>"
    )
