"""The model fingerprint covers every file of bot/ that the trained model's graph runs."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Set

from stack.fingerprint import MODEL_INPUTS, ROOT


def _bot_imports(path: Path) -> Set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "bot" and len(parts) > 1 and (ROOT / "bot" / f"{parts[1]}.py").is_file():
                found.add(f"bot/{parts[1]}.py")
    return found


def test_every_bot_module_the_model_graph_runs_is_a_fingerprint_input():
    config = (ROOT / "config.yml").read_text()
    todo = {f"bot/{m}.py" for m in re.findall(r"name:\s*bot\.(\w+)\.\w+", config)}
    assert todo, "config.yml names no bot component: the check would prove nothing"
    needed: Set[str] = set()
    while todo:
        rel = todo.pop()
        needed.add(rel)
        todo |= _bot_imports(ROOT / rel) - needed
    missing = sorted(needed - set(MODEL_INPUTS))
    assert not missing, (f"{missing} run inside the trained model but are not in "
                         "stack/fingerprint.py MODEL_INPUTS: a change to them would not retrain")
