"""The trained bot served for real: Rasa + action server + Redis tracker and lock stores."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import redis
from ruamel.yaml import YAML

from emotical_shared import redis_schema as keys
from stack.processes import Stack, rasa_server, secret_env
from stack.redis_server import ROOT, RedisServer, free_port
from stack.rest import post_json, rest_turn


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as resp:
        return json.loads(resp.read())


def _say(stack: Stack, session: str, text: str, rasa_url: str = "") -> Any:
    return rest_turn(rasa_url or stack.rasa_url, stack.session_token(session), text)


def _responses(name: str) -> set:
    domain = YAML(typ="safe").load((ROOT / "domain.yml").read_text())
    return {variant["text"] for variant in domain["responses"][name]}


def test_rest_channel_answers_a_greeting(stack: Stack) -> None:
    replies = _say(stack, "s1", "hi")
    texts = [r.get("text") for r in replies]
    assert texts and texts[0] in _responses("utter_greet"), f"shopper saw {texts}"


def test_parse_of_a_complaint_is_complain_with_negative_sentiment(stack: Stack) -> None:
    text = "this is so frustrating, the shoes I ordered fell apart"
    parsed = post_json(f"{stack.rasa_url}/model/parse?token={stack.rasa_api_token}", {"text": text})
    assert parsed["intent"]["name"] == "complain", parsed["intent"]
    assert parsed["sentiment"]["label"] == "negative", parsed["sentiment"]
    categories = [e["value"] for e in parsed["entities"] if e["entity"] == "product_category"]
    assert categories == ["shoes"], parsed["entities"]


def test_conversation_is_kept_in_redis_with_sentiment(stack: Stack, redis_server: RedisServer) -> None:
    _say(stack, "s-redis", "I love this, SO good!!!")
    client = redis.Redis.from_url(redis_server.url)
    raw = client.lrange(keys.session_tracker_events("s-redis"), 0, -1)
    assert raw, f"tracker not in Redis; keys: {client.keys('*')[:20]}"
    events = [json.loads(item) for item in raw]
    user = [e for e in events if e["event"] == "user"][-1]
    assert user["parse_data"]["sentiment"]["label"] == "positive"


def test_a_second_rasa_process_continues_the_same_conversation(
    stack: Stack, redis_server: RedisServer, tmp_path: Path
) -> None:
    """Two Rasa servers on one Redis share trackers: the second sees what the first heard."""
    _say(stack, "shared", "hello")
    port = free_port()
    second = rasa_server(port, stack.model, redis_server.url, stack.actions_url, tmp_path,
                         extra_env=secret_env(stack.secret)).start()
    try:
        second.wait_healthy(180)
        tracker = _get(f"http://127.0.0.1:{port}/conversations/shared/tracker"
                       f"?token={stack.rasa_api_token}")
        texts = [e.get("text") for e in tracker["events"] if e["event"] in {"user", "bot"}]
        assert "hello" in texts, texts
        replies = _say(stack, "shared", "bye", f"http://127.0.0.1:{port}")
        assert replies and replies[0]["text"] in _responses("utter_goodbye")
        tracker = _get(f"{stack.rasa_url}/conversations/shared/tracker?token={stack.rasa_api_token}")
        assert [e.get("text") for e in tracker["events"] if e["event"] == "user"][-2:] == [
            "hello", "bye"]
    finally:
        second.stop()
