#!/usr/bin/env bash
# face-api's expression net (EMOTICAL_EXPRESSION_MODEL=face-api, an eval candidate): `npm pack`
# the @vladmandic/face-api tarball (npm, MIT) into $EMOTICAL_CACHE_DIR/npm, check its sha512
# (the registry's integrity) and the sha256 of each file taken out of it, and rebuild the net in
# PyTorch as var/models/faceapi_expression.onnx (vision_sidecar/expression/faceapi_convert.py).
# The files its port check needs (tests/vision/sidecar/test_faceapi.py runs face-api's own
# bundle under node) stay in the cache. After 50-browser.sh, which makes sure npm is there.
# Idempotent: skipped when the ONNX file's stamp names these weights and this converter.
set -euo pipefail
cd "${ROOT:?ROOT not set (run through scripts/setup.sh)}"
VIS_PY=${VIS_PY:?VIS_PY not set}

VERSION=1.7.15
INTEGRITY=sha512-WDMmK3CfNLo8jylWqMoQgf4nIst3M0fzx1dnac96wv/dvMTN4DxC/Pq1DGtduDk1lktCamQ3MIDXFnvrdHTXDw==
declare -A FILES=(
  [package/model/face_expression_model.bin]=9a9840f2cf1f4c7eab95f197512569345c00d2426754d4608b92af30e0300f3d
  [package/model/face_expression_model-weights_manifest.json]=5b349c17c7836da506e03422cd6461c74085d8bb2713ad4114647dc5d28174c8
  [package/dist/face-api.js]=0160f7af3a8c78cece45c7ecc765383bad74becfd438bb787cdd627b2d6f2cf6
  [package/LICENSE]=9a3442b79acaf4fbc7c2e07b7e2d8f84af9bb3871bf08a69d80304ab00640e9a
)
CACHE=${EMOTICAL_CACHE_DIR:-$HOME/.cache/emotical}/npm
TARBALL="$CACHE/vladmandic-face-api-$VERSION.tgz"
PKG="$CACHE/face-api-$VERSION"
OUT=var/models/faceapi_expression.onnx
STAMP=var/models/faceapi_expression.stamp
CONVERTER=vision_sidecar/expression/faceapi_convert.py

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

sri() {  # sri FILE -> the npm integrity string (sha512, base64) of FILE
  "$VIS_PY" -c 'import base64, hashlib, sys; print("sha512-" + base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$1"
}
files_ok() {
  local member
  for member in "${!FILES[@]}"; do
    [[ -f "$PKG/$member" && "$(sha256sum "$PKG/$member" | cut -d' ' -f1)" == "${FILES[$member]}" ]] || return 1
  done
}

mkdir -p "$CACHE" var/models
if ! files_ok; then
  if [[ ! -f "$TARBALL" || "$(sri "$TARBALL")" != "$INTEGRITY" ]]; then
    command -v npm >/dev/null 2>&1 || die "npm not found: install Node.js with npm (50-browser.sh does)"
    say "downloading @vladmandic/face-api@$VERSION (npm pack: model files only, nothing installed)"
    rm -f "$TARBALL"
    (cd "$CACHE" && npm pack --silent "@vladmandic/face-api@$VERSION" >/dev/null) \
      || die "npm pack @vladmandic/face-api@$VERSION failed"
    got=$(sri "$TARBALL")
    if [[ "$got" != "$INTEGRITY" ]]; then
      rm -f "$TARBALL"
      die "the face-api tarball's integrity is $got, expected $INTEGRITY; refusing to use it"
    fi
  fi
  rm -rf "$PKG.tmp" && mkdir -p "$PKG.tmp"
  tar -xzf "$TARBALL" -C "$PKG.tmp" "${!FILES[@]}"
  for member in "${!FILES[@]}"; do
    got=$(sha256sum "$PKG.tmp/$member" | cut -d' ' -f1)
    [[ "$got" == "${FILES[$member]}" ]] \
      || { rm -rf "$PKG.tmp"; die "$member in the face-api tarball has sha256 $got, expected ${FILES[$member]}"; }
  done
  rm -rf "$PKG" && mv "$PKG.tmp" "$PKG"
fi

want="${FILES[package/model/face_expression_model.bin]} $(sha256sum "$CONVERTER" | cut -d' ' -f1)"
if [[ -f "$OUT" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
  say "face-api expression model up to date ($OUT)"
  exit 0
fi
PYTHONPATH="$ROOT" "$VIS_PY" -W ignore -m vision_sidecar.expression.faceapi_convert \
  "$PKG/package/model/face_expression_model-weights_manifest.json" "$OUT" >/dev/null
echo "$want" > "$STAMP"
say "face-api expression model ready ($OUT)"
