"""The frame pipeline and what it runs on, built and torn down in one place.

`open_pipeline(settings)` opens the Redis client, the store, the session registry, the frame
thread pool and the expression backend, and yields the `Pipeline` that holds them. The server
(`app.py`, in its `cleanup_ctx`), developer mode (`stream.py`) and the benchmark all use it, so
they run the same pipeline.
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import AsyncIterator, Optional, Type

import numpy as np

from vision_sidecar import frame_worker
from vision_sidecar.expression import ExpressionBackend, make_backend
from vision_sidecar.pipeline import Pipeline
from vision_sidecar.sessions import SessionRegistry
from vision_sidecar.settings import Settings
from vision_sidecar.store import EmotionStore, connect


def warm_threads(pool: Executor, workers: int, pipeline: Pipeline) -> None:
    """Start every frame thread and load its own detector (a LiteRT interpreter takes tens of
    ms to build): otherwise the first frames on each thread wait for it and later ones queue."""
    barrier = threading.Barrier(workers)
    blank = np.zeros((240, 320), dtype=np.uint8)

    def warm() -> None:
        pipeline.locator.detect(blank)
        barrier.wait(timeout=60)

    for future in [pool.submit(warm) for _ in range(workers)]:
        future.result()


@contextlib.asynccontextmanager
async def open_pipeline(settings: Settings, backend: Optional[ExpressionBackend] = None,
                        pipeline_class: Type[Pipeline] = Pipeline) -> AsyncIterator[Pipeline]:
    """A ready pipeline; `backend` replaces the configured one (tests, the benchmark).

    The frame work runs with `settings.frame_processes` (and the configured backend) in
    `settings.workers` worker processes (`frame_worker.WorkerPool`), started here with their
    models loaded, else on as many threads. On exit the workers and the thread pool stop
    first, then the face-search thread (frames may still start searches), then the Redis
    client.
    """
    client = connect(settings.redis_url)
    processes = settings.frame_processes and backend is None
    pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="frames")
    workers: Optional[frame_worker.WorkerPool] = None
    pipeline: Optional[Pipeline] = None
    try:
        if processes:
            workers = await frame_worker.WorkerPool(settings, settings.workers).start()
        registry = SessionRegistry(settings.max_fps, settings.tau_s, settings.tau_decay_s,
                                   reading_interval_s=settings.reading_interval_s)
        model = backend or make_backend(settings)
        pipeline = pipeline_class(settings, model, EmotionStore(client), registry, pool,
                                  workers)
        if not processes:
            warm_threads(pool, settings.workers, pipeline)
        yield pipeline
    finally:
        if workers is not None:
            await workers.close()
        pool.shutdown(wait=True, cancel_futures=True)
        if pipeline is not None:
            pipeline.close()
        await client.aclose()
