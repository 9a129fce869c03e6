"""The sidecar's settings: read with the shared reader, a bad value names its variable."""

from __future__ import annotations

import pytest

from emotical_shared import envconfig
from vision_sidecar import settings as sidecar_settings
from vision_sidecar.settings import ROOT, Settings, SettingsError


def test_settings_error_is_the_shared_class():
    assert SettingsError is envconfig.SettingsError
    assert sidecar_settings.SettingsError is envconfig.SettingsError


@pytest.mark.parametrize(
    ("name", "value"),
    [("EMOTICAL_SIDECAR_PORT", "eighty"), ("REDIS_URL", "localhost:6379"),
     ("EMOTICAL_MAX_FPS", "0"), ("EMOTICAL_RASA_URL", "127.0.0.1:5005"),
     ("EMOTICAL_EXPRESSION_BACKEND", "magic"), ("EMOTICAL_EVENT_LOOP", "tokio")],
)
def test_a_bad_value_names_the_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_the_shop_page_settings_default_like_the_bot():
    d = Settings.from_env({})
    assert d.catalog_path == ROOT / "data" / "catalog" and d.rasa_url == "" and d.max_fps == 10.0
    s = Settings.from_env({"EMOTICAL_CATALOG_PATH": "/tmp/shop", "EMOTICAL_RASA_URL":
                           "https://rasa.example/", "EMOTICAL_MAX_FPS": "5"})
    assert str(s.catalog_path) == "/tmp/shop" and s.rasa_url == "https://rasa.example"
    assert s.max_fps == 5.0


def test_listening_beyond_this_machine_needs_an_explicit_secret():
    with pytest.raises(SettingsError, match=r"EMOTICAL_SIDECAR_HOST='0\.0\.0\.0'"):
        Settings.from_env({"EMOTICAL_SIDECAR_HOST": "0.0.0.0"})
    assert Settings.from_env({"EMOTICAL_SIDECAR_HOST": "0.0.0.0",
                              "EMOTICAL_SECRET": "s" * 40}).host == "0.0.0.0"
    assert Settings.from_env({"EMOTICAL_SIDECAR_HOST": "localhost"}).host == "localhost"


def test_the_face_detector_is_blazeface_unless_haar_is_asked_for(tmp_path):
    assert Settings.from_env({}).face_detector == "blazeface"
    assert Settings.from_env({"EMOTICAL_FACE_DETECTOR": " haar "}).face_detector == "haar"
    with pytest.raises(SettingsError, match="EMOTICAL_FACE_DETECTOR"):
        Settings.from_env({"EMOTICAL_FACE_DETECTOR": "yunet"})
    # a model dir with the expression model but without BlazeFace's file: refused at start
    (tmp_path / Settings().expression.file).write_bytes(b"onnx")
    with pytest.raises(SettingsError, match=r"face_detection_short_range\.tflite.*make setup"):
        Settings(model_dir=tmp_path).check_files()
    Settings(model_dir=tmp_path, face_detector="haar").check_files()


def test_the_expression_model_is_one_of_the_local_models_and_an_unknown_one_stops_the_start(
        tmp_path):
    assert Settings.from_env({"EMOTICAL_EXPRESSION_MODEL": " face-api "}).expression_model == \
        "face-api"
    with pytest.raises(SettingsError, match=r"EMOTICAL_EXPRESSION_MODEL='hsemotion' is not valid: "
                       r"expected `fer-mini-xception` or `face-api`"):
        Settings.from_env({"EMOTICAL_EXPRESSION_MODEL": "hsemotion"})
    # a model whose file make setup has not made: refused at start, naming the setup step
    (tmp_path / sidecar_settings.FER_MODEL_FILE).write_bytes(b"onnx")
    with pytest.raises(SettingsError, match=r"face-api: faceapi_expression\.onnx not found.*"
                       r"52-faceapi-model\.sh"):
        Settings(model_dir=tmp_path, face_detector="haar",
                 expression_model="face-api").check_files()


def test_the_temperature_is_the_models_own_unless_set():
    for name, model in sidecar_settings.EXPRESSION_MODELS.items():
        assert Settings(expression_model=name).temperature == model.temperature
    assert Settings.from_env({"EMOTICAL_EXPRESSION_TEMPERATURE": "1.5"}).temperature == 1.5


def test_the_sidecar_does_not_start_with_an_unknown_expression_model():
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=str(ROOT), EMOTICAL_EXPRESSION_MODEL="facex")
    done = subprocess.run([sys.executable, "-m", "vision_sidecar"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert ("vision sidecar: EMOTICAL_EXPRESSION_MODEL='facex' is not valid: expected "
            "`fer-mini-xception` or `face-api`") in done.stderr


def test_the_event_loop_is_uvloop_unless_asyncio_is_asked_for():
    import asyncio

    import uvloop

    from vision_sidecar.runtime import new_event_loop

    assert Settings.from_env({}).event_loop == "uvloop"
    default = new_event_loop(Settings.from_env({}))
    plain = new_event_loop(Settings.from_env({"EMOTICAL_EVENT_LOOP": " asyncio "}))
    try:
        assert isinstance(default, uvloop.Loop)
        assert isinstance(plain, asyncio.AbstractEventLoop) and not isinstance(plain, uvloop.Loop)
        assert default.run_until_complete(asyncio.sleep(0, "ran")) == "ran"
    finally:
        default.close()
        plain.close()
