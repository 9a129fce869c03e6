"""Who may touch a session: the one place every session route resolves and authorizes it.

A session route has `{sid}` in its path and is wrapped in `session_route`, which, before the
handler runs:

1. validates `{sid}` against the Redis schema's id rule (400 `invalid_session_id`);
2. verifies the `Authorization: Bearer <session token>` header with the app's Signer
   (401 `unauthorized` when missing, forged, malformed or expired);
3. refuses a token of another session (403 `forbidden`);
4. refuses a deleted session (410 `session_deleted`, its tombstone exists). A route that
   writes (`writing_session_route`) skips this read: its write checks the tombstone atomically
   and raises the same error.

The handler then gets a `SessionAccess` (session and shopper ids from the token) and runs inside
`session_scope(sid)`. `routes.setup_routes` refuses a `{sid}` route whose handler is not wrapped,
so a new route cannot forget it. The WebSocket (`ws.py`) and `DELETE /api/shoppers/me` verify
their tokens with the same functions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Awaitable, Callable, Optional, TypeVar

from aiohttp import web

from emotical_shared.logs import session_scope
from emotical_shared.redis_schema import InvalidIdError, validate_id
from emotical_shared.tokens import SESSION, SHOPPER, Claims, Signer, TokenError
from vision_sidecar.errors import (
    ForbiddenError,
    InvalidSessionError,
    SessionDeletedError,
    UnauthorizedError,
)
from vision_sidecar.keys import SIGNER, STORE

R = TypeVar("R", bound=web.StreamResponse)
#: Attribute set on every handler `session_route` wrapped (checked by `routes.setup_routes`).
SESSION_ROUTE_MARK = "emotical_session_route"


@dataclass(frozen=True)
class SessionAccess:
    """A request's proven right to one session: the ids its token binds."""

    sid: str
    shopper_id: str
    expires_at: int


SessionHandler = Callable[[web.Request, SessionAccess], Awaitable[R]]


def request_session(request: web.Request) -> str:
    """The validated `{sid}` of `request` (400 `invalid_session_id` otherwise)."""
    try:
        return validate_id(request.match_info.get("sid"))
    except InvalidIdError as exc:
        raise InvalidSessionError(str(exc)) from None


def bearer_token(request: web.Request) -> Optional[str]:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def verify_session_token(signer: Signer, token: object) -> Claims:
    """The claims of a genuine, unexpired session token; UnauthorizedError otherwise."""
    try:
        return signer.verify(token, SESSION)
    except TokenError as exc:
        raise UnauthorizedError(f"a valid session token is required ({exc.reason})") from None


def verify_shopper_proof(signer: Signer, token: object) -> Claims:
    """Claims of a shopper token, or of a session token (which names its shopper too)."""
    try:
        return signer.verify(token, SHOPPER)
    except TokenError:
        pass
    try:
        return signer.verify(token, SESSION)
    except TokenError as exc:
        raise UnauthorizedError(
            f"a valid shopper or session token is required ({exc.reason})") from None


async def authorize(request: web.Request, sid: str, check_tombstone: bool = True) -> SessionAccess:
    """The request's access to session `sid`, or the 401/403/410 error it deserves."""
    claims = verify_session_token(request.app[SIGNER], bearer_token(request))
    if claims.session_id != sid:
        raise ForbiddenError("this session token is for another session")
    if check_tombstone and await request.app[STORE].tombstoned(sid):
        raise SessionDeletedError("this session was deleted")
    return SessionAccess(sid=sid, shopper_id=claims.shopper_id, expires_at=claims.expires_at)


def _wrap(handler: SessionHandler[R], check_tombstone: bool) -> Callable[[web.Request], Awaitable[R]]:
    @functools.wraps(handler)
    async def resolved(request: web.Request) -> R:
        sid = request_session(request)
        with session_scope(sid):
            access = await authorize(request, sid, check_tombstone=check_tombstone)
            return await handler(request, access)

    setattr(resolved, SESSION_ROUTE_MARK, True)
    return resolved


def session_route(handler: SessionHandler[R]) -> Callable[[web.Request], Awaitable[R]]:
    """`handler(request, access)` as an aiohttp handler, authorized, in `session_scope`."""
    return _wrap(handler, check_tombstone=True)


def writing_session_route(handler: SessionHandler[R]) -> Callable[[web.Request], Awaitable[R]]:
    """`session_route` for a handler whose write checks the tombstone atomically itself."""
    return _wrap(handler, check_tombstone=False)
