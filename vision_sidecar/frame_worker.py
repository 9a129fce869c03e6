"""Frame work in worker processes (`EMOTICAL_FRAME_PROCESSES`, on by default).

With frame threads, the frame work and the event loop share one GIL: every OpenCV, LiteRT and
onnxruntime call releases it and must win it back. Under 40 shoppers py-spy showed the two
frame threads inside a job 95% of the time while the process used 1.3 of 2 cores, waiting for
the GIL after `imdecode`, `invoke` and `run`, and the event loop waiting for it after its
socket writes. `concurrent.futures.ProcessPoolExecutor` moved the frame work out but kept
three threads per hop in the sidecar (its feeder and its result thread, then the loop), so
the GIL still passed hands for every frame.

So, as a model server does it: `workers` processes (one per core), each a single thread
running one frame at a time with OpenCV, LiteRT and onnxruntime on one intra-op thread, fed by
the event loop over a Unix socket pair with no thread of its own in the sidecar (`WorkerPool`).
A frame goes to the worker with the fewest frames queued (join the shortest queue); the
session lock keeps a session's frames in order, the in-flight gate bounds every queue and the
socket's latest-wins slot drops what waits too long, so nothing queues without bound.

A frame's job carries the session's `TrackState` there and back (a few hundred bytes with the
tracking template), so any worker can take any frame; the full-frame search runs in line (a
BlazeFace search costs about what a frame does). A worker that dies fails its queued frames
with `BusyError` (the socket answers `{seq, error: busy}`) and is started again; so does one
stuck on a frame for FRAME_TIMEOUT_S (the watchdog kills it).

Messages both ways: a 4-byte little-endian length, then a pickle (parent and worker are the
same code; nothing else writes to the socket). The worker's first message in is the
`Settings`, its first out `("ready", pid)`. A frame's job and its reply carry only plain values
(`track_to_wire`, `reply_to_wire`): the session's track, the analysis and the probabilities as
tuples, numbers and bytes, not as dataclasses and NumPy arrays, whose pickling cost about 80 µs
of CPU per frame on the two sides (plain values: about 15).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import pickle
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, BinaryIO, Dict, List, Optional, Tuple

from emotical_shared.logs import event
from vision_sidecar.errors import BusyError
from vision_sidecar.settings import Settings

log = logging.getLogger(__name__)

HEADER = struct.Struct("<I")
#: Largest message either way (a frame is at most `max_frame_bytes`, 512 KB by default).
MAX_MESSAGE = 64 * 1024 * 1024
#: Seconds a new worker has to load its models and say it is ready.
START_TIMEOUT_S = 120.0
#: Wait before starting a worker again after it died, doubled per death up to the maximum.
RESTART_S, RESTART_MAX_S = 1.0, 30.0
#: A worker whose oldest queued frame is older than this is stuck: it is killed (its frames
#: answered busy) and started again. Checked every WATCH_S seconds.
FRAME_TIMEOUT_S, WATCH_S = 10.0, 1.0
ROOT = Path(__file__).resolve().parent.parent

_worker: Dict[str, Any] = {}


# ----------------------------------------------------------------------------- in the worker


def init(settings: Settings) -> None:
    """Build this worker's locator and model, one intra-op thread each, and run both once
    (the first LiteRT `invoke` and onnxruntime `run` allocate)."""
    import cv2
    import numpy as np

    from vision_sidecar.expression.base import FaceJob
    from vision_sidecar.expression.local import LocalOnnxBackend
    from vision_sidecar.faces import FaceLocator, make_detector

    cv2.setNumThreads(1)
    _worker["settings"] = settings
    _worker["locator"] = FaceLocator(settings.detect_every, settings.search_every,
                                     settings.search_every_max,
                                     detector=make_detector(settings.face_detector,
                                                            settings.model_dir))
    backend = LocalOnnxBackend(settings.model_path, threads=1, temperature=settings.temperature,
                               model=settings.expression)
    _worker["backend"] = backend
    _worker["locator"].detect(np.zeros((240, 320), dtype=np.uint8))
    backend.classify([FaceJob("", np.zeros(backend.input_shape, np.float32))])


#: TrackState as it travels: (box, (template shape, template bytes) or None, template scale,
#: frames since the last detection, search countdown, misses, faces); a search's Future stays.
TrackWire = Tuple[Any, Optional[Tuple[Tuple[int, ...], bytes]], float, int, int, int, int]
#: A frame's reply as it travels: (faces, box, scale, face JPEG, read by the model, stage CPU
#: seconds, probabilities as float64 bytes, the session's TrackWire).
ReplyWire = Tuple[int, Any, int, bytes, bool, Dict[str, float], bytes, TrackWire]


def track_to_wire(track: Any) -> TrackWire:
    """A TrackState as plain values (without a background search's Future)."""
    template = track.template
    return (track.box, None if template is None else (template.shape, template.tobytes()),
            track.template_scale, track.since_detect, track.search_countdown, track.misses,
            track.faces)


def track_from_wire(wire: TrackWire) -> Any:
    """The TrackState `track_to_wire` made `wire` of."""
    import numpy as np

    from vision_sidecar.faces import TrackState

    box, template, scale, since_detect, countdown, misses, faces = wire
    pixels = None
    if template is not None:
        pixels = np.frombuffer(template[1], dtype=np.uint8).reshape(template[0]).copy()
    return TrackState(box=box, template=pixels, template_scale=scale, since_detect=since_detect,
                      search_countdown=countdown, misses=misses, faces=faces)


def reply_to_wire(analysis: Any, probs: Any, track: Any) -> ReplyWire:
    """One frame's (Analysis, probabilities, TrackState) as plain values; the model input
    stays here (only whether the model read the face travels)."""
    return (analysis.faces, analysis.box, analysis.scale, analysis.crop,
            analysis.tensor is not None, analysis.timings, probs.tobytes(), track_to_wire(track))


def reply_from_wire(wire: ReplyWire) -> Tuple[Any, Any, Any]:
    """(Analysis, probabilities over LABELS, TrackState) from `reply_to_wire`'s values; a face
    the model read has an empty model input (its tensor is not None)."""
    import numpy as np

    from vision_sidecar.pipeline import Analysis

    faces, box, scale, crop, read, timings, probs, track = wire
    analysis = Analysis(faces=faces, box=box, scale=scale, crop=crop, timings=timings,
                        tensor=np.zeros((0,), dtype=np.float32) if read else None)
    return analysis, np.frombuffer(probs, dtype=np.float64).copy(), track_from_wire(track)


def analyse_and_classify(sid: str, track: Any, data: bytes, want_crop: bool,
                         read: bool = True) -> Tuple[Any, Any, Any]:
    """One frame's decode, face and, to `read` it, model in this worker: (Analysis,
    probabilities over LABELS, the session's updated TrackState)."""
    from vision_sidecar.pipeline import analyse_frame, classify_analysis

    analysis = analyse_frame(_worker["settings"], _worker["locator"], track, data, want_crop,
                             read)
    probs = classify_analysis(_worker["backend"], sid, analysis)
    return analysis, probs, track


def _read_message(stream: BinaryIO) -> Optional[Any]:
    """The next message on a blocking stream, None at its end."""
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        return None
    (size,) = HEADER.unpack(head)
    if size > MAX_MESSAGE:
        raise ValueError(f"frame worker message of {size} bytes")
    body = stream.read(size)
    if len(body) < size:
        return None
    return pickle.loads(body)


def pack(message: Any) -> bytes:
    """`message` as it goes over the socket: length, then pickle."""
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


def answer(job: int, args: Tuple[Any, ...]) -> bytes:
    """The packed reply to one frame job: `(job, "ok", ReplyWire)` or `(job, "error", exc)`;
    an error that cannot be pickled travels as a RuntimeError with its text."""
    try:
        return pack((job, "ok", reply_to_wire(*analyse_and_classify(*args))))
    except Exception as exc:  # every failure goes back to the frame's caller
        try:
            return pack((job, "error", exc))
        except Exception:
            return pack((job, "error", RuntimeError(f"{type(exc).__name__}: {exc}")))


def serve(fd: int) -> int:
    """The worker's main loop on socket `fd`: settings, ready, then frame jobs until EOF."""
    sock = socket.socket(fileno=fd)
    stream = sock.makefile("rb")
    settings = _read_message(stream)
    if not isinstance(settings, Settings):
        return 2
    init(settings)
    sock.sendall(pack(("ready", os.getpid())))
    while True:
        message = _read_message(stream)
        if message is None:
            return 0
        job, (sid, track, data, want_crop, read) = message
        sock.sendall(answer(job, (sid, track_from_wire(track), data, want_crop, read)))


# ----------------------------------------------------------------------------- in the sidecar


@dataclasses.dataclass
class _Worker:
    """One worker process as the sidecar sees it."""

    index: int
    proc: subprocess.Popen
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    pid: int
    pending: Dict[int, asyncio.Future] = dataclasses.field(default_factory=dict)
    #: When each queued frame was sent (loop time), for the watchdog.
    sent: Dict[int, float] = dataclasses.field(default_factory=dict)
    alive: bool = True
    listener: Optional[asyncio.Task] = None


def worker_env() -> Dict[str, str]:
    """A worker's environment: the sidecar's, the checkout on PYTHONPATH, math libraries on
    one thread (each worker is one core's worth)."""
    path = os.environ.get("PYTHONPATH", "")
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), path) if p),
                OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")


async def _read(reader: asyncio.StreamReader) -> Any:
    (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
    if size > MAX_MESSAGE:
        raise ValueError(f"frame worker message of {size} bytes")
    return pickle.loads(await reader.readexactly(size))


class WorkerPool:
    """`size` frame worker processes fed by the event loop (use from the loop thread only)."""

    def __init__(self, settings: Settings, size: int) -> None:
        self.settings = settings
        self.size = size
        self.workers: List[Optional[_Worker]] = [None] * size
        self.deaths = [0] * size
        self._job = 0
        self._closing = False
        self._restarts: List[asyncio.Task] = []
        self._watchdog: Optional[asyncio.Task] = None

    async def start(self) -> WorkerPool:
        """Start every worker and wait until each has its models loaded."""
        started = await asyncio.gather(*(self._spawn(i) for i in range(self.size)),
                                       return_exceptions=True)
        failed = [w for w in started if isinstance(w, BaseException)]
        for i, w in enumerate(started):
            if isinstance(w, _Worker):
                self._adopt(i, w)
        if failed:
            await self.close()
            raise RuntimeError(f"frame worker did not start: {failed[0]}") from failed[0]
        self._watchdog = asyncio.get_running_loop().create_task(self._watch())
        return self

    async def _watch(self) -> None:
        """Kill a worker stuck on a frame for FRAME_TIMEOUT_S (its death restarts it)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(WATCH_S)
            for w in self.workers:
                if w is not None and w.alive and w.sent \
                        and loop.time() - min(w.sent.values()) > FRAME_TIMEOUT_S:
                    event(log, logging.ERROR, "frame_worker_stuck", worker=w.index, pid=w.pid,
                          queued=len(w.pending))
                    w.proc.kill()

    async def _spawn(self, index: int) -> _Worker:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "vision_sidecar.frame_worker", str(child.fileno())],
                pass_fds=(child.fileno(),), env=worker_env(), cwd=ROOT, stdin=subprocess.DEVNULL)
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
        try:
            reader, writer = await asyncio.open_unix_connection(sock=parent)
            writer.write(pack(self.settings))
            ready = await asyncio.wait_for(_read(reader), START_TIMEOUT_S)
            if not (isinstance(ready, tuple) and ready[0] == "ready"):
                raise RuntimeError(f"unexpected first message {ready!r}")
        except BaseException:
            parent.close()
            _stop(proc)
            raise
        return _Worker(index, proc, reader, writer, int(ready[1]))

    def _adopt(self, index: int, worker: _Worker) -> None:
        self.workers[index] = worker
        worker.listener = asyncio.get_running_loop().create_task(self._listen(worker))

    @property
    def pids(self) -> List[int]:
        return [w.pid for w in self.workers if w is not None and w.alive]

    def queued(self) -> List[int]:
        """Frames sent to each worker and not yet answered (0 for a worker being restarted)."""
        return [len(w.pending) if w is not None and w.alive else 0 for w in self.workers]

    def _pick(self) -> _Worker:
        """The live worker with the fewest frames queued (the lowest index among equals)."""
        live = [w for w in self.workers if w is not None and w.alive]
        if not live:
            raise BusyError("no frame worker is running (one is being restarted); try again")
        return min(live, key=lambda w: len(w.pending))

    async def run(self, sid: str, track: Any, data: bytes, want_crop: bool,
                  read: bool = True) -> Tuple[Any, Any, Any]:
        """One frame through a worker: (Analysis, probabilities over LABELS, new TrackState;
        the model runs only to `read` the face); raises what the worker's frame work raised."""
        worker = self._pick()
        self._job += 1
        job = self._job
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        worker.pending[job] = future
        worker.sent[job] = asyncio.get_running_loop().time()
        worker.writer.write(pack((job, (sid, track_to_wire(track), data, want_crop, read))))
        try:
            status, value = await future
        finally:
            worker.pending.pop(job, None)
            worker.sent.pop(job, None)
        if status == "error":
            raise value
        return reply_from_wire(value)

    async def _listen(self, worker: _Worker) -> None:
        """Hand each reply of `worker` to its frame; on its death fail them and restart it."""
        try:
            while True:
                job, status, value = await _read(worker.reader)
                future = worker.pending.pop(job, None)
                worker.sent.pop(job, None)
                if future is not None and not future.done():
                    future.set_result((status, value))
        except Exception as exc:  # EOF, a broken socket or message: the worker is gone to us
            self._lost(worker, exc)

    def _lost(self, worker: _Worker, exc: BaseException) -> None:
        worker.alive = False
        for future in worker.pending.values():
            if not future.done():
                future.set_exception(BusyError("the frame worker stopped; try again"))
        worker.pending.clear()
        worker.sent.clear()
        worker.writer.close()
        code = _stop(worker.proc)
        if self._closing:
            return
        self.deaths[worker.index] += 1
        event(log, logging.ERROR, "frame_worker_died", worker=worker.index, pid=worker.pid,
              exit_code=code, error=type(exc).__name__)
        self._restarts.append(asyncio.get_running_loop().create_task(self._restart(worker.index)))

    async def _restart(self, index: int) -> None:
        wait = min(RESTART_MAX_S, RESTART_S * 2 ** (self.deaths[index] - 1))
        while not self._closing:
            await asyncio.sleep(wait)
            try:
                worker = await self._spawn(index)
            except Exception as exc:  # logged, tried again
                event(log, logging.ERROR, "frame_worker_restart_failed", worker=index,
                      error=str(exc)[:200])
                wait = min(RESTART_MAX_S, wait * 2)
                continue
            if self._closing:
                worker.writer.close()
                _stop(worker.proc)
                return
            self._adopt(index, worker)
            event(log, logging.INFO, "frame_worker_restarted", worker=index, pid=worker.pid)
            return

    async def close(self) -> None:
        """Stop every worker (frames still queued fail with BusyError)."""
        self._closing = True
        for task in [*self._restarts, *([self._watchdog] if self._watchdog else [])]:
            task.cancel()
        live = [w for w in self.workers if w is not None and w.alive]
        for worker in live:
            if worker.listener is not None:
                worker.listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker.listener
            worker.writer.close()  # the worker reads the end of its socket and exits
        for worker in live:
            self._lost(worker, ConnectionError("closing"))


def _stop(proc: subprocess.Popen, timeout: float = 5.0) -> Optional[int]:
    """Stop a worker (its socket is closed, so it exits by itself; else SIGTERM, SIGKILL)."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


if __name__ == "__main__":
    sys.exit(serve(int(sys.argv[1])))
