"""The shop page's own routes: widget config, product list and the end-of-session report.

Routes (in the table of `routes.py`):

- `GET /api/config`                    where the widget finds Rasa, and the sidecar's frame rate
- `GET /api/products`                  products of the catalog (`catalog.py`)
- `GET /api/products/{pid}/image.svg`  a generated picture for products without one
- `GET /api/products/{pid}/video`      the product's video file (byte ranges, so it seeks)
- `GET /api/products/{pid}/captions.vtt`  WebVTT captions made from the product's chapters
- `GET /api/sessions/{sid}/report`     everything stored about a session (face states, message
                                       sentiment, Rasa's conversation) and about its shopper (the
                                       profile), with its score (JSON; session token required)
- `GET /report/{sid}`                  the report page (`static/report.html`): an empty shell
                                       with no data in it; its script fetches the JSON with the
                                       token the shopper's browser holds

The report reads Redis through the sidecar's store and scores the session with the one rule
the bot uses too (`emotical_shared.scoring`). The history comes in pages
(`?after=<stream id>&limit=`, at most `MAX_PAGE_ROWS` rows; `page.next` is the `after` of the
next page, null on the last); the score is computed over the whole history on the first page
(no `after`) and is null on later ones. Parsing and serialising run on the report thread
(`keys.REPORT_POOL`), not on the event loop: a full session used to cost the loop 0.75 s.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from aiohttp import web

from emotical_shared.chapters import VIDEO_TYPES, webvtt
from emotical_shared.labels import LABELS
from emotical_shared.logs import event
from emotical_shared.scoring import frame_valence, session_scores
from vision_sidecar.access import SessionAccess, request_session, session_route
from vision_sidecar.catalog import load_products, product_chapters, product_svg, video_file
from vision_sidecar.chapters import chapter_rows
from vision_sidecar.errors import BadFrameError, UnknownProductError
from vision_sidecar.keys import BACKEND, REPORT_POOL, SETTINGS, STORE
from vision_sidecar.settings import DEFAULT_RASA_PORT, Settings
from vision_sidecar.store import Entry, ProfileRecords, SessionRecords, history_start

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
#: Default and largest number of history rows in one report page.
MAX_PAGE_ROWS = 2000
BACKEND_DESCRIPTIONS = {
    "local": "an expression model running on this server; no image leaves it",
    "rekognition": ("AWS Rekognition reads a crop of the face a few times a minute; the model "
                    "on this server reads the other frames"),
}


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
    face_present, uncertain (a face without a confident reading: dominant "uncertain"), ts."""
    row = {
        "id": entry_id,
        "ts": _num(fields.get("ts"), _stream_ts(entry_id)),
        "dominant": fields.get("dominant"),
        "valence": _num(fields.get("valence")),
        "face_present": fields.get("face_present") == "1",
        "uncertain": fields.get("uncertain") == "1",
        "probs": {label: _num(fields.get(label), 0.0) for label in LABELS},
    }
    if "video_t" in fields:  # the frame carried the product video's state
        chapter = fields.get("chapter")
        row.update(video_t=_num(fields.get("video_t")), playing=fields.get("playing") == "1",
                   chapter=int(chapter) if chapter and chapter.isdigit() else None)
    return row


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


#: The longest button title the report takes from a message's metadata (the widget sends as much).
SHOWN_TEXT_MAX = 200


def shown_text(ev: Mapping[str, Any]) -> Optional[str]:
    """What the shopper saw and pressed (the widget's `customData.shown_text`, a button's title)
    for a user event whose text is the button's payload; None for typed messages."""
    metadata = ev.get("metadata")
    shown = metadata.get("shown_text") if isinstance(metadata, Mapping) else None
    if not isinstance(shown, str) or not shown.strip():
        return None
    return shown.strip()[:SHOWN_TEXT_MAX]


def parse_conversation(raw: Optional[str]) -> List[Dict[str, Any]]:
    """The shopper's and the bot's messages from Rasa's stored tracker (JSON with `events`).

    A pressed button's row shows its title as `text` (the widget sends it as metadata) and keeps
    what Rasa got as `payload`, which only the JSON download shows."""
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
        if not text:
            continue
        row: Dict[str, Any] = {"ts": _num(ev.get("timestamp"), 0.0), "who": ev["event"], "text": text}
        shown = shown_text(ev) if ev["event"] == "user" else None
        if shown and shown != text:
            row.update(text=shown, payload=text)
        out.append(row)
    return out


def profile_json(uid: str, profile: ProfileRecords) -> Dict[str, Any]:
    """Everything stored about the shopper (tag weights and counts, products shown, sessions)."""
    return {
        "shopper_id": uid,
        "tags": {tag: _num(w, 0.0) for tag, w in sorted(profile.tags.items())},
        "tag_counts": {tag: _num(n, 0.0) for tag, n in sorted(profile.tag_counts.items())},
        "seen_products": profile.seen,
        "sessions": profile.sessions,
    }


def build_report(sid: str, records: SessionRecords, profile: Optional[Dict[str, Any]] = None,
                 score_history: Optional[List[Entry]] = None,
                 page: Optional[Dict[str, Any]] = None, with_score: bool = True,
                 video: Optional[Dict[str, Any]] = None,
                 labels: Sequence[str] = LABELS) -> Dict[str, Any]:
    """The report JSON of session `sid`: every stored record, parsed, plus its scores.

    The score is computed over `score_history` (default: the page's history), or left out
    (null) without `with_score` (later pages). `video` is the product's video (`url`,
    `chapters`: the per-chapter table of `chapters.chapter_rows`), None without one.
    `labels`: those the expression backend reads (the report draws only these)."""
    chat = [parse_chat_entry(i, f) for i, f in records.chat]
    scored = records.history if score_history is None else score_history
    return {
        "session_id": sid,
        "generated_at": time.time(),
        "labels": list(labels),
        "meta": records.meta,
        "emotion": records.emotion or None,
        "history": [parse_history_entry(i, f) for i, f in records.history],
        "chat": chat,
        "conversation": parse_conversation(records.tracker),
        "score": session_score(scored, chat) if with_score else None,
        "keys": [{"key": k, "type": t} for k, t in records.key_types],
        "page": page or {"after": None, "limit": len(records.history),
                         "next": records.history_next, "total": records.history_total},
        "profile": profile,
        "video": video,
    }


def render_report(sid: str, records: SessionRecords, profile: Dict[str, Any],
                  score_history: Optional[List[Entry]], page: Dict[str, Any],
                  video: Optional[Dict[str, Any]] = None,
                  labels: Sequence[str] = LABELS) -> bytes:
    """The report as JSON bytes (runs on the report thread); no score without a history to
    score (`score_history` None: a later page)."""
    report = build_report(sid, records, profile, score_history, page,
                          with_score=score_history is not None, video=video, labels=labels)
    return json.dumps(report, indent=1).encode()


def _page_query(request: web.Request) -> tuple:
    after = request.query.get("after") or None
    if after is not None:
        if "-" not in after:
            raise BadFrameError(f"after={after!r} must be a stream id like 1700000000000-0")
        try:
            history_start(after)
        except ValueError as exc:
            raise BadFrameError(str(exc)) from None
    raw = request.query.get("limit", str(MAX_PAGE_ROWS))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_ROWS:
        raise BadFrameError(f"limit={raw!r} must be an integer from 1 to {MAX_PAGE_ROWS}")
    return after, int(raw)


def rasa_origins(settings: Settings, request: web.Request) -> tuple:
    """Rasa's URL as the widget reaches it, and its ws:// form."""
    rasa_url = settings.rasa_url
    if not rasa_url:
        host = request.url.host or "127.0.0.1"
        rasa_url = f"{request.url.scheme}://{host}:{DEFAULT_RASA_PORT}"
    return rasa_url, "ws" + rasa_url[len("http"):]


async def get_config(request: web.Request) -> web.Response:
    """Where the widget finds Rasa (`EMOTICAL_RASA_URL`, else this host on Rasa's default port),
    how many frames a second the sidecar processes, and which expression backend reads the
    face and which labels it gives (so the consent text can name them)."""
    settings = request.app[SETTINGS]
    backend = request.app[BACKEND].name
    return web.json_response({"rasa_url": rasa_origins(settings, request)[0],
                              "socket_path": "/socket.io", "max_fps": settings.max_fps,
                              "backend": backend,
                              "backend_labels": list(request.app[BACKEND].labels),
                              "backend_description": BACKEND_DESCRIPTIONS.get(backend, backend)})


async def get_products(request: web.Request) -> web.Response:
    """Products of the catalog, with their videos' and captions' addresses and chapters."""
    settings = request.app[SETTINGS]
    return web.json_response({"products": load_products(settings.catalog_path,
                                                        settings.videos_dir)})


def _known_product(request: web.Request) -> str:
    pid = request.match_info["pid"]
    if not any(p["id"] == pid for p in load_products(request.app[SETTINGS].catalog_path)):
        raise UnknownProductError(f"no product with id {pid!r} in the catalog")
    return pid


async def get_product_video(request: web.Request) -> web.StreamResponse:
    """A product's video (product media, no shopper data: no token, like its picture); 404
    `unknown_product` when the product has no servable video (docs/videos.md)."""
    settings = request.app[SETTINGS]
    pid = _known_product(request)
    path = video_file(settings.catalog_path, settings.videos_dir, pid)
    if path is None:
        raise UnknownProductError(f"product {pid!r} has no video here (run `make videos`)")
    return web.FileResponse(path, headers={
        "Content-Type": VIDEO_TYPES.get(path.suffix.lower(), "video/webm"),
        "Cache-Control": "max-age=3600"})


async def get_product_captions(request: web.Request) -> web.Response:
    """WebVTT captions of a product's video, one cue per chapter."""
    pid = _known_product(request)
    chapters = product_chapters(request.app[SETTINGS].catalog_path, pid)
    return web.Response(text=webvtt(chapters), content_type="text/vtt", charset="utf-8",
                        headers={"Cache-Control": "max-age=3600"})


async def get_product_image(request: web.Request) -> web.Response:
    """The generated SVG picture of one product."""
    pid = request.match_info["pid"]
    for product in load_products(request.app[SETTINGS].catalog_path):
        if product["id"] == pid:
            return web.Response(text=product_svg(product), content_type="image/svg+xml",
                                headers={"Cache-Control": "max-age=3600"})
    raise UnknownProductError(f"no product with id {pid!r} in the catalog")


@session_route
async def get_report(request: web.Request, access: SessionAccess) -> web.Response:
    """The session report as JSON, one history page (`?download=1` adds a file name)."""
    sid, app = access.sid, request.app
    after, limit = _page_query(request)
    store = app[STORE]
    records = await store.records(sid, after, limit)
    profile = profile_json(access.shopper_id, await store.profile(access.shopper_id))
    score_history: Optional[List[Entry]] = None
    if after is None:
        score_history = (records.history if records.history_next is None
                         else await store.history_entries(sid))
    page = {"after": after, "limit": limit, "next": records.history_next,
            "total": records.history_total}
    body = await asyncio.get_running_loop().run_in_executor(
        app[REPORT_POOL], render_report, sid, records, profile, score_history, page,
        report_video(app[SETTINGS], records), app[BACKEND].labels)
    event(log, logging.INFO, "report_read", frames=len(records.history),
          messages=len(records.chat))
    headers = {"Cache-Control": "no-store"}
    if request.query.get("download"):
        headers["Content-Disposition"] = f'attachment; filename="emotical-report-{sid}.json"'
    return web.Response(body=body, content_type="application/json", headers=headers)


def report_video(settings: Settings, records: SessionRecords) -> Optional[Dict[str, Any]]:
    """The session's product video for the report: its address and the per-chapter table
    (frames, face share, mean valence, dominant emotion, reaction, tag step); None when the
    session's product has no chapters."""
    pid = records.meta.get("product_id")
    chapters = product_chapters(settings.catalog_path, pid)
    if not chapters:
        return None
    has_file = video_file(settings.catalog_path, settings.videos_dir, pid or "") is not None
    return {"product_id": pid, "url": f"/api/products/{pid}/video" if has_file else None,
            "chapters": chapter_rows(chapters, records.chapters, settings.chapter_min_valence)}


async def get_report_page(request: web.Request) -> web.FileResponse:
    """The report page: a public empty shell (its script reads the session id from the path
    and fetches the report JSON with the session token)."""
    request_session(request)
    return web.FileResponse(STATIC_DIR / "report.html", headers={"Cache-Control": "no-store"})
