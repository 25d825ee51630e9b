# The front door: every target calls a script or module that reads on its own.
PY := .venv/bin/python
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: setup run run-prod shell call test lint train nlu-report bench clean

setup:            ## install, migrate, load demo data, train when needed
	@scripts/setup.sh

run: setup        ## start Rasa (5005), actions (5055) and the app (8000)
	@$(PY) -m bot.ops.launcher

run-prod:         ## the production topology: nginx with TLS, PostgreSQL, Redis, 2 Rasa instances
	@scripts/run_prod.sh

shell:           ## talk to the bot in this terminal (its own Rasa with the actions; no `make run` needed)
	@$(PY) -m bot shell

call:            ## call the phone bot from this terminal (needs `make run`; run-prod: URL=https://localhost:8443)
	@$(PY) -m bot.ops.phone_sim $(if $(URL),--url $(URL))

test: setup       ## every test: unit, actions, rasa data/stories, end to end
	@scripts/test.sh

lint: setup
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .

train: setup      ## force a training run
	@.venv/bin/rasa train --domain domain --fixed-model-name stadtwerk --out models

nlu-report: setup ## cross-validated NLU report per language (slow)
	@$(PY) -m scripts.nlu_report

bench: setup      ## benchmarks (results in bench/results/)
	@$(PY) -m bench.voice_latency
	@$(PY) -m bench.web_chat_latency

clean:
	rm -rf var/*.db models/*.tar.gz models/.fingerprint
