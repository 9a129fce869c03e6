#!/usr/bin/env bash
# The catalog's generated product videos (`make videos`): one short VP8 WebM per product whose
# `video` is `generated`, drawn from its chapters into var/videos/<catalog hash>/. Only missing
# ones are drawn (about 1 s each on a 2-core machine), so a second run takes a second; a changed
# catalog gets a new folder and the old one is removed. A finished set is cached in
# $EMOTICAL_CACHE_DIR/videos/<catalog hash>/ (manifest checked on reuse), so a fresh clone takes
# it from there instead of drawing.
set -euo pipefail

ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=${VIS_PY:-$ROOT/.venv/vision/bin/python}
cd "$ROOT"
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" OPENCV_LOG_LEVEL=ERROR OPENCV_FFMPEG_LOGLEVEL=8 \
  "$ROOT/scripts/cpu-lock" "$PY" -m vision_sidecar.videos
