"""Which session a request is about: the one place every session route resolves it.

`{sid}` in the path or, for the WebSocket, `?session=`; validated against the Redis schema's id
rule before anything touches a key. `session_route` wraps a handler so it receives the session
id and every log line of its work names that session.
"""

from __future__ import annotations

import functools
from typing import Awaitable, Callable, TypeVar

from aiohttp import web

from emotical_shared.logs import session_scope
from emotical_shared.redis_schema import InvalidIdError, validate_id
from vision_sidecar.errors import InvalidSessionError

R = TypeVar("R", bound=web.StreamResponse)
SessionHandler = Callable[[web.Request, str], Awaitable[R]]


def request_session(request: web.Request) -> str:
    """The validated session id of `request` (400 `invalid_session_id` otherwise)."""
    sid = request.match_info.get("sid")
    if sid is None:
        sid = request.query.get("session", "")
    try:
        return validate_id(sid)
    except InvalidIdError as exc:
        raise InvalidSessionError(str(exc)) from None


def session_route(handler: SessionHandler[R]) -> Callable[[web.Request], Awaitable[R]]:
    """`handler(request, sid)` as an aiohttp handler, run inside `session_scope(sid)`."""

    @functools.wraps(handler)
    async def resolved(request: web.Request) -> R:
        sid = request_session(request)
        with session_scope(sid):
            return await handler(request, sid)

    return resolved
