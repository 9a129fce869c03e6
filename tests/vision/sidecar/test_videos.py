"""Generated product videos: drawn from the chapters, decodable, as long as the chapters; served
with byte ranges and WebVTT captions; a missing or too big file is not offered."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from aiohttp.test_utils import TestClient

from emotical_shared.chapters import catalog_hash, check_chapters, webm_duration
from tests.vision.sidecar.helpers import FixedBackend, call, in_process
from vision_sidecar import catalog, videos
from vision_sidecar.settings import Settings

CATALOG = """\
products:
- id: hat-01
  title: Wool hat
  category: hats
  tags: [grey, wool, warm, casual]
  description: A hat.
  chapters:
  - {start: 0, end: 2, tags: [grey, wool], caption: Grey wool}
  - {start: 2, end: 4, tags: [warm], caption: Warm}
- id: hat-02
  title: Straw hat
  category: hats
  tags: [beige, straw, summer, casual]
  description: Another hat.
  video: media/straw.webm
  chapters:
  - {start: 0, end: 2, tags: [straw], caption: Straw}
"""


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    root = tmp_path_factory.mktemp("videos")
    (root / "catalog").mkdir()
    (root / "catalog" / "hats.yml").write_text(CATALOG)
    written, kept, _, folder = videos.generate(root / "catalog", root / "out")
    return root, written, kept, folder


def _frames(path: Path) -> list:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            return frames
        frames.append(frame)


def test_a_video_is_drawn_per_generated_product_with_its_chapters(made):
    root, written, kept, folder = made
    assert (written, kept) == (1, 0)  # hat-02 names a file of its own
    assert folder == root / "out" / catalog_hash(root / "catalog")
    path = folder / "hat-01.webm"
    frames = _frames(path)
    assert len(frames) == 4 * videos.FPS and frames[0].shape == (videos.HEIGHT, videos.WIDTH, 3)
    assert abs(webm_duration(path) - 4.0) < 0.01
    # the background colour changes with the chapter (decoded, not byte-compared)
    first, second = frames[videos.FPS], frames[3 * videos.FPS]
    assert np.abs(first[5, 5].astype(int) - second[5, 5].astype(int)).sum() > 30
    chapters, _ = check_chapters([{"start": 0, "end": 2, "tags": ["grey"], "caption": "Grey"},
                                  {"start": 2, "end": 4, "tags": ["warm"], "caption": "Warm"}],
                                 ["grey", "warm"])
    drawn = videos.draw_frame("hat-01", "Wool hat", chapters, 1.0, 4.0)
    assert np.abs(drawn.astype(int) - first.astype(int)).mean() < 12  # VP8 is lossy
    again = videos.generate(root / "catalog", root / "out")
    assert again[:3] == (0, 1, 0)  # nothing drawn twice


def test_videos_and_captions_are_served_and_a_missing_file_is_not_offered(made, redis_url,
                                                                          monkeypatch):
    root, *_ = made
    settings = Settings(redis_url=redis_url, workers=1, catalog_path=root / "catalog",
                        videos_dir=root / "out")

    async def talk(client: TestClient) -> dict:
        out = {"products": (await call(client, "GET", "/api/products"))[2]["products"]}
        async with client.get("/api/products/hat-01/video", headers={"Range": "bytes=0-99"}) as r:
            out["range"] = (r.status, r.headers.get("Content-Type"), len(await r.read()))
        out["vtt"] = await call(client, "GET", "/api/products/hat-01/captions.vtt")
        out["missing"] = await call(client, "GET", "/api/products/hat-02/video")
        out["unknown"] = await call(client, "GET", "/api/products/nope/video")
        return out

    got = in_process(settings, FixedBackend(), talk)
    by_id = {p["id"]: p for p in got["products"]}
    assert by_id["hat-01"]["video"] == "/api/products/hat-01/video"
    assert by_id["hat-01"]["captions"] == "/api/products/hat-01/captions.vtt"
    assert [c["caption"] for c in by_id["hat-01"]["chapters"]] == ["Grey wool", "Warm"]
    assert by_id["hat-02"]["video"] is None and by_id["hat-02"]["chapters"]
    assert got["range"] == (206, "video/webm", 100)
    status, headers, vtt = got["vtt"]
    assert status == 200 and headers["Content-Type"].startswith("text/vtt")
    assert "00:00:00.000 --> 00:00:02.000\nGrey wool" in vtt
    assert got["missing"][0] == 404 and got["unknown"][2]["error"]["code"] == "unknown_product"

    monkeypatch.setattr(catalog, "MAX_VIDEO_BYTES", 10)
    too_big = catalog.load_products(root / "catalog", root / "out")
    assert {p["id"]: p["video"] for p in too_big}["hat-01"] is None
