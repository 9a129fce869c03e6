"""WebSocket `/ws/frames`: binary frames in, one small JSON reply per frame.

The handshake is refused (403 `forbidden_origin`) for a page origin not in
`Settings.origins` (no Origin at all only when `allow_no_origin`), and (503 `busy`) over the
socket caps of `limits.SocketTable`. The first message must then be, within
`AUTH_TIMEOUT_S`, text JSON `{"type": "auth", "token": <session token>}`; the answer is
`{"type": "ready", "session_id", "max_fps"}`. Close codes: 4401 no or bad token (or none in
time), 4403 the auth message names another session than its token, 4409 the session already
has a socket (the first one stays), 4410 the session is deleted (also when it is deleted while
the socket is open). Nothing in the URL names the session.

Before a frame the page may send text `{"type": "video", "t": <seconds>, "playing": bool,
"ended": bool}`: the product video's state when the frame was captured. It goes with the next
binary frame only (`chapters.py`: the history entry gets it, the chapter on screen gets the
frame's emotion, and a chapter that ended teaches its tags); a bad one is answered
`{error: {code: "bad_frame"}}`.

Frames are processed at most `max_fps` per session. A frame that arrives while the previous one
is still waiting replaces it (latest wins); the replaced one is answered `{seq, dropped: true}`,
and one refused by the global in-flight cap `{seq, dropped: true, reason: "busy"}`. Nothing
queues without bound: per connection there is one frame in work and one waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Optional, Sequence, Tuple

from aiohttp import WSMsgType, web

from emotical_shared.chapters import Chapter
from emotical_shared.logs import event, session_scope
from vision_sidecar.access import SessionAccess, verify_session_token
from vision_sidecar.catalog import product_chapters
from vision_sidecar.chapters import (
    FRAME_VIDEO,
    BadStampError,
    ChapterTracker,
    VideoStamp,
    frame_video,
)
from vision_sidecar.deletion import CLOSE_DELETED
from vision_sidecar.errors import (
    BadFrameError,
    BusyError,
    ForbiddenOriginError,
    SessionDeletedError,
    SidecarError,
)
from vision_sidecar.keys import INFLIGHT, PIPELINE, REGISTRY, SETTINGS, SIGNER, SOCKETS, STORE

log = logging.getLogger(__name__)

Frame = Tuple[int, bytes, float, Optional[VideoStamp]]
#: Seconds a new socket has to send its auth message.
AUTH_TIMEOUT_S = 5.0
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TAKEN = 4409


class LatestSlot:
    """A one-place mailbox: `put` replaces (and returns) the frame still waiting."""

    def __init__(self) -> None:
        self._item: Optional[Frame] = None
        self._ready = asyncio.Event()

    def put(self, item: Frame) -> Optional[Frame]:
        """Leave `item` for the consumer; returns the frame it replaced, if one was waiting."""
        old, self._item = self._item, item
        self._ready.set()
        return old

    def waiting(self) -> bool:
        """True when a frame is waiting (it would win over one taken earlier)."""
        return self._item is not None

    async def get(self) -> Frame:
        """Take the waiting frame, waiting for one if there is none."""
        while self._item is None:
            self._ready.clear()
            await self._ready.wait()
        item, self._item = self._item, None
        return item


async def _send(ws: web.WebSocketResponse, payload: dict) -> bool:
    if ws.closed:
        return False
    try:
        await ws.send_json(payload)
        return True
    except (ConnectionResetError, RuntimeError):
        return False


async def learn_chapter(request: web.Request, access: SessionAccess,
                        chapter: Optional[Chapter]) -> None:
    """Let an ended chapter teach its tags (`EmotionStore.learn_chapter`); never raises."""
    if chapter is None:
        return
    settings = request.app[SETTINGS]
    try:
        await request.app[STORE].learn_chapter(
            access.sid, access.shopper_id, chapter, settings.chapter_learning_rate,
            settings.chapter_min_valence, settings.profile_ttl_s)
    except SidecarError as exc:
        event(log, logging.WARNING, "chapter_learn_failed", chapter=chapter.index,
              error=type(exc).__name__)


async def _consume(ws: web.WebSocketResponse, request: web.Request, access: SessionAccess,
                   slot: LatestSlot, chapters: Sequence[Chapter], tracker: ChapterTracker) -> None:
    pipeline = request.app[PIPELINE]
    registry = request.app[REGISTRY]
    gate = request.app[INFLIGHT]
    sid = access.sid
    while True:
        seq, data, received, stamp = await slot.get()
        session = registry.get(sid)
        delay = session.limiter.wait_time()
        if delay > 0:
            await asyncio.sleep(delay)
            if slot.waiting():  # a newer frame came while we waited: it wins
                await _send(ws, {"seq": seq, "dropped": True})
                continue
        if not gate.try_enter():
            await _send(ws, {"seq": seq, "dropped": True, "reason": "busy"})
            continue
        session.limiter.try_acquire()
        video = frame_video(stamp, chapters, received)
        ended = None
        context = FRAME_VIDEO.set(video)
        try:
            result = await pipeline.process(session, data, ts=received)
            reply = result.to_json(seq)
            if result.stored:
                ended = tracker.observe(video)
        except SessionDeletedError:
            registry.drop(sid)
            # shielded: the handler cancels this task once the socket closes, and a close
            # cut short would reach the client as 1006 instead of 4410
            await asyncio.shield(ws.close(code=CLOSE_DELETED, message=b"session deleted"))
            return
        except SidecarError as exc:
            reply = {"seq": seq, **exc.to_json()}
        finally:
            FRAME_VIDEO.reset(context)
            gate.leave()
        if not await _send(ws, reply):
            return
        await learn_chapter(request, access, ended)


def check_origin(request: web.Request) -> None:
    """403 `forbidden_origin` unless the page's Origin is allowed (or absent, if allowed)."""
    settings = request.app[SETTINGS]
    origin = request.headers.get("Origin")
    if origin is None:
        if not settings.allow_no_origin:
            raise ForbiddenOriginError("a WebSocket without an Origin is not accepted here")
    elif origin.rstrip("/") not in settings.origins:
        raise ForbiddenOriginError(f"pages of {origin[:100]} may not open this WebSocket")


async def _authenticate(ws: web.WebSocketResponse,
                        request: web.Request) -> Optional[SessionAccess]:
    """The session the first message proves, or None after closing the socket with why."""
    try:
        msg = await ws.receive(timeout=AUTH_TIMEOUT_S)
    except asyncio.TimeoutError:
        await ws.close(code=CLOSE_UNAUTHORIZED, message=b"no auth message in time")
        return None
    auth: object = None
    if msg.type == WSMsgType.TEXT:
        with contextlib.suppress(ValueError):
            auth = json.loads(msg.data)
    if not isinstance(auth, dict) or auth.get("type") != "auth":
        await ws.close(code=CLOSE_UNAUTHORIZED, message=b"first message must be the auth message")
        return None
    try:
        claims = verify_session_token(request.app[SIGNER], auth.get("token"))
    except SidecarError:
        await ws.close(code=CLOSE_UNAUTHORIZED, message=b"a valid session token is required")
        return None
    sid = claims.session_id or ""
    named = auth.get("session_id")
    if named is not None and named != sid:
        await ws.close(code=CLOSE_FORBIDDEN, message=b"this token is for another session")
        return None
    try:
        deleted = await request.app[STORE].tombstoned(sid)
    except SidecarError:
        await ws.close(code=1011, message=b"store unavailable")
        return None
    if deleted:
        await ws.close(code=CLOSE_DELETED, message=b"session deleted")
        return None
    return SessionAccess(sid=sid, shopper_id=claims.shopper_id, expires_at=claims.expires_at)


async def ws_frames(request: web.Request) -> web.StreamResponse:
    """Receive one session's frames over one WebSocket and answer each one."""
    settings = request.app[SETTINGS]
    sockets = request.app[SOCKETS]
    check_origin(request)
    client = request.remote or "unknown"
    refusal = sockets.refusal(client)
    if refusal is not None:
        raise BusyError(refusal)
    sockets.open(client)
    try:
        ws = web.WebSocketResponse(max_msg_size=settings.max_frame_bytes, heartbeat=30.0,
                                   compress=False)
        await ws.prepare(request)
        access = await _authenticate(ws, request)
        if access is None:
            return ws
        with session_scope(access.sid):
            if not sockets.bind(access.sid, ws):
                await ws.close(code=CLOSE_TAKEN, message=b"this session already has a socket")
                return ws
            try:
                await _serve(ws, request, access)
            finally:
                sockets.unbind(access.sid, ws)
        return ws
    finally:
        sockets.close(client)


async def chapters_of(request: web.Request, sid: str) -> Tuple[Chapter, ...]:
    """The chapters of the product the session was opened for (none when Redis is away)."""
    try:
        product = await request.app[STORE].product_of(sid)
    except SidecarError:
        return ()
    return product_chapters(request.app[SETTINGS].catalog_path, product)


def _stamp(text: str) -> Optional[VideoStamp]:
    """The video stamp of a text message; BadFrameError for any other text."""
    try:
        message = json.loads(text)
    except ValueError:
        message = None
    if not isinstance(message, dict) or message.get("type") != "video":
        raise BadFrameError("send frames as binary JPEG or PNG messages (text only for "
                            '{"type": "video", "t", "playing"})')
    try:
        return VideoStamp.parse(message, time.time())
    except BadStampError as exc:
        raise BadFrameError(str(exc)) from None


async def _serve(ws: web.WebSocketResponse, request: web.Request, access: SessionAccess) -> None:
    sid = access.sid
    await _send(ws, {"type": "ready", "session_id": sid,
                     "max_fps": request.app[SETTINGS].max_fps})
    event(log, logging.INFO, "ws_open")
    slot = LatestSlot()
    tracker = ChapterTracker()
    consumer = asyncio.get_running_loop().create_task(
        _consume(ws, request, access, slot, await chapters_of(request, sid), tracker))
    seq = 0
    stamp: Optional[VideoStamp] = None
    try:
        async for msg in ws:
            if msg.type == WSMsgType.BINARY:
                seq += 1
                replaced = slot.put((seq, msg.data, time.time(), stamp))
                stamp = None
                if replaced is not None:
                    await _send(ws, {"seq": replaced[0], "dropped": True})
            elif msg.type == WSMsgType.TEXT:
                try:
                    stamp = _stamp(msg.data)
                except BadFrameError as exc:
                    await _send(ws, exc.to_json())
            elif msg.type == WSMsgType.ERROR:
                event(log, logging.WARNING, "ws_error", error=str(ws.exception()))
                break
    finally:
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await consumer
        await learn_chapter(request, access, tracker.close())
        event(log, logging.INFO, "ws_closed", frames=seq)
