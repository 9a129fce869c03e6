"""The settings reader, the child environment and the logging style shared by every process."""

from __future__ import annotations

import logging
import os

import pytest

from emotical_shared import envconfig, logs
from emotical_shared.childenv import ROOT, child_env


def test_unset_or_empty_variable_gives_the_default():
    assert envconfig.read({}, "EMOTICAL_X", 3, int) == 3
    assert envconfig.read({"EMOTICAL_X": ""}, "EMOTICAL_X", 3, int) == 3


def test_bad_value_names_the_variable_the_value_and_what_was_expected():
    with pytest.raises(envconfig.SettingsError) as err:
        envconfig.read({"EMOTICAL_X": "-2"}, "EMOTICAL_X", 3, int, envconfig.positive,
                       "a positive integer")
    assert str(err.value) == "EMOTICAL_X='-2' is not valid: expected a positive integer"
    with pytest.raises(envconfig.SettingsError, match="EMOTICAL_X='abc'"):
        envconfig.read({"EMOTICAL_X": "abc"}, "EMOTICAL_X", 3, int, expect="an integer")


def test_bool_and_number_list_parsers_refuse_what_they_cannot_read():
    assert envconfig.parse_bool("On") is True and envconfig.parse_bool("0") is False
    with pytest.raises(ValueError):
        envconfig.parse_bool("maybe")
    assert envconfig.parse_floats(3)("0.1, 0.2,0.3") == (0.1, 0.2, 0.3)
    with pytest.raises(ValueError):
        envconfig.parse_floats(3)("0.1,0.2")


def test_child_env_puts_the_project_first_once_and_keeps_what_the_caller_set():
    base = {"PYTHONPATH": os.pathsep.join(["/elsewhere", str(ROOT)]),
            "RASA_TELEMETRY_ENABLED": "true"}
    env = child_env({"EXTRA": "1"}, base=base)
    assert env["PYTHONPATH"].split(os.pathsep) == [str(ROOT), "/elsewhere"]
    assert env["RASA_TELEMETRY_ENABLED"] == "true", "a caller's explicit choice was overridden"
    assert env["TF_CPP_MIN_LOG_LEVEL"] == "2" and env["EXTRA"] == "1"


def test_event_names_the_session_of_its_scope_and_restores_the_outer(caplog):
    log = logging.getLogger("tests.shared")
    with caplog.at_level(logging.INFO, logger="tests.shared"):
        with logs.session_scope("s-outer"):
            with logs.session_scope("s-inner"):
                logs.event(log, logging.INFO, "frame_done", frames=2)
            logs.event(log, logging.INFO, "ws_closed")
        logs.event(log, logging.INFO, "no_session", code="x")
    inner, outer = logs.id_tag("s-inner"), logs.id_tag("s-outer")
    assert [r.getMessage() for r in caplog.records] == [
        f"frame_done session={inner} frames=2",
        f"ws_closed session={outer}",
        "no_session code='x'",
    ]
    assert "s-inner" not in caplog.text, "a log line holds a full session id"
    assert logs.current_session() is None


def test_throttled_warning_counts_what_it_held_back(caplog, monkeypatch):
    clock = iter([0.0, 1.0, 2.0, 10.0])
    monkeypatch.setattr(logs.time, "monotonic", lambda: next(clock))
    warn = logs.Throttled(interval=5.0)
    log = logging.getLogger("tests.shared.throttle")
    with caplog.at_level(logging.WARNING, logger="tests.shared.throttle"):
        for _ in range(4):
            warn(log, "redis_down")
    assert [r.getMessage() for r in caplog.records] == ["redis_down", "redis_down suppressed=2"]
