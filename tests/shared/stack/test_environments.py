"""Every top-level package imports only what its declared environment has (stack/environments.py).

The check reads the source (ast), so it runs under either interpreter and sees imports inside
functions too.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

from stack.environments import FORBIDDEN, PACKAGES, STDLIB

ROOT = Path(__file__).resolve().parents[3]


def top_level_packages() -> List[str]:
    """Folders at the project root with an `__init__.py`, sorted."""
    return sorted(p.parent.name for p in ROOT.glob("*/__init__.py"))


def imports(path: Path) -> Iterator[Tuple[int, str]]:
    """(line, top-level module name) of every absolute import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def violation(package: str, module: str) -> str:
    """Why `package` may not import `module`, or "" when it may."""
    env = PACKAGES[package]
    if module == package or module == "__future__":
        return ""
    if module in PACKAGES:
        other = PACKAGES[module]
        if other in (env, STDLIB):
            return ""
        return f"imports {module} ({other} environment) but {package} runs in the {env} one"
    if env == STDLIB:
        if module in sys.stdlib_module_names:
            return ""
        return (f"imports {module}, which is not in the standard library; {package} is "
                "stdlib-only (either interpreter runs it)")
    if module in FORBIDDEN[env]:
        return f"imports {module}, which only the other environment has; {package} runs in {env}"
    return ""


def test_every_top_level_package_declares_its_environment() -> None:
    undeclared = [p for p in top_level_packages() if p not in PACKAGES]
    assert not undeclared, (
        f"top-level packages without an environment: {undeclared}; add each to PACKAGES in "
        "stack/environments.py (bot, vision or stdlib)"
    )


def test_no_package_imports_what_its_environment_lacks() -> None:
    problems = []
    for package in top_level_packages():
        if package not in PACKAGES:
            continue
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, module in imports(path):
                why = violation(package, module)
                if why:
                    problems.append(f"{path.relative_to(ROOT)}:{line}: {why}")
    assert not problems, "environment boundary crossed:\n" + "\n".join(problems)


def test_the_check_catches_each_kind_of_crossing() -> None:
    assert "not in the standard library" in violation("stack", "redis")
    assert violation("stack", "emotical_shared") == ""
    assert "bot environment" in violation("vision_sidecar", "bot")
    assert "only the other environment" in violation("bot", "cv2")
    assert "only the other environment" in violation("nlu_augment", "rasa")
    assert violation("devtools", "stack") == ""


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from 3.11")
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _requirement_lines(env: str) -> List[str]:
    text = (ROOT / "requirements" / f"{env}.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_pyproject_lists_every_declared_package_and_each_environments_needs() -> None:
    project = _pyproject()
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert sorted(p.rstrip("*") for p in include) == sorted(PACKAGES), (
        "pyproject.toml [tool.setuptools.packages.find] include must list stack/environments.py "
        "PACKAGES"
    )
    extras = project["project"]["optional-dependencies"]
    for env in ("bot", "vision"):
        assert extras[env] == _requirement_lines(env), (
            f"pyproject.toml optional-dependencies.{env} must equal requirements/{env}.txt"
        )


def test_each_package_docstring_says_which_environment_runs_it() -> None:
    says = {"bot": "bot environment", "vision": "vision environment",
            STDLIB: "standard library only"}
    wrong = []
    for package, env in PACKAGES.items():
        init = ROOT / package / "__init__.py"
        if not init.is_file():
            continue
        doc = (ast.get_docstring(ast.parse(init.read_text())) or "").lower()
        if says[env] not in doc:
            wrong.append(f"{package}/__init__.py: its docstring should say {says[env]!r} "
                         f"(stack/environments.py declares {env})")
    assert not wrong, "\n".join(wrong)
