"""The frame pipeline and what it runs on, built and torn down in one place.

`open_pipeline(settings)` opens the Redis client, the store, the session registry, the frame
thread pool and the expression backend, and yields the `Pipeline` that holds them. The server
(`app.py`, in its `cleanup_ctx`), developer mode (`stream.py`) and the benchmark all use it, so
they run the same pipeline.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import AsyncIterator, Optional, Type

from vision_sidecar.expression import ExpressionBackend, make_backend
from vision_sidecar.pipeline import Pipeline
from vision_sidecar.sessions import SessionRegistry
from vision_sidecar.settings import Settings
from vision_sidecar.store import EmotionStore, connect


@contextlib.asynccontextmanager
async def open_pipeline(settings: Settings, backend: Optional[ExpressionBackend] = None,
                        pipeline_class: Type[Pipeline] = Pipeline) -> AsyncIterator[Pipeline]:
    """A ready pipeline; `backend` replaces the configured one (tests, the benchmark).

    On exit the frame pool stops first, then the face-search thread (frames may still start
    searches), then the Redis client.
    """
    client = connect(settings.redis_url)
    pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="frames")
    pipeline: Optional[Pipeline] = None
    try:
        registry = SessionRegistry(settings.max_fps, settings.tau_s, settings.tau_decay_s)
        model = backend or make_backend(settings)
        pipeline = pipeline_class(settings, model, EmotionStore(client), registry, pool)
        yield pipeline
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if pipeline is not None:
            pipeline.close()
        await client.aclose()
