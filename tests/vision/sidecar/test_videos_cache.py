"""The machine-wide cache of generated videos: a finished set is stored with its manifest, a
fresh clone takes it (hardlinked on one filesystem) instead of drawing, an incomplete or corrupt
entry is redrawn, and a cache that cannot be written is no failure."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from emotical_shared.chapters import catalog_hash
from tests.vision.sidecar.test_videos import CATALOG
from vision_sidecar import videos


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "hats.yml").write_text(CATALOG)
    return tmp_path / "catalog"


def _entry(cache: Path, catalog: Path) -> Path:
    return cache / catalog_hash(catalog)


def test_a_finished_set_is_cached_and_a_fresh_clone_takes_it(catalog, tmp_path, capsys):
    cache = tmp_path / "cache"
    assert videos.generate(catalog, tmp_path / "clone1", cache)[:3] == (1, 0, 0)
    entry = _entry(cache, catalog)
    manifest = json.loads((entry / videos.MANIFEST).read_text())
    assert list(manifest["files"]) == ["hat-01.webm"]  # hat-02 names a file of its own
    assert manifest["files"]["hat-01.webm"]["size"] == (entry / "hat-01.webm").stat().st_size

    assert videos.main(["--catalog", str(catalog), "--out", str(tmp_path / "clone2"),
                        "--cache", str(cache)]) == 0
    assert "0 written, 0 kept, 1 from cache" in capsys.readouterr().out
    got = tmp_path / "clone2" / catalog_hash(catalog) / "hat-01.webm"
    assert got.read_bytes() == (entry / "hat-01.webm").read_bytes()
    assert os.path.samefile(got, entry / "hat-01.webm")  # hardlinked: one filesystem
    assert videos.generate(catalog, tmp_path / "clone2", cache)[:3] == (0, 1, 0)


@pytest.mark.parametrize("damage", ["corrupt", "truncated", "no manifest", "bad manifest"])
def test_an_incomplete_or_corrupt_entry_is_redrawn_and_replaced(catalog, tmp_path, damage):
    cache = tmp_path / "cache"
    videos.generate(catalog, tmp_path / "clone1", cache)
    entry = _entry(cache, catalog)
    video = entry / "hat-01.webm"
    good = video.read_bytes()
    video.unlink()  # break the hardlink, so clone1's file stays intact
    if damage == "corrupt":
        video.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))  # same size, other sha256
    elif damage == "truncated":
        video.write_bytes(good[: len(good) // 2])
    elif damage == "no manifest":
        video.write_bytes(good)
        (entry / videos.MANIFEST).unlink()
    else:
        video.write_bytes(good)
        (entry / videos.MANIFEST).write_text("{not json")
    assert videos.generate(catalog, tmp_path / "clone2", cache)[:3] == (1, 0, 0)
    # the entry was written again, complete: the next clone takes it
    assert videos.generate(catalog, tmp_path / "clone3", cache)[:3] == (0, 0, 1)


def test_a_cache_that_cannot_be_written_is_no_failure(catalog, tmp_path):
    cache = tmp_path / "cache"
    cache.write_text("a file where the cache folder should be")
    written, kept, cached, folder = videos.generate(catalog, tmp_path / "clone", cache)
    assert (written, kept, cached) == (1, 0, 0)
    assert (folder / "hat-01.webm").stat().st_size > 0
