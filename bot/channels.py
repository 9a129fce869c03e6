"""Rasa's socket.io channel with session persistence that works on current python-socketio.

Rasa 3.6.21's `SocketIOInput` calls `sio.enter_room(...)` without awaiting it when
`session_persistence` is on. In python-socketio 5.x `enter_room` is a coroutine, so the socket
never joins the session's room and every bot reply (emitted to that room) is lost
(RasaHQ/rasa issue 13027). This subclass re-registers the `session_request` handler with the
awaited call. It also sends custom JSON payloads as `{"custom": {...}}` to the session's room:
Rasa's own `send_custom_json` spreads the payload into `emit(**payload)`, which fails for any key
that `emit` does not know.

Use it in `credentials.yml` instead of `socketio:`::

    bot.channels.PersistentSocketIOInput:
      user_message_evt: user_uttered
      bot_message_evt: bot_uttered
      session_persistence: true
      metadata_key: customData
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint

logger = logging.getLogger(__name__)


class RoomSocketIOOutput(SocketIOOutput):
    """socket.io output whose custom payloads reach the session's room as `{"custom": ...}`."""

    async def send_custom_json(
        self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any
    ) -> None:
        """Send `json_message` unchanged under the `custom` key."""
        await self._send_message(recipient_id, {"custom": json_message})


class PersistentSocketIOInput(SocketIOInput):
    """`SocketIOInput` whose `session_request` joins the room before confirming the session."""

    @classmethod
    def name(cls) -> str:
        return "socketio"

    def get_output_channel(self) -> Optional[SocketIOOutput]:
        """Output channel for messages sent outside a conversation turn (e.g. reminders)."""
        if self.sio is None:
            return super().get_output_channel()
        return RoomSocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Rasa's blueprint with the `session_request` handler replaced by an awaiting one."""

        async def on_new_message_with_room_output(message: UserMessage) -> Any:
            if isinstance(message.output_channel, SocketIOOutput) and self.sio is not None:
                message.output_channel = RoomSocketIOOutput(self.sio, self.bot_message_evt)
            return await on_new_message(message)

        webhook = super().blueprint(on_new_message_with_room_output)
        sio = self.sio
        assert sio is not None  # set by super().blueprint

        async def session_request(sid: str, data: Optional[Dict[str, Any]]) -> None:
            data = dict(data or {})
            session_id = data.get("session_id") or uuid.uuid4().hex
            if self.session_persistence:
                await sio.enter_room(sid, session_id, namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)
            logger.debug("socket %s joined session %s", sid, session_id)

        sio.on("session_request", handler=session_request, namespace=self.namespace)
        return webhook
