"""The windowed tracker store (endpoints.yml) against the stock-layout one, over a long
conversation: the same messages to a Rasa on each, turn by turn the same replies, and at the
end the same predictions (action, policy, confidence), slots, conversation and report records.

Response variations: for an `utter_*` action Rasa picks one of the response's variations with
`np.random.choice` (rasa/core/nlg/response.py), from the process-wide NumPy generator that the
model load seeds (`random_seed: 42`, RasaModel._set_random_seed). Two fresh processes given the
same turns draw the same variations; a process that served any other conversation first (in
CI the emotion end-to-end tests run before this one on the same Rasa) draws others. Which
variation is not the tracker store's doing, so for those responses the reply is compared by
response name (the `utter_action` Rasa records); everything the actions write, single-variation
responses, buttons, and every other event are compared exactly. The test shifts one process's
generator on purpose before it starts, so it cannot depend on which tests ran first.

EMOTICAL_PARITY_TURNS sets the length: 80 in `make test` (the window is 9 states, about 3
turns; 80 turns pass every story and rule many times and run in about 4 minutes), 300 in
`make test-parity` (the stock store makes the last turns take seconds each: 300 turns passed in
37.6 minutes on 2026-12-02, with nothing else running).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Tuple

import pytest
import redis
import yaml

from actions.responses import FILLS
from emotical_shared import redis_schema as keys
from stack.processes import Service, rasa_server, secret_env
from stack.redis_server import ROOT, free_port
from stack.rest import post_json, rest_turn

TURNS = int(os.environ.get("EMOTICAL_PARITY_TURNS", "80"))
#: Differs by design: each Rasa talks to its own shopper, whose token the session start keeps.
PER_SHOPPER_SLOTS = {"session_started_metadata"}
MESSAGES = (
    "hi", "show me leather jackets", "I really like the red one",
    "this is so frustrating, the shoes I ordered fell apart", "what do you recommend?",
    "I don't like plastic", "ask me something", "show me bags", "thanks", "bye",
)
WINDOWED = "bot.windowed_tracker_store.WindowedRedisTrackerStore"
STOCK = "bot.tracker_store.TombstoneRedisTrackerStore"


def _random_responses() -> Dict[str, str]:
    """Text -> name of each variation Rasa picks at random: responses with more than one
    variation that no action renders itself (`actions.responses.FILLS`)."""
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    out: Dict[str, str] = {}
    for name, variations in (domain.get("responses") or {}).items():
        if name in FILLS or len(variations) < 2:
            continue
        for variation in variations:
            out[str(variation.get("text"))] = name
    return out


RANDOM = _random_responses()


def _reply(reply: Mapping[str, Any]) -> Tuple[Any, ...]:
    """A reply as compared: a randomly picked variation by its response's name."""
    text, buttons = reply.get("text"), repr(reply.get("buttons"))
    return ("variation of", RANDOM[text], buttons) if text in RANDOM else (text, buttons)


@pytest.fixture(scope="module")
def stock_rasa(running_stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second Rasa on the same Redis and action server, with the stock-layout store."""
    folder: Path = tmp_path_factory.mktemp("stock-rasa")
    text = (ROOT / "endpoints.yml").read_text()
    assert WINDOWED in text, "endpoints.yml no longer uses the windowed store"
    endpoints = folder / "endpoints.yml"
    endpoints.write_text("\n".join(
        line.replace(WINDOWED, STOCK) for line in text.splitlines()
        if not line.strip().startswith(("policy_config:", "training_data:"))) + "\n")
    service: Service = rasa_server(free_port(), running_stack.model, running_stack.redis_url,
                                   running_stack.actions_url, folder,
                                   extra_env=secret_env(running_stack.secret))
    service.cmd[service.cmd.index("endpoints.yml")] = str(endpoints)
    service.start()
    try:
        service.wait_healthy(300)
        yield service.health_url.split("/status")[0]
    finally:
        service.stop()


def _full(rasa_url: str, sender: str, token: str) -> Dict[str, Any]:
    return post_json(f"{rasa_url}/conversations/{sender}/tracker?token={token}", None,
                     method="GET")


def _comparable(events: List[Dict[str, Any]]) -> List[Tuple[Any, ...]]:
    """Events without times and ids: type, action with its policy and confidence, text, slot,
    intent; a bot line Rasa picked at random by its response's name."""
    out: List[Tuple[Any, ...]] = []
    for e in events:
        kind = e.get("event")
        if kind == "action":
            confidence = e.get("confidence")
            out.append((kind, e.get("name"), e.get("policy"),
                        None if confidence is None else round(float(confidence), 4),
                        bool(e.get("hide_rule_turn"))))
        elif kind == "slot" and e.get("name") in PER_SHOPPER_SLOTS:
            out.append((kind, e.get("name")))
        elif kind == "slot":
            out.append((kind, e.get("name"), repr(e.get("value"))))
        elif kind == "user":
            out.append((kind, e.get("text"), (e.get("parse_data") or {}).get("intent", {})
                        .get("name")))
        elif kind == "bot":
            utter = (e.get("metadata") or {}).get("utter_action")
            if utter in RANDOM.values():
                assert e.get("text") in RANDOM, f"{utter}: {e.get('text')!r}"
                out.append((kind, "variation of", utter))
            else:
                out.append((kind, e.get("text"), repr((e.get("data") or {}).get("buttons"))))
        else:
            out.append((kind,))
    return out


def _stored_conversation(client: redis.Redis, sender: str) -> List[Tuple[Any, ...]]:
    """The conversation as the session report reads it from Redis (either layout)."""
    listed = client.lrange(keys.session_tracker_events(sender), 0, -1)
    if listed:
        events = [json.loads(raw) for raw in listed]
    else:
        events = json.loads(client.get(keys.session_tracker(sender)) or "{}").get("events", [])
    return [e for e in _comparable(events) if e[0] in ("user", "bot")]


def _chat_records(client: redis.Redis, sender: str) -> List[Dict[str, str]]:
    """The report's per-message sentiment records, without their times."""
    return [{k: v for k, v in fields.items() if k != "ts"}
            for _id, fields in client.xrange(keys.session_chat(sender))]


@pytest.mark.skipif(TURNS <= 0, reason="EMOTICAL_PARITY_TURNS=0")
def test_a_long_conversation_goes_the_same_on_both_stores(running_stack, stock_rasa):
    windowed_sender, stock_sender = "parity-windowed", "parity-stock"
    tokens = {url: running_stack.session_token(sender) for url, sender in
              ((running_stack.rasa_url, windowed_sender), (stock_rasa, stock_sender))}
    # Another shopper greets the windowed Rasa only: its response generator is now ahead of
    # the stock one's, as after any earlier test, so variations are drawn differently.
    shift = rest_turn(running_stack.rasa_url, running_stack.session_token("parity-other"), "hi")
    assert shift and shift[0].get("text") in RANDOM, "the greeting is no random variation"
    texts_differed = 0
    for turn in range(TURNS):
        text = MESSAGES[turn % len(MESSAGES)]
        raw = {url: rest_turn(url, token, text) for url, token in tokens.items()}
        got = {url: [_reply(r) for r in replies] for url, replies in raw.items()}
        assert got[running_stack.rasa_url] == got[stock_rasa], f"turn {turn + 1}: {text!r}"
        texts_differed += [r.get("text") for r in raw[running_stack.rasa_url]] != \
            [r.get("text") for r in raw[stock_rasa]]
    api = running_stack.rasa_api_token
    windowed = _full(running_stack.rasa_url, windowed_sender, api)
    stock = _full(stock_rasa, stock_sender, api)
    assert {k: v for k, v in windowed["slots"].items() if k not in PER_SHOPPER_SLOTS} == \
        {k: v for k, v in stock["slots"].items() if k not in PER_SHOPPER_SLOTS}
    assert _comparable(windowed["events"]) == _comparable(stock["events"])
    assert sum(e["event"] == "user" for e in windowed["events"]) == TURNS
    client = redis.Redis.from_url(running_stack.redis_url, decode_responses=True)
    try:
        assert client.type(keys.session_tracker(windowed_sender)) == "none"
        assert client.type(keys.session_tracker(stock_sender)) == "string"
        assert _stored_conversation(client, windowed_sender) == \
            _stored_conversation(client, stock_sender)
        assert _chat_records(client, windowed_sender) == _chat_records(client, stock_sender)
        assert len(_chat_records(client, windowed_sender)) == TURNS
    finally:
        client.close()
    print(f"parity: {TURNS} turns, {texts_differed} with another variation of the same response")
