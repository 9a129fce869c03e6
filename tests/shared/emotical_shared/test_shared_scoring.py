"""The one session-score rule (emotical_shared/scoring.py) and the shared id validation."""

from __future__ import annotations

import pytest

from emotical_shared.redis_schema import InvalidIdError, session_emotion, validate_id
from emotical_shared.scoring import frame_valence, session_scores


def test_faces_weighted_by_confidence_and_chat_by_message_count() -> None:
    frames = [(1.0, 3.0), (-1.0, 1.0)]  # confident happy frame, unsure unhappy one
    scores = session_scores(frames, [-0.5])
    assert scores["face"] == 50
    assert scores["chat"] == -50
    assert scores["session"] == round((50 * 2 - 50 * 1) / 3)


def test_nothing_measured_gives_no_score_rather_than_zero() -> None:
    assert session_scores([], [])["session"] is None
    assert session_scores([], [0.2])["session"] == 20


def test_frames_without_a_face_do_not_count() -> None:
    assert frame_valence({"face_present": "0", "valence": "0.9"}) is None
    assert frame_valence({"face_present": "1", "valence": "0.5", "happy": "0.8", "calm": "0.2"}) \
        == (0.5, 0.8), "a frame weighs as much as its reading is sure"
    assert frame_valence({"face_present": "1", "valence": "0.5"}) == (0.5, 1.0)
    valence, weight = frame_valence({"face_present": "1", "happy": "1.0"})
    assert valence == pytest.approx(0.9) and weight == 1.0


def test_an_uncertain_frame_counts_as_no_reading() -> None:
    sure = {"face_present": "1", "valence": "0.5", "happy": "0.45", "calm": "0.55"}
    assert frame_valence({**sure, "uncertain": "0"}) == (0.5, 0.55)
    assert frame_valence({**sure, "uncertain": "1", "dominant": "uncertain"}) is None


def test_scores_are_clamped() -> None:
    assert session_scores([(3.0, 1.0)], [])["session"] == 100


@pytest.mark.parametrize("bad", ["", "a b", "x" * 129, "../etc", "sid\n", None, 42])
def test_malformed_ids_never_reach_a_key(bad: object) -> None:
    with pytest.raises(InvalidIdError):
        validate_id(bad)
    with pytest.raises(InvalidIdError):
        session_emotion(bad)  # type: ignore[arg-type]
