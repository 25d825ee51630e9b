#!/usr/bin/env bash
# make run-prod: the production topology on this machine. nginx in front of
# everything (bot/ops/edge.py: HTTPS on EDGE_HTTPS_PORT, 8443, with a
# self-signed certificate unless EDGE_TLS_CERT/EDGE_TLS_KEY name one; Rasa's
# channels for the web app on RASA_PORT), two Rasa instances, one action
# server, the web app; PostgreSQL for customer data and conversations, Redis
# for Rasa's lock store; JSON logs.
# Every value can be overridden from the environment (see .env.example). It
# runs in development mode with the demo data so it works on a fresh machine;
# for real use set APP_ENV=production and the real secrets (deploy/ has the
# same topology for Docker Compose, Kubernetes and systemd). A process that
# dies is started again with backoff while nginx routes around it
# (bot/ops/supervisor.py), so a crashed Rasa instance costs only its turns in flight.
set -euo pipefail
cd "$(dirname "$0")/.."
export DATABASE_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/stadtwerk}"
export TRACKER_STORE_URL="${TRACKER_STORE_URL:-postgresql://postgres@127.0.0.1:5432/stadtwerk_rasa}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export RASA_INSTANCES="${RASA_INSTANCES:-2}"
# the action server as its own process, the way to move actions to other machines
export ACTIONS="${ACTIONS:-server}"
export LOG_FORMAT="${LOG_FORMAT:-json}"
export EDGE="${EDGE:-nginx}"
# the phone's requests are signed over the public URL, the edge's
export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-https://localhost:${EDGE_HTTPS_PORT:-8443}}"
scripts/ensure_nginx.sh
scripts/setup.sh   # venv, model; migrates and loads demo data into DATABASE_URL
.venv/bin/python -m bot migrate
exec .venv/bin/python -m bot.ops.launcher
