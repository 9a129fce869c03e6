"""Every door of the bot stack, tried by an outsider who knows a victim's session and shopper ids.

The outsider has a genuine session of their own (a token the sidecar would mint for anyone) and
the victim's ids (they sit in shared report links and screenshots). Each test tries one door and
then checks, in Redis, that the victim's conversation and profile are exactly as before.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, Dict, Iterator, Optional, Tuple

import pytest
import redis

from emotical_shared import redis_schema as keys
from stack.processes import Stack
from stack.rest import post_json, rest_turn

VICTIM_SESSION, VICTIM = "v-sess-1", "v-shopper-1"
OUTSIDER_SESSION, OUTSIDER = "o-sess-1", "o-shopper-1"


def _status(url: str, body: Optional[Any] = None, method: str = "GET",
            headers: Optional[Dict[str, str]] = None) -> int:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.fixture(scope="module")
def victim(stack: Stack) -> Iterator[redis.Redis]:
    """The victim chatted and has a taste profile; yields a client on the stack's Redis."""
    client = redis.Redis.from_url(stack.redis_url or "", decode_responses=True)
    rest_turn(stack.rasa_url, stack.session_token(VICTIM_SESSION, VICTIM), "I love leather")
    assert client.hget(keys.shopper_tags(VICTIM), "leather"), "setup: the victim has no profile"
    assert client.llen(keys.session_tracker_events(VICTIM_SESSION)), "setup: no conversation"
    yield client
    client.close()


def _snapshot(client: redis.Redis) -> Tuple[Any, ...]:
    """The victim's conversation (the windowed store's event list and marks, and Rasa's own
    layout's string, which must stay absent) and profile."""
    return (client.lrange(keys.session_tracker_events(VICTIM_SESSION), 0, -1),
            client.lrange(keys.session_tracker_marks(VICTIM_SESSION), 0, -1),
            client.get(keys.session_tracker(VICTIM_SESSION)),
            client.hgetall(keys.shopper_tags(VICTIM)))


def test_rest_without_a_valid_token_is_refused_and_reaches_no_conversation(stack, victim):
    before = _snapshot(victim)
    url = f"{stack.rasa_url}/webhooks/rest/webhook"
    body = {"sender": VICTIM_SESSION, "message": "I hate leather",
            "metadata": {"session_id": VICTIM_SESSION, "shopper_id": VICTIM}}
    assert _status(url, body, "POST") == 401, "no token"
    assert _status(url, body, "POST", {"Authorization": "Bearer v1.forged.sig"}) == 401
    expired = stack.signer.mint("session", VICTIM, VICTIM_SESSION, ttl_s=-1)
    assert _status(url, body, "POST", {"Authorization": f"Bearer {expired}"}) == 401
    own = stack.session_token(OUTSIDER_SESSION, OUTSIDER)
    assert _status(url, body, "POST", {"Authorization": f"Bearer {own}"}) == 403, \
        "an outsider's own token spoke in the victim's conversation"
    assert _snapshot(victim) == before


def test_rest_metadata_naming_the_victim_moves_only_the_outsiders_own_profile(stack, victim):
    before = _snapshot(victim)
    own = stack.session_token(OUTSIDER_SESSION, OUTSIDER)
    forged = {"session_id": VICTIM_SESSION, "shopper_id": VICTIM, "token": "v1.x.y"}
    rest_turn(stack.rasa_url, own, "I don't like leather", forged)
    replies = rest_turn(stack.rasa_url, own, "what do you recommend?", forged)
    assert _snapshot(victim) == before, "the victim's profile or chat changed"
    assert float(victim.hget(keys.shopper_tags(OUTSIDER), "leather") or 0) < 0
    assert not any("leather" in (r.get("text") or "") and "you like" in (r.get("text") or "")
                   for r in replies), f"the outsider was shown the victim's taste: {replies}"


def test_rasa_http_api_needs_its_token(stack, victim):
    tracker_url = f"{stack.rasa_url}/conversations/{VICTIM_SESSION}/tracker"
    assert _status(tracker_url) == 401, "the victim's whole chat was readable"
    assert _status(f"{stack.rasa_url}/model", method="DELETE") == 401
    assert _status(f"{stack.rasa_url}/conversations/{VICTIM_SESSION}/messages",
                   {"text": "hi", "sender": "user"}, "POST") == 401
    # The same door with the stack's own token opens (the check is not just closed).
    assert _status(f"{tracker_url}?token={stack.rasa_api_token}") == 200
    own = stack.session_token(OUTSIDER_SESSION, OUTSIDER)
    assert rest_turn(stack.rasa_url, own, "hi"), "after DELETE /model the bot no longer answers"


def test_rasa_allows_no_other_website_to_read_its_answers(stack):
    req = urllib.request.Request(f"{stack.rasa_url}/status?token={stack.rasa_api_token}",
                                 headers={"Origin": "https://evil.example"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        allowed = resp.headers.get("Access-Control-Allow-Origin")
    assert allowed in (None, ""), f"Rasa lets another origin read its answers: {allowed}"


def test_the_action_server_runs_nothing_for_a_caller_without_the_stack_token(stack, victim):
    before = _snapshot(victim)
    port = stack.actions_port
    call = {"next_action": "action_delete_my_data", "sender_id": VICTIM_SESSION,
            "tracker": {"sender_id": VICTIM_SESSION, "slots": {"pending_delete": True},
                        "latest_message": {"intent": {"name": "affirm"}},
                        "events": [{"event": "user", "text": "yes",
                                    "parse_data": {"intent": {"name": "affirm"}},
                                    "metadata": {"session_id": VICTIM_SESSION,
                                                 "shopper_id": VICTIM}}]},
            "domain": {}, "version": "3.6.2"}
    url = f"http://127.0.0.1:{port}/webhook"
    assert _status(url, call, "POST") == 401
    assert _status(url, call, "POST", {"X-Emotical-Actions-Token": "guess"}) == 401
    assert _status(f"http://127.0.0.1:{port}/actions") == 401, "the action list is a door too"
    assert _status(f"http://127.0.0.1:{port}/health") == 200
    assert _snapshot(victim) == before, "an action ran for the outsider"


def test_the_victim_still_converses_after_all_of_it(stack, victim):
    replies = post_json(f"{stack.rasa_url}/webhooks/rest/webhook", {"message": "hi"},
                        {"Authorization": f"Bearer {stack.session_token(VICTIM_SESSION, VICTIM)}"})
    assert replies, "the victim's own session stopped answering"
