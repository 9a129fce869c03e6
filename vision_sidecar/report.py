"""The shop page's own routes: widget config, product list and the end-of-session report.

Routes (in the table of `routes.py`):

- `GET /api/config`                    where the widget finds Rasa, and the sidecar's frame rate
- `GET /api/products`                  products of the catalog (`catalog.py`)
- `GET /api/products/{pid}/image.svg`  a generated picture for products without one
- `GET /api/sessions/{sid}/report`     everything stored about a session (face states, message
                                       sentiment, Rasa's conversation), with its score (JSON)
- `GET /report/{sid}`                  the report page (`static/report.html`)

The report reads Redis through the sidecar's store and scores the session with the one rule
the bot uses too (`emotical_shared.scoring`).
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from aiohttp import web

from emotical_shared.labels import LABELS
from emotical_shared.logs import event
from emotical_shared.scoring import frame_valence, session_scores
from vision_sidecar.access import session_route
from vision_sidecar.catalog import load_products, product_svg
from vision_sidecar.errors import UnknownProductError
from vision_sidecar.keys import SETTINGS, STORE
from vision_sidecar.settings import DEFAULT_RASA_PORT
from vision_sidecar.store import Entry, SessionRecords

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"


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
    """One frame state of the history stream, in the fields the sidecar writes
    (`store.state_fields`): a probability per label (missing ones count 0), dominant, valence,
    face_present, ts."""
    return {
        "id": entry_id,
        "ts": _num(fields.get("ts"), _stream_ts(entry_id)),
        "dominant": fields.get("dominant"),
        "valence": _num(fields.get("valence")),
        "face_present": fields.get("face_present") == "1",
        "probs": {label: _num(fields.get(label), 0.0) for label in LABELS},
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


def session_score(history: List[Entry], chat: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    """Face, chat and session scores in -100..100: stored frames and parsed chat rows, scored by
    `emotical_shared.scoring` exactly as the bot scores them."""
    frames = [fv for fv in (frame_valence(fields) for _, fields in history) if fv is not None]
    scores = [float(row["score"]) for row in chat if row.get("score") is not None]
    return session_scores(frames, scores)


def parse_conversation(raw: Optional[str]) -> List[Dict[str, Any]]:
    """The shopper's and the bot's messages from Rasa's stored tracker (JSON with `events`)."""
    if not raw:
        return []
    try:
        events = json.loads(raw).get("events") or []
    except (ValueError, AttributeError):
        event(log, logging.WARNING, "conversation_unreadable")
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


def build_report(sid: str, records: SessionRecords) -> Dict[str, Any]:
    """The report JSON of session `sid`: every stored record, parsed, plus its scores."""
    chat = [parse_chat_entry(i, f) for i, f in records.chat]
    return {
        "session_id": sid,
        "generated_at": time.time(),
        "labels": list(LABELS),
        "meta": records.meta,
        "emotion": records.emotion or None,
        "history": [parse_history_entry(i, f) for i, f in records.history],
        "chat": chat,
        "conversation": parse_conversation(records.tracker),
        "score": session_score(records.history, chat),
        "keys": [{"key": k, "type": t} for k, t in records.key_types],
    }


async def get_config(request: web.Request) -> web.Response:
    """Where the widget finds Rasa (`EMOTICAL_RASA_URL`, else this host on Rasa's default port)
    and how many frames a second the sidecar processes."""
    settings = request.app[SETTINGS]
    rasa_url = settings.rasa_url
    if not rasa_url:
        host = request.url.host or "127.0.0.1"
        rasa_url = f"{request.url.scheme}://{host}:{DEFAULT_RASA_PORT}"
    return web.json_response({"rasa_url": rasa_url, "socket_path": "/socket.io",
                              "max_fps": settings.max_fps})


async def get_products(request: web.Request) -> web.Response:
    """Products of the catalog."""
    return web.json_response({"products": load_products(request.app[SETTINGS].catalog_path)})


async def get_product_image(request: web.Request) -> web.Response:
    """The generated SVG picture of one product."""
    pid = request.match_info["pid"]
    for product in load_products(request.app[SETTINGS].catalog_path):
        if product["id"] == pid:
            return web.Response(text=product_svg(product), content_type="image/svg+xml",
                                headers={"Cache-Control": "max-age=3600"})
    raise UnknownProductError(f"no product with id {pid!r} in the catalog")


@session_route
async def get_report(request: web.Request, sid: str) -> web.Response:
    """The session report as JSON (`?download=1` adds a file name for saving)."""
    report = build_report(sid, await request.app[STORE].records(sid))
    event(log, logging.INFO, "report_read", frames=len(report["history"]),
          messages=len(report["chat"]))
    headers = {"Cache-Control": "no-store"}
    if request.query.get("download"):
        headers["Content-Disposition"] = f'attachment; filename="emotical-report-{sid}.json"'
    return web.json_response(report, headers=headers, dumps=lambda o: json.dumps(o, indent=1))


@session_route
async def get_report_page(request: web.Request, sid: str) -> web.FileResponse:
    """The report page; its script reads the session id from the path."""
    return web.FileResponse(STATIC_DIR / "report.html")
