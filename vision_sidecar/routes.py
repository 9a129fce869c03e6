"""Every HTTP route of the sidecar, in one table, plus the static shop page and the report hook.

The shop page's own routes (product list, session report) live in `vision_sidecar/report.py`,
owned by the widget; when that module exists its `add_routes(app)` is called here.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from aiohttp import web

from vision_sidecar import handlers, ws

STATIC_DIR = Path(__file__).resolve().parent / "static"

ROUTES = [
    web.get("/healthz", handlers.healthz),
    web.get("/ws/frames", ws.ws_frames),
    web.post("/api/sessions/{sid}/frames", handlers.post_frame),
    web.get("/api/sessions/{sid}/emotion", handlers.get_emotion),
    web.get("/api/sessions/{sid}/history", handlers.get_history),
    web.delete("/api/sessions/{sid}", handlers.delete_session),
    web.options("/api/{tail:.*}", handlers.preflight),
]


async def index(request: web.Request) -> web.FileResponse:
    """The shop page (`static/index.html`)."""
    return web.FileResponse(STATIC_DIR / "index.html")


def setup_routes(app: web.Application) -> None:
    """Register the API table, the static page and folder, and the widget's report routes."""
    app.router.add_routes(ROUTES)
    if (STATIC_DIR / "index.html").is_file():
        app.router.add_get("/", index)
    if STATIC_DIR.is_dir():
        app.router.add_static("/static/", STATIC_DIR, follow_symlinks=False)
    if importlib.util.find_spec("vision_sidecar.report") is not None:
        from vision_sidecar import report

        report.add_routes(app)
