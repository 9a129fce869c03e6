"""The application factory: settings, middleware, the pipeline in `cleanup_ctx`, the routes table."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import AsyncIterator, Callable, Optional

from aiohttp import web

from emotical_shared.logs import event
from native import IMPLEMENTATION
from vision_sidecar.expression.base import ExpressionBackend
from vision_sidecar.keys import BACKEND, PIPELINE, REGISTRY, SETTINGS, STORE
from vision_sidecar.middleware import cors_middleware, errors_middleware
from vision_sidecar.resources import open_pipeline
from vision_sidecar.routes import setup_routes
from vision_sidecar.sessions import SessionRegistry
from vision_sidecar.settings import Settings

log = logging.getLogger(__name__)

#: Sessions without a frame for this long are forgotten in memory (their Redis keys stay).
IDLE_SESSION_S = 15 * 60
Context = Callable[[web.Application], AsyncIterator[None]]


def _pipeline_ctx(settings: Settings, backend: Optional[ExpressionBackend]) -> Context:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        async with open_pipeline(settings, backend) as pipeline:
            app[PIPELINE], app[STORE] = pipeline, pipeline.store
            app[REGISTRY], app[BACKEND] = pipeline.registry, pipeline.backend
            janitor = asyncio.get_running_loop().create_task(_evict_idle(pipeline.registry))
            event(log, logging.INFO, "sidecar_ready", host=settings.host, port=settings.port,
                  backend=pipeline.backend.name, native=IMPLEMENTATION,
                  workers=settings.workers)
            try:
                yield
            finally:
                janitor.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await janitor

    return ctx


async def _evict_idle(registry: SessionRegistry) -> None:
    while True:
        await asyncio.sleep(60)
        registry.evict_idle(IDLE_SESSION_S)


def make_app(settings: Settings, backend: Optional[ExpressionBackend] = None) -> web.Application:
    """The sidecar application; `backend` replaces the configured one (in-process tests)."""
    app = web.Application(middlewares=[errors_middleware, cors_middleware],
                          client_max_size=settings.max_frame_bytes + 1024)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_pipeline_ctx(settings, backend))
    setup_routes(app)
    return app
