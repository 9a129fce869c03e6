"""The project's one JSON error shape, for every HTTP answer that says something went wrong."""

from __future__ import annotations

from typing import Any, Dict


def error_body(code: str, message: str) -> Dict[str, Any]:
    """`{"error": {"code": <short snake_case code>, "message": <what a person should know>}}`."""
    return {"error": {"code": code, "message": message}}
