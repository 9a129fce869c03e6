"""The bot asks about a product-video chapter the shopper clearly reacted to (the sidecar's
`<i>:learned` step in `session:{sid}:chapters`), once per chapter, on a real Redis; and the
category slot is set only when it changes."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping

from actions.mood_actions import ActionFuseMood
from actions.preference_actions import ActionAskPreference
from actions.recommend_actions import ActionRecommend
from actions.responses import fill
from emotical_shared import redis_schema as keys
from tests.bot.actions.helpers import make_tracker, run_action, slots_of, user_event

META = {"session_id": "sess-ch", "shopper_id": "shopper-ch", "product_id": "bags-03"}
# bags-03 (data/catalog/bags.yml): chapter 0 "Red and leather" [red, leather], chapter 1
# "Compact and elegant" [compact, elegant].


def browse(**meta: Any) -> Dict[str, Any]:
    return user_event("browse_category", text="show me bags", score=0.2, metadata={**META, **meta})


def seed_chapters(redis_client: Any, fields: Mapping[str, str]) -> None:
    """The fields the sidecar's frame writer and `learn_chapter` leave for ended chapters."""
    redis_client.hset(keys.session_chapters(META["session_id"]), mapping=dict(fields))


def expected(domain: Dict[str, Any], name: str, **values: str) -> List[str]:
    return [fill(v["text"], **values) for v in domain["responses"][name]]


def attribute_of(message: Dict[str, Any], index: int) -> str:
    payload = message["buttons"][index]["payload"]
    return json.loads(payload[payload.index("{"):])["attribute"]


def test_a_clearly_liked_chapter_is_asked_about_once(runtime: Any, redis_client: Any,
                                                     domain: Dict[str, Any]) -> None:
    seed_chapters(redis_client, {"0:frames": "30", "0:face": "28", "0:valence": "14.0",
                                 "0:confidence": "22.4", "0:emo:happy": "28",
                                 "0:learned": "0.061200",
                                 # chapter 1 watched but unclear: the sidecar recorded step 0
                                 "1:frames": "30", "1:face": "29", "1:valence": "0.5",
                                 "1:confidence": "20.0", "1:emo:calm": "29",
                                 "1:learned": "0.000000"})
    started = {"event": "session_started", "timestamp": 1700000000.0}
    _, first = run_action(ActionAskPreference(), make_tracker([started, browse()]), domain)
    assert [m["text"] for m in first] == expected(domain, "utter_ask_chapter_liked",
                                                  chapter="Red and leather", tag="red")[:1]
    assert attribute_of(first[0], 0) == "red" and first[0]["buttons"][0]["payload"].startswith(
        "/express_like{")
    assert attribute_of(first[0], 1) == "red" and first[0]["buttons"][1]["payload"].startswith(
        "/express_dislike{")
    # Next turn of the same Rasa session: not the same chapter again (the session's said-record,
    # not the events at hand: this tracker holds no bot line), and chapter 1's unclear reaction
    # is not brought up; the plain tag question follows, never about red, which was just asked.
    _, second = run_action(ActionAskPreference(), make_tracker([started, browse()]), domain)
    assert len(second) == 1 and "Compact and elegant" not in second[0]["text"]
    assert second[0]["text"] not in expected(domain, "utter_ask_chapter_liked",
                                             chapter="Red and leather", tag="red")
    assert attribute_of(second[0], 0) != "red"
    said = redis_client.hgetall(keys.session_said(META["session_id"]))
    assert "chapter:0" in said and "tag:red" in said, said


def test_a_clearly_disliked_chapter_gets_the_dislike_question(runtime: Any, redis_client: Any,
                                                              domain: Dict[str, Any]) -> None:
    seed_chapters(redis_client, {"1:frames": "20", "1:face": "20", "1:valence": "-12.0",
                                 "1:confidence": "15.0", "1:emo:disgusted": "20",
                                 "1:learned": "-0.045000"})
    _, messages = run_action(ActionAskPreference(), make_tracker([browse()]), domain)
    assert [m["text"] for m in messages] == expected(
        domain, "utter_ask_chapter_disliked", chapter="Compact and elegant", tag="compact")[:1]
    assert messages[0]["buttons"][0]["title"] == fill(
        domain["responses"]["utter_ask_chapter_disliked"][0]["buttons"][0]["title"], tag="compact")


def test_no_chapter_question_without_a_clear_ended_chapter(runtime: Any, redis_client: Any,
                                                          domain: Dict[str, Any]) -> None:
    liked = expected(domain, "utter_ask_chapter_liked", chapter="Red and leather", tag="red")
    # Counts while the chapter still plays (no `learned` yet), a step of 0 (unclear), and an
    # unreadable step: none is a clear reaction.
    seed_chapters(redis_client, {"0:frames": "12", "0:face": "12", "0:valence": "8.0",
                                 "1:frames": "9", "1:learned": "0.000000"})
    _, messages = run_action(ActionAskPreference(), make_tracker([browse()]), domain)
    assert len(messages) == 1 and messages[0]["text"] not in liked
    redis_client.hset(keys.session_chapters(META["session_id"]), "0:learned", "not-a-number")
    _, messages = run_action(ActionAskPreference(), make_tracker([browse()]), domain)
    assert len(messages) == 1 and messages[0]["text"] not in liked
    # Another product's session: bags-03's chapter numbers mean nothing for a product without
    # chapters, and a session for another shopper's id sees nothing of this one's.
    redis_client.hset(keys.session_chapters(META["session_id"]), "0:learned", "0.05")
    _, other = run_action(ActionAskPreference(),
                          make_tracker([browse(session_id="sess-other")]), domain)
    assert len(other) == 1 and other[0]["text"] not in liked


def test_the_category_slot_is_set_only_when_it_changes(runtime: Any, domain: Dict[str, Any]) -> None:
    def turn(value: str, slots: Dict[str, Any]) -> Dict[str, Any]:
        event = user_event("browse_category", text=f"show me {value}", score=0.0, metadata=META)
        event["parse_data"]["entities"] = [{"entity": "product_category", "value": value}]
        events, _ = run_action(ActionFuseMood(), make_tracker([event], slots=slots), domain)
        return slots_of(events)

    assert turn("Bags", {})["product_category"] == "bags"
    # "bag" names the catalog's "bags", the value the slot holds: no event.
    assert "product_category" not in turn("bag", {"product_category": "bags"})
    assert turn("shoe", {"product_category": "bags"})["product_category"] == "shoes"
    # A word that names no catalog category leaves the slot alone.
    assert "product_category" not in turn("spaceships", {"product_category": "bags"})
    # action_recommend stores the category it recommended from, also only when it changes.
    browse_bag = user_event("browse_category", text="show me a bag", score=0.0, metadata=META)
    browse_bag["parse_data"]["entities"] = [{"entity": "product_category", "value": "bag"}]
    events, _ = run_action(ActionRecommend(), make_tracker([browse_bag]), domain)
    assert slots_of(events) == {"product_category": "bags"}
    events, _ = run_action(ActionRecommend(),
                           make_tracker([browse_bag], slots={"product_category": "bags"}), domain)
    assert slots_of(events) == {}
