"""Typed keys of the sidecar's `web.Application`: what handlers may find on `request.app`.

A leaf module: it imports the value types only for type checkers, so importing a handler does
not load OpenCV, the expression backends or Redis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from vision_sidecar.expression.base import ExpressionBackend
    from vision_sidecar.pipeline import Pipeline
    from vision_sidecar.sessions import SessionRegistry
    from vision_sidecar.settings import Settings
    from vision_sidecar.store import EmotionStore

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
STORE: web.AppKey[EmotionStore] = web.AppKey("store")
REGISTRY: web.AppKey[SessionRegistry] = web.AppKey("registry")
PIPELINE: web.AppKey[Pipeline] = web.AppKey("pipeline")
BACKEND: web.AppKey[ExpressionBackend] = web.AppKey("backend")
