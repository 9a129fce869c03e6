"""The aiohttp application: resources in `cleanup_ctx`, typed app keys, error and CORS middleware."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import AsyncIterator, Awaitable, Callable

import cv2
from aiohttp import web

from emotical_shared.redis_schema import InvalidIdError
from native import IMPLEMENTATION
from vision_sidecar.errors import SidecarError
from vision_sidecar.expression import ExpressionBackend, make_backend
from vision_sidecar.logs import event
from vision_sidecar.pipeline import Pipeline
from vision_sidecar.sessions import SessionRegistry
from vision_sidecar.settings import Settings
from vision_sidecar.store import EmotionStore, connect

log = logging.getLogger("emotical.sidecar")

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", EmotionStore)
REGISTRY = web.AppKey("registry", SessionRegistry)
PIPELINE = web.AppKey("pipeline", Pipeline)
BACKEND = web.AppKey("backend", ExpressionBackend)
IDLE_SESSION_S = 15 * 60

_LOCAL_ORIGIN = re.compile(r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(exc: SidecarError) -> web.Response:
    headers = {"Retry-After": "1"} if exc.status == 429 else None
    return web.json_response(exc.to_json(), status=exc.status, headers=headers)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """SidecarError and invalid ids become the JSON error shape; surprises become a 500."""
    try:
        return await handler(request)
    except SidecarError as exc:
        return error_response(exc)
    except InvalidIdError as exc:
        return web.json_response({"error": {"code": "invalid_session_id", "message": str(exc)}},
                                 status=400)
    except web.HTTPException as exc:
        if request.path.startswith("/api/") and exc.status >= 400:
            return web.json_response(
                {"error": {"code": exc.reason.lower().replace(" ", "_"), "message": exc.text}},
                status=exc.status)
        raise
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return web.json_response(
            {"error": {"code": "internal_error", "message": "the sidecar failed; see its log"}},
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


def _resources(settings: Settings, backend: ExpressionBackend | None):
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        cv2.setNumThreads(1)  # parallelism comes from our pool, one frame per thread
        # The event loop answers 400 frames/s while pool threads run Python between their
        # GIL-free calls: switching every 1 ms instead of 5 ms keeps it from waiting.
        sys.setswitchinterval(settings.switch_interval_s)
        client = connect(settings.redis_url)
        store = EmotionStore(client)
        pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="frames")
        registry = SessionRegistry(settings.max_fps, settings.tau_s, settings.tau_decay_s)
        model = backend or make_backend(settings)
        app[STORE], app[REGISTRY], app[BACKEND] = store, registry, model
        app[PIPELINE] = Pipeline(settings, model, store, registry, pool)
        janitor = asyncio.get_running_loop().create_task(_evict_idle(registry))
        event(log, logging.INFO, "sidecar_ready", host=settings.host, port=settings.port,
              backend=model.name, native=IMPLEMENTATION, workers=settings.workers)
        yield
        janitor.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await janitor
        pool.shutdown(wait=True, cancel_futures=True)
        app[PIPELINE].close()  # after the frames: they may still start searches
        await client.aclose()

    return ctx


async def _evict_idle(registry: SessionRegistry) -> None:
    while True:
        await asyncio.sleep(60)
        registry.evict_idle(IDLE_SESSION_S)


def make_app(settings: Settings, backend: ExpressionBackend | None = None) -> web.Application:
    """The sidecar application; `backend` overrides the configured one (tests, benchmarks)."""
    from vision_sidecar.routes import setup_routes

    app = web.Application(middlewares=[errors_middleware, cors_middleware],
                          client_max_size=settings.max_frame_bytes + 1024)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_resources(settings, backend))
    setup_routes(app)
    return app
