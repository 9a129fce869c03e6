"""Middleware of every route: errors become the JSON error shape; allowed pages may call the API
(CORS, `Settings.origins` only); every answer carries the security headers."""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

from aiohttp import web
from yarl import URL

from emotical_shared.errors import error_body
from emotical_shared.redis_schema import InvalidIdError
from vision_sidecar.errors import InvalidSessionError, SidecarError, error_response
from vision_sidecar.keys import SETTINGS
from vision_sidecar.report import rasa_origins

log = logging.getLogger(__name__)

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
    """Let pages of the allowed origins (`Settings.origins`) call the API with a token."""
    response = await handler(request)
    origin = request.headers.get("Origin", "")
    if request.path.startswith("/api/") and origin in request.app[SETTINGS].origins:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, DELETE, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type, Authorization"
        response.headers["Vary"] = "Origin"
    return response


def content_security_policy(request: web.Request) -> str:
    """The pages' CSP (docs/security.md), with Rasa's origin in its http and ws form."""
    rasa_http, rasa_ws = (str(URL(u).origin()) for u in
                          rasa_origins(request.app[SETTINGS], request))
    return ("default-src 'self'; script-src 'self'; "
            f"connect-src 'self' {rasa_http} {rasa_ws}; img-src 'self' data: blob:; "
            "media-src 'self' blob:; style-src 'self'; frame-ancestors 'none'; "
            "base-uri 'none'; form-action 'self'")


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """`on_response_prepare`: nosniff and no referrer on every answer, the CSP on pages."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if response.content_type == "text/html":
        response.headers["Content-Security-Policy"] = content_security_policy(request)
