"""The action server's door: only Rasa, holding the shared secret, may run an action.

Runs in the bot environment, inside `rasa run actions` (rasa_sdk 3.6 imports a top-level
package of this name and calls `init_hooks`; it has no authentication of its own). Every request
except `GET /health` must carry `X-Emotical-Actions-Token` with the token derived from the
server secret (`emotical_shared.tokens.derived_secret(secret, "actions")`); Rasa sends it from
`endpoints.yml` (`action_endpoint.headers`). Without it the answer is 401 in the project's JSON
error shape and no action runs. The server binds 127.0.0.1 unless `SANIC_HOST` says otherwise.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any, Optional

import pluggy
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from emotical_shared import logs
from emotical_shared.errors import error_body
from emotical_shared.tokens import derived_secret, load_secret

HEADER = "X-Emotical-Actions-Token"
OPEN_PATHS = frozenset({"/health"})

hookimpl = pluggy.HookimplMarker("rasa_sdk")
logger = logging.getLogger(__name__)


def expected_token() -> str:
    """The token Rasa must send, from this machine's secret (created by `make demo` / stack)."""
    return derived_secret(load_secret(), "actions")


def refusal(request: Request, token: str) -> Optional[HTTPResponse]:
    """A 401 answer unless `request` may reach an action; None when it may."""
    if request.path in OPEN_PATHS and request.method == "GET":
        return None
    sent = request.headers.get(HEADER, "")
    if sent and hmac.compare_digest(sent.encode(), token.encode()):
        return None
    logs.event(logger, logging.WARNING, "actions_request_refused", path=request.path,
               remote=request.remote_addr or request.ip, reason="missing" if not sent else "bad")
    return response.json(error_body("unauthorized", f"{HEADER} missing or wrong"), status=401)


class ActionServerAuth:
    """The rasa_sdk plugin: a request middleware that refuses callers without the token."""

    @hookimpl
    def attach_sanic_app_extensions(self, app: Sanic) -> None:
        token = expected_token()

        async def check(request: Request) -> Any:
            return refusal(request, token)

        app.register_middleware(check, "request")


def init_hooks(manager: pluggy.PluginManager) -> None:
    """Called by rasa_sdk when the action server starts."""
    manager.register(ActionServerAuth())
