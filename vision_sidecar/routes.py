"""Every route of the sidecar in one table: the frame API, the WebSocket, the shop page and its
report (`report.py`), the static files."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from vision_sidecar import handlers, report, ws

STATIC_DIR = Path(__file__).resolve().parent / "static"


async def index(request: web.Request) -> web.FileResponse:
    """The shop page (`static/index.html`)."""
    return web.FileResponse(STATIC_DIR / "index.html")


ROUTES = [
    web.get("/healthz", handlers.healthz),
    web.get("/ws/frames", ws.ws_frames),
    web.post("/api/sessions/{sid}/frames", handlers.post_frame),
    web.get("/api/sessions/{sid}/emotion", handlers.get_emotion),
    web.get("/api/sessions/{sid}/history", handlers.get_history),
    web.get("/api/sessions/{sid}/report", report.get_report),
    web.delete("/api/sessions/{sid}", handlers.delete_session),
    web.get("/api/config", report.get_config),
    web.get("/api/products", report.get_products),
    web.get("/api/products/{pid}/image.svg", report.get_product_image),
    web.options("/api/{tail:.*}", handlers.preflight),
    web.get("/report/{sid}", report.get_report_page),
    web.get("/", index),
    web.static("/static/", STATIC_DIR, follow_symlinks=False),
]


def setup_routes(app: web.Application) -> None:
    """Register the table on `app`."""
    app.router.add_routes(ROUTES)
