"""A small content-addressed key/value cache on SQLite (embeddings, WordNet look-ups)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path
from typing import Iterable, Optional


def default_cache_dir() -> Path:
    """``$EMOTICAL_CACHE_DIR/augment`` if set, else ``var/cache/augment`` under the working dir."""
    base = os.environ.get("EMOTICAL_CACHE_DIR")
    return (Path(base) if base else Path("var/cache")) / "augment"


def content_key(namespace: str, text: str) -> str:
    """SHA-256 of namespace and text: the cache key of one item."""
    return hashlib.sha256(f"{namespace}\x00{text}".encode()).hexdigest()


class BlobCache:
    """Bytes by content key in one SQLite file; ``None`` path means an in-memory cache."""

    def __init__(self, path: Optional[Path]) -> None:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(":memory:" if path is None else str(path))
        self._db.execute("CREATE TABLE IF NOT EXISTS blobs (key TEXT PRIMARY KEY, value BLOB)")

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """The stored values of those keys that are present."""
        keys = list(keys)
        found: dict[str, bytes] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(f"SELECT key, value FROM blobs WHERE key IN ({marks})", chunk)
            found.update(rows.fetchall())
        return found

    def put_many(self, items: dict[str, bytes]) -> None:
        """Store (or replace) values."""
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO blobs VALUES (?, ?)", items.items())

    def close(self) -> None:
        """Close the database."""
        self._db.close()
