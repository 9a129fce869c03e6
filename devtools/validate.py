"""`make validate`: check the designers' YAML, then `rasa data validate --fail-on-warnings`.

YAML syntax errors are reported first as `file:line:column: problem`, so a broken file is
named precisely before Rasa's longer messages; then the product videos' chapters of
`data/catalog/` (`emotical_shared.chapters`: overlaps, chapters past the video's end, tags the
product does not have, a designer's video file that is missing or too big) as `file:line:
problem`; then Rasa checks schema, domain and story consistency and every warning fails the run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Iterable, List, Optional

import yaml

from devtools.rasa_cli import ROOT, run_rasa
from emotical_shared.chapters import (
    GENERATED,
    MAX_VIDEO_BYTES,
    check_chapters,
    video_path,
    webm_duration,
)
from stack.fingerprint import project_files

DESIGNER_FILES = ("domain.yml", "config.yml", "credentials.yml", "endpoints.yml", "data", "tests")


def yaml_files(paths: Iterable[str] = DESIGNER_FILES) -> List[Path]:
    """Every .yml/.yaml file under the given project paths, sorted."""
    return project_files(ROOT, paths, {".yml", ".yaml"})


def yaml_errors(files: Iterable[Path]) -> List[str]:
    """`file:line:column: problem` for each file that is not valid YAML."""
    errors = []
    for f in files:
        try:
            # Parse only (no construction): a syntax check that never expands ${VARS}.
            for _ in yaml.compose_all(f.read_text(encoding="utf-8"), Loader=yaml.SafeLoader):
                pass
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = f"{mark.line + 1}:{mark.column + 1}" if mark else "?"
            what = " ".join(filter(None, [exc.context, exc.problem]))
            errors.append(f"{f.relative_to(ROOT)}:{where}: {what}")
        except UnicodeDecodeError as exc:
            errors.append(f"{f.relative_to(ROOT)}: not UTF-8 text ({exc.reason})")
    return errors


def _value(node: yaml.MappingNode, key: str) -> Optional[yaml.Node]:
    """The value node of `key` in a YAML mapping node, if any."""
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return v
    return None


def _line(node: Optional[yaml.Node], fallback: yaml.Node) -> int:
    return (node or fallback).start_mark.line + 1


def product_video_errors(path: Path, product: Any, node: yaml.MappingNode,
                         catalog_dir: Path) -> List[str]:
    """`file:line: problem` for one product's `video` and `chapters`."""
    name = _rel(path)
    pid = str(product.get("id"))
    errors: List[str] = []
    video = product.get("video", GENERATED)
    duration = None
    if video != GENERATED:
        where = f"{name}:{_line(_value(node, 'video'), node)}"
        file = video_path(video, pid, catalog_dir, catalog_dir)
        if file is None:
            errors.append(f"{where}: product {pid!r} video {video!r} must be `generated` or a "
                          ".webm/.mp4 file inside the catalog folder")
        elif not file.is_file():
            errors.append(f"{where}: product {pid!r} video file {file} is missing")
        elif file.stat().st_size > MAX_VIDEO_BYTES:
            errors.append(f"{where}: product {pid!r} video is {file.stat().st_size} bytes, over "
                          f"the {MAX_VIDEO_BYTES}-byte limit: re-encode it smaller")
        elif file.suffix.lower() == ".webm":
            duration = webm_duration(file)
    chapters_node = _value(node, "chapters")
    _, problems = check_chapters(product.get("chapters"), product.get("tags") or [], duration)
    for problem in problems:
        at: Optional[yaml.Node] = chapters_node
        if problem.chapter is not None and isinstance(chapters_node, yaml.SequenceNode):
            at = chapters_node.value[problem.chapter]
            if isinstance(at, yaml.MappingNode) and problem.field:
                at = _value(at, problem.field) or at
        errors.append(f"{name}:{_line(at, node)}: product {pid!r}: {problem.message}")
    return errors


def catalog_errors(catalog_dir: Path) -> List[str]:
    """`file:line: problem` for the chapters and videos of every product in `catalog_dir`."""
    errors: List[str] = []
    for path in sorted(catalog_dir.glob("*.y*ml")):
        text = path.read_text(encoding="utf-8")
        root, doc = yaml.compose(text, Loader=yaml.SafeLoader), yaml.safe_load(text)
        items, nodes = doc, root
        if isinstance(root, yaml.MappingNode) and isinstance(doc, dict):
            items, nodes = doc.get("products"), _value(root, "products")
        if not isinstance(items, list) or not isinstance(nodes, yaml.SequenceNode):
            continue  # the actions' catalog check names a malformed file
        for product, node in zip(items, nodes.value, strict=False):
            if isinstance(product, dict) and isinstance(node, yaml.MappingNode):
                errors.extend(product_video_errors(path, product, node, catalog_dir))
    return errors


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def main() -> int:
    errors = yaml_errors(yaml_files())
    if errors:
        print("validate: these files are not valid YAML:", file=sys.stderr)
        for line in errors:
            print(f"  {line}", file=sys.stderr)
        return 1
    errors = catalog_errors(Path(os.environ.get("EMOTICAL_CATALOG_PATH") or ROOT / "data" / "catalog"))
    if errors:
        print("validate: product videos and chapters have problems:", file=sys.stderr)
        for line in errors:
            print(f"  {line}", file=sys.stderr)
        return 1
    code = run_rasa("data", "validate", "--fail-on-warnings")
    if code != 0:
        print("validate: rasa data validate found problems (see above)", file=sys.stderr)
    else:
        print("validate: data, domain and stories are consistent")
    return code


if __name__ == "__main__":
    sys.exit(main())
