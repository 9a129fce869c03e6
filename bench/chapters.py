"""`python -m bench.chapters`: what the product video's fields and the chapter attribution add
to a frame's store write, paired: the same frames written with and without a video stamp, in
alternating rounds, against a real Redis (embedded, on a free port).

Client CPU (this process: building the script's arguments, packing, parsing) and Redis CPU (the
server process, read from /proc) per frame, medians over the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

from emotical_shared.chapters import Chapter
from stack.redis_server import RedisServer, free_port
from vision_sidecar.chapters import FRAME_VIDEO, VideoStamp, frame_video
from vision_sidecar.store import WRITE_LUA, EmotionStore, connect, state_fields

CHAPTERS = (Chapter(0, 0.0, 3.0, ("red", "mesh"), "Red"), Chapter(1, 3.0, 6.0, ("x",), "X"))


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime, clock ticks of 10 ms


async def _round(store: EmotionStore, sids: List[str], frames: int, video: bool,
                 redis_pid: int) -> Dict[str, float]:
    fields = state_fields({"happy": 0.9, "calm": 0.1}, "happy", 0.72, 0.4, 50.0, True)
    c0, r0 = time.process_time(), _proc_cpu(redis_pid)
    done = 0
    while done < frames:
        now = time.time()
        stamp = VideoStamp(1.0 + (done % 100) / 50, True, False, now) if video else None

        async def one(sid: str, stamp: VideoStamp | None = stamp, now: float = now) -> bool:
            token = FRAME_VIDEO.set(frame_video(stamp, CHAPTERS, now))
            try:
                return await store.write(sid, dict(fields))
            finally:
                FRAME_VIDEO.reset(token)

        await asyncio.gather(*(one(s) for s in sids))
        done += len(sids)
    return {"client_us": 1e6 * (time.process_time() - c0) / done,
            "redis_us": 1e6 * (_proc_cpu(redis_pid) - r0) / done}


async def main_async(rounds: int, frames: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(data_dir=Path(tmp), port=free_port())
        server.start()
        try:
            client = connect(server.url)
            await client.script_load(WRITE_LUA)
            store = EmotionStore(client)
            sids = [f"s-bench-{i}" for i in range(20)]
            got: Dict[bool, List[Dict[str, float]]] = {False: [], True: []}
            for r in range(rounds):
                for video in ((False, True) if r % 2 == 0 else (True, False)):
                    got[video].append(await _round(store, sids, frames, video, server.pid))
            await client.aclose()
        finally:
            server.stop()
    for key in ("client_us", "redis_us"):
        plain = statistics.median(g[key] for g in got[False])
        stamped = statistics.median(g[key] for g in got[True])
        print(f"{key}: without video {plain:.1f} µs/frame, with video and attribution "
              f"{stamped:.1f} µs/frame, difference {stamped - plain:+.1f} µs")


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--frames", type=int, default=4000)
    args = parser.parse_args(argv)
    asyncio.run(main_async(args.rounds, args.frames))
    return 0


if __name__ == "__main__":
    sys.exit(main())
