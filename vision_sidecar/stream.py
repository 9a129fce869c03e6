"""Developer mode: push a webcam or a video file through the sidecar pipeline into Redis.

    python -m vision_sidecar.stream --source 0 --session dev-shell
    python -m vision_sidecar.stream --source clip.mp4 --session dev-shell

Use the Rasa conversation id as the session id, so actions read this emotion: `make shell`
talks as conversation `dev-shell` (change it with EMOTICAL_SESSION), plain `rasa shell` takes
`--conversation-id <id>`. Frames are processed at most `EMOTICAL_MAX_FPS` per second
(video files are paced to that rate), go through exactly the server's pipeline and are dropped
after use; only the derived numbers reach Redis. It runs the pipeline in this process (an
operator's tool with Redis access, so no token is involved), through the same write that
honours a deleted session's tombstone: it stops once the session is deleted.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from typing import Optional

import cv2

from emotical_shared.logs import event, session_scope
from emotical_shared.redis_schema import InvalidIdError, validate_id
from vision_sidecar.errors import SessionDeletedError, SidecarError
from vision_sidecar.resources import open_pipeline
from vision_sidecar.runtime import configure_process
from vision_sidecar.settings import Settings, SettingsError

log = logging.getLogger(__name__)


def open_source(source: str) -> cv2.VideoCapture:
    """A capture for a camera index (`0`) or a video file path; ValueError if it cannot open."""
    capture = cv2.VideoCapture(int(source)) if source.isdigit() else cv2.VideoCapture(source)
    if not capture.isOpened():
        raise ValueError(f"could not open video source {source!r} (camera index or file path)")
    return capture


async def run(source: str, sid: str, settings: Settings, max_frames: Optional[int] = None,
              show_progress: bool = True) -> int:
    """Stream frames of `source` into session `sid`; returns how many frames were stored."""
    with session_scope(sid):
        return await _stream(source, sid, settings, max_frames, show_progress)


async def _stream(source: str, sid: str, settings: Settings, max_frames: Optional[int],
                  show_progress: bool) -> int:
    from tqdm import tqdm

    capture = open_source(source)
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if not source.isdigit() else 0
    period = 1.0 / settings.max_fps
    source_fps = capture.get(cv2.CAP_PROP_FPS) or settings.max_fps
    skip = max(1, round(source_fps / settings.max_fps)) if total else 1
    stored = 0
    bar = tqdm(total=(total // skip) or None, unit="frame", disable=not show_progress)
    try:
        async with open_pipeline(settings) as pipeline:
            session = pipeline.registry.get(sid)
            loop = asyncio.get_running_loop()
            index = 0
            next_at = time.monotonic()
            while max_frames is None or bar.n < max_frames:
                ok, frame = await loop.run_in_executor(pipeline.pool, capture.read)
                if not ok:
                    break
                index += 1
                if (index - 1) % skip:
                    continue
                ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 85])
                try:
                    result = await pipeline.process(session, buf.tobytes())
                except SessionDeletedError:
                    event(log, logging.WARNING, "stream_session_deleted")
                    break
                except SidecarError as exc:
                    event(log, logging.WARNING, "frame_refused", error=exc.code)
                    continue
                stored += result.stored
                bar.update(1)
                bar.set_postfix(dominant=result.dominant, face=int(result.face_present),
                                score=f"{result.score:.0f}", refresh=False)
                next_at += period
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    finally:
        bar.close()
        capture.release()
    event(log, logging.INFO, "stream_done", frames=bar.n, stored=stored)
    return stored


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description="Stream a camera or video into the pipeline.")
    parser.add_argument("--source", required=True, help="camera index (0) or a video file")
    parser.add_argument("--session", required=True, help="session id (use rasa's sender id)")
    parser.add_argument("--max-frames", type=int, default=None, help="stop after N frames")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        settings.check_files()
        sid = validate_id(args.session)
    except (SettingsError, InvalidIdError) as exc:
        print(f"stream: {exc}", file=sys.stderr)
        return 2
    configure_process(settings)
    try:
        stored = asyncio.run(run(args.source, sid, settings, args.max_frames))
    except ValueError as exc:
        print(f"stream: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    print(f"stream: {stored} frames of session {sid} stored in Redis")
    return 0 if stored else 1


if __name__ == "__main__":
    sys.exit(main())
