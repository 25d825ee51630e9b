#!/usr/bin/env bash
# The image's build steps, in one place: deploy/Dockerfile runs them, and
# tests/production/test_image_from_git.py runs the same commands on a clean clone.
#
#   scripts/build_image.sh install   .venv with requirements.lock, as scripts/setup.sh installs it
#   scripts/build_image.sh model     models/stadtwerk.tar.gz (as `make train`) and spaCy's
#                                    lemma tables var/lemmas/*.sqlite (as training builds them)
#   scripts/build_image.sh check     the trained model answers a German and a Turkish message;
#                                    writes only to a temporary HOME and TMPDIR, then deletes them
#
# Paths are relative to the repository root (this script's parent's parent).
# PYTHON names the interpreter for the virtualenv (default: python3.10).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=$PWD/.venv
# What the Dockerfile's runtime stage copies from the build stage (COPY --from=build).
OUTPUTS=(.venv models/stadtwerk.tar.gz var/lemmas)
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2

install() {
  "${PYTHON:-python3.10}" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade "pip==24.2"
  "$VENV/bin/python" -m pip install --quiet --no-deps -r requirements.lock
  "$VENV/bin/python" -m pip check
}

model() {
  "$VENV/bin/rasa" train --domain domain --fixed-model-name stadtwerk --out models
  # Training builds the tables it reads; both languages, to be sure: a
  # container's file system is read-only and could not build them later.
  "$VENV/bin/python" -c "from nlu_components.lemma_tables import table_file; table_file('de'); table_file('tr')"
  for output in "${OUTPUTS[@]}"; do
    [ -e "$output" ] || { echo "error: the build made no $output" >&2; exit 1; }
  done
}

check() {
  SCRATCH=$(mktemp -d)
  trap 'rm -rf "$SCRATCH"' EXIT
  # the Rasa process's own start-up (bot/rasa_runtime/__main__.py), then a parse per language
  HOME=$SCRATCH TMPDIR=$SCRATCH PYTHONWARNINGS=ignore "$VENV/bin/python" - <<'PYTHON'
import asyncio

from bot.rasa_runtime import lazy_tensorflow

lazy_tensorflow.defer()

from rasa.core.agent import Agent  # noqa: E402 - after the deferral, as the Rasa process does

agent = Agent.load("models/stadtwerk.tar.gz")
for text, intent in [
    ("Ich will meinen Abschlag ändern", "change_advance_payment"),
    ("Faturam ne kadar?", "ask_bill"),
]:
    parsed = asyncio.run(agent.parse_message(text))
    print(f"{text!r}: {parsed['intent']['name']} ({parsed['intent']['confidence']:.2f})")
    assert parsed["intent"]["name"] == intent, parsed["intent"]
PYTHON
}

case "${1:-}" in
  install | model | check) "$1" ;;
  *)
    echo "usage: $0 install|model|check" >&2
    exit 2
    ;;
esac
