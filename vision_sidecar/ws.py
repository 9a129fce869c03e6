"""WebSocket `/ws/frames?session=<sid>`: binary frames in, one small JSON reply per frame.

Frames are processed at most `max_fps` per session. A frame that arrives while the previous one
is still waiting replaces it (latest wins); the replaced one is answered `{seq, dropped: true}`.
Nothing queues without bound: per connection there is one frame in work and one waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Optional, Tuple

from aiohttp import WSMsgType, web

from emotical_shared.logs import event
from vision_sidecar.access import session_route
from vision_sidecar.errors import BadFrameError, SidecarError
from vision_sidecar.keys import PIPELINE, REGISTRY, SETTINGS

log = logging.getLogger(__name__)

Frame = Tuple[int, bytes, float]


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


async def _consume(ws: web.WebSocketResponse, request: web.Request, sid: str,
                   slot: LatestSlot) -> None:
    pipeline = request.app[PIPELINE]
    registry = request.app[REGISTRY]
    while True:
        seq, data, received = await slot.get()
        session = registry.get(sid)
        delay = session.limiter.wait_time()
        if delay > 0:
            await asyncio.sleep(delay)
            if slot.waiting():  # a newer frame came while we waited: it wins
                await _send(ws, {"seq": seq, "dropped": True})
                continue
        session.limiter.try_acquire()
        try:
            result = await pipeline.process(session, data, ts=received)
            reply = result.to_json(seq)
        except SidecarError as exc:
            reply = {"seq": seq, **exc.to_json()}
        if not await _send(ws, reply):
            return


@session_route
async def ws_frames(request: web.Request, sid: str) -> web.StreamResponse:
    """Receive a session's frames over one WebSocket and answer each one.

    The session comes from `?session=` and is checked before the upgrade (400 otherwise).
    """
    settings = request.app[SETTINGS]
    ws = web.WebSocketResponse(max_msg_size=settings.max_frame_bytes, heartbeat=30.0,
                               compress=False)
    await ws.prepare(request)
    event(log, logging.INFO, "ws_open")
    slot = LatestSlot()
    consumer = asyncio.get_running_loop().create_task(_consume(ws, request, sid, slot))
    seq = 0
    try:
        async for msg in ws:
            if msg.type == WSMsgType.BINARY:
                seq += 1
                replaced = slot.put((seq, msg.data, time.time()))
                if replaced is not None:
                    await _send(ws, {"seq": replaced[0], "dropped": True})
            elif msg.type == WSMsgType.TEXT:
                await _send(ws, BadFrameError(
                    "send frames as binary JPEG or PNG messages").to_json())
            elif msg.type == WSMsgType.ERROR:
                event(log, logging.WARNING, "ws_error", error=str(ws.exception()))
                break
    finally:
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await consumer
        event(log, logging.INFO, "ws_closed", frames=seq)
    return ws

