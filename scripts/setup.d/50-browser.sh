#!/usr/bin/env bash
# Browser side of the shop page: vendor the npm libraries the widget uses (socket.io-client,
# Chart.js) into vision_sidecar/static/vendor/ (git-ignored, served at /static/vendor/), axe-core
# (the accessibility checker of `make test-browser`, never served to shoppers) into var/vendor/,
# and make sure Debian's chromium exists for `make test-browser`. Idempotent: a second run only compares
# stamps. Env: ROOT (repo root). EMOTICAL_SKIP_CHROMIUM=1 skips the chromium check.
set -euo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
WEB="$ROOT/web"
VENDOR="$ROOT/vision_sidecar/static/vendor"
TEST_VENDOR="$ROOT/var/vendor"

say() { printf '\033[1msetup(browser):\033[0m %s\n' "$*"; }
die() { printf '\033[31msetup(browser): %s\033[0m\n' "$*" >&2; exit 1; }

apt_install() {  # apt_install PACKAGE...: as root (or with sudo), after one apt-get update
  command -v apt-get >/dev/null 2>&1 || return 1
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  if [[ -z "${APT_UPDATED:-}" ]]; then
    $sudo apt-get update -qq || return 1
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

if ! command -v npm >/dev/null 2>&1; then
  say "npm not found: installing Debian's nodejs and npm"
  apt_install nodejs npm || die "npm not found and apt-get could not install it: install Node.js 18+ with npm"
fi

# 1. npm packages, exactly as locked.
want=$(cat "$WEB/package.json" "$WEB/package-lock.json" | sha256sum | cut -c1-16)
stamp="$WEB/node_modules/.emotical-stamp"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  say "npm packages up to date"
else
  say "npm ci in web/"
  (cd "$WEB" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in $WEB"
  echo "$want" > "$stamp"
fi

# 2. Copy the browser builds the page loads.
mkdir -p "$VENDOR" "$TEST_VENDOR"
copy() {  # copy SRC DST: only when the content differs
  local src="$WEB/node_modules/$1" dst="$2"
  [[ -f "$src" ]] || die "missing $src after npm ci"
  cmp -s "$src" "$dst" 2>/dev/null || cp "$src" "$dst"
}
copy socket.io-client/dist/socket.io.min.js "$VENDOR/socket.io.min.js"
copy chart.js/dist/chart.umd.min.js "$VENDOR/chart.umd.min.js"
say "vendored libraries in $VENDOR"
# Not under static/: the shoppers' pages never load it; tests/vision/browser/test_shop_a11y.py does.
copy axe-core/axe.min.js "$TEST_VENDOR/axe.min.js"
say "axe-core for the browser tests in $TEST_VENDOR"

# 3. Chromium for the Playwright browser tests (Playwright's own browser download cannot work here).
if [[ "${EMOTICAL_SKIP_CHROMIUM:-0}" == 1 ]]; then
  say "chromium check skipped (EMOTICAL_SKIP_CHROMIUM=1)"
elif [[ -x /usr/bin/chromium ]]; then
  say "chromium present ($(/usr/bin/chromium --version 2>/dev/null | head -1))"
else
  say "installing Debian's chromium (about 30 s)"
  apt_install chromium \
    || die "/usr/bin/chromium missing and apt-get could not install it: install Chromium there"
  [[ -x /usr/bin/chromium ]] || die "chromium installed but /usr/bin/chromium is missing"
fi
