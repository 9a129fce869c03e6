"""Rasa's channels as eMotical serves them: every message proves whose session it belongs to.

Two fixes over Rasa 3.6.21's own channels, both loaded from `credentials.yml`:

* **Verified identity.** A message is accepted only with a session token the sidecar minted
  (`emotical_shared.tokens`). The conversation (sender) id is the token's session id, never an
  id the client chose, and the metadata the actions see carries the verified token and the ids
  it binds under the names `session_id` / `shopper_id` (whatever the client put there is
  overwritten). socket.io reads the token from `session_request` (`token`, or `customData.token`
  as rasa-webchat sends it) and from each `user_uttered`'s metadata; REST from
  `Authorization: Bearer <token>` or `metadata.token`. Without a valid token socket.io answers
  `session_refused` and REST 401, and nothing reaches the tracker.
* **Session rooms that work.** With `session_persistence` Rasa's socket.io channel calls
  `sio.enter_room(...)` without awaiting it; in python-socketio 5.x that is a coroutine, so the
  socket never joins the room and every reply is lost (RasaHQ/rasa issue 13027). Here the join
  is awaited. Custom JSON payloads reach the room as `{"custom": {...}}`: Rasa's own
  `send_custom_json` spreads the payload into `emit(**payload)`, which fails for unknown keys.

Use in `credentials.yml`::

    bot.channels.VerifiedRestInput:
    bot.channels.PersistentSocketIOInput:
      user_message_evt: user_uttered
      bot_message_evt: bot_uttered
      session_persistence: true
      metadata_key: customData
"""

from __future__ import annotations

import json
import logging
from typing import Any, Awaitable, Callable, Dict, Mapping, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint
from sanic.exceptions import SanicException
from sanic.request import Request

from emotical_shared import logs
from emotical_shared.tokens import SESSION, Claims, Signer, TokenError, signer_from_env

logger = logging.getLogger(__name__)

#: Metadata keys the channel owns: a client's values under these names never reach the tracker.
TOKEN_KEY = "token"
STAMPED_KEYS = ("session_id", "shopper_id", TOKEN_KEY)


def stamp(metadata: Optional[Mapping[str, Any]], claims: Claims, token: str) -> Dict[str, Any]:
    """The client's metadata with the verified ids and token in place of anything it sent."""
    out = {k: v for k, v in (metadata or {}).items() if k not in STAMPED_KEYS}
    out.update(session_id=claims.session_id, shopper_id=claims.shopper_id, token=token)
    return out


def _metadata_dict(raw: Any) -> Dict[str, Any]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}
    return dict(raw) if isinstance(raw, dict) else {}


class _Verifier:
    """Lazily built Signer (the secret is read once, when the first message arrives)."""

    def __init__(self) -> None:
        self._signer: Optional[Signer] = None

    def verify(self, token: Any) -> Claims:
        if self._signer is None:
            self._signer = signer_from_env()
        return self._signer.verify(token, SESSION)


class RoomSocketIOOutput(SocketIOOutput):
    """socket.io output whose custom payloads reach the session's room as `{"custom": ...}`."""

    async def send_custom_json(
        self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any
    ) -> None:
        """Send `json_message` unchanged under the `custom` key."""
        await self._send_message(recipient_id, {"custom": json_message})


class PersistentSocketIOInput(SocketIOInput):
    """socket.io with awaited session rooms and a session token on every request and message."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._verifier = _Verifier()

    @classmethod
    def name(cls) -> str:
        return "socketio"

    def get_output_channel(self) -> Optional[SocketIOOutput]:
        """Output channel for messages sent outside a conversation turn (e.g. reminders)."""
        if self.sio is None:
            return None
        return RoomSocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Rasa's blueprint with `session_request` and the user message handler replaced."""
        webhook = super().blueprint(on_new_message)
        sio = self.sio
        assert sio is not None  # set by super().blueprint
        namespace = self.namespace

        async def refuse(sid: str, reason: str) -> None:
            logs.event(logger, logging.WARNING, "socketio_refused", reason=reason)
            await sio.emit("session_refused", {"error": {"code": "unauthorized",
                                                         "message": reason}},
                           room=sid, namespace=namespace)

        async def admit(sid: str, token: Any) -> Optional[Claims]:
            """The token's claims with the socket in its session's room; None when refused.

            A socket only ever joins the room of a session whose token it showed."""
            try:
                claims = self._verifier.verify(token)
            except TokenError as exc:
                await refuse(sid, exc.reason)
                return None
            if self.session_persistence:
                await sio.enter_room(sid, claims.session_id, namespace=namespace)
            return claims

        async def session_request(sid: str, data: Optional[Dict[str, Any]]) -> None:
            data = data if isinstance(data, dict) else {}
            token = data.get(TOKEN_KEY) or _metadata_dict(data.get(self.metadata_key)).get(TOKEN_KEY)
            claims = await admit(sid, token)
            if claims is None:
                return
            session_id = claims.session_id
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)
            with logs.session_scope(session_id):
                logs.event(logger, logging.DEBUG, "socketio_session_joined")

        async def handle_message(sid: str, data: Any) -> None:
            data = data if isinstance(data, dict) else {}
            metadata = _metadata_dict(data.get(self.metadata_key))
            token = metadata.get(TOKEN_KEY) or data.get(TOKEN_KEY)
            claims = await admit(sid, token)
            if claims is None:
                return
            message = UserMessage(
                str(data.get("message") or ""), RoomSocketIOOutput(sio, self.bot_message_evt),
                claims.session_id if self.session_persistence else sid,
                input_channel=self.name(), metadata=stamp(metadata, claims, str(token)),
            )
            await on_new_message(message)

        sio.on("session_request", handler=session_request, namespace=namespace)
        sio.on(self.user_message_evt, handler=handle_message, namespace=namespace)
        return webhook


class VerifiedRestInput(RestInput):
    """Rasa's REST channel (`/webhooks/rest/webhook`) that needs a session token.

    The token comes as `Authorization: Bearer <token>` or `metadata.token`; the sender id is the
    token's session id (a `sender` in the body must match it or be absent).
    """

    def __init__(self) -> None:
        super().__init__()
        self._verifier = _Verifier()

    @classmethod
    def name(cls) -> str:
        return "rest"

    def _claims(self, request: Request) -> Claims:
        cached = getattr(request.ctx, "emotical_claims", None)
        if cached is not None:
            return cached
        body = request.json if isinstance(request.json, dict) else {}
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else None
        token = token or _metadata_dict(body.get("metadata")).get(TOKEN_KEY)
        try:
            claims = self._verifier.verify(token)
        except TokenError as exc:
            logs.event(logger, logging.WARNING, "rest_refused", reason=exc.reason)
            raise SanicException(f"unauthorized: {exc.reason}", status_code=401) from None
        sender = body.get("sender")
        if sender not in (None, "", claims.session_id):
            logs.event(logger, logging.WARNING, "rest_refused", reason="sender mismatch")
            raise SanicException("forbidden: the token is for another session", status_code=403)
        request.ctx.emotical_claims = claims
        request.ctx.emotical_token = token
        return claims

    async def _extract_sender(self, req: Request) -> Optional[str]:
        return self._claims(req).session_id

    def get_metadata(self, request: Request) -> Optional[Dict[str, Any]]:
        body = request.json if isinstance(request.json, dict) else {}
        claims = self._claims(request)
        return stamp(_metadata_dict(body.get("metadata")), claims, request.ctx.emotical_token)
