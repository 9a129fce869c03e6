"""`python -m stack demo` (make demo) and `python -m stack shell` (make shell).

demo: start Redis (embedded unless REDIS_URL is set), the action server, Rasa and the vision
sidecar; wait for their health checks; print the addresses; restart a child that dies (Redis
first, from its AOF; stack/supervisor.py), print a line when a part goes down and when it is
back; stop all on Ctrl-C or SIGTERM.
shell: `rasa shell` against the running demo's action server and Redis.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import threading

from emotical_shared.tokens import SecretError, load_secret
from stack.fingerprint import model_path
from stack.processes import LOOPBACK, Stack, bot_python
from stack.redis_server import ROOT, free_port
from stack.running import LOG_DIR, SECRET_FILE, STATE, VAR, demo_env
from stack.supervisor import CrashLoopError, Supervisor


def _port(var: str, default: int) -> int:
    raw = os.environ.get(var, str(default))
    try:
        port = int(raw)
    except ValueError:
        raise SystemExit(f"{var}={raw!r} is not a port number") from None
    if not 0 < port < 65536:
        raise SystemExit(f"{var}={port} is out of range 1..65535")
    return port


def _free_or_next(var: str, default: int) -> int:
    """The configured port, or (only when it was not configured and is busy) a free one."""
    port = _port(var, default)
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            pass
    if var in os.environ:
        raise SystemExit(f"{var}={port}: that port is already in use")
    other = free_port()
    print(f"demo: port {port} is busy; using {other} (set {var} to choose)")
    return other


def bind_host() -> str:
    """EMOTICAL_BIND_HOST (default 127.0.0.1); any other address needs an explicit secret.

    A secret generated into var/secret is fine for one machine; a stack reachable from other
    hosts must run with a secret its operator provisioned (EMOTICAL_SECRET), so that tokens
    and door keys are not whatever a first start happened to write.
    """
    host = os.environ.get("EMOTICAL_BIND_HOST", LOOPBACK).strip() or LOOPBACK
    if host not in (LOOPBACK, "localhost", "::1") and not os.environ.get("EMOTICAL_SECRET"):
        raise SystemExit(f"EMOTICAL_BIND_HOST={host}: listening beyond this machine needs "
                         "EMOTICAL_SECRET (at least 32 characters); see docs/security.md")
    return host


def demo() -> int:
    model = model_path()
    if not model.exists():
        print(f"demo: no trained model {model.name}; run `make train` (make demo does)",
              file=sys.stderr)
        return 1
    redis_url = os.environ.get("REDIS_URL") or None
    host = bind_host()
    try:
        secret = load_secret(path=SECRET_FILE)
    except SecretError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    stack = Stack(
        secret=secret, host=host,
        model=model, log_dir=LOG_DIR, redis_url=redis_url, redis_dir=VAR / "redis",
        spool_dir=VAR / "actions" / "spool",
        redis_port=0 if redis_url else _free_or_next("EMOTICAL_REDIS_PORT", 6379),
        rasa_port=_free_or_next("EMOTICAL_RASA_PORT", 5005),
        actions_port=_free_or_next("EMOTICAL_ACTIONS_PORT", 5055),
        sidecar_port=_free_or_next("EMOTICAL_SIDECAR_PORT", 8765),
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"demo: starting Redis, action server, Rasa ({model.name}) and the sidecar; "
          f"logs in {LOG_DIR}/")
    try:
        stack.start()
    except RuntimeError as exc:
        print(f"demo: could not start the stack:\n{exc}", file=sys.stderr)
        return 1
    stack.write_state(STATE)
    info = stack.describe()
    print("\n  eMotical is running")
    print(f"  shop page (open this):  {info.get('shop', '-')}")
    print(f"  Rasa (REST, socket.io): {info['rasa']}")
    print(f"  action server:          {info['actions']}")
    print(f"  Redis:                  {info['redis']}")
    print("  Ctrl-C stops everything.\n", flush=True)
    supervisor = Supervisor(stack, say=lambda text: print(text, flush=True))
    code = 0
    try:
        while not stop.wait(1.0):
            try:
                supervisor.tick()
            except CrashLoopError as exc:
                print(f"demo: {exc}\ndemo: stopping the demo.", file=sys.stderr, flush=True)
                code = 1
                stop.set()
    finally:
        print("demo: stopping...", flush=True)
        redis_was_up = stack.redis is not None and stack.redis.alive()
        stack.stop()
        STATE.unlink(missing_ok=True)
        print(_stopped_line(stack, redis_was_up), flush=True)
    return code


def _stopped_line(stack: Stack, redis_was_up: bool) -> str:
    """What happened to Redis's data on stop, as it really went."""
    if stack.redis is None:
        return "demo: stopped (external Redis left running)"
    data = VAR / "redis"
    if stack.redis_flushed:
        return f"demo: stopped; Redis data flushed to {data}/"
    if not redis_was_up:
        return (f"demo: stopped; Redis was not running (exit code {stack.redis.returncode}): "
                f"{data}/ holds what its AOF had fsync'd (all but about the last second "
                "before it died)")
    return (f"demo: stopped; Redis did not shut down cleanly (exit code "
            f"{stack.redis.returncode}): {data}/ holds what its AOF had fsync'd")


def shell(session: str) -> int:
    model = model_path()
    if not model.exists():
        print("shell: no trained model; run `make train`", file=sys.stderr)
        return 1
    env = demo_env("shell")
    print(f"shell: conversation id {session!r}: stream a camera or video into the same "
          f"session with\n  .venv/vision/bin/python -m vision_sidecar.stream --source 0 "
          f"--session {session}")
    cmd = [bot_python(), "-m", "rasa", "shell", "--model", str(model), "--endpoints",
           "endpoints.yml", "--conversation-id", session, "--port", str(free_port())]
    return subprocess.call(cmd, cwd=ROOT, env=env)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    parser = argparse.ArgumentParser(prog="python -m stack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run the whole product until Ctrl-C")
    p_shell = sub.add_parser("shell", help="rasa shell against the running demo")
    p_shell.add_argument("--session", default=os.environ.get("EMOTICAL_SESSION", "dev-shell"))
    args = parser.parse_args()
    if args.command == "demo":
        return demo()
    return shell(args.session)


if __name__ == "__main__":
    sys.exit(main())
