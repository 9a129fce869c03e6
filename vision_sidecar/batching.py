"""Micro-batching: calls from many sessions that arrive while the worker is busy run as one.

No timer and no added latency: an idle batcher runs a lone item at once; while `max_inflight`
batches are running, newcomers queue and go together in the next call.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from typing import Any, Callable, Generic, List, Sequence, Tuple, TypeVar

Item = TypeVar("Item")


class MicroBatcher(Generic[Item]):
    """Runs `fn(items) -> results` (same length) on `pool`, batching concurrent submissions."""

    def __init__(self, fn: Callable[[Sequence[Item]], Sequence[Any]], pool: Executor,
                 max_batch: int = 32, max_inflight: int = 1) -> None:
        self.fn = fn
        self.pool = pool
        self.max_batch = max_batch
        self.max_inflight = max_inflight
        self._pending: List[Tuple[Item, asyncio.Future]] = []
        self._inflight = 0
        self.batches = 0
        self.items = 0

    async def submit(self, item: Item) -> Any:
        """The result of `fn` for `item`, computed in some batch."""
        future = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        self._kick()
        return await future

    def _kick(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending and self._inflight < self.max_inflight:
            batch, self._pending = (self._pending[:self.max_batch],
                                    self._pending[self.max_batch:])
            self._inflight += 1
            self.batches += 1
            self.items += len(batch)
            task = loop.run_in_executor(self.pool, self.fn, [item for item, _ in batch])
            task.add_done_callback(lambda t, b=batch: self._done(t, b))

    def _done(self, task: asyncio.Future, batch: List[Tuple[Item, asyncio.Future]]) -> None:
        self._inflight -= 1
        exc = task.exception() if not task.cancelled() else asyncio.CancelledError()
        results = None if exc else task.result()
        for i, (_, future) in enumerate(batch):
            if future.done():
                continue
            if exc:
                future.set_exception(exc)
            else:
                future.set_result(results[i])
        self._kick()
