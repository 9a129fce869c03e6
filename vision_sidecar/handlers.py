"""HTTP handlers of the sidecar API (the table of routes is in `routes.py`)."""

from __future__ import annotations

import logging

from aiohttp import web

from emotical_shared.logs import event
from native import IMPLEMENTATION
from vision_sidecar.access import session_route
from vision_sidecar.decode import check_content_type
from vision_sidecar.errors import BadFrameError, FrameTooLargeError, NotFoundError, RateLimitedError
from vision_sidecar.keys import BACKEND, PIPELINE, REGISTRY, SETTINGS, STORE

log = logging.getLogger(__name__)


async def read_body(request: web.Request, limit: int) -> bytes:
    """The request body, refused early (413) when it is or would grow over `limit` bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise FrameTooLargeError(
            f"upload of {request.content_length} bytes is over the {limit}-byte limit")
    chunks, size = [], 0
    while True:
        chunk = await request.content.read(64 * 1024)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise FrameTooLargeError(f"upload is over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


async def healthz(request: web.Request) -> web.Response:
    """200 when the model is loaded and Redis answers; 503 (same JSON) when Redis does not."""
    redis_ok = await request.app[STORE].ping()
    body = {"status": "ok" if redis_ok else "degraded", "redis": redis_ok,
            "backend": request.app[BACKEND].name, "native": IMPLEMENTATION,
            "sessions": len(request.app[REGISTRY])}
    return web.json_response(body, status=200 if redis_ok else 503)


@session_route
async def post_frame(request: web.Request, sid: str) -> web.Response:
    """Process one uploaded JPEG/PNG frame of a session (429 over the session's frame rate)."""
    settings = request.app[SETTINGS]
    check_content_type(request.headers.get("Content-Type"))
    data = await read_body(request, settings.max_frame_bytes)
    if not data:
        raise BadFrameError("empty frame: the body held no bytes")
    session = request.app[REGISTRY].get(sid)
    if not session.limiter.try_acquire():
        raise RateLimitedError(
            f"session {sid} is over {settings.max_fps:g} frames/s; this frame was dropped")
    result = await request.app[PIPELINE].process(session, data)
    return web.json_response(result.to_json(session.frames))


@session_route
async def get_emotion(request: web.Request, sid: str) -> web.Response:
    """The latest stored state of a session (404 when none)."""
    state = await request.app[STORE].latest(sid)
    if state is None:
        raise NotFoundError(f"no emotion stored for session {sid}")
    return web.json_response({"session": sid, **state})


@session_route
async def get_history(request: web.Request, sid: str) -> web.Response:
    """History entries after `since` (stream id or unix seconds), at most `count` (≤ 10000)."""
    since = request.query.get("since")
    raw_count = request.query.get("count", "1000")
    if not raw_count.isdigit() or int(raw_count) < 1:
        raise BadFrameError(f"count={raw_count!r} must be a positive integer")
    try:
        entries = await request.app[STORE].history(sid, since, int(raw_count))
    except ValueError as exc:
        raise BadFrameError(str(exc)) from None
    return web.json_response({"session": sid, "entries": entries,
                              "next": entries[-1]["id"] if entries else since})


@session_route
async def delete_session(request: web.Request, sid: str) -> web.Response:
    """Delete every Redis key of the session and forget it in memory; lists what was removed."""
    removed = await request.app[STORE].delete(sid)
    request.app[REGISTRY].drop(sid)
    event(log, logging.INFO, "session_deleted", keys=len(removed))
    return web.json_response({"session": sid, "removed": removed})


async def preflight(request: web.Request) -> web.Response:
    """CORS preflight for the API (headers added by the CORS middleware)."""
    return web.Response(status=204)
