"""The sidecar's errors that cross the HTTP boundary, and their one JSON shape.

Every error answer of every route (API, WebSocket before the upgrade, shop page, report) is
`{"error": {"code": <short code>, "message": <for a person>}}` with the class's HTTP status.
"""

from __future__ import annotations

import math
from typing import Any, Dict

from aiohttp import web

from emotical_shared.errors import error_body


class SidecarError(Exception):
    """An error a client caused or should know about: HTTP status, short code, message."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_json(self) -> Dict[str, Any]:
        """The project's error shape: {"error": {"code", "message"}}."""
        return error_body(self.code, self.message)


class BadFrameError(SidecarError):
    """The body is empty, truncated, or not an image we can decode."""

    code = "bad_frame"


class UnsupportedMediaError(SidecarError):
    status = 415
    code = "unsupported_media_type"


class FrameTooLargeError(SidecarError):
    """Too many bytes, or a header announcing too many pixels (decompression bomb)."""

    status = 413
    code = "frame_too_large"


class RateLimitedError(SidecarError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class UnauthorizedError(SidecarError):
    """No session token, or one that proves nothing (forged, expired, malformed)."""

    status = 401
    code = "unauthorized"


class ForbiddenError(SidecarError):
    """A genuine token, but for another session than the one asked about."""

    status = 403
    code = "forbidden"


class ForbiddenOriginError(ForbiddenError):
    code = "forbidden_origin"


class SessionDeletedError(SidecarError):
    """The session was deleted (its tombstone exists): nothing of it is served or stored."""

    status = 410
    code = "session_deleted"


class BusyError(SidecarError):
    """Too many frames or sockets at once; try again in a second."""

    status = 503
    code = "busy"


class InvalidSessionError(SidecarError):
    code = "invalid_session_id"


class NotFoundError(SidecarError):
    status = 404
    code = "not_found"


class UnknownProductError(NotFoundError):
    code = "unknown_product"


class StoreUnavailableError(SidecarError):
    """Redis did not answer (after a bounded retry)."""

    status = 503
    code = "store_unavailable"


def error_response(exc: SidecarError) -> web.Response:
    """`exc` as the JSON error answer (429s and busy 503s say when to try again)."""
    headers = None
    if isinstance(exc, RateLimitedError):
        headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))}
    elif isinstance(exc, BusyError):
        headers = {"Retry-After": "1"}
    return web.json_response(exc.to_json(), status=exc.status, headers=headers)
