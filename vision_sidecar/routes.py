"""Every route of the sidecar in one table: the frame API, the WebSocket, the shop page and its
report (`report.py`), the static files.

Every route with `{sid}` in its path must be a `session_route` (token required); the only
exceptions are the empty page shells of `PUBLIC_SHELLS`. `setup_routes` refuses the table
otherwise.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from vision_sidecar import handlers, report, ws
from vision_sidecar.access import SESSION_ROUTE_MARK

STATIC_DIR = Path(__file__).resolve().parent / "static"


async def index(request: web.Request) -> web.FileResponse:
    """The shop page (`static/index.html`)."""
    return web.FileResponse(STATIC_DIR / "index.html")


ROUTES = [
    web.get("/healthz", handlers.healthz),
    web.get("/ws/frames", ws.ws_frames),
    web.post("/api/sessions", handlers.create_session),
    web.delete("/api/shoppers/me", handlers.delete_shopper),
    web.post("/api/sessions/{sid}/frames", handlers.post_frame),
    web.get("/api/sessions/{sid}/emotion", handlers.get_emotion),
    web.get("/api/sessions/{sid}/history", handlers.get_history),
    web.get("/api/sessions/{sid}/report", report.get_report),
    web.delete("/api/sessions/{sid}", handlers.delete_session),
    web.get("/api/config", report.get_config),
    web.get("/api/products", report.get_products),
    web.get("/api/products/{pid}/image.svg", report.get_product_image),
    web.get("/api/products/{pid}/video", report.get_product_video),
    web.get("/api/products/{pid}/captions.vtt", report.get_product_captions),
    web.options("/api/{tail:.*}", handlers.preflight),
    web.get("/report/{sid}", report.get_report_page),
    web.get("/", index),
    web.static("/static/", STATIC_DIR, follow_symlinks=False),
]


#: Paths with `{sid}` that serve a page holding no data (it fetches its data with a token).
PUBLIC_SHELLS = frozenset({"/report/{sid}"})


def unguarded_session_routes(routes: list) -> list:
    """The `{sid}` routes of `routes` that are neither session routes nor public shells."""
    return [r for r in routes if isinstance(r, web.RouteDef) and "{sid}" in r.path
            and r.path not in PUBLIC_SHELLS and not getattr(r.handler, SESSION_ROUTE_MARK, False)]


def setup_routes(app: web.Application) -> None:
    """Register the table on `app` (ValueError for a `{sid}` route without the token check)."""
    unguarded = unguarded_session_routes(ROUTES)
    if unguarded:
        raise ValueError("session routes without the token check: "
                         + ", ".join(f"{r.method} {r.path}" for r in unguarded))
    app.router.add_routes(ROUTES)
