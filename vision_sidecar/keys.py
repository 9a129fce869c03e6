"""Typed keys of the sidecar's `web.Application`: what handlers may find on `request.app`.

A leaf module: it imports the value types only for type checkers, so importing a handler does
not load OpenCV, the expression backends or Redis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from emotical_shared.tokens import Signer
    from vision_sidecar.expression.base import ExpressionBackend
    from vision_sidecar.limits import InflightGate, SocketTable, WindowRate
    from vision_sidecar.pipeline import Pipeline
    from vision_sidecar.sessions import SessionRegistry
    from vision_sidecar.settings import Settings
    from vision_sidecar.store import EmotionStore

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
STORE: web.AppKey[EmotionStore] = web.AppKey("store")
REGISTRY: web.AppKey[SessionRegistry] = web.AppKey("registry")
PIPELINE: web.AppKey[Pipeline] = web.AppKey("pipeline")
BACKEND: web.AppKey[ExpressionBackend] = web.AppKey("backend")
SIGNER: web.AppKey[Signer] = web.AppKey("signer")
#: New sessions per remote address and minute.
SESSION_RATE: web.AppKey[WindowRate] = web.AppKey("session_rate")
INFLIGHT: web.AppKey[InflightGate] = web.AppKey("inflight")
SOCKETS: web.AppKey[SocketTable] = web.AppKey("sockets")
#: One thread building reports (JSON of thousands of rows) off the event loop.
REPORT_POOL: web.AppKey[Executor] = web.AppKey("report_pool")
