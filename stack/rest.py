"""Talking to a running stack over HTTP as its own tools do: JSON posts and REST turns with a token.

Standard library only. Tests, benchmarks and `make shell`-like tools use it; shoppers' browsers
speak socket.io instead (vision_sidecar/static/js/chat.js).
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any, Dict, List, Mapping, Optional


def post_json(url: str, body: Any, headers: Optional[Mapping[str, str]] = None,
              timeout: float = 60.0, method: str = "POST") -> Any:
    """Send `body` as JSON and return the decoded answer (urllib's HTTPError on 4xx/5xx)."""
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


def rest_turn(rasa_url: str, token: str, text: str,
              metadata: Optional[Dict[str, Any]] = None, timeout: float = 60.0
              ) -> List[Dict[str, Any]]:
    """One shopper message over Rasa's REST channel, proven by a session `token`.

    The channel takes the conversation id from the token, so no `sender` is sent.
    """
    body: Dict[str, Any] = {"message": text}
    if metadata:
        body["metadata"] = metadata
    return post_json(f"{rasa_url}/webhooks/rest/webhook", body,
                     {"Authorization": f"Bearer {token}"}, timeout) or []
