"""The generated YAML, checked by Rasa itself (bot environment).

The augmentation runs in the vision environment, so these tests call it (and its annotation
parser) as a child process of the vision interpreter from $VIS_PY or .venv/vision, then:
1. `rasa data validate --fail-on-warnings` on a copy of the project with the generated file;
2. Rasa's own YAML reader on the generated crafted data (roles, groups, synonyms), compared
   entity by entity with our parser.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from emotical_shared.childenv import child_env

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = ROOT / "tests" / "fixtures" / "nlu"


def vision_python() -> str:
    tried = [os.environ.get("VIS_PY"), str(ROOT / ".venv" / "vision" / "bin" / "python")]
    for cand in tried:
        if cand and Path(cand).exists():
            return cand
    pytest.fail(f"no vision interpreter to run the augmentation; tried {tried} (run make setup)")


#: Prints, for each example line of the file in argv[1], our parser's text and entities as JSON.
_PARSE = """
import json, sys
from nlu_augment.annotation import parse_annotated
out = []
for line in open(sys.argv[1], encoding="utf-8").read().splitlines():
    if line.startswith("    - "):
        ex = parse_annotated(line[6:])
        out.append([ex.text, ex.render(), sorted(
            [e.start, e.end, e.entity, e.resolved_value, e.role, e.group] for e in ex.entities)])
print(json.dumps(out))
"""


def parse_with_our_parser(path: Path) -> list:
    """[text, rendered, sorted entity tuples] per example line, from nlu_augment's parser."""
    proc = subprocess.run([vision_python(), "-c", _PARSE, str(path)], cwd=ROOT, env=child_env(),
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(proc.stdout)


def augment(source: Path, out: Path) -> None:
    env = child_env()
    proc = subprocess.run(
        [vision_python(), "-m", "nlu_augment", str(source), "--out", str(out), "--no-progress",
         "--cache-dir", str(ROOT / "var" / "cache" / "augment")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, f"nlu_augment failed:\n{proc.stderr[-3000:]}"
    assert out.exists()


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory) -> Path:
    """domain, config and data of the project, plus a freshly generated augmented.yml."""
    work = tmp_path_factory.mktemp("project")
    for name in ("domain.yml", "config.yml"):
        shutil.copy2(ROOT / name, work / name)
    shutil.copytree(ROOT / "data", work / "data",
                    ignore=shutil.ignore_patterns("augmented.yml", "catalog"))
    augment(work / "data" / "nlu", work / "data" / "nlu" / "augmented.yml")
    return work


def test_generated_file_passes_rasa_data_validate_with_warnings_as_errors(project_copy) -> None:
    env = child_env()
    proc = subprocess.run(
        [sys.executable, "-m", "rasa", "data", "validate", "--fail-on-warnings",
         "--domain", "domain.yml", "--data", "data", "--config", "config.yml"],
        cwd=project_copy, env=env, capture_output=True, text=True, timeout=600,
    )
    generated = (project_copy / "data" / "nlu" / "augmented.yml").read_text()
    assert generated.count("\n    - ") > 100, "expected a substantial generated file"
    assert proc.returncode == 0, (
        "rasa data validate rejected the project with the generated augmented.yml:\n"
        + (proc.stdout + proc.stderr)[-4000:]
    )


def test_rasa_reads_our_annotations_exactly_as_we_wrote_them(tmp_path: Path) -> None:
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    out = tmp_path / "augmented.yml"
    augment(FIXTURE, out)
    data = RasaYAMLReader().read(str(out))
    ours = parse_with_our_parser(out)
    assert len(data.intent_examples) == len(ours) > 20
    roles = set()
    for message, (text, rendered, mine) in zip(data.intent_examples, ours, strict=True):
        assert message.get("text") == text
        theirs = sorted(
            [e["start"], e["end"], e["entity"], e["value"], e.get("role"), e.get("group")]
            for e in message.get("entities", [])
        )
        assert theirs == mine, rendered
        roles.update(e[4] for e in mine)
    assert {"first", "second"} <= roles
