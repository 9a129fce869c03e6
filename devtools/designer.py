"""`make visualize` and `make interactive`: the conversation designer's two Rasa views.

visualize: Rasa's story graph of data/stories.yml and data/rules.yml (with example messages
from data/nlu) written to results/story-graph.html, a page the designer opens.
interactive: `rasa interactive` with the current model against the running `make demo` (its
action server and Redis), with the secret-derived tokens the stack now requires, as `make
shell` gets them (`stack.running.demo_env`). Rasa's interactive server (an API without a token,
next to the shoppers' Redis and the action server's token) and its story-graph page would listen
on every interface; here both listen on 127.0.0.1 only (`loopback_rasa`).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from typing import Any, Optional, Sequence

from devtools.rasa_cli import ROOT, run_rasa
from stack.fingerprint import model_path
from stack.processes import bot_python
from stack.redis_server import free_port
from stack.running import demo_env

GRAPH = ROOT / "results" / "story-graph.html"


def visualize() -> int:
    """Write the story graph; print where it is."""
    GRAPH.parent.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("BROWSER", "true")  # headless: rasa would try to open it
    code = run_rasa("visualize", "--domain", "domain.yml", "--stories", "data", "--nlu",
                    "data/nlu", "--out", str(GRAPH))
    if code == 0:
        print(f"visualize: open {GRAPH}")
    return code


def free_port_pair() -> int:
    """A free port whose next one is free too (rasa interactive serves its graph on port + 1)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two adjacent free ports on 127.0.0.1")


def loopback_rasa(argv: Sequence[str]) -> int:
    """Run Rasa's CLI with every Sanic server it starts bound to 127.0.0.1, whatever host it asks."""
    from sanic import Sanic

    serve = Sanic.run

    def run_on_loopback(self: Sanic, host: Optional[str] = None, *args: Any, **kw: Any) -> None:
        serve(self, "127.0.0.1", *args, **kw)

    Sanic.run = run_on_loopback  # type: ignore[method-assign]
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *argv]
    rasa_main()
    return 0


def interactive(session: str) -> int:
    """`rasa interactive` on the current model; the designer saves stories from its menu."""
    model = model_path()
    if not model.exists():
        print("interactive: no trained model; run `make train`", file=sys.stderr)
        return 1
    cmd = [bot_python(), "-m", "devtools.designer", "loopback-rasa", "interactive", "--model",
           str(model), "--endpoints", "endpoints.yml", "--domain", "domain.yml", "--data", "data",
           "--conversation-id", session, "--port", str(free_port_pair())]
    print(f"interactive: conversation {session!r}; when done, choose 'Export & Quit' and save "
          "the stories into data/stories.yml (then `make validate train test-rasa`)")
    return subprocess.call(cmd, cwd=ROOT, env=demo_env("interactive"))


def main(argv: Optional[Sequence[str]] = None) -> int:
    """`python -m devtools.designer visualize|interactive`."""
    p = argparse.ArgumentParser(prog="python -m devtools.designer", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("visualize", help="story graph to results/story-graph.html")
    p_int = sub.add_parser("interactive", help="rasa interactive against the running demo")
    p_int.add_argument("--session", default=os.environ.get("EMOTICAL_SESSION", "dev-interactive"))
    p_rasa = sub.add_parser("loopback-rasa", help="rasa ARGS with its servers on 127.0.0.1 only")
    p_rasa.add_argument("rasa_args", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    if args.command == "loopback-rasa":
        return loopback_rasa(args.rasa_args)
    if args.command == "visualize":
        return visualize()
    return interactive(args.session)


if __name__ == "__main__":
    sys.exit(main())
