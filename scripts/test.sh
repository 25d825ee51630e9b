#!/usr/bin/env bash
# make test: lint, Rasa data validation, unit/action tests, end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2
echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check --quiet . || { echo "run: .venv/bin/ruff format ."; exit 1; }
echo "==> rasa data validate"
.venv/bin/python -m scripts.validate_data
scripts/ensure_chromium.sh
scripts/ensure_prometheus.sh
scripts/ensure_nginx.sh
echo "==> pytest"
.venv/bin/python -m pytest -q "$@"
