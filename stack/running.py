"""The running demo as other tools see it: its folders, its recorded addresses, its secret.

`python -m stack demo` records where its parts listen (`var/run/stack.json`); `make shell`,
`make interactive` and scripts read it here and get the environment a Rasa tool needs to join
that stack (its Redis, its action server, the door tokens derived from its secret).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict

from emotical_shared.tokens import load_secret
from stack.processes import base_env, redis_env, secret_env
from stack.redis_server import ROOT

#: Runtime folder (logs, Redis data, the running stack's addresses); tests point it elsewhere.
VAR = Path(os.environ.get("EMOTICAL_VAR_DIR") or ROOT / "var")
STATE = VAR / "run" / "stack.json"
LOG_DIR = VAR / "log"
SECRET_FILE = VAR / "secret"


def demo_env(tool: str) -> Dict[str, str]:
    """The environment for a Rasa tool (`tool` names it in messages) joining the running demo.

    Without a running demo: REDIS_URL (or the default Redis) and the default action server.
    """
    if STATE.exists():
        info = json.loads(STATE.read_text())
        redis_url, actions_url = info["redis"], info["actions"]
    else:
        redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        actions_url = (f"http://127.0.0.1:{os.environ.get('EMOTICAL_ACTIONS_PORT', '5055')}"
                       "/webhook")
        print(f"{tool}: no running `make demo` found; using REDIS_URL and the default action "
              "server address")
    return base_env({**redis_env(redis_url), "EMOTICAL_ACTIONS_URL": actions_url,
                     **secret_env(load_secret(path=SECRET_FILE))})
