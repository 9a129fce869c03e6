"""Middleware of every route: errors become the JSON error shape; localhost pages may call the API."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Awaitable, Callable

from aiohttp import web

from emotical_shared.errors import error_body
from emotical_shared.redis_schema import InvalidIdError
from vision_sidecar.errors import InvalidSessionError, SidecarError, error_response

log = logging.getLogger(__name__)

_LOCAL_ORIGIN = re.compile(r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """SidecarError and invalid ids become the JSON error shape; surprises become a 500."""
    try:
        return await handler(request)
    except SidecarError as exc:
        return error_response(exc)
    except InvalidIdError as exc:
        return error_response(InvalidSessionError(str(exc)))
    except web.HTTPException as exc:
        if request.path.startswith("/api/") and exc.status >= 400:
            return web.json_response(
                error_body(exc.reason.lower().replace(" ", "_"), exc.text or exc.reason),
                status=exc.status)
        raise
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return web.json_response(error_body("internal_error", "the sidecar failed; see its log"),
                                 status=500)


@web.middleware
async def cors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Let pages served from any localhost origin call the API."""
    response = await handler(request)
    origin = request.headers.get("Origin", "")
    if request.path.startswith("/api/") and _LOCAL_ORIGIN.match(origin):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, DELETE, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Vary"] = "Origin"
    return response
