"""The shop page's own HTTP routes: product list, widget config and the end-of-session report.

`add_routes(app)` registers, on the sidecar's `web.Application`:

- `GET /api/config`                    where the widget finds Rasa's socket.io server
- `GET /api/products`                  products from `data/catalog/` (a small built-in list if empty)
- `GET /api/products/{pid}/image.svg`  a generated picture for products without one
- `GET /api/sessions/{sid}/report`     everything stored about a session (face states, message
                                       sentiment, Rasa's conversation), with its score (JSON)
- `GET /report/{sid}`                  the report page (`static/report.html`)

The report reads Redis only through `emotical_shared.redis_schema` keys.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from html import escape
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Mapping, Optional, Tuple

import redis.asyncio as aioredis
import yaml
from aiohttp import web

from emotical_shared import redis_schema
from emotical_shared.labels import LABELS, valence_of
from emotical_shared.scoring import session_scores

logger = logging.getLogger("emotical.report")

ROOT = Path(__file__).resolve().parent.parent
STATIC_DIR = Path(__file__).resolve().parent / "static"
DEFAULT_CATALOG_DIR = ROOT / "data" / "catalog"
DEFAULT_RASA_PORT = 5005

#: Our own Redis client, used when the sidecar does not hand us one (see `add_routes`).
REPORT_REDIS = web.AppKey("emotical_report_redis", aioredis.Redis)

#: Shown when data/catalog/ holds no products yet, so the page is never empty.
FALLBACK_PRODUCTS: Tuple[Dict[str, Any], ...] = (
    {"id": "trail-runner", "name": "Trail Runner", "category": "shoes", "price": 89.0,
     "description": "Light trail running shoe with a grippy sole.", "tags": ["sport", "outdoor"]},
    {"id": "city-backpack", "name": "City Backpack", "category": "bags", "price": 59.0,
     "description": "Water-resistant 20 l backpack with a laptop sleeve.", "tags": ["urban"]},
    {"id": "wool-beanie", "name": "Wool Beanie", "category": "accessories", "price": 19.0,
     "description": "Soft merino beanie for cold mornings.", "tags": ["winter", "casual"]},
)


def json_error(status: int, code: str, message: str) -> web.Response:
    """The project's JSON error shape."""
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


# ---------------------------------------------------------------- catalog


def _catalog_dir() -> Path:
    return Path(os.environ.get("EMOTICAL_CATALOG_DIR", str(DEFAULT_CATALOG_DIR)))


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
    video = row.get("video") or row.get("video_url")
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
        "video": str(video) if video else None,
    }


_catalog_cache: Dict[Tuple[Any, ...], List[Dict[str, Any]]] = {}


def load_products(catalog_dir: Optional[Path] = None) -> List[Dict[str, Any]]:
    """Every product in `catalog_dir` (*.yml, *.yaml, *.json), de-duplicated by id.

    Unreadable files are logged and skipped; an empty catalog yields FALLBACK_PRODUCTS. The
    result is cached until a file's name, size or modification time changes.
    """
    folder = catalog_dir or _catalog_dir()
    files = sorted(p for p in folder.glob("*") if p.suffix in {".yml", ".yaml", ".json"}) \
        if folder.is_dir() else []
    stamp = (str(folder), *((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files))
    if stamp not in _catalog_cache:
        _catalog_cache.clear()
        _catalog_cache[stamp] = _read_catalog(files)
    return _catalog_cache[stamp]


def _read_catalog(files: List[Path]) -> List[Dict[str, Any]]:
    products: Dict[str, Dict[str, Any]] = {}
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
            doc = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            logger.warning("catalog file %s skipped: %s", path, exc)
            continue
        for row in _product_rows(doc):
            products.setdefault(str(row["id"]), normalise_product(row))
    if not products:
        return [normalise_product(p) for p in FALLBACK_PRODUCTS]
    return list(products.values())


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


# ---------------------------------------------------------------- report


def _num(value: Any, default: Optional[float] = None) -> Optional[float]:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return default
    return out if math.isfinite(out) else default


def _stream_ts(entry_id: str) -> float:
    """Seconds since the epoch encoded in a Redis stream id (`<ms>-<seq>`)."""
    return int(entry_id.split("-", 1)[0]) / 1000.0


def parse_history_entry(entry_id: str, fields: Mapping[str, str]) -> Dict[str, Any]:
    """One frame state from the history stream: probabilities per label, dominant, valence.

    Accepts one field per label or a JSON `probs` field; missing labels count 0.
    """
    probs: Dict[str, float] = {}
    if "probs" in fields:
        try:
            raw = json.loads(fields["probs"])
            if isinstance(raw, Mapping):
                probs = {k: _num(v, 0.0) or 0.0 for k, v in raw.items() if k in LABELS}
        except ValueError:
            probs = {}
    for label in LABELS:
        if label in fields:
            probs[label] = _num(fields[label], 0.0) or 0.0
    probs = {label: probs.get(label, 0.0) for label in LABELS}
    face_present = str(fields.get("face_present", "1")).lower() not in {"0", "false", "no", ""}
    valence = _num(fields.get("valence"))
    if valence is None and any(probs.values()):
        valence = valence_of(probs)
    dominant = fields.get("dominant") or (max(probs, key=probs.__getitem__) if any(probs.values())
                                         else None)
    return {
        "id": entry_id,
        "ts": _num(fields.get("ts"), _stream_ts(entry_id)),
        "dominant": dominant,
        "valence": valence,
        "confidence": _num(fields.get("confidence") or fields.get("face_confidence")),
        "face_present": face_present,
        "probs": probs,
    }


def parse_chat_entry(entry_id: str, fields: Mapping[str, str]) -> Dict[str, Any]:
    """One shopper message's sentiment from the chat stream (ts, score in [-1, 1], label, intent)."""
    return {
        "id": entry_id,
        "ts": _num(fields.get("ts"), _stream_ts(entry_id)),
        "score": _num(fields.get("score")),
        "label": fields.get("label"),
        "intent": fields.get("intent"),
    }


def session_score(history: List[Mapping[str, Any]], chat: List[Mapping[str, Any]]) -> Dict[str, Any]:
    """Face, chat and session scores in -100..100 of parsed rows (rule: emotical_shared.scoring)."""
    frames = [
        (float(row["valence"]), row.get("confidence") or 1.0)
        for row in history if row.get("face_present") and row.get("valence") is not None
    ]
    scores = [float(row["score"]) for row in chat if row.get("score") is not None]
    return session_scores(frames, scores)


def parse_conversation(raw: Optional[str]) -> List[Dict[str, Any]]:
    """The shopper's and the bot's messages from Rasa's stored tracker (JSON with `events`)."""
    if not raw:
        return []
    try:
        events = json.loads(raw).get("events") or []
    except (ValueError, AttributeError):
        logger.warning("stored conversation is not Rasa tracker JSON; left out of the report")
        return []
    out = []
    for ev in events:
        if not isinstance(ev, Mapping) or ev.get("event") not in ("user", "bot"):
            continue
        text = ev.get("text")
        if not text:
            data = ev.get("data") or {}
            text = "[custom message]" if data.get("custom") else None
        if text:
            out.append({"ts": _num(ev.get("timestamp"), 0.0), "who": ev["event"], "text": text})
    return out


async def read_report(client: aioredis.Redis, sid: str) -> Dict[str, Any]:
    """Everything stored about session `sid`, plus its scores. Raises InvalidIdError."""
    keys = redis_schema.session_keys(sid)
    async with client.pipeline(transaction=True) as pipe:
        pipe.hgetall(redis_schema.session_emotion(sid))
        pipe.xrange(redis_schema.session_history(sid))
        pipe.xrange(redis_schema.session_chat(sid))
        pipe.hgetall(redis_schema.session_meta(sid))
        pipe.get(redis_schema.session_tracker(sid))
        for key in keys:
            pipe.type(key)
        emotion, history_raw, chat_raw, meta, tracker_raw, *types = await pipe.execute()
    history = [parse_history_entry(_s(i), _decode(f)) for i, f in history_raw]
    chat = [parse_chat_entry(_s(i), _decode(f)) for i, f in chat_raw]
    emotion = _decode(emotion)
    return {
        "session_id": sid,
        "generated_at": time.time(),
        "labels": list(LABELS),
        "meta": _decode(meta),
        "emotion": emotion or None,
        "history": history,
        "chat": chat,
        "conversation": parse_conversation(tracker_raw),
        "score": session_score(history, chat),
        "keys": [{"key": k, "type": _s(t)} for k, t in zip(keys, types, strict=True) if _s(t) != "none"],
    }


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _decode(mapping: Mapping[Any, Any]) -> Dict[str, str]:
    return {_s(k): _s(v) for k, v in (mapping or {}).items()}


# ---------------------------------------------------------------- handlers


def _redis(request: web.Request) -> aioredis.Redis:
    return request.app[REPORT_REDIS]


async def get_config(request: web.Request) -> web.Response:
    """Where the widget finds Rasa: `EMOTICAL_RASA_URL`, else this host on port 5005."""
    rasa_url = os.environ.get("EMOTICAL_RASA_URL")
    if not rasa_url:
        host = request.url.host or "127.0.0.1"
        rasa_url = f"{request.url.scheme}://{host}:{DEFAULT_RASA_PORT}"
    return web.json_response({"rasa_url": rasa_url.rstrip("/"), "socket_path": "/socket.io",
                              "max_fps": 10})


async def get_products(request: web.Request) -> web.Response:
    """Products of the catalog."""
    return web.json_response({"products": load_products()})


async def get_product_image(request: web.Request) -> web.Response:
    """The generated SVG picture of one product."""
    pid = request.match_info["pid"]
    for product in load_products():
        if product["id"] == pid:
            return web.Response(text=product_svg(product), content_type="image/svg+xml",
                                headers={"Cache-Control": "max-age=3600"})
    return json_error(404, "unknown_product", f"no product with id {pid!r} in the catalog")


async def get_report(request: web.Request) -> web.Response:
    """The session report as JSON (`?download=1` adds a file name for saving)."""
    sid = request.match_info["sid"]
    try:
        report = await read_report(_redis(request), sid)
    except redis_schema.InvalidIdError as exc:
        return json_error(400, "invalid_session_id", str(exc))
    except aioredis.RedisError as exc:
        logger.error("report for session %s: Redis failed: %s", sid, exc)
        return json_error(503, "redis_unavailable", f"Redis could not be read: {exc}")
    logger.info("report for session %s: %d frames, %d messages", sid, len(report["history"]),
                len(report["chat"]))
    headers = {"Cache-Control": "no-store"}
    if request.query.get("download"):
        headers["Content-Disposition"] = f'attachment; filename="emotical-report-{sid}.json"'
    return web.json_response(report, headers=headers, dumps=lambda o: json.dumps(o, indent=1))


async def get_report_page(request: web.Request) -> web.FileResponse | web.Response:
    """The report page; its script reads the session id from the path."""
    try:
        redis_schema.validate_id(request.match_info["sid"])
    except redis_schema.InvalidIdError as exc:
        return json_error(400, "invalid_session_id", str(exc))
    return web.FileResponse(STATIC_DIR / "report.html")


async def _redis_ctx(app: web.Application) -> AsyncIterator[None]:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    app[REPORT_REDIS] = aioredis.Redis.from_url(url, decode_responses=True)
    yield
    await app[REPORT_REDIS].aclose()


def add_routes(app: web.Application, redis_client: Optional[aioredis.Redis] = None) -> None:
    """Register the shop page's API and report routes on the sidecar's application.

    Pass the sidecar's Redis client to share its pool; otherwise one is opened from
    `REDIS_URL` for the application's lifetime.
    """
    if redis_client is not None:
        app[REPORT_REDIS] = redis_client
    else:
        app.cleanup_ctx.append(_redis_ctx)
    app.router.add_get("/api/config", get_config)
    app.router.add_get("/api/products", get_products)
    app.router.add_get("/api/products/{pid}/image.svg", get_product_image)
    app.router.add_get("/api/sessions/{sid}/report", get_report)
    app.router.add_get("/report/{sid}", get_report_page)
