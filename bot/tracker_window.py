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

TED and Memoization do not count every state: a turn that RulePolicy predicted from a rule with
no story behind it is hidden from them (`hide_rule_turn` on its `ActionExecuted`;
`Domain.states_for_tracker_history(ignore_rule_only_turns=True)`), so after a run of "thanks"
or "hi" turns their last `max_history` states reach further back than `max_history` raw states.
And a window's first states are not the full tracker's: they follow the window's session start,
not the turn before, and the featurizer carries the previous ML action and user input from
state to state. `WindowNeeds` says what a window must hold, each count in the policy's own
states and only states computed exactly as on the full tracker
(`bot.windowed_tracker_store.exact_states` counts them).

Anything else (a policy this module does not know, TED without `max_history`, stories glued
by checkpoints) needs unbounded history and is refused with `UnboundedHistoryError`.
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class WindowNeeds:
    """What a window must hold for every configured policy to predict as on the full tracker."""

    #: Trailing states, rule-only turns left out, that equal the full tracker's (TED, and
    #: Memoization with `max_history`).
    ml_exact: int
    #: States, rule-only turns left out, in all: more than the longest story's, so that
    #: Memoization without `max_history` matches no story, as on the full tracker.
    ml_total: int
    #: Trailing states, every turn counted, that equal the full tracker's (RulePolicy).
    raw_exact: int


def window_needs(config: Path, data: Path) -> WindowNeeds:
    """The `WindowNeeds` of config.yml's policies over the stories and rules in `data`."""
    doc = yaml.safe_load(config.read_text()) or {}
    bounds = policy_lookbacks(config, data)
    ml_exact = ml_total = raw_exact = 0
    for policy in doc.get("policies") or []:
        name = str(policy.get("name", ""))
        if name == RULE_POLICY:
            raw_exact = max(raw_exact, bounds[name])
        elif name in MEMO_POLICIES and policy.get("max_history") is None:
            ml_total = max(ml_total, bounds[name] + 1)
        else:
            ml_exact = max(ml_exact, bounds[name])
    return WindowNeeds(ml_exact, ml_total, raw_exact)
