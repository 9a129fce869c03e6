"""The action server's shared resources, built once: settings, catalog, Redis store, WordNet.

Every action calls `get_runtime()` in its constructor, and rasa-sdk constructs the actions when
`rasa run actions` starts, so bad settings or a bad catalog stop the server at start with a
message that names the variable or the product.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from typing import Optional

from emotical_shared import logs
from emotical_shared.tokens import Signer, signer_from_env

from .catalog import Catalog, load_catalog
from .settings import Settings
from .spool import Spool
from .store import Store
from .wordnet_tags import TagRelater

logger = logging.getLogger(__name__)

#: The least choice the shop may open with: a catalog file that lost products or categories
#: (a bad merge, a wrong EMOTICAL_CATALOG_PATH) stops the server instead of serving a thin shop.
MIN_PRODUCTS, MIN_CATEGORIES = 80, 8


@dataclass
class Runtime:
    """Everything the actions share within one process."""

    settings: Settings
    catalog: Catalog
    store: Store
    relater: TagRelater
    #: Verifies the session tokens the channel passes on (the server secret's).
    signer: Signer


_runtime: Optional[Runtime] = None
_replayer: Optional[Replayer] = None
_lock = threading.Lock()


class Replayer:
    """Replays the spool in a background thread with its own event loop and Redis client:
    once at start, then every `spool_replay_s` while entries wait. Startup never waits for it."""

    def __init__(self, settings: Settings, spool: Spool) -> None:
        self.store = Store(settings, spool)
        self._thread = threading.Thread(target=self._main, name="spool-replay", daemon=True)
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._stop: Optional[asyncio.Event] = None
        self._ready = threading.Event()

    def _main(self) -> None:
        async def run() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            self._ready.set()
            try:
                await self.store.replay_forever(self._stop)
            finally:
                await self.store.close()

        asyncio.run(run())

    def start(self) -> Replayer:
        self._thread.start()
        self._ready.wait(5.0)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the replay in progress and end the thread."""
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)


def build_runtime(settings: Settings, min_products: int = MIN_PRODUCTS,
                  min_categories: int = MIN_CATEGORIES, warm_wordnet: bool = True) -> Runtime:
    """Load and validate everything for `settings`."""
    catalog = load_catalog(settings.catalog_path, min_products, min_categories)
    relater = TagRelater(catalog.tags, settings.wordnet, settings.related_factor)
    if warm_wordnet:
        relater.warm_up(background=True)
    logs.event(logger, logging.INFO, "catalog_loaded", products=len(catalog.products),
               categories=len(catalog.categories), tags=len(catalog.tags))
    return Runtime(settings, catalog, Store(settings), relater, signer_from_env())


def get_runtime() -> Runtime:
    """The process-wide runtime, built from the environment on first use."""
    global _runtime, _replayer
    with _lock:
        if _runtime is None:
            _runtime = build_runtime(Settings.from_env())
            _replayer = Replayer(_runtime.settings, _runtime.store.spool).start()
        return _runtime


def set_runtime(runtime: Optional[Runtime]) -> None:
    """Replace the process-wide runtime (tests use their own settings)."""
    global _runtime
    with _lock:
        _runtime = runtime
