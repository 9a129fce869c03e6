"""HTTP handlers of the sidecar API (the table of routes is in `routes.py`)."""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any, Mapping, Optional

from aiohttp import web

from emotical_shared.logs import event
from emotical_shared.redis_schema import InvalidIdError, validate_id
from emotical_shared.tokens import SESSION, SHOPPER
from native import IMPLEMENTATION
from vision_sidecar import deletion, ws
from vision_sidecar.access import (
    SessionAccess,
    bearer_token,
    session_route,
    verify_shopper_proof,
    writing_session_route,
)
from vision_sidecar.chapters import FRAME_VIDEO, BadStampError, VideoStamp, frame_video
from vision_sidecar.decode import check_content_type
from vision_sidecar.errors import (
    BadFrameError,
    BusyError,
    FrameTooLargeError,
    NotFoundError,
    RateLimitedError,
    SidecarError,
    UnauthorizedError,
)
from vision_sidecar.keys import (
    BACKEND,
    INFLIGHT,
    PIPELINE,
    REGISTRY,
    SESSION_RATE,
    SETTINGS,
    SIGNER,
    STORE,
)

log = logging.getLogger(__name__)

#: Largest body of `POST /api/sessions` (a shopper token and a product id).
MAX_SESSION_REQUEST_BYTES = 4096


def new_id(prefix: str) -> str:
    """A random, server-made id (`s-…` sessions, `u-…` shoppers): 128 bits, schema-valid."""
    return validate_id(prefix + secrets.token_urlsafe(16))


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
    """Which part is down: 200 `ok` when Redis answers, 503 `degraded` (same JSON) when not."""
    redis_ok = await request.app[STORE].ping()
    body = {"status": "ok" if redis_ok else "degraded", "redis": "ok" if redis_ok else "down",
            "backend": request.app[BACKEND].name, "native": IMPLEMENTATION,
            "sessions": len(request.app[REGISTRY])}
    return web.json_response(body, status=200 if redis_ok else 503)


async def _session_request(request: web.Request) -> dict:
    """The optional JSON object body of `POST /api/sessions`."""
    data = await read_body(request, MAX_SESSION_REQUEST_BYTES)
    if not data.strip():
        return {}
    try:
        body = json.loads(data)
    except ValueError:
        raise SidecarError("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise SidecarError("the body must be a JSON object")
    return body


async def create_session(request: web.Request) -> web.Response:
    """Mint a session: random ids, a session token, a shopper token (201).

    A returning shopper sends `shopper_token` to keep their profile; a bad or expired one is a
    401 (the client then starts fresh without it). At most `sessions_per_minute` per remote
    address (429 with Retry-After).
    """
    app = request.app
    settings, signer = app[SETTINGS], app[SIGNER]
    wait = app[SESSION_RATE].try_acquire(request.remote or "unknown")
    if wait:
        raise RateLimitedError(
            f"over {settings.sessions_per_minute} new sessions a minute from this address",
            retry_after_s=wait)
    body = await _session_request(request)
    uid = new_id("u-")
    if body.get("shopper_token") is not None:
        uid = verify_shopper_proof(signer, body["shopper_token"]).shopper_id
    product_id = body.get("product_id")
    if product_id is not None:
        try:
            product_id = validate_id(product_id, "product")
        except InvalidIdError as exc:
            raise SidecarError(str(exc)) from None
    sid = new_id("s-")
    await app[STORE].register_session(sid, uid, product_id, settings.profile_ttl_s)
    session_token = signer.mint(SESSION, uid, sid, ttl_s=settings.session_token_ttl_s)
    claims = signer.verify(session_token, SESSION)
    event(log, logging.INFO, "session_created",
          shopper="returning" if body.get("shopper_token") is not None else "new")
    return web.json_response({
        "session_id": sid, "shopper_id": uid, "session_token": session_token,
        "shopper_token": signer.mint(SHOPPER, uid, ttl_s=settings.profile_ttl_s),
        "expires_at": claims.expires_at,
    }, status=201)


async def delete_shopper(request: web.Request) -> web.Response:
    """`DELETE /api/shoppers/me`: the shopper's profile and every session of theirs."""
    token = bearer_token(request)
    if token is None:
        raise UnauthorizedError("a shopper or session token is required")
    uid = verify_shopper_proof(request.app[SIGNER], token).shopper_id
    result = await request.app[STORE].delete_shopper(uid)
    await deletion.forget_in_process(request.app, result.sessions)
    event(log, logging.INFO, "shopper_deleted", sessions=len(result.sessions),
          keys=len(result.removed))
    return web.json_response({"shopper_id": uid, "sessions": result.sessions,
                              "removed": result.removed})


@writing_session_route
async def post_frame(request: web.Request, access: SessionAccess) -> web.Response:
    """Process one uploaded JPEG/PNG frame of a session (429 over the session's frame rate,
    503 busy over the global in-flight cap, 410 once the session is deleted)."""
    app, sid = request.app, access.sid
    settings = app[SETTINGS]
    check_content_type(request.headers.get("Content-Type"))
    data = await read_body(request, settings.max_frame_bytes)
    if not data:
        raise BadFrameError("empty frame: the body held no bytes")
    stamp = http_stamp(request.query, time.time())
    session = app[REGISTRY].get(sid)
    if not session.limiter.try_acquire():
        raise RateLimitedError(
            f"session {sid} is over {settings.max_fps:g} frames/s; this frame was dropped")
    gate = app[INFLIGHT]
    if not gate.try_enter():
        raise BusyError("the sidecar is at its limit of frames in work; try again in a second")
    video = None if stamp is None else frame_video(
        stamp, await ws.chapters_of(request, sid), stamp.received)
    ended = None
    context = FRAME_VIDEO.set(video)
    try:
        result = await app[PIPELINE].process(session, data)
        if result.stored:
            ended = session.chapters.observe(video)
    finally:
        FRAME_VIDEO.reset(context)
        gate.leave()
    await ws.learn_chapter(request, access, ended)
    return web.json_response(result.to_json(session.frames))


def http_stamp(query: Mapping[str, str], received: float) -> Optional[VideoStamp]:
    """The video stamp of an HTTP frame's query (`video_t`, `playing`, optional `ended`), checked
    by `VideoStamp.parse` like a WebSocket stamp; None without `video_t`; BadFrameError (400)."""
    if "video_t" not in query and "playing" not in query:
        return None
    flags = {"true": True, "false": False}
    raw_t, raw_playing, raw_ended = (query.get(k) for k in ("video_t", "playing", "ended"))
    try:
        t: Any = float(raw_t) if raw_t is not None else None
    except ValueError:
        t = raw_t
    message = {"t": t, "playing": flags.get(raw_playing or "", raw_playing),
               "ended": flags.get(raw_ended or "false", raw_ended)}
    try:
        return VideoStamp.parse(message, received)
    except BadStampError as exc:
        raise BadFrameError(f"{exc} (query video_t=<seconds>&playing=true|false)") from None


@session_route
async def get_emotion(request: web.Request, access: SessionAccess) -> web.Response:
    """The latest stored state of a session (404 when none)."""
    sid = access.sid
    state = await request.app[STORE].latest(sid)
    if state is None:
        raise NotFoundError(f"no emotion stored for session {sid}")
    return web.json_response({"session": sid, **state})


@session_route
async def get_history(request: web.Request, access: SessionAccess) -> web.Response:
    """History entries after `since` (stream id or unix seconds), at most `count` (≤ 10000)."""
    sid = access.sid
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
async def delete_session(request: web.Request, access: SessionAccess) -> web.Response:
    """Tombstone the session, delete every Redis key of it, forget it in memory and close its
    WebSocket; lists what was removed."""
    sid = access.sid
    removed = await request.app[STORE].delete(sid)
    await deletion.forget_in_process(request.app, [sid])
    event(log, logging.INFO, "session_deleted", keys=len(removed))
    return web.json_response({"session": sid, "removed": removed})


async def preflight(request: web.Request) -> web.Response:
    """CORS preflight for the API (headers added by the CORS middleware)."""
    return web.Response(status=204)
