"""The eval set's manifest: every image says where it comes from and how its label is known,
and the two parts never share a subject."""

from __future__ import annotations

from collections import defaultdict

from emotical_shared.labels import LABELS
from vision_eval.dataset import as_frame, load_bgr, read_manifest
from vision_eval.fetch import WHEELS


def test_every_row_names_its_source_label_reason_licence_and_subject():
    items = read_manifest()
    assert len({i.id for i in items}) == len(items) > 100
    for item in items:
        assert item.source and item.version and item.member and item.licence and item.subject
        assert item.use in ("expression", "detection") and item.part in ("choose", "report")
        assert (item.label in LABELS and item.label_how) if item.use == "expression" else not item.label
        assert item.source == "scikit-image" or (item.source, item.version) in WHEELS


def test_the_parts_are_split_by_subject_and_sequence_frames_share_one():
    parts = defaultdict(set)
    for item in read_manifest():
        parts[item.subject].add(item.part)
    assert all(len(p) == 1 for p in parts.values()), "a subject in both parts"


def test_an_image_loads_and_becomes_a_widget_sized_jpeg():
    item = next(i for i in read_manifest() if i.id == "skimage-astronaut")
    frame = as_frame(load_bgr(item))
    assert frame[:3] == b"\xff\xd8\xff"
