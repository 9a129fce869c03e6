"""eMotical vision sidecar: webcam frames in, smoothed shopper emotion out to Redis.

Runs in the vision environment (`.venv/vision`).

`python -m vision_sidecar` (`__main__.py`: settings, process set-up, serve) runs the application
that `app.py` builds. Leaf modules first:

- `settings.py`: the one settings object; `runtime.py`: process-wide set-up, entry points only
- `keys.py`: typed app keys; `errors.py`: the error types and their JSON shape
- `access.py`: which session a request is about and whether its token proves it (every
  session route resolves and authorizes it there); `limits.py`: caps per client and in all
- `deletion.py`: deleting a session or a shopper's whole data (tombstones, one transaction)
- `resources.py`: the pipeline and what it runs on (Redis client, store, pool, backend)
- `pipeline.py` (`decode.py`, `faces.py`, `expression/`, `sessions.py`, `store.py`): a frame's way
- `handlers.py`, `ws.py`, `report.py` (`catalog.py`): the routes, all in the table of `routes.py`
- `middleware.py`: errors, CORS, security headers; `stream.py`: developer mode (a camera or a video file)
"""
