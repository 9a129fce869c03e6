"""Preference questions, tag updates, recommendations, report and deletion on a real Redis."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, List

import pytest

from actions.mood_actions import ActionFuseMood
from actions.preference_actions import ActionAskPreference, ActionUpdateTagWeights
from actions.recommend_actions import ActionProductInfo, ActionRecommend
from actions.session_actions import ActionDeleteMyData, ActionSessionReport
from emotical_shared import redis_schema as keys
from tests.bot.actions.helpers import (
    attribute,
    emotion_hash,
    make_tracker,
    run_action,
    slots_of,
    user_event,
)

META = {"session_id": "sess-1", "shopper_id": "shopper-1"}


def weights(redis_client: Any, uid: str = "shopper-1") -> Dict[str, float]:
    return {k: float(v) for k, v in redis_client.hgetall(keys.shopper_tags(uid)).items()}


def say(intent: str, *attrs: str, score: float = 0.3, **meta: Any) -> Dict[str, Any]:
    return user_event(intent, text=f"{intent} {' '.join(attrs)}", score=score,
                      entities=[attribute(a) for a in attrs], metadata={**META, **meta})


def test_like_and_dislike_move_weights_with_wordnet_relatives(runtime: Any, redis_client: Any,
                                                              domain: Dict[str, Any]) -> None:
    run_action(ActionUpdateTagWeights(), make_tracker([say("express_like", "leather")]), domain)
    run_action(ActionUpdateTagWeights(), make_tracker([say("express_like", "scarlet")]), domain)
    run_action(ActionUpdateTagWeights(),
               make_tracker([say("express_dislike", "formal", score=-0.5)]), domain)
    w = weights(redis_client)
    assert w["leather"] > 0 and w["red"] > 0 and w["formal"] < 0, w
    assert w["red"] < w["leather"], "a tag reached only through WordNet moves by a smaller step"
    counts = redis_client.hgetall(keys.shopper_tag_counts("shopper-1"))
    assert float(counts["leather"]) == 1.0 and float(counts["red"]) == 0.5


def test_stronger_emotion_moves_weights_further(runtime: Any, redis_client: Any,
                                                domain: Dict[str, Any]) -> None:
    flat = say("express_like", "wool", score=0.1, shopper_id="calm-1", session_id="sc")
    keen = say("express_like", "wool", score=0.9, shopper_id="keen-1", session_id="sk")
    redis_client.hset(keys.session_emotion("sk"), mapping=emotion_hash({"happy": 1.0}))
    for event in (flat, keen):
        run_action(ActionUpdateTagWeights(), make_tracker([event]), domain)
    assert weights(redis_client, "keen-1")["wool"] > weights(redis_client, "calm-1")["wool"] > 0


def test_like_without_words_teaches_the_current_products_tags(runtime: Any, redis_client: Any,
                                                              domain: Dict[str, Any]) -> None:
    run_action(ActionUpdateTagWeights(),
               make_tracker([say("express_like", product_id="bags-03")]), domain)
    assert set(weights(redis_client)) == {"red", "leather", "compact", "elegant"}


def test_strong_face_reaction_to_a_shown_product_is_learned(runtime: Any, redis_client: Any,
                                                            domain: Dict[str, Any]) -> None:
    redis_client.hset(keys.session_emotion("sess-1"), mapping=emotion_hash({"disgusted": 1.0}))
    event = say("ask_product_info", score=0.0, product_id="shoe-06")
    run_action(ActionFuseMood(), make_tracker([event]), domain)
    w = weights(redis_client)
    assert set(w) == {"black", "leather", "elegant", "formal"} and all(v < 0 for v in w.values())


def test_profile_survives_a_redis_restart(runtime: Any, redis_server: Any, redis_client: Any,
                                          domain: Dict[str, Any]) -> None:
    run_action(ActionUpdateTagWeights(), make_tracker([say("express_like", "denim")]), domain)
    before = weights(redis_client)
    redis_server.stop()
    redis_server.start()
    import redis

    fresh = redis.Redis.from_url(redis_server.url, decode_responses=True)
    assert weights(fresh) == before
    fresh.close()


def _buttons_tag(message: Dict[str, Any]) -> str:
    payload = message["buttons"][0]["payload"]
    assert payload.startswith("/express_like{")
    return json.loads(payload[len("/express_like"):])["attribute"]


def test_ask_preference_picks_least_known_tag_and_never_repeats(runtime: Any, redis_client: Any,
                                                                domain: Dict[str, Any]) -> None:
    # The profile knows red and leather well; the product's other tags are unknown.
    redis_client.hset(keys.shopper_tags("shopper-1"), mapping={"red": 0.5, "leather": 0.4})
    redis_client.hset(keys.shopper_tag_counts("shopper-1"), mapping={"red": 3, "leather": 2,
                                                                    "compact": 1})
    history: List[Dict[str, Any]] = [{"event": "session_started"}]
    asked = []
    for _ in range(5):
        history.append(say("browse_category", product_id="bags-03"))
        _, messages = run_action(ActionAskPreference(), make_tracker(history), domain)
        if not messages:
            break
        asked.append(_buttons_tag(messages[0]))
        history.append({"event": "bot", "text": messages[0]["text"],
                        "data": {"buttons": messages[0]["buttons"]}})
    assert asked == ["elegant", "compact", "leather", "red"], asked
    assert messages == [], "all four tags asked: nothing left to ask this session"
    button = history[2]["data"]["buttons"][1]
    assert button["payload"] == '/express_dislike{"attribute": "elegant"}'


def test_recommendations_cold_start_then_follow_profile(runtime: Any, redis_client: Any,
                                                        domain: Dict[str, Any]) -> None:
    ask = say("ask_recommendation")
    ask["parse_data"]["entities"] = [{"entity": "product_category", "value": "shoes"}]
    _, cold = run_action(ActionRecommend(), make_tracker([ask]), domain)
    assert len(cold[0]["text"].splitlines()) == 1 + runtime.settings.top_k
    cold_intros = {v["text"].split("{")[0] for v in domain["responses"]["utter_cold_start"]}
    assert any(cold[0]["text"].startswith(i) for i in cold_intros), cold
    for word in ("red", "leather"):
        run_action(ActionUpdateTagWeights(), make_tracker([say("express_like", word)]), domain)
    browse = say("browse_category", score=0.0)
    browse["parse_data"]["entities"] = [{"entity": "product_category", "value": "bag"}]
    events, msgs = run_action(ActionRecommend(), make_tracker([browse]), domain)
    lines = msgs[0]["text"].splitlines()
    assert lines[1].startswith("- Mini crossbody bag") and "you like red and leather" in lines[1]
    assert slots_of(events) == {"product_category": "bags"}
    assert redis_client.sismember(keys.shopper_seen("shopper-1"), "bags-03")
    _, again = run_action(ActionRecommend(), make_tracker([browse]), domain)
    assert "Mini crossbody bag" not in again[0]["text"].splitlines()[1], "seen products go last"


def test_product_info_describes_the_product_on_screen(runtime: Any, domain: Dict[str, Any]) -> None:
    _, msgs = run_action(ActionProductInfo(),
                         make_tracker([say("ask_product_info", product_id="watc-01")]), domain)
    assert msgs[0]["text"].startswith("Steel diver watch: Automatic diver rated to 200 m.")


def test_session_report_gives_score_and_link(runtime: Any, redis_client: Any,
                                             domain: Dict[str, Any]) -> None:
    _, empty = run_action(ActionSessionReport(), make_tracker([say("request_report")]), domain)
    assert "haven't measured anything" in empty[0]["text"]
    for v in (0.5, 0.5):
        redis_client.xadd(keys.session_history("sess-1"), {"valence": v, "face_present": 1})
    redis_client.xadd(keys.session_chat("sess-1"), {"score": -0.4, "label": "negative"})
    _, msgs = run_action(ActionSessionReport(), make_tracker([say("request_report")]), domain)
    # (2 frames · 50 + 1 message · -40) / 3 = 20
    assert "Your session score is +20" in msgs[0]["text"]
    assert "/report/sess-1" in msgs[0]["text"]  # relative to the shop page that shows the chat


def test_delete_asks_first_then_removes_every_key_of_the_shopper(
        runtime: Any, redis_client: Any, domain: Dict[str, Any]) -> None:
    for sid in ("sess-1", "sess-0"):
        event = say("complain", score=-0.5, session_id=sid)
        redis_client.hset(keys.session_emotion(sid), mapping=emotion_hash({"sad": 1.0}))
        redis_client.xadd(keys.session_history(sid), {"valence": -0.7})
        run_action(ActionFuseMood(), make_tracker([event]), domain)
    run_action(ActionUpdateTagWeights(), make_tracker([say("express_like", "red")]), domain)
    redis_client.set("emotical:shopper:someone-else:tags", "kept")

    events, msgs = run_action(ActionDeleteMyData(), make_tracker([say("delete_my_data")]), domain)
    assert slots_of(events) == {"pending_delete": True}
    assert msgs[0]["buttons"][0]["payload"] == "/affirm"
    assert redis_client.exists(keys.shopper_tags("shopper-1")), "nothing deleted before yes"

    events, msgs = run_action(ActionDeleteMyData(),
                              make_tracker([say("affirm")], {"pending_delete": True}), domain)
    assert slots_of(events) == {"pending_delete": False}
    left = [k for k in redis_client.keys("*") if ("shopper-1" in k or "sess-" in k)
            and not k.endswith(":deleted")]
    assert left == [], f"keys of the shopper left after deletion: {left}"
    for sid in ("sess-0", "sess-1"):
        assert 0 < redis_client.ttl(keys.session_tombstone(sid)) <= keys.TOMBSTONE_TTL_S, \
            f"{sid} has no tombstone: a late writer could bring it back"
    assert redis_client.get("emotical:shopper:someone-else:tags") == "kept"
    assert "your taste profile" in msgs[0]["text"] and "2 sessions" in msgs[0]["text"], msgs


def test_delete_leaves_nothing_rasa_or_a_late_message_could_save_again(
        runtime: Any, redis_client: Any, domain: Dict[str, Any], redis_url: str) -> None:
    """Rasa saves this very conversation after the delete action returns; the tracker store
    (bot.tracker_store) finds the session's tombstone and writes nothing, and a late message's
    chat record is refused too. No timer is involved."""
    from urllib.parse import urlparse

    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from actions.mood_actions import ActionFuseMood
    from bot.tracker_store import TombstoneRedisTrackerStore

    url = urlparse(redis_url)
    store = TombstoneRedisTrackerStore(domain=Domain.empty(), host=url.hostname, port=url.port,
                                       key_prefix="emotical")
    conversation = DialogueStateTracker("sess-1", [])
    conversation.update(UserUttered("I love red, delete my data"))
    asyncio.run(store.save(conversation))
    run_action(ActionUpdateTagWeights(), make_tracker([say("express_like", "red")]), domain)
    run_action(ActionDeleteMyData(), make_tracker([say("affirm")], {"pending_delete": True}),
               domain)
    assert not redis_client.exists(keys.session_tracker("sess-1")), "conversation kept"

    conversation.update(UserUttered("one more thing"))  # Rasa's save at the end of the turn
    asyncio.run(store.save(conversation))
    run_action(ActionFuseMood(), make_tracker([say("complain", score=-0.6)]), domain)
    assert not redis_client.exists(keys.session_tracker("sess-1")), "Rasa's save brought it back"
    assert not redis_client.exists(keys.session_chat("sess-1")), "a late message was recorded"
    assert not redis_client.exists(keys.session_meta("sess-1"))


def test_delete_declined_keeps_data(runtime: Any, redis_client: Any, domain: Dict[str, Any]) -> None:
    run_action(ActionUpdateTagWeights(), make_tracker([say("express_like", "red")]), domain)
    events, msgs = run_action(ActionDeleteMyData(),
                              make_tracker([say("deny")], {"pending_delete": True}), domain)
    assert slots_of(events) == {"pending_delete": False}
    assert redis_client.exists(keys.shopper_tags("shopper-1"))
    assert "kept your data" in msgs[0]["text"]


def test_ids_in_metadata_without_a_token_are_never_trusted(runtime: Any, redis_client: Any,
                                                            domain: Dict[str, Any]) -> None:
    """A client that writes a victim's ids into metadata, without their token, moves only its
    own conversation's profile."""
    forged = {**say("express_like", "red"), "metadata": {"session_id": "victim-sess",
                                                         "shopper_id": "victim", "token": ""}}
    run_action(ActionUpdateTagWeights(), make_tracker([forged], sender="outsider-1"), domain)
    assert weights(redis_client, "victim") == {}, "the victim's profile moved"
    assert weights(redis_client, "outsider-1")["red"] > 0


def test_a_token_for_another_conversation_counts_as_no_token(runtime: Any, redis_client: Any,
                                                             domain: Dict[str, Any]) -> None:
    """A victim's genuine token replayed into another conversation proves nothing there."""
    run_action(ActionUpdateTagWeights(),
               make_tracker([say("express_like", "red", session_id="victim-sess",
                                 shopper_id="victim")], sender="outsider-2"), domain)
    assert weights(redis_client, "victim") == {}
    assert weights(redis_client, "outsider-2")["red"] > 0


@pytest.mark.parametrize("bad", ["../etc", "a b", "x" * 200])
def test_a_malformed_sender_gets_its_own_derived_id_never_a_shared_one(
        runtime: Any, redis_client: Any, domain: Dict[str, Any], bad: str) -> None:
    from actions.context import derived_id

    run_action(ActionUpdateTagWeights(), make_tracker([say("express_like", "red", token="")],
                                                      sender=bad), domain)
    run_action(ActionUpdateTagWeights(), make_tracker([say("express_like", "blue", token="")],
                                                      sender=bad + "-other"), domain)
    mine, other = weights(redis_client, derived_id(bad)), weights(redis_client,
                                                                 derived_id(bad + "-other"))
    assert set(mine) >= {"red"} and "blue" not in mine, mine
    assert set(other) >= {"blue"} and "red" not in other, "two bad senders shared a profile"


def test_face_reaction_is_learned_once_per_message(runtime: Any, redis_client: Any,
                                                   domain: Dict[str, Any]) -> None:
    # Rasa runs action_fuse_mood for the slots' custom mappings and again as a story step.
    redis_client.hset(keys.session_emotion("sess-1"), mapping=emotion_hash({"happy": 1.0}))
    event = say("ask_product_info", score=0.0, product_id="shoe-06")
    events, _ = run_action(ActionFuseMood(), make_tracker([event]), domain)
    once = weights(redis_client)
    again, _ = run_action(ActionFuseMood(), make_tracker([event, *events], slots_of(events)), domain)
    assert again == [], "a second run in the same turn changes nothing"
    run_action(ActionFuseMood(), make_tracker([event]), domain)  # same message id, fresh tracker
    assert weights(redis_client) == once and all(v > 0 for v in once.values())


@pytest.mark.parametrize(("intent", "pending"), [("affirm", False), ("express_like", True),
                                                 ("greet", True)])
def test_delete_never_runs_without_a_confirmed_question(runtime: Any, redis_client: Any,
                                                       domain: Dict[str, Any], intent: str,
                                                       pending: bool) -> None:
    run_action(ActionUpdateTagWeights(), make_tracker([say("express_like", "red")]), domain)
    events, msgs = run_action(ActionDeleteMyData(),
                              make_tracker([say(intent)], {"pending_delete": pending}), domain)
    assert (events, msgs) == ([], [])
    assert redis_client.exists(keys.shopper_tags("shopper-1"))
