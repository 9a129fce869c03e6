"""The application factory: settings, middleware, the Signer and the pipeline in `cleanup_ctx`,
the limits, the routes table."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import AsyncIterator, Callable, Optional

from aiohttp import web

from emotical_shared.logs import event
from emotical_shared.tokens import Signer, signer_from_env
from native import IMPLEMENTATION
from vision_sidecar.expression.base import ExpressionBackend
from vision_sidecar.keys import (
    BACKEND,
    INFLIGHT,
    PIPELINE,
    REGISTRY,
    REPORT_POOL,
    SESSION_RATE,
    SETTINGS,
    SIGNER,
    SOCKETS,
    STORE,
)
from vision_sidecar.limits import InflightGate, SocketTable, WindowRate
from vision_sidecar.middleware import cors_middleware, errors_middleware, security_headers
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
                  workers=settings.workers,
                  loop=type(asyncio.get_running_loop()).__module__.split(".")[0])
            try:
                yield
            finally:
                janitor.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await janitor

    return ctx


def _signer_ctx(signer: Optional[Signer]) -> Context:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        app[SIGNER] = signer or signer_from_env()
        yield

    return ctx


async def _report_pool_ctx(app: web.Application) -> AsyncIterator[None]:
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="report")
    app[REPORT_POOL] = pool
    try:
        yield
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


async def _evict_idle(registry: SessionRegistry) -> None:
    while True:
        await asyncio.sleep(60)
        registry.evict_idle(IDLE_SESSION_S)


def make_app(settings: Settings, backend: Optional[ExpressionBackend] = None,
             signer: Optional[Signer] = None) -> web.Application:
    """The sidecar application; `backend` replaces the configured one and `signer` the one of
    `signer_from_env()` (in-process tests)."""
    app = web.Application(middlewares=[errors_middleware, cors_middleware],
                          client_max_size=settings.max_frame_bytes + 1024)
    app[SETTINGS] = settings
    app[SESSION_RATE] = WindowRate(settings.sessions_per_minute)
    app[INFLIGHT] = InflightGate(settings.inflight_cap)
    app[SOCKETS] = SocketTable(settings.ws_per_client, settings.ws_max)
    app.on_response_prepare.append(security_headers)
    app.cleanup_ctx.append(_signer_ctx(signer))
    app.cleanup_ctx.append(_report_pool_ctx)
    app.cleanup_ctx.append(_pipeline_ctx(settings, backend))
    setup_routes(app)
    return app
