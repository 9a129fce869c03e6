"""End to end over REST: Rasa (trained model) + action server + Redis, as the shop uses them."""

from __future__ import annotations

import time
from typing import Any, Dict, List

import yaml

from emotical_shared import redis_schema as keys
from emotical_shared.labels import LABELS, valence_of
from tests.bot.e2e.conftest import ROOT_DOMAIN, RestClient

COMPLAINT = "this is so frustrating, the shoes I ordered fell apart"


def sidecar_state(probs: Dict[str, float]) -> Dict[str, str]:
    """The emotion hash as the vision sidecar writes it."""
    full = {label: probs.get(label, 0.0) for label in LABELS}
    out = {k: f"{v:.4f}" for k, v in full.items()}
    out.update(dominant=max(full, key=full.__getitem__), valence=f"{valence_of(full):.4f}",
               arousal="0.5", score=f"{100 * valence_of(full):.1f}", face_present="1",
               ts=f"{time.time():.3f}")
    return out


def responses(name: str) -> List[str]:
    domain = yaml.safe_load(ROOT_DOMAIN.read_text(encoding="utf-8"))
    return [v["text"] for v in domain["responses"][name]]


def sympathy_lines(kind: str) -> List[str]:
    return [t for lv in (1, 2, 3) for t in responses(f"utter_sympathy_{kind}_{lv}")]


def test_same_complaint_gets_apology_only_from_an_angry_face(rest: RestClient,
                                                             stack_redis: Any) -> None:
    replies = {}
    for face, probs in (("happy", {"happy": 0.95, "calm": 0.05}),
                        ("angry", {"angry": 0.9, "calm": 0.1})):
        sid = f"e2e-complaint-{face}"
        stack_redis.hset(keys.session_emotion(sid), mapping=sidecar_state(probs))
        replies[face] = rest.texts(rest.send(sid, COMPLAINT, f"u-{face}"))
    apologies = set(sympathy_lines("apologise"))
    assert not apologies & set(replies["happy"]), f"happy shopper got an apology: {replies}"
    assert apologies & set(replies["angry"]), f"angry shopper got no apology: {replies}"
    assert replies["happy"] != replies["angry"]
    # Each message's sentiment landed in the session's chat stream.
    chat = stack_redis.xrange(keys.session_chat("e2e-complaint-angry"))
    assert chat and chat[-1][1]["intent"] == "complain" and float(chat[-1][1]["score"]) < 0


def _recommendation_lines(replies: List[str]) -> List[str]:
    return [line for text in replies for line in text.splitlines() if line.startswith("- ")]


def test_likes_and_dislikes_move_weights_and_change_recommendations(rest: RestClient,
                                                                    stack_redis: Any) -> None:
    session, shopper = "e2e-taste", "e2e-shopper"
    before = rest.texts(rest.send(session, "what do you recommend?", shopper))
    cold_lines = _recommendation_lines(before)
    assert cold_lines and not any("you like" in line for line in cold_lines), before

    rest.send(session, "I love leather", shopper)
    # A like button for a word that is not a catalog tag: WordNet relates scarlet to red.
    rest.send(session, '/express_like{"attribute": "scarlet"}', shopper)
    rest.send(session, "I'm not into formal stuff", shopper)
    weights = {k: float(v) for k, v in
               stack_redis.hgetall(keys.shopper_tags("e2e-shopper")).items()}
    assert weights.get("leather", 0) > 0, weights
    assert "scarlet" not in weights and 0 < weights.get("red", 0) < weights["leather"], weights
    assert weights.get("formal", 0) < 0, weights

    after = rest.texts(rest.send(session, "what do you recommend?", shopper))
    lines = _recommendation_lines(after)
    assert lines and lines != cold_lines, (before, after)
    assert all("you like" in line for line in lines), after
    assert any("red" in line or "leather" in line for line in lines), after


def test_delete_my_data_leaves_no_key_of_the_shopper(rest: RestClient, stack_redis: Any) -> None:
    """Two sessions of one shopper; "delete my data" in one removes the profile and both
    sessions at once (no waiting for a timer), and Rasa's save of the deleting turn stores
    nothing: only the sessions' tombstones remain."""
    shopper, first, second = "e2e-del-user", "e2e-del-s1", "e2e-del-s2"
    stack_redis.hset(keys.session_emotion(first), mapping=sidecar_state({"happy": 1.0}))
    stack_redis.xadd(keys.session_history(first), {"valence": "0.9", "face_present": "1"})
    rest.send(first, "I love leather", shopper)
    rest.send(second, "I love suede", shopper)
    assert stack_redis.exists(keys.shopper_tags(shopper))

    question = rest.send(first, "please delete my data", shopper)
    buttons = [b for r in question for b in r.get("buttons") or []]
    assert buttons, f"no confirmation buttons in {question}"
    yes = next(b["payload"] for b in buttons if b["payload"] == "/affirm")
    assert stack_redis.exists(keys.shopper_tags(shopper)), "deleted before confirming"

    done = rest.texts(rest.send(first, yes, shopper))
    assert any("deleted" in t.lower() for t in done), done
    left = [k for k in stack_redis.scan_iter("emotical:*")
            if any(o in k for o in (shopper, first, second)) and not k.endswith(":deleted")]
    assert left == [], f"keys left after deletion: {left}"
    assert stack_redis.exists(keys.session_tombstone(first), keys.session_tombstone(second)) == 2
