"""Mood fusion: pure rule, and action_fuse_mood / action_express_sympathy on a real Redis."""

from __future__ import annotations

import time
from typing import Any, Dict

import pytest

from actions.fusion import FaceReading, TextReading, fuse
from actions.mood_actions import ActionExpressSympathy, ActionFuseMood
from actions.settings import Settings
from emotical_shared import redis_schema as keys
from tests.bot.actions.helpers import emotion_hash, make_tracker, run_action, slots_of, user_event

S = Settings()


def face(probs: Dict[str, float], age_s: float = 0.5, present: bool = True) -> FaceReading:
    reading = FaceReading.from_hash(emotion_hash(probs, age_s, present))
    assert reading is not None
    return reading


def test_happy_face_outweighs_a_mildly_negative_message() -> None:
    mood = fuse(face({"happy": 0.9, "calm": 0.1}), TextReading(-0.4, "negative"), S, time.time())
    assert mood.mood == "positive" and mood.sympathy_level == 0
    assert mood.dominant_emotion == "happy"


def test_angry_face_with_complaint_is_negative_and_angry() -> None:
    mood = fuse(face({"angry": 0.85, "calm": 0.15}), TextReading(-0.4, "negative"), S,
                time.time(), intent="complain")
    assert mood.mood == "negative"
    assert mood.dominant_emotion == "angry"
    assert mood.sympathy_level == 2, mood  # valence -0.56: between t2 and t3


def test_stale_or_faceless_reading_counts_for_nothing() -> None:
    text = TextReading(-0.3, "negative")
    for reading in (face({"happy": 1.0}, age_s=S.face_stale_s + 5),
                    face({"happy": 1.0}, present=False), None):
        mood = fuse(reading, text, S, time.time())
        assert not mood.face_used
        assert mood.valence == pytest.approx(-0.3)
        assert mood.mood == "negative" and mood.sympathy_level == 1


def test_an_uncertain_face_counts_as_no_reading() -> None:
    """The sidecar's `uncertain` (a face, no confident label) weighs nothing, by its field or
    by `dominant` alone; the same probabilities read with confidence do count."""
    text = TextReading(-0.3, "negative")
    sure = FaceReading.from_hash(emotion_hash({"angry": 0.45, "sad": 0.3, "calm": 0.25}))
    unsure = FaceReading.from_hash(emotion_hash({"angry": 0.45, "sad": 0.3, "calm": 0.25},
                                                uncertain=True))
    by_dominant = FaceReading.from_hash({**emotion_hash({"angry": 0.45, "calm": 0.55}),
                                         "dominant": "uncertain"})
    assert sure is not None and unsure is not None and by_dominant is not None
    assert not sure.uncertain and unsure.uncertain and by_dominant.uncertain
    assert fuse(sure, text, S, time.time()).face_used
    for reading in (unsure, by_dominant):
        mood = fuse(reading, text, S, time.time())
        assert not mood.face_used
        assert mood.valence == pytest.approx(-0.3)
        assert mood.dominant_emotion == "sad"  # from the message, never "uncertain"


def test_no_readings_at_all_is_neutral() -> None:
    mood = fuse(None, None, S, time.time())
    assert (mood.mood, mood.sympathy_level, mood.dominant_emotion) == ("neutral", 0, "calm")


def test_sympathy_grows_with_negativity() -> None:
    levels = [fuse(None, TextReading(v, "negative"), S, time.time()).sympathy_level
              for v in (-0.1, -0.3, -0.5, -0.9)]
    assert levels == [0, 1, 2, 3]


def test_clear_confusion_asks_for_help_even_when_mild() -> None:
    mood = fuse(face({"confused": 0.8, "calm": 0.2}), TextReading(0.0, "neutral"), S, time.time())
    assert mood.mood == "neutral"
    assert (mood.dominant_emotion, mood.sympathy_level) == ("confused", 1)


def test_weights_are_configurable() -> None:
    text_only = Settings(face_weight=0.0)
    mood = fuse(face({"angry": 1.0}), TextReading(0.5, "positive"), text_only, time.time())
    assert mood.mood == "positive" and not mood.face_used


def test_malformed_hash_is_ignored() -> None:
    assert FaceReading.from_hash({}) is None
    assert FaceReading.from_hash({"happy": "x", "ts": "1"}) is None
    assert FaceReading.from_hash({"happy": "0.5"}) is None  # no timestamp


# -- through the actions and Redis -------------------------------------------------------------

COMPLAINT = dict(intent="complain", text="this is taking forever", score=-0.4)


def _fuse_and_sympathise(runtime: Any, redis_client: Any, domain: Dict[str, Any],
                         probs: Dict[str, float], sid: str) -> tuple:
    redis_client.hset(keys.session_emotion(sid), mapping=emotion_hash(probs))
    event = user_event(**COMPLAINT, metadata={"session_id": sid, "shopper_id": "u1"})
    events, _ = run_action(ActionFuseMood(), make_tracker([event]), domain)
    tracker = make_tracker([event, *events], slots_of(events))
    _, messages = run_action(ActionExpressSympathy(), tracker, domain)
    return slots_of(events), messages


def test_same_complaint_happy_vs_angry_face(runtime: Any, redis_client: Any,
                                            domain: Dict[str, Any]) -> None:
    happy_slots, happy_msgs = _fuse_and_sympathise(runtime, redis_client, domain,
                                                   {"happy": 0.9, "calm": 0.1}, "s-happy")
    angry_slots, angry_msgs = _fuse_and_sympathise(runtime, redis_client, domain,
                                                   {"angry": 0.85, "calm": 0.15}, "s-angry")
    assert happy_slots["mood"] == "positive" and happy_msgs == [], happy_msgs
    assert angry_slots["mood"] == "negative" and angry_slots["dominant_emotion"] == "angry"
    apologies = [v["text"] for v in domain["responses"]["utter_sympathy_apologise_2"]]
    assert [m["text"] for m in angry_msgs] == [apologies[0]], angry_msgs


def test_fuse_mood_ignores_an_uncertain_face_in_redis(runtime: Any, redis_client: Any,
                                                      domain: Dict[str, Any]) -> None:
    sid = "s-unsure"
    redis_client.hset(keys.session_emotion(sid),
                      mapping=emotion_hash({"happy": 0.45, "calm": 0.55}, uncertain=True))
    event = user_event(**COMPLAINT, metadata={"session_id": sid, "shopper_id": "u1"})
    events, _ = run_action(ActionFuseMood(), make_tracker([event]), domain)
    slots = slots_of(events)
    # the complaint alone (-0.4): a happy/calm face read with confidence would lift it
    assert slots["mood"] == "negative" and slots["valence"] == pytest.approx(-0.4)
    assert slots["dominant_emotion"] == "angry"


def test_fuse_mood_records_chat_sentiment_and_session(runtime: Any, redis_client: Any,
                                                      domain: Dict[str, Any]) -> None:
    event = user_event(**COMPLAINT, metadata={"session_id": "s-9", "shopper_id": "u-9",
                                              "product_id": "shoe-01"})
    events, _ = run_action(ActionFuseMood(), make_tracker([event]), domain)
    run_action(ActionFuseMood(), make_tracker([event]), domain)  # same message: recorded once
    chat = redis_client.xrange(keys.session_chat("s-9"))
    assert len(chat) == 1
    assert chat[0][1]["intent"] == "complain" and float(chat[0][1]["score"]) == pytest.approx(-0.4)
    assert "text" not in chat[0][1]
    assert redis_client.sismember(keys.shopper_sessions("u-9"), "s-9")
    meta = redis_client.hgetall(keys.session_meta("s-9"))
    assert meta["shopper_id"] == "u-9" and meta["product_id"] == "shoe-01"
    assert redis_client.ttl(keys.session_chat("s-9")) > 0
    assert slots_of(events)["product_id"] == "shoe-01"


def test_ids_fall_back_to_sender(runtime: Any, redis_client: Any, domain: Dict[str, Any]) -> None:
    event = user_event(**COMPLAINT)
    run_action(ActionFuseMood(), make_tracker([event], sender="conv-42"), domain)
    assert redis_client.exists(keys.session_chat("conv-42"))
    assert redis_client.sismember(keys.shopper_sessions("conv-42"), "conv-42")


def test_sympathy_never_repeats_a_line_in_a_session(runtime: Any, redis_client: Any,
                                                    domain: Dict[str, Any]) -> None:
    sid = "s-rep"
    redis_client.hset(keys.session_emotion(sid), mapping=emotion_hash({"sad": 1.0}))
    history: list = [{"event": "session_started"}]
    said = []
    for _ in range(4):
        event = user_event(intent="complain", text="meh", score=-0.6,
                           metadata={"session_id": sid})
        history.append(event)
        events, _ = run_action(ActionFuseMood(), make_tracker(history), domain)
        history.extend(events)
        _, messages = run_action(ActionExpressSympathy(), make_tracker(history, slots_of(events)),
                                 domain)
        for m in messages:
            history.append({"event": "bot", "text": m["text"], "data": {}})
            said.append(m["text"])
    assert len(said) == 4, said
    assert len(set(said)) == len(said), f"a sympathy line was repeated: {said}"
    comfort = {v["text"] for lv in (1, 2, 3) for v in domain["responses"][f"utter_sympathy_comfort_{lv}"]}
    assert set(said) <= comfort


def test_fuse_sets_only_slots_that_change_and_sympathy_reads_the_slots(
        runtime: Any, redis_client: Any, domain: Dict[str, Any]) -> None:
    # Slots as Rasa sends them (initial values filled in): a turn whose mood is the same as
    # the last one's adds no event, and later actions answer the mood the slots hold.
    sid = "s-same"
    redis_client.hset(keys.session_emotion(sid), mapping=emotion_hash({"sad": 1.0}))
    slots: Dict[str, Any] = {"mood": "neutral", "valence": 0.0, "sentiment_score": 0.0,
                             "sympathy_level": 0.0, "dominant_emotion": None}
    history: list = [{"event": "session_started"}]
    set_per_turn = []
    for _ in range(3):
        event = user_event(intent="complain", text="meh", score=-0.6, metadata={"session_id": sid})
        history.append(event)
        events, _ = run_action(ActionFuseMood(), make_tracker(history, dict(slots)), domain)
        history.extend(events)
        slots.update(slots_of(events))
        set_per_turn.append(sorted(slots_of(events)))
    assert set_per_turn[0] == ["dominant_emotion", "mood", "sentiment_score", "sympathy_level",
                               "valence"]
    assert set_per_turn[1:] == [[], []], "a slot was set to the value it already held"
    # The face turns happy after the fuse: sympathy follows the fused slots, not a new read.
    redis_client.hset(keys.session_emotion(sid), mapping=emotion_hash({"happy": 1.0}))
    _, messages = run_action(ActionExpressSympathy(), make_tracker(history, dict(slots)), domain)
    comfort = {v["text"] for lv in (1, 2, 3) for v in domain["responses"][f"utter_sympathy_comfort_{lv}"]}
    assert len(messages) == 1 and messages[0]["text"] in comfort, messages
