"""A durable queue of profile updates that could not reach Redis, retried until they land.

One JSON line per update in `<spool_dir>/<pid>.jsonl` (fsync'd), so neither a Redis outage nor
an action-server restart loses a like. `claim()` takes every waiting file (also those left by
earlier processes) by renaming it, so two servers never replay the same line.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Dict, Iterator, List, Mapping, Tuple

from .profiles import TagObservation

Entry = Tuple[str, Dict[str, TagObservation]]
#: A claimed file this old belongs to a replay that crashed; the next replay takes it over.
ORPHAN_AGE_S = 60.0


class Spool:
    """Append-only files of pending `(shopper_id, observations)` updates."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._lock = threading.Lock()

    @property
    def _own(self) -> Path:
        return self.folder / f"{os.getpid()}.jsonl"

    def append(self, uid: str, obs: Mapping[str, TagObservation]) -> None:
        """Queue one update durably."""
        line = json.dumps({"uid": uid, "obs": {t: [o.step, o.count] for t, o in obs.items()}})
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(self._own, "a", encoding="utf-8") as f:
                f.write(line + "\n")
                f.flush()
                os.fsync(f.fileno())

    def pending(self) -> bool:
        """Whether any update waits (in any process's file)."""
        return self.folder.is_dir() and any(self.folder.glob("*.jsonl"))

    def _orphans(self) -> List[Path]:
        """Files claimed by a replay that died (a crash mid-replay), left for ORPHAN_AGE_S."""
        now = time.time()
        return [p for p in self.folder.glob("*.claimed-*")
                if now - p.stat().st_mtime > ORPHAN_AGE_S]

    def claim(self) -> List[Path]:
        """Take every waiting file for replay (atomic rename); returns the claimed paths."""
        claimed: List[Path] = []
        if not self.folder.is_dir():
            return claimed
        with self._lock:
            for path in sorted(self.folder.glob("*.jsonl")) + self._orphans():
                target = path.with_name(f"{path.name.split('.')[0]}.claimed-{uuid.uuid4().hex[:8]}")
                try:
                    path.rename(target)
                    os.utime(target)
                except FileNotFoundError:
                    continue  # another server claimed it first
                claimed.append(target)
        return claimed

    @staticmethod
    def read(path: Path) -> Iterator[Entry]:
        """Entries of a claimed file; a torn last line (crash mid-write) is skipped."""
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                doc = json.loads(line)
                obs = {t: TagObservation(t, float(v[0]), float(v[1])) for t, v in doc["obs"].items()}
                yield str(doc["uid"]), obs
            except (ValueError, KeyError, TypeError, IndexError):
                continue

    def restore(self, entries: List[Entry]) -> None:
        """Put entries that still could not be applied back in the queue."""
        for uid, obs in entries:
            self.append(uid, obs)

    def drop_shopper(self, uid: str) -> int:
        """Remove a shopper's queued updates (they asked for their data to be deleted)."""
        dropped = 0
        for path in self.claim():
            keep = []
            for entry in self.read(path):
                if entry[0] == uid:
                    dropped += 1
                else:
                    keep.append(entry)
            self.restore(keep)
            path.unlink(missing_ok=True)
        return dropped
