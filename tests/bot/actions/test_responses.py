"""The actions speak only through domain.yml: every response they name exists there, is filled
with exactly what the code provides, and a missing one is an error, never other words."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from actions.mood_actions import ActionExpressSympathy
from actions.recommend_actions import ActionProductInfo
from actions.responses import (
    FILLS,
    SYMPATHY_RESPONSES,
    MissingResponseError,
    ResponseError,
    placeholders,
    render,
)
from tests.bot.actions.helpers import make_tracker, run_action, user_event

ROOT = Path(__file__).resolve().parents[3]
ACTIONS = sorted((ROOT / "actions").glob("*.py"))
NAME_RE = re.compile(r"^utter_[a-z0-9_]+$")


def _trees() -> Iterator[Tuple[str, ast.AST]]:
    for path in ACTIONS:
        yield path.name, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _literal_names() -> Dict[str, List[str]]:
    """Every `utter_*` string literal in actions/, with the files naming it."""
    found: Dict[str, List[str]] = {}
    for file, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and NAME_RE.match(node.value):
                found.setdefault(node.value, []).append(file)
    return found


def _responses(domain: Dict[str, Any]) -> Dict[str, List[Dict[str, Any]]]:
    return domain.get("responses") or {}


def test_every_response_the_actions_name_is_in_the_domain(domain: Dict[str, Any]) -> None:
    names = _literal_names()
    assert names, "the scan found no response names in actions/"
    missing = {n: files for n, files in names.items() if n not in _responses(domain)}
    assert not missing, f"actions send responses domain.yml lacks (shoppers would get an error): {missing}"
    undeclared = sorted(set(names) - set(FILLS))
    assert not undeclared, f"names used in actions/ but not declared in responses.FILLS: {undeclared}"


def test_no_response_name_is_built_at_run_time() -> None:
    # A built name ("utter_" + kind) escapes the scan above: tables of literal names instead.
    built = []
    for file, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr) and any(
                    isinstance(v, ast.Constant) and "utter_" in str(v.value) for v in node.values):
                built.append(f"{file}:{node.lineno}")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and "utter_" in node.value and not NAME_RE.match(node.value) \
                    and " " not in node.value:
                built.append(f"{file}:{node.lineno} {node.value!r}")
    assert not built, f"response names built from pieces (list them in a table): {built}"


def test_declared_responses_use_only_placeholders_the_code_fills(domain: Dict[str, Any]) -> None:
    responses = _responses(domain)
    assert set(FILLS) <= set(responses), sorted(set(FILLS) - set(responses))
    wrong = {}
    for name, fills in FILLS.items():
        for i, variation in enumerate(responses[name]):
            texts = [variation.get("text", "")] + [b.get("title", "") for b in variation.get("buttons") or []]
            unknown = set().union(*(placeholders(t) for t in texts)) - fills
            if unknown:
                wrong[f"{name}[{i}]"] = sorted(unknown)
    assert not wrong, f"placeholders no action fills (the shopper would see them raw): {wrong}"


def test_every_render_call_names_its_response_and_fills_what_is_declared() -> None:
    problems = []
    for file, tree in _trees():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "render"):
                continue
            where = f"{file}:{node.lineno}"
            if len(node.args) < 2 or not isinstance(node.args[1], ast.Constant):
                problems.append(f"{where}: the response name is not a literal")
                continue
            filled = {k.arg for k in node.keywords} - {"index"}
            declared = FILLS.get(node.args[1].value, frozenset())
            if filled != declared:
                problems.append(f"{where}: {node.args[1].value} filled with {sorted(filled)}, "
                                f"declared {sorted(declared)}")
    assert not problems, problems


def test_sympathy_table_covers_every_kind_and_strength(domain: Dict[str, Any]) -> None:
    from actions.mood_actions import DEFAULT_KIND, SYMPATHY_KIND

    assert set(SYMPATHY_KIND.values()) | {DEFAULT_KIND} <= set(SYMPATHY_RESPONSES)
    for kind, names in SYMPATHY_RESPONSES.items():
        assert len(names) == 3 and all(n in _responses(domain) for n in names), kind


def test_preference_question_has_a_like_and_a_dislike_button(domain: Dict[str, Any]) -> None:
    for variation in _responses(domain)["utter_ask_preference"]:
        assert len(variation.get("buttons") or []) == 2, variation


def _action_classes() -> Iterator[Tuple[str, str, bool]]:
    """(file, action name, whether its step reads the domain) for every action class."""
    for file, tree in _trees():
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            methods = {f.name: f for f in cls.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))}
            if "name" not in methods or "step" not in methods:
                continue
            returns = [n.value.value for n in ast.walk(methods["name"])
                       if isinstance(n, ast.Return) and isinstance(n.value, ast.Constant)]
            reads = any(isinstance(n, ast.Name) and n.id == "domain" and isinstance(n.ctx, ast.Load)
                        for n in ast.walk(methods["step"]))
            if returns:  # the abstract base has no name of its own
                yield file, returns[0], reads


def test_actions_that_use_responses_are_sent_the_domain(domain: Dict[str, Any]) -> None:
    # With enable_selective_domain (endpoints.yml) Rasa sends {} to the others.
    declared: Dict[str, bool] = {}
    for entry in domain["actions"]:
        if isinstance(entry, dict):
            (name, opts), = entry.items()
            declared[name] = bool((opts or {}).get("send_domain"))
        else:
            declared[entry] = False
    actions = list(_action_classes())
    assert len(actions) >= 8, actions
    unlisted = [name for _, name, _ in actions if name not in declared]
    assert not unlisted, f"actions missing from domain.yml `actions:`: {unlisted}"
    starved = [name for _, name, reads in actions if reads and not declared[name]]
    assert not starved, f"these actions read responses but get no domain (send_domain: true): {starved}"


def test_a_missing_response_is_an_error_not_other_words(runtime: Any, domain: Dict[str, Any]) -> None:
    lacking = {**domain, "responses": {k: v for k, v in _responses(domain).items()
                                       if k != "utter_product_info"}}
    tracker = make_tracker([user_event("ask_product_info", metadata={"product_id": "watc-01"})])
    with pytest.raises(MissingResponseError, match="utter_product_info"):
        run_action(ActionProductInfo(), tracker, lacking)


def test_an_action_sent_no_domain_fails_instead_of_staying_silent(runtime: Any) -> None:
    event = user_event("complain", "meh", score=-0.9, metadata={"session_id": "s-nodomain"})
    with pytest.raises(MissingResponseError, match="send_domain"):
        run_action(ActionExpressSympathy(), make_tracker([event]), {})


def test_render_refuses_undeclared_names_and_other_fills(domain: Dict[str, Any]) -> None:
    with pytest.raises(ResponseError, match="not declared"):
        render(domain, "utter_greet")
    with pytest.raises(ResponseError, match="filled with"):
        render(domain, "utter_product_unknown", title="x")
    assert render(domain, "utter_ask_preference", index=1, tag="wool")["buttons"][0]["title"] \
        == "Love wool"
