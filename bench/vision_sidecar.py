"""Vision sidecar benchmark: where a 640×480 frame's time goes, and how many shoppers fit.

Parts (each measured in its own process, on a real Redis started here):
- pipeline: frames/s end to end in process (JPEG bytes in → state written to Redis) with 1 and
  2 worker threads, 40 sessions each keeping one frame in flight; p50/p99 latency per frame and
  the time per stage. Variants: native kernels, their numpy reference twins, and the classic
  path (full-resolution decode, full-frame Haar at scale 1.1 on every frame, same model).
- websocket: the real sidecar process and 40 WebSocket shoppers sending 10 frames/s each as the
  widget does (session from `POST /api/sessions`, authenticated socket, 320×240 JPEGs at
  quality 70 of real eval-set faces, each camera at a random phase, at most two frames
  unanswered); five runs with their own seeds, then the old even/synthetic case and shoppers
  away; frames processed and dropped, p50/p99 latency from send to reply, stolen CPU, the
  sidecar's CPU (worker processes included); `--py-spy` profiles the sidecar meanwhile and
  `--busy-cores N` keeps N cores busy beside it (a machine other jobs share).
- security: what the access checks cost: verifying a session token (once per HTTP frame, once
  per WebSocket), and the frame's Redis write as one Lua call that checks the tombstone
  against the plain HSET + XADD pipeline it replaced (event-loop time per frame).

`python -m bench.vision_sidecar` runs everything (`make bench-vision`);
`--part pipeline --workers 2 --variant native` runs one measurement and prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SESSIONS = 40
HZ = 10.0
#: WebSocket load runs with real faces at random phases (each its own seed); the goal must
#: hold in every one.
WEBSOCKET_RUNS = 5
#: In the last WebSocket run, this many of the 40 shoppers have walked away from the camera.
AWAY_SHOPPERS = 10


def frames(count: int = 30) -> List[bytes]:
    """640×480 JPEGs of one face moving a little, as from a webcam."""
    from vision_sidecar import samples

    return [samples.jpeg(samples.webcam_frame(dx=int(12 * np.sin(i / 5)), dy=int(4 * np.cos(i / 7))))
            for i in range(count)]


def real_face_frames(shoppers: int = SESSIONS, count: int = 20) -> List[List[bytes]]:
    """Per shopper, `count` widget frames (320×240 JPEG at the widget's quality) of one real
    face of the eval set (var/eval: CK+ frames, the astronaut), moving as a head does."""
    from vision_eval.dataset import load_bgr, moving_frames, read_manifest

    items = [i for i in read_manifest() if i.source == "EmoPy" or i.id == "skimage-astronaut"]
    if not items:
        raise RuntimeError("no eval-set faces: run `make setup` (scripts/setup.d/35-eval-set.sh)")
    return [moving_frames(load_bgr(items[(k * 7) % len(items)]), count, phase=float(k))
            for k in range(shoppers)]


def away_frames(count: int = 30) -> List[bytes]:
    """640×480 JPEGs of a scene with nobody in it (a real photo, shifting a little)."""
    import cv2

    from vision_sidecar import samples

    scene = cv2.resize(samples.no_face_bgr(), (700, 520), interpolation=cv2.INTER_AREA)
    return [samples.jpeg(scene[20 + int(4 * np.cos(i / 7)):500 + int(4 * np.cos(i / 7)),
                               30 + int(12 * np.sin(i / 5)):670 + int(12 * np.sin(i / 5))])
            for i in range(count)]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its living children (the sidecar's frame workers)."""
    total = cpu_seconds(pid)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                total += cpu_seconds(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return total


def cpu_stolen() -> Tuple[int, int]:
    """(stolen, total) CPU ticks of the whole machine so far (Linux /proc/stat): the time the
    hypervisor gave our virtual CPUs to someone else."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return ticks[7], sum(ticks)


def stolen_pct(before: Tuple[int, int], after: Tuple[int, int]) -> float:
    """Percent of the machine's CPU time the host took between two `cpu_stolen()` readings."""
    return 100 * (after[0] - before[0]) / max(1, after[1] - before[1])


def pct(values: List[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


# ----------------------------------------------------------------------------- pipeline


class ClassicPipelineMixin:
    """The textbook path: full-size grey decode and full-frame Haar (scale 1.1) every frame."""

    @property
    def haar(self):
        from vision_sidecar.faces import HaarDetector

        if not hasattr(self, "_haar"):
            self._haar = HaarDetector()
        return self._haar

    def analyse(self, track, data, sid="", read=True):
        import cv2

        from native import kernels
        from vision_sidecar.expression.base import FACE_SIZE
        from vision_sidecar.pipeline import Analysis

        t0 = time.thread_time()
        gray = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
        t1 = time.thread_time()
        faces = self.haar.cascade().detectMultiScale(gray, 1.1, 5, minSize=(30, 30))
        t2 = time.thread_time()
        box = tuple(int(v) for v in max(faces, key=lambda f: f[2] * f[3])) if len(faces) else None
        tensor = (kernels.prepare_faces(gray, np.array([box], np.int32), FACE_SIZE)[0]
                  if box and read else None)
        t3 = time.thread_time()
        return Analysis(faces=len(faces), box=box, tensor=tensor, scale=1,
                        timings={"decode": t1 - t0, "locate": t2 - t1, "crop": t3 - t2})


async def run_pipeline(settings, variant: str, seconds: float) -> Dict:
    """The server's pipeline (`open_pipeline`) under 40 sessions, its model call timed."""
    from vision_sidecar.expression.local import LocalOnnxBackend
    from vision_sidecar.pipeline import Pipeline
    from vision_sidecar.resources import open_pipeline
    from vision_sidecar.settings import FER_MODEL_FILE

    # the classic pipeline (Haar, grey 64×64 crop) is mini-Xception's; else the configured model
    backend = (LocalOnnxBackend(settings.model_dir / FER_MODEL_FILE) if variant == "classic"
               else LocalOnnxBackend(settings.model_path, model=settings.expression))
    model_time = [0.0]
    inner = backend.classify

    def timed_classify(jobs):
        t = time.thread_time()
        try:
            return inner(jobs)
        finally:
            model_time[0] += time.thread_time() - t

    backend.classify = timed_classify  # type: ignore[method-assign]
    cls: type[Pipeline] = Pipeline
    if variant == "classic":
        cls = type("ClassicPipeline", (ClassicPipelineMixin, Pipeline), {})
    async with open_pipeline(settings, backend, cls) as pipeline:
        return await _measure_pipeline(pipeline, variant, seconds, model_time)


async def _measure_pipeline(pipeline, variant: str, seconds: float,
                            model_time: List[float]) -> Dict:
    import native

    client, registry, workers = pipeline.store.client, pipeline.registry, pipeline.settings.workers
    await client.flushall()
    stage = {"decode": 0.0, "locate": 0.0, "crop": 0.0}
    analyse = pipeline.analyse

    def timed_analyse(track, data, sid="", read=True):
        result = analyse(track, data, sid, read)
        for k, v in result.timings.items():
            stage[k] += v
        return result

    pipeline.analyse = timed_analyse
    data = frames()
    latencies: List[float] = []
    counted = [0]
    faces = [0]
    warmup_until = time.perf_counter() + (min(2.0, seconds / 3) if variant != "classic" else 3.0)
    stop_at = warmup_until + seconds

    async def shopper(i: int) -> None:
        session = registry.get(f"bench-{i}")
        k = i
        while time.perf_counter() < stop_at:
            t = time.perf_counter()
            result = await pipeline.process(session, data[k % len(data)])
            k += 1
            if t >= warmup_until:
                latencies.append(time.perf_counter() - t)
                counted[0] += 1
                faces[0] += result.face_present

    async def measure_cpu() -> None:
        await asyncio.sleep(warmup_until - time.perf_counter())
        before, stolen_before = os.times(), cpu_stolen()
        await asyncio.sleep(seconds)
        after, stolen_after = os.times(), cpu_stolen()
        cpu[0] = (after.user + after.system) - (before.user + before.system)
        stolen[0] = stolen_pct(stolen_before, stolen_after)

    cpu = [0.0]
    stolen = [0.0]
    # The classic path manages a few frames/s: 40 sessions would not finish one frame each.
    sessions = SESSIONS if variant != "classic" else 2 * workers
    await asyncio.gather(measure_cpu(), *(shopper(i) for i in range(sessions)))
    written = await client.xlen("emotical:session:bench-0:history")
    frames_n = max(1, len(latencies))
    stages = {**stage, "model": model_time[0]}
    stage_ms = {k: v * 1e3 / frames_n for k, v in stages.items()}
    process_ms = cpu[0] * 1e3 / frames_n
    stage_ms["loop+redis client"] = max(0.0, process_ms - sum(stage_ms.values()))
    return {
        "part": "pipeline", "variant": variant, "workers": workers,
        "native": native.IMPLEMENTATION, "frames": counted[0], "fps": counted[0] / seconds,
        "face_rate": faces[0] / max(1, counted[0]),
        "p50_ms": pct(latencies, 50) * 1e3, "p99_ms": pct(latencies, 99) * 1e3,
        "cpu_ms_per_frame": stage_ms,
        "process_cpu_ms_per_frame": process_ms,
        "load_average_1min": os.getloadavg()[0],
        "cpu_stolen_pct": stolen[0],
        "history_entries_session_0": written,
    }


# ----------------------------------------------------------------------------- websocket


#: The widget's cap on frames awaiting a reply (camera.js MAX_IN_FLIGHT): a tick with two
#: unanswered frames sends nothing.
MAX_IN_FLIGHT = 2
#: How late a browser's setInterval tick fires (uniform, seconds): it never fires early.
TIMER_LATE_S = 0.004


async def run_websocket(seconds: float, redis_url: str, workers: int, redis_pid: int = 0,
                        away: int = 0, faces: str = "real", phases: str = "random",
                        seed: int = 0, py_spy: str = "", env_extra: Dict[str, str] | None = None,
                        busy: int = 0) -> Dict:
    """40 shoppers at 10 Hz against a real sidecar, as the widget sends: each camera ticks on
    its own (`phases="random"`: a random phase, each tick up to TIMER_LATE_S late; `even`: the
    40 spread evenly over the 100 ms), at most MAX_IN_FLIGHT frames unanswered. `faces="real"`:
    each shopper a real face of the eval set in widget frames; `synthetic`: one 640×480 frame
    of the astronaut. The last `away` shoppers send frames with nobody in them. `busy`
    processes spin on the CPU meanwhile (a machine that other jobs keep busy)."""
    import aiohttp

    from stack.redis_server import free_port

    port = free_port()
    # all shoppers come from 127.0.0.1 here: the per-address caps must let 40 of them in
    env = dict(os.environ, PYTHONPATH=str(ROOT), REDIS_URL=redis_url,
               EMOTICAL_SIDECAR_PORT=str(port), EMOTICAL_SIDECAR_WORKERS=str(workers),
               EMOTICAL_LOG_LEVEL="WARNING", EMOTICAL_WS_PER_CLIENT=str(SESSIONS),
               EMOTICAL_SESSIONS_PER_MINUTE=str(2 * SESSIONS),
               EMOTICAL_SECRET=os.environ.get("EMOTICAL_SECRET") or "bench-" + "x" * 40)
    env.update(env_extra or {})
    log = open(Path(tempfile.gettempdir()) / f"bench-sidecar-{port}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "vision_sidecar"], env=env, cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    rng = np.random.default_rng(seed)
    offsets = (rng.uniform(0, 1 / HZ, SESSIONS) if phases == "random"
               else np.arange(SESSIONS) / (SESSIONS * HZ))
    lateness = rng.uniform(0, TIMER_LATE_S if phases == "random" else 0,
                           (SESSIONS, int((seconds + 4) * HZ) + 2))
    if faces == "real":
        present = real_face_frames()
    else:
        synthetic = frames()
        present = [synthetic[i % len(synthetic):] + synthetic[:i % len(synthetic)]
                   for i in range(SESSIONS)]
    empty = away_frames()
    sent = [0]
    skipped = [0]
    latencies: List[float] = []
    by_group: Dict[str, List[float]] = {"present": [], "away": []}
    to_server: List[float] = []
    after: List[float] = []
    processed = [0]
    dropped = [0]
    errors = [0]
    late = [0]
    sizes: List[int] = []
    spy: subprocess.Popen | None = None
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                try:
                    async with http.get(base + "/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError("sidecar did not start")
            warmup = 2.0
            start = time.perf_counter() + 0.5
            stop_at = start + warmup + seconds

            async def shopper(i: int) -> None:
                # seq -> (perf_counter, wall clock) at send
                pending: Dict[int, Tuple[float, float]] = {}
                group = "away" if i >= SESSIONS - away else "present"
                data = empty if group == "away" else present[i]
                async with http.post(base + "/api/sessions", json={}) as r:
                    token = (await r.json())["session_token"]
                async with http.ws_connect(f"{base.replace('http', 'ws')}/ws/frames") as ws:
                    await ws.send_json({"type": "auth", "token": token})
                    ready = await ws.receive_json(timeout=10)
                    assert ready.get("type") == "ready", ready

                    async def reader() -> None:
                        async for msg in ws:
                            reply = msg.json()
                            sent_at = pending.pop(reply.get("seq", -1), None)
                            if sent_at is None or sent_at[0] < start + warmup:
                                continue
                            t_sent, w_sent = sent_at
                            if reply.get("dropped"):
                                dropped[0] += 1
                            elif "error" in reply:
                                errors[0] += 1
                            else:
                                processed[0] += 1
                                latencies.append(time.perf_counter() - t_sent)
                                by_group[group].append(latencies[-1])
                                if "ts" in reply:
                                    # same machine, same clock: split the round trip where
                                    # the server stamped the frame as received
                                    to_server.append(reply["ts"] - w_sent)
                                    after.append(time.time() - reply["ts"])

                    task = asyncio.create_task(reader())
                    seq = 0
                    tick = 0
                    while True:
                        next_at = start + offsets[i] + tick / HZ + lateness[i, tick]
                        tick += 1
                        if next_at >= stop_at:
                            break
                        delay = next_at - time.perf_counter()
                        if delay > 0:
                            await asyncio.sleep(delay)
                        elif delay < -0.05:
                            late[0] += 1
                        counted = time.perf_counter() >= start + warmup
                        if len(pending) >= MAX_IN_FLIGHT:  # as the widget: skip this tick
                            skipped[0] += counted
                            continue
                        seq += 1
                        frame = data[(seq + i) % len(data)]
                        pending[seq] = (time.perf_counter(), time.time())
                        await ws.send_bytes(frame)
                        if counted:
                            sent[0] += 1
                            sizes.append(len(frame))
                    await asyncio.sleep(1.0)  # let the last replies arrive
                    await ws.close()
                    task.cancel()

            async def measure_cpu() -> None:
                nonlocal spy
                await asyncio.sleep(start + warmup - time.perf_counter())
                if py_spy:
                    spy = subprocess.Popen(
                        [str(Path(sys.executable).parent / "py-spy"), "record", "--pid",
                         str(proc.pid), "--duration", str(int(seconds)), "--rate", "500",
                         "--threads", "--idle", "--nonblocking", "--format", "raw",
                         "--output", py_spy],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                before = {"sidecar": tree_cpu_seconds(proc.pid),
                          "clients": cpu_seconds(os.getpid()),
                          **({"redis": cpu_seconds(redis_pid)} if redis_pid else {})}
                stolen_before = cpu_stolen()
                await asyncio.sleep(seconds)
                after = {"sidecar": tree_cpu_seconds(proc.pid),
                         "clients": cpu_seconds(os.getpid()),
                         **({"redis": cpu_seconds(redis_pid)} if redis_pid else {})}
                stolen_after = cpu_stolen()
                cpu.update({k: (after[k] - before[k]) / seconds for k in before})
                stolen[0] = stolen_pct(stolen_before, stolen_after)

            cpu: Dict[str, float] = {}
            stolen = [0.0]
            await asyncio.gather(measure_cpu(), *(shopper(i) for i in range(SESSIONS)))
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
        if spy is not None:
            spy.wait(timeout=60)
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
    return {
        "part": "websocket", "workers": workers, "shoppers": SESSIONS, "away": away, "hz": HZ,
        "busy_cores": busy,
        "faces": faces, "phases": phases, "seed": seed, "seconds": seconds,
        "frame_bytes_median": float(np.median(sizes)) if sizes else float("nan"),
        "sent": sent[0], "processed": processed[0], "dropped": dropped[0],
        "errors": errors[0], "unanswered": sent[0] - processed[0] - dropped[0] - errors[0],
        "client_skipped_ticks": skipped[0], "client_late_sends": late[0],
        "fps": processed[0] / seconds,
        "p50_ms": pct(latencies, 50) * 1e3, "p99_ms": pct(latencies, 99) * 1e3,
        "max_ms": max(latencies) * 1e3 if latencies else float("nan"),
        **{f"{group}_p{q}_ms": pct(values, q) * 1e3
           for group, values in by_group.items() for q in (50, 99)},
        "receive_p50_ms": pct(to_server, 50) * 1e3, "receive_p99_ms": pct(to_server, 99) * 1e3,
        "process_reply_p50_ms": pct(after, 50) * 1e3, "process_reply_p99_ms": pct(after, 99) * 1e3,
        "cpu_cores_used": cpu,
        "load_average_1min": os.getloadavg()[0],
        "cpu_stolen_pct": stolen[0],
    }


# ----------------------------------------------------------------------------- security


async def run_security(redis_url: str, rounds: int = 20_000, frames: int = 4000) -> Dict:
    """Token verification per frame, and the Lua frame write against the plain pipeline."""
    import redis.asyncio as aioredis

    from emotical_shared import redis_schema as schema
    from emotical_shared.labels import LABELS
    from emotical_shared.tokens import SESSION, Signer
    from vision_sidecar.access import verify_session_token
    from vision_sidecar.store import WRITE_LUA, EmotionStore, connect, state_fields

    signer = Signer("bench-secret-" + "y" * 40)
    token = signer.mint(SESSION, "u-bench", "s-bench")
    t0 = time.perf_counter()
    for _ in range(rounds):
        verify_session_token(signer, token)
    verify_us = (time.perf_counter() - t0) / rounds * 1e6

    fields = state_fields({label: 1 / len(LABELS) for label in LABELS}, "happy", 0.5, 0.2, 40.0,
                          True)
    client = connect(redis_url)
    store = EmotionStore(client)
    await client.script_load(WRITE_LUA)
    sids = [f"sec-bench-{i}" for i in range(40)]

    async def lua_writes() -> None:
        for _ in range(frames // len(sids)):
            await asyncio.gather(*(store.write(sid, fields) for sid in sids))

    async def plain_writes() -> None:  # the write before the tombstone check, as it was
        for _ in range(frames // len(sids)):
            pipe = client.pipeline(transaction=False)
            for sid in sids:
                pipe.hset(schema.session_emotion(sid), mapping=fields)  # type: ignore[arg-type]
                pipe.xadd(schema.session_history(sid), fields,  # type: ignore[arg-type]
                          maxlen=schema.HISTORY_MAXLEN, approximate=True)
            await pipe.execute()

    out: Dict[str, float] = {}
    for name, job in (("plain", plain_writes), ("lua", lua_writes), ("plain2", plain_writes),
                      ("lua2", lua_writes)):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await job()
        out[name + "_cpu_us"] = (time.process_time() - cpu0) / frames * 1e6
        out[name + "_wall_us"] = (time.perf_counter() - wall0) / frames * 1e6
    info = await aioredis.Redis.from_url(redis_url).info("commandstats")
    await client.aclose()
    evalsha = info.get("cmdstat_evalsha", {})
    return {
        "part": "security", "token_verify_us": verify_us,
        "write_client_cpu_us_plain": (out["plain_cpu_us"] + out["plain2_cpu_us"]) / 2,
        "write_client_cpu_us_lua": (out["lua_cpu_us"] + out["lua2_cpu_us"]) / 2,
        "write_wall_us_plain": (out["plain_wall_us"] + out["plain2_wall_us"]) / 2,
        "write_wall_us_lua": (out["lua_wall_us"] + out["lua2_wall_us"]) / 2,
        "redis_usec_per_evalsha": evalsha.get("usec_per_call", float("nan")),
        "frames": frames,
    }


# ----------------------------------------------------------------------------- driver


def one(args: argparse.Namespace) -> Dict:
    if args.part == "pipeline":
        import dataclasses

        from vision_sidecar.runtime import configure_process
        from vision_sidecar.settings import Settings

        settings = dataclasses.replace(Settings.from_env(), workers=args.workers,
                                       redis_url=args.redis_url, log_level="WARNING")
        configure_process(settings)  # as `python -m vision_sidecar` does
        return asyncio.run(run_pipeline(settings, args.variant, args.seconds))
    if args.part == "security":
        return asyncio.run(run_security(args.redis_url))
    extra = dict(kv.split("=", 1) for kv in args.sidecar_env)
    return asyncio.run(run_websocket(args.seconds, args.redis_url, args.workers,
                                     args.redis_pid, args.away, args.faces, args.phases,
                                     args.seed, args.py_spy, extra, args.busy_cores))


def run_all(seconds: float, runs: int = WEBSOCKET_RUNS) -> int:
    from tqdm import tqdm

    from stack.redis_server import RedisServer

    # (part, variant, threads, shoppers away, faces, phases, seed): the goal runs are the
    # `runs` WebSocket loads with real faces at random phases, one seed each; then the old
    # easy case (one synthetic face, phases spread evenly) and shoppers away from the camera
    plan = [("pipeline", "native", 1, 0, "", "", 0), ("pipeline", "native", 2, 0, "", "", 0),
            ("pipeline", "numpy", 1, 0, "", "", 0), ("pipeline", "numpy", 2, 0, "", "", 0),
            ("pipeline", "classic", 1, 0, "", "", 0), ("pipeline", "classic", 2, 0, "", "", 0),
            *[("websocket", "native", 2, 0, "real", "random", seed)
              for seed in range(1, runs + 1)],
            ("websocket", "native", 2, 0, "synthetic", "even", 0),
            ("websocket", "native", 2, AWAY_SHOPPERS, "real", "random", 99),
            ("security", "native", 1, 0, "", "", 0)]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        redis = RedisServer(data_dir=Path(tmp) / "redis").start()
        try:
            for part, variant, workers, away, faces, phases, seed in tqdm(
                    plan, desc="bench-vision", unit="run"):
                env = dict(os.environ, PYTHONPATH=str(ROOT),
                           EMOTICAL_NATIVE="py" if variant == "numpy" else "native")
                cmd = [sys.executable, "-m", "bench.vision_sidecar", "--part", part,
                       "--variant", variant, "--workers", str(workers),
                       "--seconds", str(seconds),
                       "--redis-url", redis.url, "--redis-pid", str(redis.pid),
                       "--away", str(away), "--seed", str(seed),
                       *(["--faces", faces, "--phases", phases] if faces else [])]
                out = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
                if out.returncode != 0:
                    print(out.stderr, file=sys.stderr)
                    return 1
                results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        finally:
            redis.stop()
    print_report(results)
    out_dir = ROOT / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "bench-vision.json").write_text(json.dumps(results, indent=2))
    print(f"\nraw results: {out_dir / 'bench-vision.json'}")
    return 0


def print_report(results: List[Dict]) -> None:
    print(f"\nVision sidecar, {os.cpu_count()} cores; in-process pipeline: 640×480 JPEG with "
          "one face")
    print("\nPipeline in process (bytes in → Redis written), 40 sessions (classic: 2 per "
          "thread), one frame in flight each")
    print(f"{'path':<10}{'threads':>8}{'frames/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'load':>6}   CPU ms per frame: decode/locate/crop/model/loop+redis"
          " = total")
    for r in results:
        if r["part"] != "pipeline":
            continue
        s = r["cpu_ms_per_frame"]
        print(f"{r['variant']:<10}{r['workers']:>8}{r['fps']:>10.1f}{r['p50_ms']:>9.1f}"
              f"{r['p99_ms']:>9.1f}{r['load_average_1min']:>6.1f}   "
              f"{s['decode']:.2f}/{s['locate']:.2f}/{s['crop']:.3f}/{s['model']:.2f}/"
              f"{s['loop+redis client']:.2f} = {r['process_cpu_ms_per_frame']:.2f}")
    print("(p50/p99 here include queueing: 40 frames are always in flight. `load` is the "
          "machine's 1-min load average; other jobs share these cores.)")
    by = {(r["variant"], r["workers"]): r["fps"] for r in results if r["part"] == "pipeline"}
    if ("native", 1) in by and ("native", 2) in by:
        print(f"second thread: ×{by[('native', 2)] / by[('native', 1)]:.2f}")
    loads = [r for r in results if r["part"] == "websocket"]
    for r in loads:
        print(f"\nWebSocket load: {r['shoppers']} shoppers × {r['hz']:g} Hz for "
              f"{r['seconds']:g} s against the real sidecar ({r['workers']} threads), "
              f"{r.get('faces', 'synthetic')} faces ({r.get('frame_bytes_median', 0):.0f} B "
              f"median), {r.get('phases', 'even')} phases (seed {r.get('seed', 0)})"
              + (f"; {r['away']} of them away from the camera (frames of an empty scene)"
                 if r.get("away") else ""))
        print(f"sent {r['sent']}, processed {r['processed']} ({r['fps']:.1f}/s), dropped "
              f"{r['dropped']}, errors {r['errors']}, unanswered {r['unanswered']}, ticks "
              f"skipped with {MAX_IN_FLIGHT} unanswered {r.get('client_skipped_ticks', 0)}; "
              f"latency p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, max "
              f"{r['max_ms']:.1f} ms")
        if r.get("away"):
            print(f"shoppers in front of the camera p50 {r['present_p50_ms']:.1f} / p99 "
                  f"{r['present_p99_ms']:.1f} ms; away p50 {r['away_p50_ms']:.1f} / p99 "
                  f"{r['away_p99_ms']:.1f} ms")
        print(f"where the round trip goes: send → server has the frame p50 "
              f"{r['receive_p50_ms']:.1f} / p99 {r['receive_p99_ms']:.1f} ms; then "
              f"processing, Redis and reply p50 {r['process_reply_p50_ms']:.1f} / p99 "
              f"{r['process_reply_p99_ms']:.1f} ms")
        used = ", ".join(f"{k} {v:.2f}" for k, v in r["cpu_cores_used"].items())
        print(f"CPU cores busy during the load: {used}; CPU stolen by the host "
              f"{r.get('cpu_stolen_pct', float('nan')):.1f}% (1-min load average "
              f"{r['load_average_1min']:.1f})")
    for r in results:
        if r["part"] == "security":
            print(f"\nAccess checks: session token verified in {r['token_verify_us']:.1f} µs "
                  f"(once per HTTP frame, once per WebSocket); frame write to Redis, event-loop "
                  f"CPU per frame: plain pipeline {r['write_client_cpu_us_plain']:.1f} µs, Lua "
                  f"with the tombstone check {r['write_client_cpu_us_lua']:.1f} µs (wall "
                  f"{r['write_wall_us_plain']:.1f} vs {r['write_wall_us_lua']:.1f} µs; Redis "
                  f"{r['redis_usec_per_evalsha']:.1f} µs per script call)")
    goal_runs = [r for r in loads if not r.get("away") and r.get("faces") == "real"
                 and r.get("phases") == "random"]
    if goal_runs:
        print("\nGoal runs (40 shoppers, real faces, random phases): run, p50 / p99 / max ms, "
              "answered, steal %, sidecar cores")
        for r in goal_runs:
            answered = r["dropped"] == 0 and r["unanswered"] == 0 and r["errors"] == 0
            print(f"  seed {r['seed']}: {r['p50_ms']:.1f} / {r['p99_ms']:.1f} / "
                  f"{r['max_ms']:.1f}, {'all' if answered else 'NOT all'} "
                  f"({r['processed']}/{r['sent']}), {r['cpu_stolen_pct']:.1f}%, "
                  f"{r['cpu_cores_used'].get('sidecar', float('nan')):.2f}")
        met = [r["dropped"] == 0 and r["unanswered"] == 0 and r["errors"] == 0
               and r["p99_ms"] < 50 for r in goal_runs]
        worst = max(goal_runs, key=lambda r: r["p99_ms"])
        print(f"goal (all answered, p99 < 50 ms in every run): met in {sum(met)} of "
              f"{len(met)} runs; worst p99 {worst['p99_ms']:.1f} ms (seed {worst['seed']}, "
              f"{worst['cpu_stolen_pct']:.1f}% stolen)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=["pipeline", "websocket", "security"])
    parser.add_argument("--variant", choices=["native", "numpy", "classic"], default="native")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--redis-url")
    parser.add_argument("--redis-pid", type=int, default=0, help="to report Redis' CPU use")
    parser.add_argument("--away", type=int, default=0,
                        help="websocket: how many of the shoppers send frames with nobody in them")
    parser.add_argument("--faces", choices=["real", "synthetic"], default="real",
                        help="websocket: eval-set faces in widget frames, or the 640×480 astronaut")
    parser.add_argument("--phases", choices=["random", "even"], default="random",
                        help="websocket: independent camera phases, or spread evenly")
    parser.add_argument("--seed", type=int, default=0, help="websocket: the phases' seed")
    parser.add_argument("--py-spy", default="", help="websocket: py-spy the sidecar into PATH")
    parser.add_argument("--sidecar-env", action="append", default=[], metavar="NAME=VALUE",
                        help="websocket: a setting for the sidecar process (repeatable)")
    parser.add_argument("--busy-cores", type=int, default=0,
                        help="websocket: processes spinning on the CPU beside the load")
    parser.add_argument("--runs", type=int, default=WEBSOCKET_RUNS,
                        help="all parts: WebSocket load runs with real faces at random phases")
    args = parser.parse_args()
    if args.part is None:
        return run_all(args.seconds, args.runs)
    if not args.redis_url:
        parser.error("--redis-url is needed with --part")
    print(json.dumps(one(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
