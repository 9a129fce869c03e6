"""`make validate`: check the designers' YAML, then `rasa data validate --fail-on-warnings`.

YAML syntax errors are reported first as `file:line:column: problem`, so a broken file is
named precisely before Rasa's longer messages; then Rasa checks schema, domain and story
consistency and every warning fails the run.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterable, List

import yaml

from devtools.rasa_cli import ROOT, run_rasa
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


def main() -> int:
    errors = yaml_errors(yaml_files())
    if errors:
        print("validate: these files are not valid YAML:", file=sys.stderr)
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
