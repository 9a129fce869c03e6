"""Faster checking of the action server's answers inside Rasa, with the same verdicts.

Rasa 3.6 checks every custom action's answer with `jsonschema.validate(result, spec)`. That
call first checks the *schema itself* against JSON Schema's 2020-12 meta-schema, every time:
about 45 ms of CPU per action call with jsonschema 4.17 (`make bench` before this: two action
calls per turn, most of the round trip). The schema never changes, so here it is checked once
and its validator kept; each answer is then checked against the same schema, the error shown is
chosen the same way (`best_match`) and carries Rasa's own explanation.

`install()` swaps `RemoteAction._validate_action_result` for this version. bot.components calls
it, so every Rasa process that loads our model (`rasa run`, `rasa shell`, `rasa test`) has it.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Dict, Optional

from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

#: Rasa's original method, kept for tests and for `uninstall()`.
ORIGINAL: Callable[[RemoteAction, Dict[str, Any]], bool] = RemoteAction._validate_action_result
_HINT = (
    ". Failed to validate Action server response from API, make sure your response from the "
    f"Action endpoint is valid. For more information about the format visit "
    f"{DOCS_BASE_URL}/custom-actions"
)


@functools.lru_cache(maxsize=1)
def _validator() -> Any:
    spec = RemoteAction.action_response_format_spec()
    cls = validator_for(spec)
    cls.check_schema(spec)  # once, instead of on every action call
    return cls(spec)


def validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
    """True when `result` fits Rasa's action response schema; Rasa's ValidationError if not."""
    error: Optional[ValidationError] = best_match(_validator().iter_errors(result))
    if error is not None:
        error.message += _HINT
        raise error
    return True


def install() -> None:
    """Use the cached validator in this process (idempotent)."""
    RemoteAction._validate_action_result = validate_action_result


def uninstall() -> None:
    """Put Rasa's own method back."""
    RemoteAction._validate_action_result = ORIGINAL
