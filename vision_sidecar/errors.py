"""The sidecar's errors that cross the HTTP boundary, and their one JSON shape."""

from __future__ import annotations

from typing import Any, Dict


class SidecarError(Exception):
    """An error a client caused or should know about: HTTP status, short code, message."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_json(self) -> Dict[str, Any]:
        """The project's error shape: {"error": {"code", "message"}}."""
        return {"error": {"code": self.code, "message": self.message}}


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


class InvalidSessionError(SidecarError):
    code = "invalid_session_id"


class NotFoundError(SidecarError):
    status = 404
    code = "not_found"


class StoreUnavailableError(SidecarError):
    """Redis did not answer (after a bounded retry)."""

    status = 503
    code = "store_unavailable"
