#!/usr/bin/env bash
# Create (or bring up to date) both Python environments, then run the part hooks in
# scripts/setup.d/ (native build, shipped models, WordNet, browser). Idempotent: when the lock
# files have not changed, a second run only checks stamps and takes seconds.
#
#   .venv/bot     Python 3.10, rasa 3.6.21      (requirements/bot.lock)
#   .venv/vision  Python 3.11, OpenCV 4.x, torch (requirements/vision.lock)
#
# Interpreters: $EMOTICAL_PYTHON310 / $EMOTICAL_PYTHON311 if set, else python3.10 / python3.11
# on PATH, pyenv's versions, uv's managed Pythons, conda's base.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export PIP_DISABLE_PIP_VERSION_CHECK=1

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }
die() { printf '\033[31msetup: %s\033[0m\n' "$*" >&2; exit 1; }

# Run pip without the machine's "extra index location is ignored" chatter; keep its exit code.
quiet_pip() { { "$@" 2>&1; } | { grep -v "is ignored: it is neither a file nor a directory" || true; }; }

# find_python MINOR -> prints a working interpreter path for Python 3.MINOR
find_python() {
  local minor=$1 var="EMOTICAL_PYTHON3${1}" cand
  local -a cands=()
  [[ -n "${!var:-}" ]] && cands+=("${!var}")
  cands+=("python3.${minor}")
  [[ "$minor" == 11 ]] && cands+=("python3")
  if command -v pyenv >/dev/null 2>&1; then
    for cand in "$(pyenv root)"/versions/3."${minor}".*/bin/python3."${minor}"; do cands+=("$cand"); done
  fi
  for cand in "$HOME"/.pyenv/versions/3."${minor}".*/bin/python3."${minor}" \
              "$HOME"/.local/share/uv/python/cpython-3."${minor}".*/bin/python3."${minor}" \
              /usr/bin/python3."${minor}" /usr/local/bin/python3."${minor}" \
              "$HOME"/miniconda3/envs/*/bin/python3."${minor}" "$HOME"/anaconda3/envs/*/bin/python3."${minor}"; do
    cands+=("$cand")
  done
  if command -v uv >/dev/null 2>&1; then
    cand=$(uv python find "3.${minor}" 2>/dev/null || true); [[ -n "$cand" ]] && cands+=("$cand")
  fi
  for cand in "${cands[@]}"; do
    # pyenv shims exist but refuse to run an unselected version: actually run each candidate.
    if "$cand" -c "import sys, venv; sys.exit(0 if sys.version_info[:2] == (3, ${minor}) else 1)" >/dev/null 2>&1; then
      "$cand" -c 'import sys; print(sys.executable)'
      return 0
    fi
  done
  return 1
}

# make_env NAME MINOR LOCKFILE
make_env() {
  local name=$1 minor=$2 lock=$3 venv="$ROOT/.venv/$1" py stamp want
  stamp="$venv/.emotical-stamp"
  want=$(cat "$lock" scripts/setup.sh | sha256sum | cut -c1-16)
  if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    say "$name environment up to date ($venv)"
    return 0
  fi
  py=$(find_python "$minor") || die "Python 3.${minor} not found (needed for the ${name} environment).
  Install it with one of:  pyenv install 3.${minor}   |   uv python install 3.${minor}   |   apt-get install python3.${minor}-venv
  or point EMOTICAL_PYTHON3${minor} at a python3.${minor} interpreter."
  say "creating the $name environment with $py (first time: a few minutes)"
  [[ -d "$venv" && ! -f "$stamp" ]] && rm -rf "$venv"
  [[ -x "$venv/bin/python" ]] || "$py" -m venv "$venv"
  quiet_pip "$venv/bin/python" -m pip install -q --upgrade "pip==26.3" \
    || die "pip could not upgrade itself in $venv"
  quiet_pip "$venv/bin/python" -m pip install --progress-bar off -q -r "$lock" \
    || die "pip could not install $lock into $venv (see the messages above)"
  echo "$want" > "$stamp"
  say "$name environment ready"
}

mkdir -p var/log var/redis var/cache models
make_env bot 10 requirements/bot.lock
make_env vision 11 requirements/vision.lock

export BOT_PY="$ROOT/.venv/bot/bin/python" VIS_PY="$ROOT/.venv/vision/bin/python" ROOT
for hook in scripts/setup.d/*.sh; do
  [[ -e "$hook" ]] || continue
  bash "$hook" || die "setup step $hook failed"
done
say "done"
