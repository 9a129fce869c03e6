"""The report and shop API routes (vision_sidecar/report.py) of the sidecar application served
in process, against a real Redis, no browser."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from aiohttp.test_utils import TestClient

from emotical_shared import redis_schema
from emotical_shared.labels import LABELS
from stack.redis_server import free_port
from tests.vision.sidecar.helpers import FixedBackend, auth, call, in_process
from vision_sidecar import catalog, samples
from vision_sidecar.settings import Settings


def _call(redis_url: str, method: str, path: str, settings: Optional[Settings] = None,
          sid: Optional[str] = None) -> Tuple[int, Dict[str, str], Any]:
    """One request to `make_app` (settings default: this Redis) served in this process, with a
    session token of `sid` when given."""

    async def talk(client: TestClient) -> Tuple[int, Dict[str, str], Any]:
        return await call(client, method, path, headers=auth(sid) if sid else None)

    return in_process(settings or Settings(redis_url=redis_url, workers=1), FixedBackend(), talk)


def _frame(label: str, valence: float, ts: float, face: bool = True) -> Dict[str, str]:
    fields = {name: ("0.9" if name == label else "0.0125") for name in LABELS}
    fields.update(dominant=label, valence=str(valence), arousal="0.1", score="0",
                  face_present="1" if face else "0", ts=str(ts))
    return fields


def test_report_lists_every_record_and_scores_face_and_chat(redis_client, redis_url):
    sid = "s-report-1"
    for i, (label, valence) in enumerate([("happy", 0.8), ("happy", 0.6), ("sad", -0.4)]):
        redis_client.xadd(redis_schema.session_history(sid), _frame(label, valence, 1000.0 + i))
    redis_client.xadd(redis_schema.session_history(sid), _frame("calm", 0.9, 1003.0, face=False))
    redis_client.hset(redis_schema.session_emotion(sid), mapping=_frame("sad", -0.4, 1002.0))
    redis_client.xadd(redis_schema.session_chat(sid),
                      {"ts": "1001.5", "score": "-0.5", "label": "negative", "intent": "complain"})
    redis_client.hset(redis_schema.session_meta(sid), mapping={"product_id": "shoe-01"})
    redis_client.set(redis_schema.session_tracker(sid), json.dumps({"name": sid, "events": [
        {"event": "action", "name": "action_listen", "timestamp": 1000.0},
        {"event": "user", "text": "this is broken", "timestamp": 1001.5},
        {"event": "bot", "text": "Sorry to hear that.", "timestamp": 1001.7},
    ]}))

    status, _, body = _call(redis_url, "GET", f"/api/sessions/{sid}/report", sid=sid)

    assert status == 200, body
    assert len(body["history"]) == 4 and len(body["chat"]) == 1
    assert body["history"][0]["probs"]["happy"] == 0.9
    assert body["chat"][0] == {"id": body["chat"][0]["id"], "ts": 1001.5, "score": -0.5,
                               "label": "negative", "intent": "complain"}
    # Face: mean valence of the three frames with a face (the faceless one is left out).
    assert body["score"]["face"] == round(100 * (0.8 + 0.6 - 0.4) / 3)
    assert body["score"]["chat"] == -50
    # Session: frames and messages weighted by their counts (3 frames, 1 message).
    assert body["score"]["session"] == round((100 * (0.8 + 0.6 - 0.4) / 3 * 3 - 50) / 4)
    assert body["meta"] == {"product_id": "shoe-01"}
    assert body["conversation"] == [{"ts": 1001.5, "who": "user", "text": "this is broken"},
                                    {"ts": 1001.7, "who": "bot", "text": "Sorry to hear that."}]
    # Every key the test wrote (the conversation in Rasa's layout, not the windowed store's).
    assert {k["key"] for k in body["keys"]} == set(redis_schema.session_keys(sid)) - {
        redis_schema.session_said(sid), redis_schema.session_tracker_events(sid),
        redis_schema.session_tracker_marks(sid), redis_schema.session_chapters(sid)}


def test_a_corrupt_stored_conversation_is_left_out_not_a_crash(redis_client, redis_url):
    redis_client.set(redis_schema.session_tracker("s-corrupt"), "{not json")
    status, _, body = _call(redis_url, "GET", "/api/sessions/s-corrupt/report", sid="s-corrupt")
    assert status == 200 and body["conversation"] == []
    assert [k["key"] for k in body["keys"]] == [redis_schema.session_tracker("s-corrupt")]


def test_report_of_unknown_session_is_empty_not_an_error(redis_url):
    status, _, body = _call(redis_url, "GET", "/api/sessions/s-nothing/report", sid="s-nothing")
    assert status == 200
    assert body["history"] == [] and body["chat"] == [] and body["keys"] == []
    assert body["score"]["session"] is None


def test_report_rejects_a_malformed_session_id_with_the_json_error_shape(redis_url):
    status, _, body = _call(redis_url, "GET", "/api/sessions/bad%20id!/report")
    assert status == 400
    assert body["error"]["code"] == "invalid_session_id"


def test_report_download_names_a_json_file(redis_url):
    status, headers, _ = _call(redis_url, "GET", "/api/sessions/s-dl/report?download=1",
                               sid="s-dl")
    assert status == 200
    assert 'filename="emotical-report-s-dl.json"' in headers["Content-Disposition"]


def test_products_come_from_the_catalog_with_pictures(redis_url):
    status, _, body = _call(redis_url, "GET", "/api/products")
    assert status == 200
    products = body["products"]
    assert products and all(p["id"] and p["name"] and p["image"] for p in products)
    first = products[0]
    status, headers, svg = _call(redis_url, "GET", first["image"])
    assert status == 200 and headers["Content-Type"].startswith("image/svg+xml")
    assert first["name"].split()[0] in svg


def test_unknown_product_picture_is_a_404_json_error(redis_url):
    status, _, body = _call(redis_url, "GET", "/api/products/no-such-thing/image.svg")
    assert status == 404 and body["error"]["code"] == "unknown_product"


def test_catalog_reader_skips_broken_files_and_accepts_both_layouts(tmp_path: Path):
    (tmp_path / "a.yml").write_text("products:\n- {id: a-1, title: Alpha, price: '12.5'}\n")
    (tmp_path / "b.json").write_text(json.dumps([{"id": "b-1", "name": "Beta"}]))
    (tmp_path / "broken.yml").write_text("products: [unclosed\n")
    products = catalog.load_products(tmp_path)
    assert [(p["id"], p["name"], p["price"]) for p in products] == [("a-1", "Alpha", 12.5),
                                                                     ("b-1", "Beta", None)]
    assert catalog.load_products(tmp_path / "missing")[0]["id"] == catalog.FALLBACK_PRODUCTS[0]["id"]


def test_config_points_the_widget_at_rasa(redis_url):
    settings = Settings.from_env({"REDIS_URL": redis_url, "EMOTICAL_RASA_URL": "http://127.0.0.1:5999/",
                                  "EMOTICAL_MAX_FPS": "7"})
    status, _, body = _call(redis_url, "GET", "/api/config", settings)
    assert status == 200 and body["rasa_url"] == "http://127.0.0.1:5999"
    assert body["max_fps"] == 7.0  # the widget paces its camera by the sidecar's real limit


def test_products_come_from_emotical_catalog_path(redis_url, tmp_path: Path):
    (tmp_path / "shop.yml").write_text("products:\n- {id: only-1, name: Only One}\n")
    settings = Settings.from_env({"REDIS_URL": redis_url, "EMOTICAL_CATALOG_PATH": str(tmp_path)})
    status, _, body = _call(redis_url, "GET", "/api/products", settings)
    assert status == 200 and [p["id"] for p in body["products"]] == ["only-1"]


def test_report_with_redis_down_is_a_503_store_unavailable(redis_url):
    down = Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0", workers=1)
    status, _, body = _call(redis_url, "GET", "/api/sessions/s-down/report", down, sid="s-down")
    assert status == 503 and body["error"]["code"] == "store_unavailable", body
    assert body["error"]["message"]


def test_report_scores_what_the_sidecar_stores(redis_url):
    """Frames through the real pipeline, then the report: every frame with a face counts."""
    webcam_jpeg = samples.jpeg(samples.webcam_frame())
    settings = Settings(redis_url=redis_url, workers=1, max_fps=1000.0)

    async def talk(client: TestClient) -> Any:
        for _ in range(3):
            status, _, body = await call(client, "POST", "/api/sessions/s-real/frames",
                                         webcam_jpeg, auth("s-real", **{"Content-Type": "image/jpeg"}))
            assert status == 200 and body["stored"], body
        return await call(client, "GET", "/api/sessions/s-real/report", headers=auth("s-real"))

    status, _, body = in_process(settings, FixedBackend("happy"), talk)
    assert status == 200
    assert body["score"]["face_frames"] == 3 and body["score"]["face"] > 0, body["score"]
    assert all(row["face_present"] and row["dominant"] == "happy" for row in body["history"])
    assert body["history"][-1]["probs"]["happy"] > 0.5


def test_report_page_is_served_for_a_valid_session(redis_url):
    status, headers, html = _call(redis_url, "GET", "/report/s-page")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert 'id="chart-emotions"' in html and 'id="delete-button"' in html


def test_a_pressed_button_shows_its_title_and_keeps_its_payload():
    from vision_sidecar.report import parse_conversation

    payload = '/express_dislike{"attribute": "red"}'
    raw = json.dumps({"events": [
        {"event": "user", "timestamp": 1.0, "text": payload,
         "metadata": {"shown_text": "Not red, please", "token": "v1.x"}},
        {"event": "user", "timestamp": 2.0, "text": "typed", "metadata": {"shown_text": "typed"}},
        {"event": "user", "timestamp": 3.0, "text": "/greet", "metadata": {"shown_text": ["no"]}},
        {"event": "bot", "timestamp": 4.0, "text": "ok", "metadata": {"shown_text": "not for bots"}},
    ]})
    assert parse_conversation(raw) == [
        {"ts": 1.0, "who": "user", "text": "Not red, please", "payload": payload},
        {"ts": 2.0, "who": "user", "text": "typed"},
        {"ts": 3.0, "who": "user", "text": "/greet"},
        {"ts": 4.0, "who": "bot", "text": "ok"},
    ]
