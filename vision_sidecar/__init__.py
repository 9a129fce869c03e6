"""eMotical vision sidecar: webcam frames in, smoothed shopper emotion out to Redis.

`python -m vision_sidecar` serves the HTTP/WebSocket API (see `routes.py`); the pipeline that
turns a frame into an emotion state is in `pipeline.py`.
"""
