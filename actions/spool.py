"""A durable queue of profile updates that could not reach Redis, retried until they land.

One JSON line per update in `<spool_dir>/<pid>.jsonl` (fsync'd), so neither a Redis outage nor
an action-server restart loses a like. `claim()` takes every waiting file (also those left by
earlier processes) by renaming it, so two servers never replay the same line.

Bounded: once the folder holds `max_bytes`, new updates are dropped, with one warning per
full spell (counts only). A line that does not parse is moved to `rejected/` for a person to
look at, never replayed and never in the way of other shoppers' updates. Every method here
does blocking file I/O: async callers run them in a thread (`asyncio.to_thread`).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Dict, Iterator, List, Mapping, Tuple

from emotical_shared import logs

from .profiles import TagObservation

logger = logging.getLogger(__name__)

Entry = Tuple[str, Dict[str, TagObservation]]
#: A claimed file this old belongs to a replay that crashed; the next replay takes it over.
ORPHAN_AGE_S = 60.0
#: Default cap of the spool folder (EMOTICAL_SPOOL_MAX_BYTES).
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
REJECTED = "rejected"


def _line(uid: str, obs: Mapping[str, TagObservation]) -> str:
    return json.dumps({"uid": uid, "obs": {t: [o.step, o.count] for t, o in obs.items()}})


class Spool:
    """Append-only files of pending `(shopper_id, observations)` updates."""

    def __init__(self, folder: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._full_since_drops = 0  # updates dropped since the spool last had room

    @property
    def _own(self) -> Path:
        return self.folder / f"{os.getpid()}.jsonl"

    def size(self) -> int:
        """Bytes waiting (queued and claimed files; rejected lines do not count)."""
        if not self.folder.is_dir():
            return 0
        total = 0
        for path in self.folder.iterdir():
            if path.is_file():
                try:
                    total += path.stat().st_size
                except FileNotFoundError:
                    continue
        return total

    def append(self, uid: str, obs: Mapping[str, TagObservation]) -> bool:
        """Queue one update durably; False when the spool is full and the update was dropped."""
        line = _line(uid, obs)
        with self._lock:
            if self.size() + len(line) + 1 > self.max_bytes:
                self._full_since_drops += 1
                if self._full_since_drops == 1:
                    logs.event(logger, logging.WARNING, "profile_spool_full",
                               shopper=logs.id_tag(uid), tags=len(obs),
                               max_bytes=self.max_bytes,
                               effect="new profile updates dropped until the spool drains")
                return False
            if self._full_since_drops:
                logs.event(logger, logging.WARNING, "profile_spool_has_room",
                           dropped=self._full_since_drops)
                self._full_since_drops = 0
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(self._own, "a", encoding="utf-8") as f:
                f.write(line + "\n")
                f.flush()
                os.fsync(f.fileno())
            return True

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
    def parse(line: str) -> Entry:
        """One spooled line as an entry; ValueError when it is not one."""
        try:
            doc = json.loads(line)
            obs = {str(t): TagObservation(str(t), float(v[0]), float(v[1]))
                   for t, v in doc["obs"].items()}
            return str(doc["uid"]), obs
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            raise ValueError(f"not a spooled update: {type(exc).__name__}") from None

    def read(self, path: Path) -> Iterator[Entry]:
        """Entries of a claimed file; a line that does not parse goes to `rejected/`."""
        bad: List[str] = []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.strip():
                continue
            try:
                yield self.parse(line)
            except ValueError:
                bad.append(line)
        if bad:
            self.reject(path.name, bad)

    def reject(self, source: str, lines: List[str]) -> None:
        """Move lines aside to `rejected/<source>.jsonl` (never replayed) and say how many."""
        folder = self.folder / REJECTED
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{source}.jsonl", "a", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))
            f.flush()
            os.fsync(f.fileno())
        logs.event(logger, logging.WARNING, "profile_spool_rejected", lines=len(lines),
                   folder=str(folder))

    def reject_entry(self, entry: Entry) -> None:
        """Move an entry that parsed but cannot be applied (e.g. a bad id) aside."""
        self.reject("unappliable", [_line(*entry)])

    def restore(self, entries: List[Entry]) -> None:
        """Put entries that still could not be applied back in the queue (they were counted
        when first queued, so the cap does not drop them)."""
        if not entries:
            return
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(self._own, "a", encoding="utf-8") as f:
                f.write("".join(_line(uid, obs) + "\n" for uid, obs in entries))
                f.flush()
                os.fsync(f.fileno())

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
