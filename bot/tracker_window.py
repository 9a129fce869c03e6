"""How much recent history the configured dialogue policies read: the tracker store's window.

A policy predicts from the tracker's *states*, one per `ActionExecuted` among the applied events
(`DialogueStateTracker.past_states`). What each policy of config.yml looks at:

* `TEDPolicy` (and `UnexpecTEDIntentPolicy`): the last `max_history` states.
* `MemoizationPolicy` / `AugmentedMemoizationPolicy` with `max_history`: the last `max_history`
  states. Without one (Rasa's default) it memorises whole training stories and matches only a
  conversation whose *every* state since the session start equals a story's: a conversation
  with more states than the longest story can never match, so a window one state longer than
  the longest story predicts exactly what the full tracker predicts.
* `RulePolicy`: a rule matches on its own states (condition + steps); past a rule's length every
  state is accepted, and a `conversation_start` rule matches only a tracker whose first state
  lies inside the rule. A window longer than the longest rule gives the same answer.

The window's first state is always a "conversation start" state (nothing before it), which no
policy may see when the conversation is longer: so the window holds `lookback + 1` states.
Anything else (a policy this module does not know, TED without `max_history`, stories glued
by checkpoints) needs unbounded history and is refused with `UnboundedHistoryError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping

import yaml

#: Policies that read the last `max_history` states (none: unbounded unless handled below).
MAX_HISTORY_POLICIES = frozenset({"TEDPolicy", "UnexpecTEDIntentPolicy"})
MEMO_POLICIES = frozenset({"MemoizationPolicy", "AugmentedMemoizationPolicy"})
RULE_POLICY = "RulePolicy"
#: Step keys that add a state to a story or rule (an intent adds the `action_listen` before it).
STATE_STEPS = ("intent", "action", "active_loop", "user", "bot")
#: States a training tracker has before its first step: the start state and a rule's `...`
#: snippet (counted for stories too: a bound may be loose, never short).
START_STATES = 2


class UnboundedHistoryError(RuntimeError):
    """A configured policy may read the whole conversation: no bounded window exists.

    Not an ImportError/AttributeError on purpose: Rasa would quietly fall back to its in-memory
    store for those.
    """


def _steps_states(steps: Iterable[Mapping[str, Any]], where: str) -> int:
    """States a story's or rule's steps add (an `or:` adds none of its own)."""
    count = 0
    for step in steps or []:
        if not isinstance(step, Mapping):
            continue
        if "checkpoint" in step:
            raise UnboundedHistoryError(
                f"{where} uses checkpoints: stories glued together have no bounded length")
        count += sum(1 for key in STATE_STEPS if key in step)
    return count


def longest(data_files: Iterable[Path], section: str) -> int:
    """States of the longest story (`section='stories'`) or rule (`'rules'`), start included."""
    best = 0
    for path in data_files:
        doc = yaml.safe_load(path.read_text()) or {}
        for item in doc.get(section) or []:
            name = f"{path.name}: {item.get('story') or item.get('rule')}"
            states = len(item.get("condition") or [])  # a condition is a state of its own
            states += _steps_states(item.get("steps") or [], name)
            best = max(best, states + START_STATES)
    return best


def data_files(data: Path) -> List[Path]:
    """The YAML training-data files under `data` (a file or a folder)."""
    if data.is_file():
        return [data]
    return sorted(p for p in data.rglob("*.yml") if p.is_file())


def policy_lookbacks(config: Path, data: Path) -> Dict[str, int]:
    """Per configured policy, how many of the latest states it reads; raises when unbounded."""
    doc = yaml.safe_load(config.read_text()) or {}
    files = data_files(data)
    out: Dict[str, int] = {}
    for policy in doc.get("policies") or []:
        name = str(policy.get("name", ""))
        history = policy.get("max_history")
        if name in MAX_HISTORY_POLICIES | MEMO_POLICIES and history is not None:
            out[name] = int(history)
        elif name in MEMO_POLICIES:
            out[name] = longest(files, "stories")
        elif name == RULE_POLICY:
            out[name] = longest(files, "rules")
        else:
            raise UnboundedHistoryError(
                f"{config}: policy {name!r} without a known bound on the history it reads "
                f"(max_history: {history}); the windowed tracker store cannot serve it")
    if not out:
        raise UnboundedHistoryError(f"{config}: no policies")
    return out


def window_states(config: Path, data: Path) -> int:
    """States the tracker store must give Rasa per turn: the longest lookback plus one."""
    return max(policy_lookbacks(config, data).values()) + 1
