"""Which category the shopper named (one rule for every action), product lookup by id, and log
lines that name their session and nothing the shopper said."""

from __future__ import annotations

import ast
import json
import logging
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from actions.context import named_category, turn_context
from actions.mood_actions import ActionFuseMood
from actions.preference_actions import ActionAskPreference, ActionUpdateTagWeights
from actions.recommend_actions import ActionRecommend
from emotical_shared import envconfig, logs
from tests.bot.actions.helpers import attribute, make_tracker, run_action, user_event

ROOT = Path(__file__).resolve().parents[3]


def _category(value: str) -> Dict[str, Any]:
    return {"entity": "product_category", "value": value, "start": 0, "end": len(value)}


def _named(runtime: Any, entities: List[str], slot: Optional[str]) -> Optional[str]:
    event = user_event("browse_category", entities=[_category(v) for v in entities])
    tracker = make_tracker([event], {"product_category": slot} if slot else {})
    return named_category(runtime.catalog, tracker, turn_context(tracker, runtime.signer))


def test_named_category_prefers_the_message_then_the_slot(runtime: Any) -> None:
    assert _named(runtime, ["Bag"], "shoes") == "bags", "the latest message wins over the slot"
    assert _named(runtime, ["stuff", "jacket"], None) == "jackets", "first word the catalog knows"
    assert _named(runtime, ["stuff"], "shoe") == "shoes", "an unknown word keeps the earlier one"
    assert _named(runtime, [], "dresses") == "dresses", "a follow-up stays in the category"
    assert _named(runtime, ["stuff"], None) is None and _named(runtime, [], None) is None


def test_recommendations_and_preference_questions_agree_on_the_category(runtime: Any,
                                                                        domain: Dict[str, Any]
                                                                        ) -> None:
    # "something in stuff" after browsing bags: both stay with bags (recommended from bags, and
    # the slot, which holds bags already, is not set again).
    event = user_event("ask_recommendation", entities=[_category("stuff")])
    tracker = make_tracker([event], {"product_category": "bags"})
    events, said = run_action(ActionRecommend(), tracker, domain)
    assert not [e for e in events if e.get("name") == "product_category"], events
    listed = [line[2:].split(",")[0] for line in said[0]["text"].splitlines()[1:]]
    assert listed and set(listed) <= {p.title for p in runtime.catalog.products_in("bags")}
    _, asked = run_action(ActionAskPreference(), tracker, domain)
    tag = json.loads(asked[0]["buttons"][0]["payload"][len("/express_like"):])["attribute"]
    assert any(tag in p.tags for p in runtime.catalog.products_in("bags")), tag


def test_catalog_get_finds_products_by_id(runtime: Any) -> None:
    catalog = runtime.catalog
    assert catalog.get("watc-01").title == "Steel diver watch"
    assert catalog.get("no-such-product") is None and catalog.get(None) is None and catalog.get("") is None


def test_action_log_lines_name_their_session_and_no_words(runtime: Any, domain: Dict[str, Any],
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="actions")
    meta = {"session_id": "s-logs", "shopper_id": "u-logs"}
    like = user_event("express_like", "I love scarlet and zqxw", score=0.6,
                      entities=[attribute("scarlet"), attribute("zqxw")], metadata=meta)
    events, _ = run_action(ActionFuseMood(), make_tracker([like]), domain)
    run_action(ActionUpdateTagWeights(), make_tracker([like, *events]), domain)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("actions")]
    assert any(line.startswith("tags_updated ") for line in lines), lines
    tag = logs.id_tag("s-logs")
    assert all(f"session={tag}" in line for line in lines), lines
    for secret in ("scarlet", "zqxw", "red", "love", "s-logs", "u-logs"):
        assert not any(secret in line for line in lines), (secret, lines)


def test_actions_log_only_through_logs_event() -> None:
    direct = []
    for path in sorted((ROOT / "actions").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "logger":
                direct.append(f"{path.name}:{node.lineno} logger.{node.func.attr}")
    assert not direct, f"use logs.event(logger, level, 'name', key=value): {direct}"


def test_settings_error_is_the_shared_one() -> None:
    from actions.settings import SettingsError

    assert SettingsError is envconfig.SettingsError


def test_the_bot_writes_prices_as_the_shop_page_shows_them() -> None:
    from actions.catalog import Product

    def priced(value: float) -> str:
        return Product(id="p-1", title="t", category="c", tags=(), description="d",
                       price=value).price_text

    assert (priced(299.0), priced(29.9), priced(0.5)) == ("299", "29.90", "0.50")
