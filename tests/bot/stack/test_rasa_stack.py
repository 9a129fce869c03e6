"""The trained bot served for real: Rasa + action server + Redis tracker and lock stores."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
import redis
from ruamel.yaml import YAML

from stack.fingerprint import model_path
from stack.processes import Stack, rasa_server
from stack.redis_server import ROOT, RedisServer, free_port


def _post(url: str, payload: Dict[str, Any]) -> Any:
    req = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as resp:
        return json.loads(resp.read())


def _responses(name: str) -> set:
    domain = YAML(typ="safe").load((ROOT / "domain.yml").read_text())
    return {variant["text"] for variant in domain["responses"][name]}


@pytest.fixture(scope="module")
def stack(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    model = model_path()
    assert model.exists(), f"no trained model {model}: `make train` runs before these tests"
    running = Stack(
        model=model, log_dir=tmp_path_factory.mktemp("logs"), redis_url=redis_server.url,
        with_sidecar=False,
    ).start()
    yield running
    running.stop()


def test_rest_channel_answers_a_greeting(stack: Stack) -> None:
    replies = _post(f"{stack.rasa_url}/webhooks/rest/webhook", {"sender": "s1", "message": "hi"})
    texts = [r.get("text") for r in replies]
    assert texts and texts[0] in _responses("utter_greet"), f"shopper saw {texts}"


def test_parse_of_a_complaint_is_complain_with_negative_sentiment(stack: Stack) -> None:
    text = "this is so frustrating, the shoes I ordered fell apart"
    parsed = _post(f"{stack.rasa_url}/model/parse", {"text": text})
    assert parsed["intent"]["name"] == "complain", parsed["intent"]
    assert parsed["sentiment"]["label"] == "negative", parsed["sentiment"]
    categories = [e["value"] for e in parsed["entities"] if e["entity"] == "product_category"]
    assert categories == ["shoes"], parsed["entities"]


def test_conversation_is_kept_in_redis_with_sentiment(stack: Stack, redis_server: RedisServer) -> None:
    _post(f"{stack.rasa_url}/webhooks/rest/webhook",
          {"sender": "s-redis", "message": "I love this, SO good!!!"})
    client = redis.Redis.from_url(redis_server.url)
    raw = client.get("emotical:tracker:s-redis")
    assert raw is not None, f"tracker not in Redis; keys: {client.keys('*')[:20]}"
    events = json.loads(raw)["events"]
    user = [e for e in events if e["event"] == "user"][-1]
    assert user["parse_data"]["sentiment"]["label"] == "positive"


def test_a_second_rasa_process_continues_the_same_conversation(
    stack: Stack, redis_server: RedisServer, tmp_path: Path
) -> None:
    """Two Rasa servers on one Redis share trackers: the second sees what the first heard."""
    _post(f"{stack.rasa_url}/webhooks/rest/webhook", {"sender": "shared", "message": "hello"})
    port = free_port()
    second = rasa_server(port, stack.model, redis_server.url, stack.actions_url, tmp_path).start()
    try:
        second.wait_healthy(180)
        tracker = _get(f"http://127.0.0.1:{port}/conversations/shared/tracker")
        texts = [e.get("text") for e in tracker["events"] if e["event"] in {"user", "bot"}]
        assert "hello" in texts, texts
        replies = _post(f"http://127.0.0.1:{port}/webhooks/rest/webhook",
                        {"sender": "shared", "message": "bye"})
        assert replies and replies[0]["text"] in _responses("utter_goodbye")
        tracker = _get(f"{stack.rasa_url}/conversations/shared/tracker")
        assert [e.get("text") for e in tracker["events"] if e["event"] == "user"][-2:] == [
            "hello", "bye"]
    finally:
        second.stop()
