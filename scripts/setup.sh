#!/usr/bin/env bash
# make setup: install, train when needed, migrate, load demo data. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
STAMPS=$VENV/.stamps
mkdir -p var models

# 1. virtualenv with the pinned lock file (re-installed only when it changed)
if [ ! -x "$VENV/bin/python" ]; then
  "$(scripts/find_python.sh)" -m venv "$VENV"
fi
mkdir -p "$STAMPS"
lock_hash=$(sha256sum requirements.lock | cut -c1-16)
if [ "$(cat "$STAMPS/lock" 2>/dev/null)" != "$lock_hash" ]; then
  # pip's output as one line per package (scripts/pip_progress.py); pipefail keeps pip's exit code
  progress() { PYTHONUNBUFFERED=1 "$VENV/bin/python" scripts/pip_progress.py "$@"; }
  started=$SECONDS
  echo "==> installing pip 24.2"
  PYTHONUNBUFFERED=1 "$VENV/bin/python" -m pip install --disable-pip-version-check --upgrade "pip==24.2" 2>&1 | progress
  echo "==> installing the pinned packages of requirements.lock (several minutes the first time)"
  PYTHONUNBUFFERED=1 "$VENV/bin/python" -m pip install --disable-pip-version-check --no-deps -r requirements.lock 2>&1 \
    | progress requirements.lock
  "$VENV/bin/python" -m pip check
  echo "==> packages installed in $(((SECONDS - started) / 60)) min $(((SECONDS - started) % 60)) s"
  echo "$lock_hash" > "$STAMPS/lock"
fi

# 2. database schema, and in development the demo data (import is idempotent)
if [ "${APP_ENV:-development}" = "production" ]; then
  echo "==> database: migrate (production: no demo customers, no demo agents)"
  "$VENV/bin/python" -m bot migrate
else
  echo "==> database: migrate and load demo data"
  "$VENV/bin/python" -m bot import-data data/demo/customers.json
  "$VENV/bin/python" -m bot import-data data/demo/tariffs.json
  "$VENV/bin/python" -m bot demo-slots
  "$VENV/bin/python" -m bot create-agent --demo
fi

# 3. model: trained when config, domain, data or NLU components changed
"$VENV/bin/python" -m scripts.train_if_needed
