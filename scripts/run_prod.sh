#!/usr/bin/env bash
# make run-prod: the production topology on this machine. Two Rasa instances
# behind the balancer (RASA_PORT), one action server, the web app; PostgreSQL
# for customer data and conversations, Redis for Rasa's lock store; JSON logs.
# Every value can be overridden from the environment (see .env.example). It
# runs in development mode with the demo data so it works on a fresh machine;
# for real use set APP_ENV=production and the real secrets (deploy/ has the
# same topology for Docker Compose, Kubernetes and systemd). A process that
# dies is started again with backoff while the balancer routes around it
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
scripts/setup.sh   # venv, model; migrates and loads demo data into DATABASE_URL
.venv/bin/python -m bot migrate
exec .venv/bin/python -m bot.ops.launcher
