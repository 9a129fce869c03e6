"""Interpreter-wide settings of a sidecar process, applied once by its entry point.

`python -m vision_sidecar` and `python -m vision_sidecar.stream` call `configure_process` from
their `main`; the application factory and the pipeline never change process state.
"""

from __future__ import annotations

import asyncio
import sys

import cv2

from emotical_shared import logs
from vision_sidecar.settings import Settings


def configure_process(settings: Settings) -> None:
    """OpenCV single-threaded, Python's switch interval, logging at the configured level."""
    cv2.setNumThreads(1)  # parallelism comes from our pool, one frame per thread
    # The event loop answers 400 frames/s while pool threads run Python between their
    # GIL-free calls: switching every 1 ms instead of 5 ms keeps it from waiting.
    sys.setswitchinterval(settings.switch_interval_s)
    logs.configure(settings.log_level)


def new_event_loop(settings: Settings) -> asyncio.AbstractEventLoop:
    """A new event loop of the configured kind (`Settings.event_loop`): uvloop's, whose
    sockets, transports and timers are in C, or the standard library's."""
    if settings.event_loop == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()
