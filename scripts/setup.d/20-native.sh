#!/usr/bin/env bash
# Build the sidecar's Cython core (native/kernels.pyx) in place; skipped when the built module is
# newer than its sources.
set -euo pipefail
cd "${ROOT:?ROOT not set (run through scripts/setup.sh)}"
VIS_PY=${VIS_PY:?VIS_PY not set}
mkdir -p var/log
so=$(ls native/kernels.cpython-*.so 2>/dev/null | head -n1 || true)
if [[ -n "$so" && "$so" -nt native/kernels.pyx && "$so" -nt setup.py ]] \
   && "$VIS_PY" -c "import native.kernels" 2>/dev/null; then
  echo "setup: native core up to date ($so)"
  exit 0
fi
echo "setup: building the native core (Cython)"
"$VIS_PY" -c "import Cython, numpy" 2>/dev/null \
  || { echo "setup: Cython and numpy are needed in the vision environment" >&2; exit 1; }
"$VIS_PY" setup.py -q build_ext --inplace >var/log/native-build.log 2>&1 || {
  tail -n 30 var/log/native-build.log >&2
  echo "setup: native build failed (full log: var/log/native-build.log); a C compiler is needed (apt-get install build-essential)" >&2
  exit 1
}
"$VIS_PY" -c "import native; assert native.IMPLEMENTATION == 'native'; print('setup: native core built')"
